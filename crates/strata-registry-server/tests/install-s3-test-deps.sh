#!/usr/bin/env bash
# Installs the local S3-compatible server the S3 storage tests run against (moto's server mode,
# loopback only). Idempotent. CI calls this before `cargo test -p strata-registry-server`.
set -euo pipefail
if command -v moto_server >/dev/null 2>&1; then exit 0; fi
python3 -m pip install -q "moto[server]==5.*"
