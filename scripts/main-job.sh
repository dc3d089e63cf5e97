#!/usr/bin/env bash
# The main job on a fresh machine: install prerequisites, build strata, make a busybox base
# image from Debian's busybox-static, and walk the image workflow with it. Must run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "scripts/main-job.sh must run as root" >&2; exit 1; fi
./scripts/install-deps.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/strata-target}
cargo build --release --quiet -p strata-cli
strata="$CARGO_TARGET_DIR/release/strata"
export STRATA_ROOT=${STRATA_ROOT:-/var/lib/strata}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

set -x
./scripts/make-busybox-rootfs.sh "$work/rootfs.tar"
"$strata" import -c 'CMD ["sh"]' "$work/rootfs.tar" busybox:local
"$strata" tag busybox:local me/busybox:1.0
"$strata" images
"$strata" history me/busybox:1.0
"$strata" image inspect --format '{{ json .RootFS.Layers }}' me/busybox:1.0
"$strata" save -o "$work/bb.tar" me/busybox:1.0
"$strata" rmi me/busybox:1.0
"$strata" load -i "$work/bb.tar"
"$strata" info
if [ -d examples/seed ] && "$strata" info --format '{{.Features.build}}' | grep -q true; then
  "$strata" build -t seed:latest examples/seed
  "$strata" run --rm seed:latest
else
  echo "strata build and run are not available in this build yet: 'strata info' lists what is" >&2
fi
