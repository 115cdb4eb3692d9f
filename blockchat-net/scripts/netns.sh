#!/usr/bin/env bash
# Five BlockChat nodes as five hosts: one network namespace each, joined by veth links to a
# bridge that lives in a sixth namespace (nothing is routed to or from the host's own network).
# Runs a workload, checks every host holds the same chain, and cleans up. Bounded in time.
#
# Needs root and `ip netns`; where namespaces are not permitted it says so and exits 0.
#   bash blockchat-net/scripts/netns.sh            # uses target/debug/blockchat (built if missing)
#   BLOCKCHAT_BIN=target/release/blockchat bash blockchat-net/scripts/netns.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

N=5
SUBNET=10.201.0          # only inside the namespaces this script creates
PREFIX=bcnet$$
LIMIT=${NETNS_TIMEOUT:-120}
BIN=${BLOCKCHAT_BIN:-target/debug/blockchat}

skip() { echo "netns: SKIPPED: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"
ip netns add "${PREFIX}probe" 2>/dev/null || skip "network namespaces are not permitted here"
ip netns del "${PREFIX}probe"

if [ ! -x "$BIN" ]; then
    cargo build -q -p blockchat-net || { echo "netns: FAILED: cannot build"; exit 1; }
fi
BIN=$(realpath "$BIN")
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    for k in $(seq 0 $((N - 1))); do ip netns del "${PREFIX}h$k" 2>/dev/null; done
    ip netns del "${PREFIX}sw" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "netns: FAILED: $*"; for k in $(seq 0 $((N - 1))); do echo "--- host $k"; tail -5 "$WORK/h$k/stderr.log" 2>/dev/null; done; exit 1; }

# The switch: a bridge in its own namespace.
ip netns add "${PREFIX}sw"
ip -n "${PREFIX}sw" link add br0 type bridge
ip -n "${PREFIX}sw" link set br0 up
for k in $(seq 0 $((N - 1))); do
    ns="${PREFIX}h$k"
    ip netns add "$ns"
    ip link add "${PREFIX}a$k" type veth peer name "${PREFIX}b$k"
    ip link set "${PREFIX}a$k" netns "$ns"
    ip link set "${PREFIX}b$k" netns "${PREFIX}sw"
    ip -n "$ns" link set "${PREFIX}a$k" name eth0
    ip -n "$ns" addr add "$SUBNET.$((k + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "${PREFIX}sw" link set "${PREFIX}b$k" master br0
    ip -n "${PREFIX}sw" link set "${PREFIX}b$k" up
done

INPUTS=../shared/data/blockchat-inputs/5nodes
if [ ! -f "$INPUTS/trans0.txt" ]; then
    INPUTS="$WORK/inputs"
    "$BIN" inputs -n $N --out "$INPUTS" >/dev/null
fi

start() { # host k, then its role's flags
    local k=$1; shift
    mkdir -p "$WORK/h$k"
    ip netns exec "${PREFIX}h$k" "$BIN" "$@" --listen "$SUBNET.$((k + 1)):7000" --control 127.0.0.1:7001 \
        --data-dir "$WORK/h$k" --no-repl --input "$INPUTS/trans$k.txt" 2>"$WORK/h$k/stderr.log" &
    PIDS+=($!)
}
ask() { ip netns exec "${PREFIX}h$1" "$BIN" client --node 127.0.0.1:7001 --json "${@:2}" 2>/dev/null; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['Ok']; print(d$1)"; }

deadline=$((SECONDS + LIMIT))
start 0 --bootstrap -n $N -c 5
for k in $(seq 1 $((N - 1))); do
    start "$k" --join "$SUBNET.1:7000"
    until [ "$(ask "$k" status | field "['id']" 2>/dev/null)" = "$k" ]; do
        [ $SECONDS -lt $deadline ] || fail "host $k did not join"
        sleep 0.2
    done
done
echo "netns: $N hosts joined over veth links ($SUBNET.1-$N)"

last=""; quiet=0
while :; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for the hosts to agree"
    tips=""; done_all=1
    for k in $(seq 0 $((N - 1))); do
        s=$(ask "$k" status) || { done_all=0; continue; }
        tips+="$(echo "$s" | field "['tip']") "
        [ "$(echo "$s" | field "['workload']['submitted'] == d['workload']['total']")" = True ] || done_all=0
    done
    first=${tips%% *}
    same=1; for t in $tips; do [ "$t" = "$first" ] || same=0; done
    if [ "$done_all" = 1 ] && [ "$same" = 1 ] && [ "$tips" = "$last" ]; then
        quiet=$((quiet + 1)); [ $quiet -ge 6 ] && break
    else
        quiet=0
    fi
    last=$tips
    sleep 0.5
done
height=$(ask 0 status | field "['height']")
committed=$(ask 0 status | field "['committed_txs']")
echo "netns: all $N hosts agree on tip ${first:0:8} at height $height ($committed transactions committed)"
echo "netns: PASSED"
