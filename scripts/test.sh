#!/usr/bin/env bash
# Runs strata's whole test suite: unit tests, property tests, and CLI integration tests that
# run the real binary as root (containers included), comparing with the Docker engine when
# one can be started. Must run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "scripts/test.sh must run as root (containers, mounts)" >&2; exit 1; fi
./scripts/install-deps.sh
# The registry server's S3 tests run against Garage (crates.io) and moto (PyPI) on loopback.
./crates/strata-registry-server/tests/install-s3-test-deps.sh || echo "warning: an S3 test server (Garage or moto) is missing; its S3 tests will skip" >&2
# The Python oras client (PyPI), one of the real clients the registry interop tests use.
python3 -c 'import oras.client' 2>/dev/null || python3 -m pip install -q "oras==0.2.*" \
  || echo "warning: oras not installed; its interop test will skip" >&2
./scripts/ensure-docker.sh || echo "warning: no Docker engine; differential tests will skip" >&2
# A target dir outside the checkout keeps rebuilds incremental across fresh clones.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/strata-target}
cargo build --workspace --all-targets --quiet
cargo test --workspace --no-fail-fast
