#!/usr/bin/env bash
# Installs what strata's build, tests and benchmarks need from Debian's packages.
# Idempotent: packages already installed are skipped, and apt's lists are refreshed only
# when something is missing.
set -euo pipefail
packages=(
  busybox-static  # the base image fixture (scripts/make-busybox-rootfs.sh)
  docker.io       # the oracle in differential tests
  runc            # an external OCI runtime for --runtime
  tini            # --init (docker-init)
  zstd xz-utils bzip2 gzip  # compressed import/load inputs in tests
  tmux            # interactive (pty) tests
  skopeo docker-registry apache2-utils  # registry interop tests (htpasswd for auth)
  podman          # registry interop: push and pull with a second real client
  netavark aardvark-dns iptables  # bridge networking (strata-network drives netavark)
  iproute2 procps
  libseccomp-dev  # the embedded runtime's seccomp filters (libcontainer's libseccomp feature)
)
[ "${STRATA_BENCH:-0}" = 1 ] && packages+=(hyperfine debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
