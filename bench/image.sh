#!/usr/bin/env bash
# Image-store workloads, strata against docker and podman in one run:
#   import, save and load of a Debian root filesystem made by debootstrap (~200 MB),
#   and `images` with 500 tags.
# Usage: bench/image.sh   (as root; installs hyperfine, debootstrap, podman)
source "$(dirname "$0")/lib.sh"
bench_setup
runs=${RUNS:-5}

rootfs_tar=$WORK/debian-rootfs.tar
if [ ! -f "$rootfs_tar" ]; then
  if [ ! -x "$WORK/debian/bin/sh" ]; then
    rm -rf "$WORK/debian"
    debootstrap --variant=minbase bookworm "$WORK/debian" http://deb.debian.org/debian >&2
  fi
  tar --numeric-owner -C "$WORK/debian" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
echo "rootfs: $(du -h "$rootfs_tar" | cut -f1)" >&2

R=$WORK/strata-root
P="podman --root $WORK/podman-root --runroot $WORK/podman-run --storage-driver overlay"
docker rmi -f debbench:1 >/dev/null 2>&1 || true

bench import --runs "$runs" \
  --prepare "rm -rf $R" \
  --prepare "docker rmi -f debbench:1 >/dev/null 2>&1 || true" \
  --prepare "$P rmi -f debbench:1 >/dev/null 2>&1 || true" \
  -n strata "$STRATA --root $R import $rootfs_tar debbench:1" \
  -n docker "docker import $rootfs_tar debbench:1" \
  -n podman "$P import $rootfs_tar debbench:1"

# podman refuses to write over an existing archive, so each run starts without one.
bench save --runs "$runs" \
  --prepare "rm -f $WORK/s.tar" --prepare "rm -f $WORK/d.tar" --prepare "rm -f $WORK/p.tar" \
  -n strata "$STRATA --root $R save -o $WORK/s.tar debbench:1" \
  -n docker "docker save -o $WORK/d.tar debbench:1" \
  -n podman "$P save -o $WORK/p.tar debbench:1"
rm -f "$WORK/p.tar" "$WORK/s.tar"

bench load --runs "$runs" \
  --prepare "$STRATA --root $R rmi -f debbench:1 >/dev/null 2>&1 || true" \
  --prepare "docker rmi -f debbench:1 >/dev/null 2>&1 || true" \
  --prepare "$P rmi -f debbench:1 >/dev/null 2>&1 || true" \
  -n strata "$STRATA --root $R load -i $WORK/d.tar" \
  -n docker "docker load -i $WORK/d.tar" \
  -n podman "$P load -i $WORK/d.tar"

# 500 tags of a small image in each engine.
"$REPO/scripts/make-busybox-rootfs.sh" "$WORK/bb.tar"
"$STRATA" --root "$R" import "$WORK/bb.tar" many:0 >/dev/null
docker import "$WORK/bb.tar" many:0 >/dev/null
$P import "$WORK/bb.tar" many:0 >/dev/null
for i in $(seq 1 499); do
  "$STRATA" --root "$R" tag many:0 "many:$i"
  docker tag many:0 "many:$i"
  $P tag many:0 "many:$i"
done
bench images-500-tags --runs 10 --warmup 2 \
  -n strata "$STRATA --root $R images" \
  -n docker "docker images" \
  -n podman "$P images"

report import save load images-500-tags | tee "$RESULTS/image-summary.txt"
docker images -q 'many' | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
docker rmi -f debbench:1 >/dev/null 2>&1 || true
