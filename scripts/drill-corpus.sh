#!/usr/bin/env bash
# Runs every packetdrill script of a directory through `netstack drill` in
# compatibility mode and counts the outcomes: passed, syntax not understood,
# a construct the stack does not support, and a difference in the stack's
# behaviour (the ones to read). Point it at a corpus you have, e.g. a fetched
# google/packetdrill (gtests/net/tcp, --compat linux) or FreeBSD's tcp-testsuite
# (--compat freebsd). IPv6 scripts (named *ipv6*) are left out: the stack is IPv4.
#
# Usage: scripts/drill-corpus.sh DIR [--compat linux|freebsd] [-D NAME]... [--list]
#   -D NAME[=VALUE]  define NAME for the scripts' #ifdef lines (FreeBSD's
#            corpus has #ifdef FreeBSD and #ifdef STANDARD variants); with a
#            value, NAME is replaced by it (linux mode defines what
#            packetdrill's run_all.py does, e.g. TFO_COOKIE)
#   --list   also print each failing script with its first error
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-}
[[ -n $dir && -d $dir ]] || { echo "usage: $0 DIR [--compat linux|freebsd] [-D NAME]... [--list]" >&2; exit 2; }
shift
compat=freebsd
list=
defines=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --compat) compat=${2:-}; shift 2 ;;
        --compat=*) compat=${1#*=}; shift ;;
        --list) list=1; shift ;;
        -D) [[ -n ${2:-} ]] || { echo "drill-corpus: -D needs a name" >&2; exit 2; }
            defines+=(-D "$2"); shift 2 ;;
        *) echo "drill-corpus: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[[ $compat == linux || $compat == freebsd ]] || { echo "drill-corpus: --compat linux or freebsd" >&2; exit 2; }
# What packetdrill's run_all.py defines for every IPv4 script of gtests.
if [[ $compat == linux ]]; then
    defines+=(-D TFO_COOKIE=3021b9d889017eeb -D CODE=host_unreachable
              -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR)
fi

cargo build --release -p netstack-tools --bin netstack >&2
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/netstack
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$dir" -name '*.pkt' ! -name '*ipv6*' | sort > "$work/scripts"
total=$(wc -l < "$work/scripts")
[[ $total -gt 0 ]] || { echo "drill-corpus: no IPv4 *.pkt under $dir" >&2; exit 2; }

# One run per script: a script that loops or crashes cannot take the others along.
while read -r s; do
    timeout 60 "$bin" drill --compat "$compat" "${defines[@]}" "$s" > "$work/out" 2>&1 || true
    verdict=$(grep -m1 -oE '^(PASS|FAIL|XFAIL|XPASS)' "$work/out" || echo CRASH)
    why=$(grep -m1 -E '^  .*:[0-9]+: ' "$work/out" | sed -E 's/^  [^ ]+:[0-9]+: //' || true)
    case $verdict in
        PASS|XPASS) class=pass ;;
        CRASH) class=crash ;;
        *)
            if [[ $why == *"unsupported by the stack"* || $why == *"not supported"* ]]; then
                class=unsupported
            elif [[ $why == *"syntax error"* || $why == *"unknown option --"* ]]; then
                class=syntax
            else class=difference; fi ;;
    esac
    printf '%s\t%s\t%s\n' "$class" "$s" "$why" >> "$work/results"
done < "$work/scripts"

count() { awk -F'\t' -v c="$1" '$1 == c' "$work/results" | wc -l; }
pass=$(count pass)
printf 'drill-corpus: %s (%s mode), %d IPv4 scripts\n' "$dir" "$compat" "$total"
printf '  passed                       %5d  (%d%%)\n' "$pass" $((100 * pass / total))
printf '  syntax not understood        %5d\n' "$(count syntax)"
printf '  unsupported by the stack     %5d\n' "$(count unsupported)"
printf '  stack behaves differently    %5d\n' "$(count difference)"
printf '  crashed or timed out         %5d\n' "$(count crash)"
echo "most common first errors:"
# (sed, not head: head would leave early and, under pipefail, end the script.)
awk -F'\t' '$1 != "pass" {print $3}' "$work/results" \
    | sed -E 's/[0-9]+(\.[0-9]+)?/N/g' | sort | uniq -c | sort -rn | sed -n 1,12p
if [[ -n $list ]]; then
    awk -F'\t' '$1 != "pass" {printf "%s\t%s\t%s\n", $1, $2, $3}' "$work/results"
fi
