#!/usr/bin/env bash
# `strata registry serve` against the CNCF registry (Debian's docker-registry) on this machine,
# in one run: manifest GET requests/s and blob GET throughput at 1, 16 and 64 concurrent
# clients (wrk, 127.0.0.1 only), the time to push a ~300 MB blob (curl, POST + PUT), and each
# server's peak RSS (VmHWM). Prints the figures and strata/CNCF ratios.
# Usage: bench/registry.sh   (as root; installs wrk, curl and docker-registry from Debian)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${STRATA_BENCH_WORK:-/var/tmp/strata-bench}/registry
DURATION=${DURATION:-8s}
BIG_MB=${BIG_MB:-300}
mkdir -p "$WORK"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/strata-target}
if [ -z "${STRATA:-}" ]; then
  (cd "$REPO" && cargo build --release --quiet -p strata-cli)
  STRATA=$CARGO_TARGET_DIR/release/strata
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rm -rf "$WORK/strata-root" "$WORK/cncf-root"
SP=$(free_port); CP=$(free_port)
"$STRATA" --root "$WORK/strata-root" registry serve --addr "127.0.0.1:$SP" 2>"$WORK/strata.log" &
PIDS+=($!); STRATA_PID=$!
cat >"$WORK/cncf.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/cncf-root}}
http: {addr: 127.0.0.1:$CP}
YML
/usr/bin/docker-registry serve "$WORK/cncf.yml" 2>"$WORK/cncf.log" &
PIDS+=($!); CNCF_PID=$!
for port in $SP $CP; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
done

# push_blob PORT REPO FILE: POST then PUT with the whole body (what both servers support).
push_blob() {
  local port=$1 repo=$2 file=$3 digest loc
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  loc=$(curl -sf -X POST -D - -o /dev/null "http://127.0.0.1:$port/v2/$repo/blobs/uploads/" \
        | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  case $loc in http*) ;; *) loc="http://127.0.0.1:$port$loc";; esac
  case $loc in *\?*) sep='&';; *) sep='?';; esac
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
       "$loc${sep}digest=$digest" -o /dev/null
  echo "$digest"
}

head -c $((16 * 1024 * 1024)) /dev/urandom >"$WORK/blob16m"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/config.json"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$WORK/big"
MT=application/vnd.docker.distribution.manifest.v2+json
declare -A PUSH_SECS
for port in $SP $CP; do
  cd_=$(push_blob "$port" bench/app "$WORK/config.json")
  ld=$(push_blob "$port" bench/app "$WORK/blob16m")
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"%s","size":%d}]}' \
    "$MT" "$cd_" "$(stat -c %s "$WORK/config.json")" "$ld" "$(stat -c %s "$WORK/blob16m")" >"$WORK/manifest.json"
  curl -sf -X PUT -H "Content-Type: $MT" --data-binary "@$WORK/manifest.json" \
       "http://127.0.0.1:$port/v2/bench/app/manifests/latest" -o /dev/null
  start=$(date +%s.%N)
  push_blob "$port" bench/big "$WORK/big" >/dev/null
  PUSH_SECS[$port]=$(echo "$(date +%s.%N) - $start" | bc -l)
done
BLOB=$ld

# wrk_run URL CONNECTIONS -> "requests/s bytes/s"
wrk_run() {
  local url=$1 c=$2 t
  t=$(( c < 2 ? 1 : 2 ))
  wrk -t"$t" -c"$c" -d"$DURATION" -H "Accept: $MT" --latency "$url" 2>&1 | awk '
    /Requests\/sec/ {rps=$2}
    /Transfer\/sec/ {v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2)+0;
                     if (u=="GB") n*=1024; if (u=="KB") n/=1024; if (u ~ /B$/ && u!="MB" && u!="GB" && u!="KB") n/=1048576;
                     mbps=n}
    END {printf "%s %s\n", rps, mbps}'
}

printf '\n%-26s %14s %14s %8s\n' workload strata cncf ratio
for c in 1 16 64; do
  s=$(wrk_run "http://127.0.0.1:$SP/v2/bench/app/manifests/latest" "$c" | cut -d' ' -f1)
  r=$(wrk_run "http://127.0.0.1:$CP/v2/bench/app/manifests/latest" "$c" | cut -d' ' -f1)
  printf '%-26s %12.0f/s %12.0f/s %7.2fx\n' "manifest GET c=$c" "$s" "$r" "$(echo "$s / $r" | bc -l)"
done
for c in 1 16 64; do
  s=$(wrk_run "http://127.0.0.1:$SP/v2/bench/app/blobs/$BLOB" "$c" | cut -d' ' -f2)
  r=$(wrk_run "http://127.0.0.1:$CP/v2/bench/app/blobs/$BLOB" "$c" | cut -d' ' -f2)
  printf '%-26s %10.0fMB/s %10.0fMB/s %7.2fx\n' "blob GET 16MiB c=$c" "$s" "$r" "$(echo "$s / $r" | bc -l)"
done
ps_=${PUSH_SECS[$SP]}; pc=${PUSH_SECS[$CP]}
printf '%-26s %13.2fs %13.2fs %7.2fx\n' "push ${BIG_MB}MB blob" "$ps_" "$pc" "$(echo "$pc / $ps_" | bc -l)"
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
sm=$(hwm "$STRATA_PID"); cm=$(hwm "$CNCF_PID")
printf '%-26s %12.1fMB %12.1fMB %7.2fx\n' "peak RSS (VmHWM)" "$(echo "$sm/1024" | bc -l)" "$(echo "$cm/1024" | bc -l)" "$(echo "$sm / $cm" | bc -l)"
echo "(ratio: strata/cncf for throughput, cncf/strata for push time, strata/cncf for memory)"
