#!/usr/bin/env bash
# Installs and starts the real Docker engine used as the oracle in differential tests.
# Idempotent: does nothing when a daemon already answers. Exits non-zero if it cannot start one.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq docker.io >/dev/null
fi
mkdir -p /var/log
nohup dockerd --iptables=false --bridge=none >/var/log/strata-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "dockerd did not start; see /var/log/strata-dockerd.log" >&2
exit 1
