#!/usr/bin/env bash
# Five BlockChat nodes as five hosts: one network namespace each, joined by veth links to a
# bridge that lives in a sixth namespace (nothing is routed to or from the host's own network).
# Runs a workload, checks every host holds the same chain, and cleans up. Bounded in time.
#
# Needs root and `ip netns`; where namespaces are not permitted it says so and exits 0.
#   bash blockchat-net/scripts/netns.sh            # uses target/debug/blockchat (built if missing)
#   BLOCKCHAT_BIN=target/release/blockchat bash blockchat-net/scripts/netns.sh
#   NETNS_BOOTSTRAP_FLAGS=--full-blocks NETNS_CAPACITY=7 bash …   # the network's parameters
#   NETNS_KEEP=1 …   keeps the nodes' data dirs and logs when it fails
set -uo pipefail
cd "$(dirname "$0")/../.."

N=5
SUBNET=10.201.0          # only inside the namespaces this script creates
PREFIX=bcnet$$
LIMIT=${NETNS_TIMEOUT:-120}
BIN=${BLOCKCHAT_BIN:-target/debug/blockchat}
CAPACITY=${NETNS_CAPACITY:-5}
# The nodes' API password and the client's, through the environment (never on a command line).
BLOCKCHAT_API_PASSWORD=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export BLOCKCHAT_API_PASSWORD
read -r -a BOOT_FLAGS <<<"${NETNS_BOOTSTRAP_FLAGS:-}"   # e.g. --full-blocks --round-timeout-ms 500

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
fail() {
    echo "netns: FAILED: $*"
    for k in $(seq 0 $((N - 1))); do
        echo "--- host $k: $(ask "$k" status | field "{x: d[x] for x in ['phase', 'height', 'tip', 'round', 'mempool', 'peers_connected', 'waiting']}, w" 2>/dev/null)"
        tail -5 "$WORK/h$k/stderr.log" 2>/dev/null
    done
    if [ -n "${NETNS_KEEP:-}" ]; then
        KEPT=$(mktemp -d) && cp -r "$WORK"/. "$KEPT" && echo "netns: logs kept in $KEPT"
    fi
    exit 1
}

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
    ip netns exec "${PREFIX}h$k" "$BIN" "$@" --listen "$SUBNET.$((k + 1)):7000" --api 127.0.0.1:7001 \
        --data-dir "$WORK/h$k" --no-repl --input "$INPUTS/trans$k.txt" 2>"$WORK/h$k/stderr.log" &
    PIDS+=($!)
}
ask() { ip netns exec "${PREFIX}h$1" "$BIN" client --node 127.0.0.1:7001 --json "${@:2}" 2>/dev/null; }
# A Python expression over a status answer: d is the reply, w its client's progress.
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['result']; w=d.get('workload', {}); print($1)"; }

deadline=$((SECONDS + LIMIT))
start 0 --bootstrap -n $N -c "$CAPACITY" "${BOOT_FLAGS[@]}"
for k in $(seq 1 $((N - 1))); do
    start "$k" --join "$SUBNET.1:7000"
    until [ "$(ask "$k" status | field "d['id']" 2>/dev/null)" = "$k" ]; do
        [ $SECONDS -lt $deadline ] || fail "host $k did not join"
        sleep 0.2
    done
done
echo "netns: $N hosts joined over veth links ($SUBNET.1-$N)"

# Ends when every host is done and the hosts agree on a tip that has not moved for 3 s; or, with
# full blocks only, when it has not moved for 10 s: a line its node cannot afford yet waits for a
# block, and no block comes while fewer transactions than the capacity are pending.
last=""; since=$SECONDS; stalled=""
while :; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for the hosts to agree"
    tips=""; done_all=1; full=""
    for k in $(seq 0 $((N - 1))); do
        # tip, whether every line is committed, given up or lost (or waits for income its node
        # may never get: it has spent everything), and whether blocks must be full
        s=$(ask "$k" status | field "d['tip'], w['committed'] + w['failed'] + w['lost'] == w['total'] or 'insufficient balance' in str(d.get('waiting')), d['max_block_interval_ms'] is None") \
            || { done_all=0; continue; }
        read -r tip done full_blocks <<<"$(echo "$s" | tr -d "(),'")"
        tips+="$tip "
        [ "$done" = True ] || done_all=0
        [ "$full_blocks" = True ] && full=1
    done
    first=${tips%% *}
    same=1; for t in $tips; do [ "$t" = "$first" ] || same=0; done
    if [ "$same" = 0 ] || [ "$tips" != "$last" ]; then since=$SECONDS; fi
    last=$tips
    [ "$done_all" = 1 ] && [ $((SECONDS - since)) -ge 3 ] && break
    if [ $((SECONDS - since)) -ge 10 ]; then
        [ -n "$full" ] || fail "the chain stopped with lines unsent, though partial blocks are on"
        stalled=1
        break
    fi
    sleep 0.5
done
height=$(ask 0 status | field "d['height']")
committed=$(ask 0 status | field "d['committed_txs']")
lines=0
for k in $(seq 0 $((N - 1))); do lines=$((lines + $(ask "$k" status | field "w['committed']"))); done
echo "netns: all $N hosts agree on tip ${first:0:8} at height $height ($committed transactions committed, $lines lines)"
if [ -n "$stalled" ]; then
    for k in $(seq 0 $((N - 1))); do
        ask "$k" status | field "'netns: host $k: %d lines pending, %d never sent%s' % (w['pending'], w['unsent'], '; line %s waits: %s' % (d['waiting']['line'], d['waiting']['reason']) if d['waiting'] else '') if w['pending'] + w['unsent'] else ''" | grep .
    done
    echo "netns: full blocks only: fewer transactions than a block's capacity are pending, so no block can come"
fi
[ "$lines" = "$committed" ] || fail "the clients saw $lines lines commit, the chain holds $committed transactions"
# A clean stop: each node exits on request (what is left is killed on exit).
for k in $(seq 0 $((N - 1))); do ask "$k" exit >/dev/null; done
for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && fail "a node did not stop when asked"
done
echo "netns: PASSED"
