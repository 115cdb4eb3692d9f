#!/usr/bin/env bash
# Five nodes in containers (compose.yaml, the image of docker/build.sh) on a private Docker
# network, each sending its course-format file through its node: one node is killed and
# restarted, another cut off the network and reconnected, and at the end every node must hold
# the same chain, the supply must be conserved, and the block the killed node had committed two
# below its tip must still be in every chain. Says plainly that it skipped where Docker or
# Compose is missing. Everything it starts is removed on exit, bounded in time.
#   bash blockchat-net/scripts/docker.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! docker info > /dev/null 2>&1; then
    echo "docker: SKIPPED (no Docker engine here)"
    exit 0
fi
if docker compose version > /dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose > /dev/null; then
    compose=(docker-compose)
else
    echo "docker: SKIPPED (neither 'docker compose' nor docker-compose is installed)"
    exit 0
fi

bash docker/build.sh
cargo build --release -q -p blockchat-net
client=target/release/blockchat
if [ -f ../shared/data/blockchat-inputs/5nodes/trans0.txt ]; then
    BLOCKCHAT_INPUTS=$(cd ../shared/data/blockchat-inputs/5nodes && pwd)
else
    BLOCKCHAT_INPUTS=$PWD/docker/inputs
fi
export BLOCKCHAT_INPUTS
project=bcci$$
dc() { timeout 120 "${compose[@]}" -p "$project" -f compose.yaml "$@"; }
cleanup() { dc down -v --remove-orphans > /dev/null 2>&1 || true; }
trap cleanup EXIT

# `status` of container k's node as JSON (its control endpoint is on 127.0.0.1:7101+k).
status() { timeout 10 "$client" client --node "127.0.0.1:$((7101 + $1))" --json status 2> /dev/null; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['Ok']; print($1)"; }
# Waits up to $1 seconds for $2 (a command) to succeed.
wait_for() {
    local limit=$1; shift
    local start=$SECONDS
    until "$@"; do
        if (( SECONDS - start > limit )); then return 1; fi
        sleep 1
    done
}
all_ready() {
    for k in 0 1 2 3 4; do
        [ "$(status $k | field "d['phase']['phase']")" = ready ] || return 1
    done
}

if ! out=$(dc up -d 2>&1); then
    echo "docker: FAILED (compose up): $out" >&2
    exit 1
fi
if ! wait_for 60 all_ready; then
    echo "docker: FAILED (the network did not form in 60 s)" >&2
    dc logs --tail 20 >&2 || true
    exit 1
fi
echo "docker: 5 containers formed the network ($BLOCKCHAT_INPUTS)"
sleep 4

# Kill node2's container mid-workload and start it again from its volume.
before=$(status 2 | field "d['height']")
kept=$((before > 2 ? before - 2 : 0))
kept_hash=$(timeout 10 "$client" client --node 127.0.0.1:7103 --json blocks "$kept" 1 | \
    python3 -c "import json,sys; print(json.load(sys.stdin)['Ok']['blocks'][0]['hash'])")
dc kill node2 > /dev/null 2>&1
echo "docker: killed node2 at height $before"
sleep 3
dc start node2 > /dev/null 2>&1

# Cut node3 off the network for 5 s, then reconnect it at its address.
node3=$(dc ps -q node3)
docker network disconnect "${project}_chain" "$node3"
echo "docker: node3 disconnected"
sleep 5
docker network connect --ip 10.203.0.13 "${project}_chain" "$node3"
echo "docker: node3 reconnected"

# Settled: every workload done or waiting for income it can never get, the same tip
# everywhere, and no new block for 5 s.
tips() { for k in 0 1 2 3 4; do status $k | field "d['tip']" || return 1; done; }
last=""; same_since=$SECONDS
settled() {
    local now
    now=$(tips | sort -u | tr '\n' ' ') || return 1
    for k in 0 1 2 3 4; do
        status $k | field "d['workload']['committed'] + d['workload']['failed'] + d['workload']['lost'] == d['workload']['total'] or (d['workload']['waiting'] and d['mempool'] == 0) or exit(1)" > /dev/null || return 1
    done
    if [ "$now" != "$last" ]; then last=$now; same_since=$SECONDS; return 1; fi
    [ "$(echo "$now" | wc -w)" = 1 ] && (( SECONDS - same_since >= 5 ))
}
if ! wait_for 150 settled; then
    echo "docker: FAILED (no agreement within 150 s; tips: $(tips | tr '\n' ' '))" >&2
    dc logs --tail 30 >&2 || true
    exit 1
fi

height=$(status 0 | field "d['height']")
supply=0
for k in 0 1 2 3 4; do
    kept_now=$(timeout 10 "$client" client --node "127.0.0.1:$((7101 + k))" --json blocks "$kept" 1 | \
        python3 -c "import json,sys; print(json.load(sys.stdin)['Ok']['blocks'][0]['hash'])")
    if [ "$kept_now" != "$kept_hash" ]; then
        echo "docker: FAILED (node in container $k lost block $kept: $kept_now, was $kept_hash)" >&2
        exit 1
    fi
    units=$(timeout 10 "$client" client --node "127.0.0.1:$((7101 + k))" --json balance | \
        python3 -c "import json,sys; print(json.load(sys.stdin)['Ok']['balance'])")
    supply=$((supply + units))
done
if [ "$supply" != 5000000000 ]; then
    echo "docker: FAILED (balances add up to $supply units, not 5000 BCC)" >&2
    exit 1
fi
committed=$(status 0 | field "d['committed_txs']")
echo "docker: all 5 containers agree on tip ${last:0:8} at height $height ($committed transactions);" \
    "block $kept, committed before node2 was killed, is in every chain; supply 5000 BCC"
echo "docker: PASSED"
