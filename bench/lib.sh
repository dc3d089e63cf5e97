#!/usr/bin/env bash
# Shared helpers for strata's benchmarks: every workload runs under strata and the reference
# tools in the same run (hyperfine), and a table of means and ratios is printed at the end.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
WORK=${STRATA_BENCH_WORK:-/var/tmp/strata-bench}
RESULTS=${STRATA_BENCH_RESULTS:-$BENCH_DIR/results}
mkdir -p "$WORK" "$RESULTS"

bench_setup() {
  STRATA_BENCH=1 "$REPO/scripts/install-deps.sh"
  "$REPO/scripts/ensure-docker.sh"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/strata-target}
  (cd "$REPO" && cargo build --release --quiet -p strata-cli)
  STRATA="$CARGO_TARGET_DIR/release/strata"
}

# bench NAME [hyperfine args...]: the caller names each command with -n and gives one
# --prepare per command (a single --prepare would run before every command alike).
bench() {
  local name=$1; shift
  hyperfine --style basic --export-json "$RESULTS/$name.json" "$@" >&2
}

# Prints one line per result file: workload, each tool's mean, and other/strata ratios.
report() {
  python3 - "$RESULTS" "$@" <<'PY'
import json, sys, os
results = sys.argv[1]
names = sys.argv[2:]
print(f"{'workload':<28} {'tool':<10} {'mean':>10} {'stddev':>9} {'vs strata':>10}")
for name in names:
    data = json.load(open(os.path.join(results, name + ".json")))["results"]
    base = next((r["mean"] for r in data if r["command"].startswith("strata")), None)
    for r in data:
        ratio = f"{r['mean'] / base:.2f}x" if base else "-"
        print(f"{name:<28} {r['command']:<10} {r['mean']*1000:>8.1f}ms {r['stddev']*1000 if r['stddev'] else 0:>7.1f}ms {ratio:>10}")
PY
}
