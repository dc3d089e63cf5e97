#!/usr/bin/env bash
# `build` workloads, strata against docker's BuildKit, docker's classic builder and buildah
# in one run: a ~200 MB Debian base (debootstrap, see image.sh), a context of 3,000 files
# (~65 MB) copied in, and a few RUN steps.
#   cold      every step built (--no-cache for every tool)
#   nochange  rebuild with nothing changed (everything from the cache)
#   onefile   rebuild after editing one file (misses from its COPY on)
# Usage: bench/build.sh   (as root; installs hyperfine, debootstrap, buildah)
source "$(dirname "$0")/lib.sh"
bench_setup
command -v buildah >/dev/null || { apt-get install -y -qq buildah >&2; }
runs=${RUNS:-5}
cold_runs=${COLD_RUNS:-3}

rootfs_tar=$WORK/debian-rootfs.tar
if [ ! -f "$rootfs_tar" ]; then
  if [ ! -x "$WORK/debian/bin/sh" ]; then
    rm -rf "$WORK/debian"
    debootstrap --variant=minbase bookworm "$WORK/debian" http://deb.debian.org/debian >&2
  fi
  tar --numeric-owner -C "$WORK/debian" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
fi

R=$WORK/strata-build-root
BA="buildah --root $WORK/buildah-root --runroot $WORK/buildah-run --storage-driver overlay"
CTX=$WORK/build-context
if [ ! -f "$CTX/.complete" ]; then
  rm -rf "$CTX"
  python3 - "$CTX" <<'PY'
import os, sys, random
root = sys.argv[1]
rng = random.Random(5)
for i in range(3000):
    d = os.path.join(root, f"d{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:04d}.bin"), "wb") as f:
        f.write(rng.randbytes(rng.randint(12_000, 31_000)))
PY
  touch "$CTX/.complete"
fi
cat > "$CTX/Dockerfile" <<'DF'
FROM debbench:1
RUN echo prepared > /prepared && ls /usr/bin | wc -l > /bins
COPY . /app
RUN du -s /app > /app-size
RUN echo done > /done
DF
echo "context: $(du -sh --exclude=Dockerfile "$CTX" | cut -f1) in $(find "$CTX" -type f | wc -l) files" >&2

"$STRATA" --root "$R" inspect debbench:1 >/dev/null 2>&1 || "$STRATA" --root "$R" import "$rootfs_tar" debbench:1 >/dev/null
docker image inspect debbench:1 >/dev/null 2>&1 || docker import "$rootfs_tar" debbench:1 >/dev/null
$BA inspect debbench:1 >/dev/null 2>&1 || $BA import "$rootfs_tar" debbench:1 >/dev/null 2>&1 \
  || { c=$($BA from scratch) && m=$($BA mount "$c") && tar -C "$m" -xf "$rootfs_tar" && $BA umount "$c" && $BA commit -q "$c" debbench:1 >/dev/null && $BA rm "$c" >/dev/null; }

tools=(-n strata "$STRATA --root $R build -q -t bb:1 $CTX"
       -n classic "DOCKER_BUILDKIT=0 docker build -q -t bb:1 $CTX"
       -n buildah "$BA build --layers -q -t bb:1 $CTX")
if docker buildx version >/dev/null 2>&1; then
  tools+=(-n buildkit "DOCKER_BUILDKIT=1 docker build -q -t bb:2 $CTX")
  have_buildkit=1
else
  echo "docker buildx is not installed: the BuildKit column is missing (DOCKER_BUILDKIT=1 needs buildx)" >&2
  have_buildkit=0
fi
with_flag() { # inserts a flag after "build" in every command
  local flag=$1; shift
  local out=() i=0
  for a in "$@"; do
    if [ $((i % 2)) -eq 1 ]; then out+=("${a/ build / build $flag }"); else out+=("$a"); fi
    i=$((i + 1))
  done
  printf '%s\0' "${out[@]}"
}
mapfile -d '' cold < <(with_flag --no-cache "${tools[@]}")

bench build-cold --runs "$cold_runs" "${cold[@]}"
bench build-nochange --runs "$runs" --warmup 1 "${tools[@]}"
bench build-onefile --runs "$runs" --prepare "date +%s%N > $CTX/d07/f0700.bin" "${tools[@]}"
report build-cold build-nochange build-onefile
