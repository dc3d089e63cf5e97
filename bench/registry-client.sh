#!/usr/bin/env bash
# Push and pull of a ~300 MB image (Debian minbase rootfs + a 100 MB random-file layer) to a
# local CNCF registry, strata against docker and skopeo in one run (hyperfine), with ratios.
#   push: strata push / docker push / skopeo copy docker-archive: → docker://
#   pull: strata pull into an empty store / docker pull with no local layers /
#         skopeo copy docker:// → dir: (skopeo only downloads; it unpacks nothing)
# Before each push run the registry's storage is emptied, so every tool uploads everything.
# Usage: bench/registry-client.sh   (as root; STRATA=/path/to/strata skips the release build)
source "$(dirname "$0")/lib.sh"
if [ -z "${STRATA:-}" ]; then
  bench_setup
else
  "$REPO/scripts/ensure-docker.sh"
fi
RUNS=${RUNS:-3}
W=$WORK/registry-client
rm -rf "$W" && mkdir -p "$W"

# The image: Debian minbase (debootstrap, cached in $WORK) plus a 100 MB random file.
rootfs_tar=$WORK/debian-rootfs.tar
if [ ! -f "$rootfs_tar" ]; then
  [ -d "$WORK/debian/usr" ] || debootstrap --variant=minbase bookworm "$WORK/debian" http://deb.debian.org/debian >"$WORK/debootstrap.log"
  tar -C "$WORK/debian" -cf "$rootfs_tar" .
fi
docker rmi -f regbench-base:1 regbench:1 >/dev/null 2>&1 || true
docker import "$rootfs_tar" regbench-base:1 >/dev/null
mkdir -p "$W/ctx" && head -c 100M /dev/urandom >"$W/ctx/random.bin"
printf 'FROM regbench-base:1\nCOPY random.bin /random.bin\n' >"$W/ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t regbench:1 "$W/ctx" >/dev/null
docker save -o "$W/image.tar" regbench:1
"$STRATA" --root "$W/strata-src" load -i "$W/image.tar" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R=127.0.0.1:$port
cat >"$W/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/registry-data}, delete: {enabled: true}}
http: {addr: $R}
YML
/usr/bin/docker-registry serve "$W/registry.yml" 2>"$W/registry.log" &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$R/v2/" >/dev/null && break; sleep 0.1; done

wipe="rm -rf $W/registry-data/docker"
"$STRATA" --root "$W/strata-src" tag regbench:1 "$R/bench/strata:1"
docker tag regbench:1 "$R/bench/docker:1"
bench registry-client-push --runs "$RUNS" \
  -n strata --prepare "$wipe" "$STRATA --root $W/strata-src push -q $R/bench/strata:1" \
  -n docker --prepare "$wipe" "docker push -q $R/bench/docker:1" \
  -n skopeo --prepare "$wipe" "skopeo copy -q --dest-tls-verify=false docker-archive:$W/image.tar docker://$R/bench/skopeo:1"

# Pull: push once, then remove every local copy before each run.
"$STRATA" --root "$W/strata-src" push -q "$R/bench/strata:1" >/dev/null
docker push -q "$R/bench/docker:1" >/dev/null
docker rmi -f regbench:1 regbench-base:1 "$R/bench/docker:1" >/dev/null 2>&1 || true
bench registry-client-pull --runs "$RUNS" \
  -n strata --prepare "rm -rf $W/strata-dst" "$STRATA --root $W/strata-dst pull -q $R/bench/strata:1" \
  -n docker --prepare "docker rmi -f $R/bench/docker:1 >/dev/null 2>&1 || true" "docker pull -q $R/bench/docker:1" \
  -n skopeo --prepare "rm -rf $W/skopeo-dst" "skopeo copy -q --src-tls-verify=false docker://$R/bench/docker:1 dir:$W/skopeo-dst"

du -sh "$W/image.tar" | awk '{print "image (uncompressed docker-archive): " $1}'
report registry-client-push registry-client-pull
docker rmi -f "$R/bench/docker:1" >/dev/null 2>&1 || true
rm -rf "$W"
