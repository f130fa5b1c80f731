#!/usr/bin/env bash
# Throughput benchmark: our stack next to smoltcp 0.14, over one TAP with the Linux
# kernel as the peer (MTU 1500), and in memory. Prints a table with the ratios.
#
# Builds the release binary, makes a private network namespace with a TAP through
# scripts/netns-run.sh (deleted afterwards, also on failure or Ctrl-C), and runs
# `netstack bench` inside it. Nothing is sent in the root namespace.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench.sh [--bytes N] [--quick] [--loss P[,P...] | --rr | --scale N] [-- NETSTACK-BENCH-OPTIONS...]

Options:
  --bytes N     bytes per transfer, TAP and in memory (default 1GiB; KiB/MiB/GiB suffixes)
  --quick       128MiB per TAP transfer and 256MiB in memory (a first look in seconds)
  --plain       our stack without offloads: no virtio-net header on the TAP (TSO and
                checksum offload off) and TCP checksums computed in memory
  --loss P      goodput on a lossy link instead: nftables drops P % (comma-separated,
                e.g. 0,0.5,1,2,5; 0 is the loss-free baseline) on the kernel side, both ways and each way alone; our
                stack, smoltcp and Linux-to-Linux over a veth pair (offloads off) in
                the same run, with our retransmissions split by cause and the
                kernel's (add `-- --kernel-sack off` for connections without SACK,
                `-- --kernel-cc bbr` for another kernel congestion control than
                CUBIC)
  --rr          latency instead: TCP_RR (1 byte and 1 KiB), TCP_CRR and UDP_RR;
                our stack and smoltcp as clients of an echo server on the kernel
                side of the TAP, and Linux to Linux over a veth pair, in one run
                (`-- --rr-seconds 10` for longer measurements)
  --scale N     scale instead: N connections to our `serve echo` (offloads on), opened
                one after another by a kernel client, each echoing 64 KiB and then
                staying open; memory before, at the peak and idle per connection, and
                the cost of a segment with none and with all N open (raises the
                descriptor limit for the run)
  -h, --help    show this help

Anything after -- goes to `netstack bench` (see `netstack bench --help`), e.g.
  scripts/bench.sh -- --buffers 64KiB,256KiB,1MiB --repeat 3
  scripts/bench.sh -- --memory-only      (no root, no namespace needed)

Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) for the namespace and the TAP, unless
--memory-only is given.
EOF
}

die() {
    echo "bench: $*" >&2
    exit 2
}

cd "$(dirname "$0")/.."

bytes=1GiB
memory_bytes=
extra=()
loss=
rr=
scale=
offloads=(--offload --memory-checksum-offload)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bytes) [[ $# -ge 2 ]] || die "--bytes needs a value"; bytes=$2; shift 2 ;;
        --bytes=*) bytes=${1#*=}; shift ;;
        --quick) bytes=128MiB; memory_bytes=256MiB; shift ;;
        --plain) offloads=(); shift ;;
        --loss) [[ $# -ge 2 ]] || die "--loss needs a value"; loss=$2; shift 2 ;;
        --loss=*) loss=${1#*=}; shift ;;
        --rr) rr=1; shift ;;
        --scale) [[ $# -ge 2 ]] || die "--scale needs a number of connections"; scale=$2; shift 2 ;;
        --scale=*) scale=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) usage >&2; die "unknown option '$1' (options for netstack bench go after --)" ;;
    esac
done
[[ $bytes =~ ^[0-9]+(\.[0-9]+)?\ ?([KMG]i?B?|B)?$ ]] || die "invalid --bytes '$bytes' (e.g. 1GiB, 512MiB, 1000000)"
memory_bytes=${memory_bytes:-$bytes}

memory_only=
for a in "${extra[@]}"; do
    [[ $a == --memory-only ]] && memory_only=1
done

echo "bench: building the release binary" >&2
cargo build --release -p netstack-tools --bin netstack >&2
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/netstack
[[ -x $bin ]] || die "built binary not found at $bin (set CARGO_TARGET_DIR?)"

args=(bench --tap tap0 --addr 10.0.0.2/24 --peer 10.0.0.1 --mtu 1500
      --bytes "$bytes" --memory-bytes "$memory_bytes" "${offloads[@]}" "${extra[@]}")
if [[ -n $loss ]]; then
    [[ $loss =~ ^[0-9.]+(,[0-9.]+)*$ ]] || die "invalid --loss '$loss' (e.g. 0.5,1,2,5)"
    # Loss is compared at MTU 1500 without offloads on every path (the veth pair
    # has TSO/GSO/GRO off too).
    args=(bench --tap tap0 --addr 10.0.0.2/24 --peer 10.0.0.1 --mtu 1500
          --loss "$loss" --buffers 1MiB "${extra[@]}")
fi
if [[ -n $rr ]]; then
    [[ -z $loss ]] || die "--rr and --loss are separate runs"
    args=(bench --tap tap0 --addr 10.0.0.2/24 --peer 10.0.0.1 --mtu 1500 --rr "${extra[@]}")
fi
if [[ -n $scale ]]; then
    [[ $scale =~ ^[0-9]+$ ]] || die "invalid --scale '$scale' (a number of connections)"
    [[ -z $loss && -z $rr ]] || die "--scale, --rr and --loss are separate runs"
    args=(bench --tap tap0 --addr 10.0.0.2/24 --peer 10.0.0.1 --mtu 1500 --offload
          --scale "$scale" "${extra[@]}")
    # The kernel client holds one descriptor per connection.
    ulimit -n $((scale + 4096)) || die "cannot raise the descriptor limit to $((scale + 4096))"
fi
if [[ -n $memory_only ]]; then
    exec "$bin" "${args[@]}"
fi
[[ $(id -u) -eq 0 ]] || die "needs root to make the network namespace and the TAP (or pass -- --memory-only)"
exec scripts/netns-run.sh --tap tap0 --kernel-addr 10.0.0.1/24 --mtu 1500 -- "$bin" "${args[@]}"
