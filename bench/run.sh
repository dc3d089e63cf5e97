#!/usr/bin/env bash
# Container start latency, strata against docker and podman (with runc) in one run:
#   `run --rm IMAGE true` once, and 20 such runs in a row (no network), and
#   `run --rm IMAGE true` with bridge networking (a veth on a bridge, address, NAT rules).
# dockerd runs here with --bridge=none (see scripts/ensure-docker.sh), so docker's bridge case
# uses a user-defined bridge network; podman uses its default `podman` network (netavark).
# Usage: bench/run.sh   (as root; STRATA=/path/to/strata skips the release build)
source "$(dirname "$0")/lib.sh"
if [ -z "${STRATA:-}" ]; then
  bench_setup
else
  "$REPO/scripts/ensure-docker.sh"
fi
runs=${RUNS:-20}

tar=$WORK/busybox-rootfs.tar
[ -f "$tar" ] || "$REPO/scripts/make-busybox-rootfs.sh" "$tar"
R=$WORK/strata-run-root
rm -rf "$R"
"$STRATA" --root "$R" import "$tar" runbench:1 >/dev/null
docker import "$tar" runbench:1 >/dev/null
tools=(-n strata "$STRATA --root $R run --rm --network none runbench:1 true"
       -n docker "docker run --rm --network none runbench:1 true")
loop=(-n strata "for i in \$(seq 20); do $STRATA --root $R run --rm --network none runbench:1 true; done"
      -n docker "for i in \$(seq 20); do docker run --rm --network none runbench:1 true; done")
if command -v podman >/dev/null; then
  P="podman --root $WORK/podman-root --runroot $WORK/podman-run --storage-driver overlay --runtime runc --cgroup-manager cgroupfs --events-backend none"
  $P import "$tar" runbench:1 >/dev/null
  # Podman raises RLIMIT_NOFILE/NPROC by default, which fails where the host withholds
  # CAP_SYS_RESOURCE (as here): ask for limits within the host's.
  P="$P run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
  tools+=(-n podman "$P runbench:1 true")
  loop+=(-n podman "for i in \$(seq 20); do $P runbench:1 true; done")
fi

docker network inspect strata-bench >/dev/null 2>&1 || docker network create strata-bench >/dev/null
bridge=(-n strata "$STRATA --root $R run --rm runbench:1 true"
        -n docker "docker run --rm --network strata-bench runbench:1 true")
if command -v podman >/dev/null; then
  bridge+=(-n podman "${P/--network none/--network podman} runbench:1 true")
fi

bench run-rm-true --warmup 3 --runs "$runs" "${tools[@]}"
bench run-20-in-a-row --warmup 1 --runs "${LOOP_RUNS:-3}" "${loop[@]}"
bench run-rm-bridge --warmup 3 --runs "$runs" "${bridge[@]}"
report run-rm-true run-20-in-a-row run-rm-bridge
