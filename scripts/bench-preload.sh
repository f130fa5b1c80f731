#!/usr/bin/env bash
# netstack run next to the kernel, in one run:
#  1. iperf3 throughput with the client over `netstack run` (our stack through the
#     preload library) against the kernel's iperf3 server over a TAP, both
#     directions, next to kernel-to-kernel over a veth pair (TSO/GSO/GRO off);
#  2. the cost of the preload layer per call: 1-byte TCP request/response to an
#     echo server on the kernel side, by our stack through the preload library
#     (a std::net client under `netstack run`) and through the Rust API directly.
# Every TAP and veth lives in a private namespace, deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-5}
[[ $seconds =~ ^[0-9]+$ ]] && (( seconds >= 1 )) || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench-preload: needs root (namespaces, TAP, veth)" >&2; exit 2; }
for t in iperf3 ethtool python3; do
    command -v $t >/dev/null || { echo "bench-preload: $t not found" >&2; exit 2; }
done

echo "bench-preload: building (release)" >&2
cargo build --release -p netstack-tools -p netstack-preload >&2
bin=$PWD/target/release/netstack

# Gbit/s received, from iperf3 -J.
export RATE_PY='
import json, sys
j = json.load(sys.stdin)
if "error" in j:
    print("bench-preload: iperf3: " + j["error"], file=sys.stderr); print("nan")
else:
    print("%.2f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))'
rate() { python3 -c "$RATE_PY"; }

# 1 and 2 on a TAP, our stack at 10.0.0.2, the kernel at 10.0.0.1.
tap_out=$(scripts/netns-run.sh -- bash -c "
    set -e
    iperf3 -s -B 10.0.0.1 -D -I /tmp/bench-preload-iperf.\$\$.pid
    sleep 1; up=\$($bin run -- iperf3 -c 10.0.0.1 -t $seconds -J | python3 -c \"\$RATE_PY\")
    sleep 1; down=\$($bin run -- iperf3 -c 10.0.0.1 -t $seconds -R -J | python3 -c \"\$RATE_PY\")
    sleep 1; up_plain=\$($bin run --no-offload -- iperf3 -c 10.0.0.1 -t $seconds -J | python3 -c \"\$RATE_PY\")
    sleep 1; down_plain=\$($bin run --no-offload -- iperf3 -c 10.0.0.1 -t $seconds -R -J | python3 -c \"\$RATE_PY\")
    kill \$(cat /tmp/bench-preload-iperf.\$\$.pid); rm -f /tmp/bench-preload-iperf.\$\$.pid
    echo \"tap_up \$up\"; echo \"tap_down \$down\"
    echo \"plain_up \$up_plain\"; echo \"plain_down \$down_plain\"
    $bin bench-rr-peer serve --at 10.0.0.1:7777 & srv=\$!
    sleep 0.5
    echo \"rr_preload \$($bin run -- $bin bench-rr-peer client --at 10.0.0.1:7777 --seconds $seconds)\"
    echo \"rr_direct \$($bin bench-rr-peer ours --at 10.0.0.1:7777 --seconds $seconds)\"
    kill \$srv; wait \$srv 2>/dev/null || true
")

# Linux to Linux over a veth pair.
a=bench-preload-$$-a b=bench-preload-$$-b
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip -n "$a" link add veth0 type veth peer name veth1 netns "$b"
ip -n "$a" addr add 10.9.0.1/24 dev veth0; ip -n "$b" addr add 10.9.0.2/24 dev veth1
ip -n "$a" link set veth0 up; ip -n "$b" link set veth1 up
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip netns exec "$a" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$b" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$b" iperf3 -s -B 10.9.0.2 -D -I /tmp/bench-preload-veth.$$.pid
sleep 0.5
veth_up=$(ip netns exec "$a" iperf3 -c 10.9.0.2 -t "$seconds" -J | rate)
sleep 1
veth_down=$(ip netns exec "$a" iperf3 -c 10.9.0.2 -t "$seconds" -R -J | rate)
kill "$(cat /tmp/bench-preload-veth.$$.pid)" 2>/dev/null || true
rm -f /tmp/bench-preload-veth.$$.pid

get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$tap_out"; }
rr() { awk -v k="$1" '$1 == k { print $3, $6 }' <<<"$tap_out"; }   # count, elapsed ns
read -r pc pe < <(rr rr_preload)
read -r dc de < <(rr rr_direct)
python3 - "$(get tap_up)" "$(get tap_down)" "$(get plain_up)" "$(get plain_down)" \
    "$veth_up" "$veth_down" "$pc" "$pe" "$dc" "$de" <<'PY'
import sys
up, down, pup, pdown, vup, vdown = map(float, sys.argv[1:7])
pc, pe, dc, de = map(int, sys.argv[7:11])
print("iperf3 client on our side, Gbit/s   netstack run (offloads / plain)   Linux-Linux veth (offloads off)   ratios")
print("  our side sends                    %8.2f / %-8.2f                 %8.2f                        %.2fx / %.2fx" % (up, pup, vup, up / vup, pup / vup))
print("  our side receives                 %8.2f / %-8.2f                 %8.2f                        %.2fx / %.2fx" % (down, pdown, vdown, down / vdown, pdown / vdown))
pt, dt = pe / pc / 1e3, de / dc / 1e3
print("TCP_RR 1 byte            through preload   Rust API directly")
print("  transactions/s        %10.0f        %10.0f" % (pc / (pe / 1e9), dc / (de / 1e9)))
print("  us per transaction    %10.1f        %10.1f" % (pt, dt))
print("  preload layer cost per transaction (write + read): %.1f us" % (pt - dt))
PY
