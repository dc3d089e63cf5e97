#!/usr/bin/env bash
# Changes-as-layers workloads, strata against docker in one run:
#   commit of a container with 100 MB in 2,000 changed files,
#   diff of a container with 20,000 changed files.
# Usage: bench/changes.sh   (as root)
source "$(dirname "$0")/lib.sh"
bench_setup
runs=${RUNS:-5}
R=$WORK/strata-changes-root
rm -rf "$R"
"$REPO/scripts/make-busybox-rootfs.sh" "$WORK/bb.tar"
"$STRATA" --root "$R" import "$WORK/bb.tar" chbase:1 >/dev/null
docker import "$WORK/bb.tar" chbase:1 >/dev/null
big='mkdir /data && i=0; while [ $i -lt 2000 ]; do head -c 51200 /dev/urandom > /data/f$i; i=$((i+1)); done'
many='mkdir /many && cd /many && for i in $(seq 20000); do echo $i > f$i; done'
docker rm -f chbig chmany >/dev/null 2>&1 || true
"$STRATA" --root "$R" run --network none --name chbig chbase:1 sh -c "$big"
"$STRATA" --root "$R" run --network none --name chmany chbase:1 sh -c "$many"
docker run --name chbig --network none chbase:1 sh -c "$big"
docker run --name chmany --network none chbase:1 sh -c "$many"
echo "strata diff lines: $("$STRATA" --root "$R" diff chmany | wc -l); docker: $(docker diff chmany | wc -l)" >&2

bench commit-100MB-2000-files --runs "$runs" \
  -n strata "$STRATA --root $R commit chbig chimg:1" \
  -n docker "docker commit chbig chimg:1"

bench diff-20000-files --runs "$runs" --warmup 1 \
  -n strata "$STRATA --root $R diff chmany" \
  -n docker "docker diff chmany"

report commit-100MB-2000-files diff-20000-files | tee "$RESULTS/changes-summary.txt"
docker rm -f chbig chmany >/dev/null 2>&1 || true
docker rmi -f chimg:1 chbase:1 >/dev/null 2>&1 || true
