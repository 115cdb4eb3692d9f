#!/usr/bin/env bash
# Five nodes in containers (compose.yaml, the image of docker/build.sh) on a private Docker
# network, with the course workload driven through their authenticated JSON-RPC APIs from the
# host (docker/workload.py: node k's API sends the lines of trans{k}.txt as send_message calls).
# Mid-workload one node is killed and restarted, another cut off the network and reconnected. At
# the end every node must hold the same chain and the same balances, the supply must be 5,000
# BCC, the block the killed node had committed two below its tip must still be in every chain,
# and every transaction an API accepted must be committed in the same block on every node (or,
# for the killed node only, have lost its nonce to another of its transactions; see
# docker/workload.py check). It also checks from the host that the API refuses a call without
# the password (401), that /metrics answers with it, and that the API is published on loopback
# only. compose.yaml's own --input workload is turned off here (an override without it) so the
# API is the only client. Says plainly that it skipped where Docker or Compose is missing.
# Everything it starts is removed on exit, bounded in time.
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
# The image's static binary runs on the host too: it is the client here (no second build).
client=target/static/x86_64-unknown-linux-gnu/release/blockchat
if [ -f ../shared/data/blockchat-inputs/5nodes/trans0.txt ]; then
    BLOCKCHAT_INPUTS=$(cd ../shared/data/blockchat-inputs/5nodes && pwd)
else
    BLOCKCHAT_INPUTS=$PWD/docker/inputs
fi
# A fresh password, not compose.yaml's demo default: the nodes get it through compose's
# variable; the client and docker/workload.py read it from the environment.
BLOCKCHAT_API_PASSWORD=ci-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
export BLOCKCHAT_INPUTS BLOCKCHAT_API_PASSWORD
project=bcci$$
tmp=$(mktemp -d)
python3 docker/workload.py quiet compose.yaml > "$tmp/quiet.yaml"
dc() { timeout 120 "${compose[@]}" -p "$project" -f compose.yaml -f "$tmp/quiet.yaml" "$@"; }
sender=""
cleanup() {
    if [ -n "$sender" ]; then kill "$sender" 2> /dev/null || true; fi
    dc down -v --remove-orphans > /dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "docker: FAILED ($1)" >&2
    dc logs --tail 20 >&2 || true
    exit 1
}

# Container k's API is on 127.0.0.1:7101+k. `api K CMD…` prints the client's JSON answer.
api() { local k=$1; shift; timeout 10 "$client" client --node "127.0.0.1:$((7101 + k))" --json "$@" 2> /dev/null; }
# Reads the answer's result (d) with a Python expression; fails on an error answer.
field() { python3 -c "import json,sys; d=json.load(sys.stdin)['result']; print($1)"; }
status() { api "$1" status; }
# Waits up to $1 seconds for $2 (a command) to succeed.
wait_for() {
    local limit=$1; shift
    local start=$SECONDS
    until "$@"; do
        if (( SECONDS - start > limit )); then return 1; fi
        sleep 1
    done
}
ready() { [ "$(status "$1" | field "d['phase']")" = ready ]; }
all_ready() { for k in 0 1 2 3 4; do ready $k || return 1; done; }

if ! out=$(dc up -d 2>&1); then
    fail "compose up: $out"
fi
wait_for 60 all_ready || fail "the network did not form in 60 s"
echo "docker: 5 containers formed the network ($BLOCKCHAT_INPUTS)"

# The API from the host: loopback only, refused without the password, metrics with it.
rpc='{"jsonrpc":"2.0","method":"status","id":1}'
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
published=$(docker port "$(dc ps -q node0)" 7001/tcp)
[ "$published" = 127.0.0.1:7101 ] || fail "node0's API is published on '$published', not 127.0.0.1:7101 only"
code=$(http_code -H 'Content-Type: application/json' -d "$rpc" http://127.0.0.1:7101/rpc)
[ "$code" = 401 ] || fail "a call without the password got HTTP $code, not 401"
code=$(http_code -H "Authorization: Bearer wrong-$BLOCKCHAT_API_PASSWORD" -H 'Content-Type: application/json' \
    -d "$rpc" http://127.0.0.1:7101/rpc)
[ "$code" = 401 ] || fail "a call with a wrong password got HTTP $code, not 401"
code=$(http_code http://127.0.0.1:7101/metrics)
[ "$code" = 401 ] || fail "/metrics without the password got HTTP $code, not 401"
metric=$(curl -s --max-time 5 -u "prometheus:$BLOCKCHAT_API_PASSWORD" http://127.0.0.1:7101/metrics | \
    grep '^blockchat_height ') || fail "/metrics with the password shows no blockchat_height"
echo "docker: API on 127.0.0.1 only; without the password HTTP 401, with it /metrics shows '$metric'"

# The course workload through the APIs, in the background while the faults happen.
python3 docker/workload.py send --inputs "$BLOCKCHAT_INPUTS" --out "$tmp/sent.json" > "$tmp/send.log" 2>&1 &
sender=$!
height_at_least() { (( $(status "$1" | field "d['height']") >= $2 )); }
wait_for 60 height_at_least 2 10 || fail "node2 reached no height 10 in 60 s of the workload"

# Kill node2's container mid-workload and start it again from its volume.
before=$(status 2 | field "d['height']")
kept=$((before - 2))
kept_hash=$(api 2 blocks "$kept" 1 | field "d[0]['hash']")
dc kill node2 > /dev/null 2>&1
echo "docker: killed node2 at height $before"
sleep 3
dc start node2 > /dev/null 2>&1
wait_for 60 ready 2 || fail "node2 did not come back in 60 s"
echo "docker: node2 restarted from its volume at height $(status 2 | field "d['height']")"

# Cut node3 off the network for 5 s, then reconnect it at its address.
node3=$(dc ps -q node3)
docker network disconnect "${project}_chain" "$node3"
echo "docker: node3 disconnected"
sleep 5
docker network connect --ip 10.203.0.13 "${project}_chain" "$node3"
echo "docker: node3 reconnected"

if ! wait "$sender"; then
    sender=""
    fail "the workload: $(cat "$tmp/send.log")"
fi
sender=""
echo "docker: workload through the API: $(cat "$tmp/send.log")"

# Settled: the same tip everywhere, every mempool empty, and no new block for 5 s.
tips() { for k in 0 1 2 3 4; do status $k | field "d['tip']" || return 1; done; }
pending() { for k in 0 1 2 3 4; do status $k | field "d['mempool']" || return 1; done; }
last=""; same_since=$SECONDS
settled() {
    local now
    now=$(tips | sort -u | tr '\n' ' ') || return 1
    [ "$(pending | sort -u | tr -d '\n')" = 0 ] || return 1
    if [ "$now" != "$last" ]; then last=$now; same_since=$SECONDS; return 1; fi
    [ "$(echo "$now" | wc -w)" = 1 ] && (( SECONDS - same_since >= 5 ))
}
if ! wait_for 150 settled; then
    fail "no agreement within 150 s; tips: $(tips | tr '\n' ' ') mempools: $(pending | tr '\n' ' ')"
fi

height=$(status 0 | field "d['height']")
ledger0=$(api 0 ledger | field "json.dumps(d, sort_keys=True)")
for k in 0 1 2 3 4; do
    kept_now=$(api $k blocks "$kept" 1 | field "d[0]['hash']")
    [ "$kept_now" = "$kept_hash" ] || fail "node in container $k lost block $kept: $kept_now, was $kept_hash"
    ledger=$(api $k ledger | field "json.dumps(d, sort_keys=True)")
    [ "$ledger" = "$ledger0" ] || fail "container $k's ledger differs from container 0's"
    supply=$(echo "{\"result\": $ledger}" | field "d['supply']['units']")
    [ "$supply" = 5000000000 ] || fail "container $k's supply is $supply units, not 5000 BCC"
done
checked=$(python3 docker/workload.py check --sent "$tmp/sent.json" --killed 2) || fail "the accepted transactions"
echo "docker: $checked"
committed=$(status 0 | field "d['committed_txs']")
echo "docker: all 5 containers agree on tip ${last:0:8} at height $height ($committed transactions) and on" \
    "every balance; block $kept, committed before node2 was killed, is in every chain; supply 5000 BCC"
echo "docker: PASSED"
