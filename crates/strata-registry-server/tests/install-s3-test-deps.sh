#!/usr/bin/env bash
# Installs the local S3 servers the S3 storage tests run against, both on loopback only:
# Garage (a real distributed object store; built from crates.io once, minutes on 2 cores) and
# moto's server mode (PyPI). Idempotent. scripts/test.sh calls this before the tests; a
# server that cannot be installed is skipped by the tests, which say so.
set -euo pipefail
if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install -q "moto[server]==5.*"
fi
if ! command -v garage >/dev/null 2>&1; then
  echo "building Garage 2.5.0 from crates.io (once)" >&2
  CARGO_TARGET_DIR=${GARAGE_TARGET_DIR:-/var/tmp/garage-build} \
    cargo install garage --version 2.5.0 --locked --no-default-features \
      --features bundled-libs,sqlite --root /usr/local -j "$(nproc)" >/dev/null
fi
