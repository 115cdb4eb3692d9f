#!/usr/bin/env python3
"""The course workload through the nodes' JSON-RPC API, and the checks after it (standard library
only). Used by blockchat-net/scripts/docker.sh against compose.yaml's five nodes; works against
any nodes whose APIs share one password.

  python3 docker/workload.py quiet compose.yaml > quiet.yaml
      a compose override: the same nodes without their own --input workload
  python3 docker/workload.py send --inputs DIR --out sent.json
      node k's API sends the lines `id<N> <message>` of DIR/trans{k}.txt (CRLF or LF) as
      send_message calls, the course client's 100-500 ms before each; records the ids the API
      accepted and counts refusals by reason
  python3 docker/workload.py check --sent sent.json
      every node holds every accepted transaction in the same block, or (only for the node that
      was killed) another transaction of the same sender and nonce

The password comes from BLOCKCHAT_API_PASSWORD (or --password); the APIs are at
127.0.0.1:BASE+k for k in 0..n-1 (--base-port 7101, --nodes 5). Node ids follow the join order,
so each node sends the file of its id, wherever it runs.
"""

import argparse
import base64
import collections
import json
import os
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.request


class Unreachable(Exception):
    """No answer from the API (refused, reset, timed out, or an HTTP error other than a reply)."""


class Api:
    """One node's JSON-RPC API."""

    def __init__(self, port, password, host="127.0.0.1", timeout=5.0):
        self.url = f"http://{host}:{port}"
        self.password = password
        self.timeout = timeout
        self.next_id = 0

    def call(self, method, **params):
        """The result, or ("error", error object); Unreachable when nothing answered."""
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": self.next_id}).encode()
        request = urllib.request.Request(
            self.url + "/rpc",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.password}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as r:
                reply = json.load(r)
        except urllib.error.HTTPError as e:
            raise Unreachable(f"HTTP {e.code}") from e
        except (OSError, ValueError) as e:  # refused, reset, timed out, a cut-off body
            raise Unreachable(str(e)) from e
        if "error" in reply:
            return ("error", reply["error"])
        return reply["result"]

    def result(self, method, **params):
        """The result; an error reply raises."""
        reply = self.call(method, **params)
        if isinstance(reply, tuple):
            raise RuntimeError(f"{self.url} {method} {params}: {reply[1]}")
        return reply


def apis(args):
    password = args.password or os.environ.get("BLOCKCHAT_API_PASSWORD", "")
    return [Api(args.base_port + k, password) for k in range(args.nodes)]


def node_ids(nodes):
    """Each API's node id (the network must be ready)."""
    return [api.result("status")["id"] for api in nodes]


def quiet(args):
    """compose.yaml's commands without --input FILE and --think-ms MS, as an override file (JSON,
    which Compose reads as YAML)."""
    text = open(args.compose).read()
    services = {}
    for name, command in re.findall(r"^  (\w+):\n(?:    .*\n)*?    command: (\[[^\]]*\])", text, re.M):
        words = json.loads(command)
        kept = []
        skip = False
        for w in words:
            if skip:
                skip = False
            elif w in ("--input", "--think-ms"):
                skip = True
            else:
                kept.append(w)
        services[name] = {"command": kept}
    if not services or not all("--api" in s["command"] for s in services.values()):
        sys.exit(f"workload.py: found no node commands in {args.compose}")
    print(json.dumps({"services": services}, indent=1))


LINE = re.compile(r"^id(\d+) (.*)$")


def send(args):
    nodes = apis(args)
    ids = node_ids(nodes)
    low, _, high = args.think_ms.partition("-")
    think = (int(low) / 1000, int(high or low) / 1000)
    deadline = time.monotonic() + args.deadline
    lock = threading.Lock()
    accepted = []  # {"id", "nonce", "sender", "api", "line", "at"}
    refused = collections.Counter()  # reason -> count
    other = collections.Counter()  # error kind -> count (not retried)
    retries = collections.Counter()  # "node<container> why" -> calls sent again
    lines = collections.Counter()  # sender -> lines read
    gave_up = collections.Counter()

    def client(k):
        api, me = nodes[k], ids[k]
        rng = random.Random(args.seed * 1000 + me)
        path = os.path.join(args.inputs, f"trans{me}.txt")
        with open(path, newline="") as f:
            entries = [LINE.match(line.rstrip("\r\n")) for line in f]
        for n, m in enumerate(entries, 1):
            if not m:
                with lock:
                    other["unparsed_line"] += 1
                continue
            with lock:
                lines[me] += 1
            time.sleep(rng.uniform(*think))
            while True:
                try:
                    reply = api.call("send_message", to=int(m.group(1)), text=m.group(2))
                except Unreachable as e:
                    # Killed, restarting or cut off: wait for it, as a person at the prompt would.
                    # A call cut off after it was sent may have been carried out; its id is then
                    # unknown here and the line is sent again.
                    kind = "unreachable" if "refused" in str(e).lower() else "no answer"
                    reply = ("retry", kind)
                if not isinstance(reply, tuple):
                    with lock:
                        accepted.append({"id": reply["id"], "nonce": reply["nonce"], "sender": me, "api": k,
                                         "line": n, "at": time.time()})
                    break
                if reply[0] == "error":
                    data = reply[1].get("data") or {}
                    kind = data.get("error", "unknown")
                    if kind == "refused":
                        with lock:
                            refused[data.get("reason", "?")] += 1
                        break
                    if kind not in ("not_ready", "shutting_down"):
                        with lock:
                            other[kind] += 1
                        break
                if time.monotonic() > deadline:
                    with lock:
                        gave_up[me] += 1
                    break
                with lock:
                    retries[f"node{k} {reply[1] if reply[0] == 'retry' else kind}"] += 1
                time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(nodes))]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    summary = {
        "ids": ids,
        "lines": sum(lines.values()),
        "accepted": accepted,
        "refused": dict(refused),
        "other_errors": dict(other),
        "retries": dict(retries),
        "gave_up": sum(gave_up.values()),
        "seconds": round(time.time() - started, 1),
    }
    with open(args.out, "w") as f:
        json.dump(summary, f)
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(refused.items())) or "none"
    print(
        f"{summary['lines']} lines in {summary['seconds']} s: {len(accepted)} accepted, refused: {reasons};"
        f" retried {sum(retries.values())} calls ({', '.join(f'{w} {n}' for w, n in sorted(retries.items())) or 'none'})"
        + (f"; other errors {dict(other)}" if other else "")
        + (f"; gave up {summary['gave_up']} lines at the deadline" if gave_up else "")
    )
    if other or gave_up:
        sys.exit(1)


def check(args):
    nodes = apis(args)
    sent = json.load(open(args.sent))
    ids = node_ids(nodes)
    if ids != sent["ids"]:
        sys.exit(f"check: node ids changed: {sent['ids']} -> {ids}")
    failures = []
    # The best chain's transactions by (sender, nonce), read from the first node.
    height = nodes[0].result("status")["height"]
    by_nonce = {}
    for h in range(1, height + 1):
        for tx in nodes[0].result("block", height=h)["transactions"]:
            by_nonce[(tx["sender"]["id"], tx["nonce"])] = tx["id"]
    committed = 0
    excused = []
    for tx in sent["accepted"]:
        places = set()
        for k, api in enumerate(nodes):
            reply = api.call("transaction", id=tx["id"])
            if isinstance(reply, tuple):
                places.add(("missing", reply[1].get("data", {}).get("error")))
            else:
                places.add((reply["state"], reply.get("height"), reply.get("hash")))
        if len(places) == 1 and next(iter(places))[0] == "committed":
            committed += 1
            continue
        taken = by_nonce.get((tx["sender"], tx["nonce"]))
        if places == {("missing", "no_such_transaction")} and taken and taken != tx["id"]:
            excused.append((tx, taken))
        else:
            failures.append(f"transaction {tx['id'][:8]} (node {tx['sender']} line {tx['line']}): {sorted(places, key=str)}")
    killed = ids[args.killed] if args.killed is not None else None
    for tx, taken in excused:
        if tx["sender"] != killed:
            failures.append(f"transaction {tx['id'][:8]} of node {tx['sender']} (not the killed node) lost"
                            f" to {taken[:8]} with the same nonce {tx['nonce']}")
    if failures:
        print("check: FAILED:\n  " + "\n  ".join(failures[:20]), file=sys.stderr)
        sys.exit(1)
    line = f"all {committed} of {len(sent['accepted'])} accepted transactions committed in the same block on every node"
    if excused:
        line += (f"; {len(excused)} accepted by the killed node {killed} lost to another of its transactions"
                 f" with the same nonce (nonces {', '.join(str(t['nonce']) for t, _ in excused)}: its mempool"
                 " died with it, so it chose them again before its peers' blocks told it they were taken)")
    print(line)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-port", type=int, default=7101)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--password", help="default: $BLOCKCHAT_API_PASSWORD")
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quiet")
    q.add_argument("compose")
    s = sub.add_parser("send")
    s.add_argument("--inputs", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--think-ms", default="100-500")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--deadline", type=float, default=300, help="seconds before giving up on a node that does not answer")
    c = sub.add_parser("check")
    c.add_argument("--sent", required=True)
    c.add_argument("--killed", type=int, help="the API index (container) of the node that was killed")
    args = p.parse_args()
    {"quiet": quiet, "send": send, "check": check}[args.what](args)


if __name__ == "__main__":
    main()
