#!/usr/bin/env bash
# Leak check for bridge networking: N (default 1000) create/start/remove cycles, then counts
# what the host has left: veth interfaces, iptables rules naming a container, namespaces under
# /run/strata/netns, held addresses. Prints the counts before and after and fails on a leak.
# Usage: bench/network-cycles.sh [N]   (as root; STRATA=/path/to/strata skips the release build)
source "$(dirname "$0")/lib.sh"
[ -n "${STRATA:-}" ] || bench_setup
n=${1:-1000}
tar=$WORK/busybox-rootfs.tar
[ -f "$tar" ] || "$REPO/scripts/make-busybox-rootfs.sh" "$tar"
R=$WORK/strata-cycles-root
rm -rf "$R"
"$STRATA" --root "$R" import "$tar" cycles:1 >/dev/null
net_id=$("$STRATA" --root "$R" network create cyclenet)
counts() {
  local veths rules netns held
  # Bridges keep one veth pair (sk…/sp…) while they exist, like docker0 stays up: not a leak.
  veths=$(ip -o link show type veth | grep -vc ': s[kp][0-9a-f]\{12\}[@:]' || true)
  rules=$(iptables-save | grep -c 'NETAVARK-DN-\|dnat name' || true)
  netns=$(find /run/strata/netns -mindepth 1 2>/dev/null | wc -l)
  held=$(cat /run/strata/networks/*.json 2>/dev/null | grep -c ContainerId || true)
  echo "veth=$veths rules=$rules netns=$netns addresses=$held"
}
before=$(counts)
start=$(date +%s)
for i in $(seq "$n"); do
  net=bridge; [ $((i % 2)) = 0 ] && net=cyclenet
  id=$("$STRATA" --root "$R" create --network "$net" -p 127.0.0.1::80 cycles:1 true)
  "$STRATA" --root "$R" start -a "$id" >/dev/null
  "$STRATA" --root "$R" rm "$id" >/dev/null
done
echo "cycles: $n in $(( $(date +%s) - start )) s"
"$STRATA" --root "$R" network rm cyclenet >/dev/null
after=$(counts)
echo "before: $before"
echo "after:  $after"
ip -o link show "br-$(cut -c1-12 <<<"$net_id")" >/dev/null 2>&1 && { echo "LEAK: bridge of cyclenet" >&2; exit 1; }
[ "$before" = "$after" ] || { echo "LEAK" >&2; exit 1; }
