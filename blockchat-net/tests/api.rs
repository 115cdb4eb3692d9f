//! The node's API on a real 3-node network: every method, its errors as data, who may call it, the
//! block stream, the metrics, the explorer's session and files, and `blockchat attach`.

mod support;

use std::time::Duration;

use blockchat_core::UNITS_PER_BCC;
use blockchat_net::api::auth::{COOKIE_FILE, Secret};
use blockchat_net::api::client::{Client, Endpoint};
use blockchat_net::api::{Amount, ApiError, Payload, Phase, Placement, Recipient, Reply, Request, Submitted};
use rexpect::session::spawn_command;
use serde_json::{Value, json};
use support::{BIN, Net, serial};

/// Calls `request` on `client` and returns its result, panicking on any error.
fn ok(client: &mut Client, request: Request) -> Reply {
    match client.call(&request) {
        Ok(Ok(reply)) => reply,
        other => panic!("{request:?}: {other:?}"),
    }
}

/// Calls `request` and returns the node's typed error.
fn refused(client: &mut Client, request: Request) -> ApiError {
    match client.call(&request) {
        Ok(Err(e)) => e,
        other => panic!("{request:?} should be refused: {other:?}"),
    }
}

fn submitted(client: &mut Client, request: Request) -> Submitted {
    match ok(client, request) {
        Reply::Submitted(s) => s,
        other => panic!("not submitted: {other:?}"),
    }
}

/// A raw HTTP call: (status, headers we look at, body).
fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut answer = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        (_, body) => {
            let mut r = agent.post(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.unwrap_or_default())
        }
    }
    .expect("an HTTP answer");
    let kept = ["www-authenticate", "set-cookie", "content-type", "content-security-policy"];
    let heads = kept
        .iter()
        .filter_map(|k| answer.headers().get(*k).and_then(|v| v.to_str().ok()).map(|v| (k.to_string(), v.to_string())))
        .collect();
    let status = answer.status().as_u16();
    (status, heads, answer.body_mut().read_to_string().unwrap_or_default())
}

fn header<'a>(heads: &'a [(String, String)], name: &str) -> &'a str {
    heads.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[test]
fn every_method_answers_in_one_representation_and_only_to_its_secret() {
    let _guard = serial();
    let mut net = Net::new(31, 3, 4);
    // Cookie mode: no password in the environment; strict full blocks, so pending stays pending.
    net.env.retain(|(name, _)| name != "BLOCKCHAT_API_PASSWORD");
    net.params = ["--max-block-interval-ms", "0", "--round-timeout-ms", "500"].map(String::from).to_vec();
    net.start_all(|_| Vec::new());
    let endpoint = net.api(0);
    let url = endpoint.url.clone();
    let secret = endpoint.secret.expose().to_string();

    // The cookie is private and bitcoind-shaped.
    let cookie = net.dir(0).join(COOKIE_FILE);
    assert_eq!(std::fs::read_to_string(&cookie).unwrap(), format!("__cookie__:{secret}"));
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&cookie).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Who may call: nobody without the secret; never through a form body or a GET.
    let status_call = json!({"jsonrpc": "2.0", "method": "status", "id": 1}).to_string();
    let rpc = format!("{url}/rpc");
    let json_type = ("Content-Type", "application/json");
    let (code, heads, _) = http("POST", &rpc, &[json_type], Some(status_call.clone()));
    assert_eq!(code, 401);
    assert!(header(&heads, "www-authenticate").starts_with("Bearer"), "{heads:?}");
    let wrong = "Bearer 0000";
    assert_eq!(http("POST", &rpc, &[json_type, ("Authorization", wrong)], Some(status_call.clone())).0, 401);
    let bearer = format!("Bearer {secret}");
    let auth = ("Authorization", bearer.as_str());
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    assert_eq!(http("POST", &rpc, &[form, auth], Some(status_call.clone())).0, 415);
    assert_eq!(http("GET", &rpc, &[auth], None).0, 405);
    let huge = json!({"jsonrpc": "2.0", "method": "status", "id": 1, "pad": "x".repeat(70_000)}).to_string();
    assert_eq!(http("POST", &rpc, &[json_type, auth], Some(huge)).0, 413);
    // curl -u __cookie__:SECRET works, as with bitcoind.
    use base64::Engine;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("__cookie__:{secret}")));
    let (code, _, body) = http("POST", &rpc, &[json_type, ("Authorization", &basic)], Some(status_call));
    assert_eq!(code, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (body["jsonrpc"].as_str(), body["id"].as_i64(), body["result"]["phase"].as_str()),
        (Some("2.0"), Some(1), Some("ready"))
    );

    // JSON-RPC's own errors, with their standard codes.
    let raw = |text: &str| -> Value {
        let (code, _, body) = http("POST", &rpc, &[json_type, auth], Some(text.to_string()));
        assert_eq!(code, 200, "{text}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    assert_eq!(raw("{not json")["error"]["code"], -32700);
    assert_eq!(raw(r#"[{"jsonrpc":"2.0","method":"status","id":1}]"#)["error"]["code"], -32600);
    assert_eq!(raw(r#"{"jsonrpc":"1.0","method":"status","id":1}"#)["error"]["code"], -32600);
    let unknown = raw(r#"{"jsonrpc":"2.0","method":"getbalance","id":"a"}"#);
    assert_eq!((unknown["error"]["code"].as_i64(), unknown["id"].as_str()), (Some(-32601), Some("a")));
    assert_eq!(raw(r#"{"jsonrpc":"2.0","method":"block","params":[1],"id":2}"#)["error"]["code"], -32602);

    // Every method, through the client.
    let mut client = Client::new(endpoint.clone(), Duration::from_secs(20));
    let events = Client::new(endpoint.clone(), Duration::from_secs(20)).follow().expect("the block stream");
    let (blocks_tx, blocks_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for b in events {
            if blocks_tx.send(b).is_err() {
                break;
            }
        }
    });
    let Reply::Status(status) = ok(&mut client, Request::Status {}) else { panic!("status") };
    assert_eq!((status.phase.clone(), status.id, status.nodes, status.capacity), (Phase::Ready, Some(0), 3, 4));
    assert_eq!(status.max_block_interval_ms, None);
    let start_height = status.height;

    let coins = submitted(&mut client, Request::SendCoins { to: Recipient::Id(1), amount: Amount(2_500_000) });
    assert_eq!(coins.fee, Amount(75_000), "3% of 2.5 BCC");
    let text = "<script>alert('x')</script> & \"quotes\"";
    let message = submitted(&mut client, Request::SendMessage { to: Recipient::Id(2), text: text.into() });
    let stake = submitted(&mut client, Request::Stake { amount: Amount(12 * UNITS_PER_BCC) });
    assert_eq!((coins.nonce + 1, message.nonce, stake.nonce), (message.nonce, coins.nonce + 1, coins.nonce + 2));

    // Three of a capacity of 4: all pending, in order.
    let Reply::Mempool(pending) = ok(&mut client, Request::Mempool { limit: 100 }) else { panic!("mempool") };
    assert_eq!(pending.iter().map(|t| t.id).collect::<Vec<_>>(), vec![coins.id, message.id, stake.id]);
    let Reply::Transaction(found) = ok(&mut client, Request::Transaction { id: message.id }) else { panic!() };
    assert_eq!(found.placement, Placement::Pending);
    assert_eq!(found.transaction.payload, Payload::Message { text: text.into() });
    let Reply::Account(me) = ok(&mut client, Request::Account { holder: None }) else { panic!("account") };
    assert_eq!((me.holder.id, me.pending_transactions), (Some(0), 3));
    // A stake moves nothing out of the balance.
    assert_eq!(me.pending_spends, Amount(2_500_000 + 75_000 + text.chars().count() as u64 * UNITS_PER_BCC));

    // The refusals are typed, with the core's facts.
    match refused(&mut client, Request::SendCoins { to: Recipient::Id(1), amount: Amount(5_000 * UNITS_PER_BCC) }) {
        ApiError::Refused { reason, facts, .. } => {
            assert_eq!(reason, "InsufficientBalance");
            assert_eq!(facts["needed"]["bcc"], "5150");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refused(&mut client, Request::SendCoins { to: Recipient::Id(9), amount: Amount(1) }),
        ApiError::UnknownNode { id: 9, last: 2 }
    );

    // The fourth fills a block.
    let fourth = submitted(&mut client, Request::SendCoins { to: Recipient::Id(2), amount: Amount(UNITS_PER_BCC) });
    net.wait(20, "the block of four", || (net.status(0).height > start_height).then_some(()));
    let streamed = blocks_rx.recv_timeout(Duration::from_secs(20)).expect("a block on /events");
    assert_eq!(streamed.height, start_height + 1);
    assert_eq!(streamed.transactions, 4);

    let Reply::Transaction(found) = ok(&mut client, Request::Transaction { id: fourth.id }) else { panic!() };
    let Placement::Committed { height, hash, confirmations } = found.placement else { panic!("{found:?}") };
    assert_eq!((height, hash, confirmations), (streamed.height, streamed.hash, 1));
    let Reply::Block(by_height) = ok(&mut client, Request::Block { height: Some(height), hash: None }) else {
        panic!()
    };
    let Reply::Block(by_hash) = ok(&mut client, Request::Block { height: None, hash: Some(hash) }) else { panic!() };
    assert_eq!(by_height, by_hash);
    assert_eq!(
        by_height.transactions.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![coins.id, message.id, stake.id, fourth.id]
    );
    assert_eq!(by_height.fees, Amount(75_000 + text.chars().count() as u64 * UNITS_PER_BCC + 30_000));
    let Reply::Block(tip) = ok(&mut client, Request::Block { height: None, hash: None }) else { panic!() };
    assert_eq!(tip.hash, hash);
    assert_eq!(
        refused(&mut client, Request::Block { height: Some(1_000_000), hash: None }),
        ApiError::NoBlockAtHeight { height: 1_000_000, tip: height }
    );
    let nowhere = blockchat_core::BlockHash([7; 32]);
    assert_eq!(
        refused(&mut client, Request::Block { height: None, hash: Some(nowhere) }),
        ApiError::NoSuchBlock { hash: nowhere }
    );
    let no_tx = blockchat_core::TxId([9; 32]);
    assert_eq!(refused(&mut client, Request::Transaction { id: no_tx }), ApiError::NoSuchTransaction { id: no_tx });
    let Reply::Blocks(blocks) = ok(&mut client, Request::Blocks { from: 0, limit: 2 }) else { panic!() };
    assert_eq!(blocks.iter().map(|b| b.height).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(blocks[0].validator, None);

    // Accounts and the ledger, by id and by address; the supply is conserved.
    let Reply::Ledger(ledger) = ok(&mut client, Request::Ledger {}) else { panic!() };
    assert_eq!(ledger.supply, Amount(3_000 * UNITS_PER_BCC));
    assert_eq!(ledger.accounts.iter().map(|a| a.balance.units()).sum::<u64>(), 3_000 * UNITS_PER_BCC);
    let one = ledger.accounts.iter().find(|a| a.holder.id == Some(1)).expect("node 1").clone();
    let Reply::Account(by_id) = ok(&mut client, Request::Account { holder: Some(Recipient::Id(1)) }) else { panic!() };
    let Reply::Account(by_address) =
        ok(&mut client, Request::Account { holder: Some(Recipient::Address(one.holder.address)) })
    else {
        panic!()
    };
    assert_eq!((by_id.clone(), by_address), (one.clone(), one));
    assert_eq!(by_id.spendable.units(), by_id.balance.units() - by_id.stake.units());
    let Reply::Account(me) = ok(&mut client, Request::Account { holder: None }) else { panic!() };
    assert_eq!((me.stake, me.pending_transactions), (Amount(12 * UNITS_PER_BCC), 0));

    let Reply::Peers(peers) = ok(&mut client, Request::Peers {}) else { panic!() };
    assert_eq!(
        peers.iter().map(|p| (p.id, p.this_node, p.connected)).collect::<Vec<_>>(),
        vec![(0, true, false), (1, false, true), (2, false, true)]
    );
    let Reply::Shares(shares) = ok(&mut client, Request::Shares {}) else { panic!() };
    assert_eq!(shares.len(), 3);
    assert_eq!(shares.iter().map(|s| s.blocks).sum::<u64>(), height);
    assert!((shares.iter().map(|s| s.stake_share).sum::<f64>() - 1.0).abs() < 1e-9, "{shares:?}");
    assert_eq!(shares[0].stake, Amount(12 * UNITS_PER_BCC));
    let Reply::History(history) = ok(&mut client, Request::History { limit: 4 }) else { panic!() };
    assert_eq!(
        history.iter().map(|l| l.transaction.id).collect::<Vec<_>>(),
        vec![fourth.id, stake.id, message.id, coins.id]
    );

    // Metrics: Prometheus text, behind the same secret.
    let metrics = format!("{url}/metrics");
    assert_eq!(http("GET", &metrics, &[], None).0, 401);
    let (code, heads, text) = http("GET", &metrics, &[auth], None);
    assert_eq!(code, 200);
    assert!(header(&heads, "content-type").starts_with("text/plain"), "{heads:?}");
    for line in [
        format!("blockchat_height {height}"),
        "blockchat_peers_connected 2".to_string(),
        "blockchat_mempool_transactions 0".to_string(),
        "blockchat_transactions_refused_total{reason=\"InsufficientBalance\"} 1".to_string(),
        "blockchat_block_interval_seconds_count 1".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("blockchat_transactions_accepted_total 4"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("blockchat_sent_bytes_total ") && !l.ends_with(" 0")), "{text}");

    // The explorer: its files need no secret and carry a strict policy; its session only reads.
    let (code, heads, page) = http("GET", &format!("{url}/"), &[], None);
    assert_eq!(code, 200);
    assert!(
        page.contains("BlockChat explorer") && header(&heads, "content-security-policy").contains("default-src 'none'")
    );
    let session = format!("{url}/session");
    assert_eq!(http("POST", &session, &[json_type], Some(json!({"password": "nope"}).to_string())).0, 401);
    let (code, heads, _) = http("POST", &session, &[json_type], Some(json!({"password": secret}).to_string()));
    assert_eq!(code, 204);
    let set = header(&heads, "set-cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let browser_cookie = set.split(';').next().unwrap().to_string();
    let with_cookie = [json_type, ("Cookie", browser_cookie.as_str())];
    let read = raw_call(&rpc, &with_cookie, json!({"jsonrpc": "2.0", "method": "status", "id": 5}));
    assert_eq!(read["result"]["height"], height);
    let write = raw_call(
        &rpc,
        &with_cookie,
        json!({"jsonrpc": "2.0", "method": "send_coins", "params": {"to": 1, "amount": {"bcc": "1"}}, "id": 6}),
    );
    assert_eq!(
        (write["error"]["code"].as_i64(), write["error"]["data"]["error"].as_str()),
        (Some(7), Some("read_only"))
    );

    // `blockchat attach` opens the prompt against the running node; leaving it leaves the node up.
    let mut attach = std::process::Command::new(BIN);
    attach.args(["attach", "--data-dir", &net.dir(0).display().to_string()]);
    let mut prompt = spawn_command(attach, Some(20_000)).expect("attach");
    prompt.exp_string("blockchat[0]> ").expect("the prompt");
    prompt.send_line(&format!("tx {}", coins.id)).expect("type");
    prompt.exp_string("node 0 -> node 1: 2.5 BCC (fee 0.075 BCC)").expect("the transaction");
    prompt.send_line("exit").expect("type");
    prompt.exp_eof().expect("attach leaves");
    assert_eq!(net.status(0).phase, Phase::Ready, "the node still runs");

    // Shutdown through the API: the node stops and takes its cookie with it.
    let mut two = Client::new(net.api(2), Duration::from_secs(20));
    assert_eq!(ok(&mut two, Request::Shutdown {}), Reply::ShuttingDown);
    let mut node2 = net.procs[2].take().expect("node 2 runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while node2.try_wait().expect("wait").is_none() {
        assert!(std::time::Instant::now() < deadline, "node 2 did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!net.dir(2).join(COOKIE_FILE).exists(), "the cookie outlived the node");
    // A client holding a stale secret is told so plainly.
    let stale = Endpoint::new(&net.api_addr(1).to_string(), Secret::password("stale"));
    let err = Client::new(stale, Duration::from_secs(5)).call(&Request::Status {}).unwrap_err();
    assert!(err.to_string().contains("refused the credentials"), "{err}");
}

fn raw_call(rpc: &str, headers: &[(&str, &str)], call: Value) -> Value {
    let (code, _, body) = http("POST", rpc, headers, Some(call.to_string()));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}
