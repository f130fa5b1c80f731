#!/usr/bin/env bash
# Run a command inside a private network namespace that holds a TAP, then remove it.
#
# DESIGN.md, invariant 7: TAP only inside a network namespace made for the purpose.
# Nothing is configured in the root namespace; the namespace (with its TAP, addresses
# and nftables rules) is deleted on exit, also when the command fails or is
# interrupted.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/netns-run.sh [OPTIONS] -- COMMAND [ARGS...]

Creates a network namespace (netstack-<pid>-<n>), a TAP in it, gives the kernel side
an address, runs COMMAND inside the namespace, and deletes the namespace afterwards.
Exits with COMMAND's exit status. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN).

Options:
  --tap NAME              TAP interface name (default: tap0)
  --kernel-addr A.B.C.D/P kernel-side address on the TAP (default: 10.0.0.1/24)
  --mtu N                 TAP MTU (default: 1500)
  --bridge N              N TAPs (tap0 ... tapN-1, 2-8) on a bridge br0 that holds the
                          kernel-side address: one stack per TAP, so two programs
                          each on its own stack talk to each other and to the kernel
  --loss PCT              make the kernel drop PCT% (0-100) of IP packets it sends
                          and receives (nftables numgen; ARP and loopback spared)
  -h, --help              show this help

Inside COMMAND, NETSTACK_NETNS holds the namespace name and NETSTACK_TAP the TAP name
(with --bridge, the first; NETSTACK_TAPS lists them all).

Example:
  scripts/netns-run.sh --loss 5 -- netstack up --tap tap0 --addr 10.0.0.2/24
EOF
}

die() {
    echo "netns-run: $*" >&2
    exit 2
}

tap=tap0
kernel_addr=10.0.0.1/24
mtu=1500
loss=
bridge=

while [[ $# -gt 0 ]]; do
    case "$1" in
        --tap) [[ $# -ge 2 ]] || die "--tap needs a value"; tap=$2; shift 2 ;;
        --tap=*) tap=${1#*=}; shift ;;
        --kernel-addr) [[ $# -ge 2 ]] || die "--kernel-addr needs a value"; kernel_addr=$2; shift 2 ;;
        --kernel-addr=*) kernel_addr=${1#*=}; shift ;;
        --mtu) [[ $# -ge 2 ]] || die "--mtu needs a value"; mtu=$2; shift 2 ;;
        --mtu=*) mtu=${1#*=}; shift ;;
        --bridge) [[ $# -ge 2 ]] || die "--bridge needs a value"; bridge=$2; shift 2 ;;
        --bridge=*) bridge=${1#*=}; shift ;;
        --loss) [[ $# -ge 2 ]] || die "--loss needs a value"; loss=$2; shift 2 ;;
        --loss=*) loss=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) usage >&2; die "unknown option '$1' (the command goes after --)" ;;
    esac
done

[[ $# -gt 0 ]] || { usage >&2; die "no command given (put it after --)"; }
[[ ${#tap} -ge 1 && ${#tap} -le 15 && $tap =~ ^[A-Za-z0-9_.-]+$ ]] \
    || die "invalid TAP name '$tap' (1-15 characters: letters, digits, _ . -)"
[[ $kernel_addr =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] \
    || die "invalid --kernel-addr '$kernel_addr' (expected A.B.C.D/P)"
[[ $mtu =~ ^[0-9]+$ ]] && (( mtu >= 68 && mtu <= 65535 )) \
    || die "invalid --mtu '$mtu' (68-65535)"
if [[ -n $loss ]]; then
    [[ $loss =~ ^[0-9]+$ ]] && (( loss <= 100 )) || die "invalid --loss '$loss' (0-100 percent)"
fi
if [[ -n $bridge ]]; then
    [[ $bridge =~ ^[0-9]+$ ]] && (( bridge >= 2 && bridge <= 8 )) \
        || die "invalid --bridge '$bridge' (2-8 TAPs)"
    tap=tap0
fi
[[ $(id -u) -eq 0 ]] || die "needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) to create a namespace and a TAP"
command -v ip >/dev/null || die "ip (iproute2) not found"
if [[ -n $loss ]]; then
    command -v nft >/dev/null || die "nft (nftables) not found, needed for --loss"
fi

# A name no other run uses: our pid, plus a counter in case a namespace of that name
# is left over from an earlier process with the same pid.
n=0
while ip netns list | awk '{print $1}' | grep -qx "netstack-$$-$n"; do
    n=$((n + 1))
done
ns=netstack-$$-$n
created=

cleanup() {
    if [[ -n $created ]]; then
        if ip netns del "$ns" 2>/dev/null; then
            echo "netns-run: deleted namespace $ns" >&2
        else
            echo "netns-run: warning: could not delete namespace $ns" >&2
        fi
        created=
    fi
}
trap cleanup EXIT
# On a signal during setup, clean up (via the EXIT trap) and exit with the
# conventional status. While the command runs, signals are forwarded to it instead.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ip netns add "$ns"
created=1
ip -n "$ns" link set lo up
taps=$tap
if [[ -n $bridge ]]; then
    ip -n "$ns" link add br0 type bridge
    taps=
    for ((i = 0; i < bridge; i++)); do
        ip -n "$ns" tuntap add mode tap name "tap$i"
        ip -n "$ns" link set "tap$i" mtu "$mtu" master br0 up
        taps="$taps${taps:+ }tap$i"
    done
    ip -n "$ns" link set br0 mtu "$mtu" up
    ip -n "$ns" addr add "$kernel_addr" dev br0
else
    ip -n "$ns" tuntap add mode tap name "$tap"
    ip -n "$ns" link set "$tap" mtu "$mtu" up
    ip -n "$ns" addr add "$kernel_addr" dev "$tap"
fi
if [[ -n $loss ]]; then
    if (( loss == 100 )); then
        match=""  # numgen random mod 100 yields 0-99: "< 100" would not load
    else
        match="numgen random mod 100 < $loss "
    fi
    if (( loss > 0 )); then
        ip netns exec "$ns" nft -f - <<EOF
table inet netstack_loss {
    chain input {
        type filter hook input priority filter; policy accept;
        meta iifname != "lo" ${match}counter drop
    }
    chain output {
        type filter hook output priority filter; policy accept;
        meta oifname != "lo" ${match}counter drop
    }
}
EOF
    fi
fi

{
    echo "netns-run: namespace $ns"
    if [[ -n $bridge ]]; then
        echo "netns-run:   TAPs $taps (mtu $mtu) on bridge br0, kernel side $kernel_addr"
    else
        echo "netns-run:   TAP $tap (mtu $mtu), kernel side $kernel_addr"
    fi
    if [[ -n $loss ]]; then
        echo "netns-run:   kernel drops $loss% of IP packets in and out (nftables table inet netstack_loss)"
    fi
    echo "netns-run: running: $*"
} >&2

export NETSTACK_NETNS=$ns NETSTACK_TAP=$tap NETSTACK_TAPS=$taps
# The command runs in the background so that a signal to this script is handled at
# once (bash defers traps while a foreground command runs): it is forwarded to the
# command, and the namespace is deleted when the command has exited. The subshell
# undoes bash's SIGINT/SIGQUIT-ignoring for background jobs and keeps our stdin.
( trap - INT QUIT; exec ip netns exec "$ns" "$@" ) <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' TERM
trap 'kill -INT "$child" 2>/dev/null || true' INT
trap 'kill -HUP "$child" 2>/dev/null || true' HUP
status=0
while :; do
    if wait "$child"; then status=0; else status=$?; fi
    # An interrupted `wait` returns early; go on waiting until the command is gone.
    kill -0 "$child" 2>/dev/null || break
done
exit "$status"
