//! The host's policies, one story per test: persistence before sending, links that come up late,
//! catch-up that does not wait after an empty answer, re-announcing, the client's retry rule
//! and pacing.

mod support;

use std::time::Duration;

use blockchat_core::{NetworkParams, Time, TxKind, TxRequest, UNITS_PER_BCC};
use blockchat_host::client::course::Line;
use blockchat_host::{Notice, Pace, Plan, Settings, Think};
use support::Net;

const BCC: u64 = UNITS_PER_BCC;

fn coins(to: blockchat_core::Address, bcc: u64) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Coins { amount: bcc * BCC } }
}

fn ms(n: u64) -> Time {
    Time::from_millis(n)
}

/// The validator of block 1 on this network.
fn first_validator(net: &Net) -> usize {
    let v = net.hosts[0].node().chain().validator_for(0).unwrap();
    (0..net.hosts.len()).find(|&i| net.address(i) == v).unwrap()
}

#[test]
fn a_block_is_on_disk_before_it_is_sent() {
    let mut net = Net::new(3, NetworkParams::new(1), 10 * BCC, vec![]);
    net.connect_all(Time::ZERO);
    let v = first_validator(&net);
    let other = (v + 1) % 3;
    net.submit(ms(1), other, coins(net.address(v), 1));
    net.run_until(ms(50));
    let log = &net.log.effects[&v];
    let appended = log.iter().position(|e| e == "append 1").expect("block 1 stored");
    let sent = log.iter().position(|e| e.starts_with("send block 1")).expect("block 1 sent");
    assert!(appended < sent, "{log:?}");
}

/// The start-up race found on the real cluster: the validator mints block 1 before its link to
/// one peer is up. Dropping the block there left that peer behind until a later block or a
/// quiet-tip rebroadcast (2 s); the host holds it and sends it when the link comes up.
#[test]
fn a_block_minted_before_a_link_is_up_reaches_that_peer_when_it_is() {
    let mut net = Net::new(3, NetworkParams::new(1), 10 * BCC, vec![]);
    let v = first_validator(&net);
    let (late, other) = ((v + 1) % 3, (v + 2) % 3);
    for i in 0..3 {
        for j in 0..3 {
            if i != j && !(i == v && j == late) {
                net.link(Time::ZERO, i, j, true);
            }
        }
    }
    net.link(ms(50), v, late, true);
    net.submit(ms(1), other, coins(net.address(late), 1));
    net.run_until(ms(40));
    assert_eq!(net.hosts[v].node().chain().height(), 1, "the validator minted block 1");
    assert_eq!(net.hosts[late].node().chain().height(), 0, "the late link has not delivered yet");
    net.run_until(ms(60));
    assert_eq!(net.hosts[late].node().chain().height(), 1, "held, then delivered when the link came up");
    net.assert_agreement(0..3);
}

/// A node that asked a peer for blocks when it had none gets an empty answer, so when a later
/// block shows the peer is ahead it asks again at once instead of a round timeout later.
#[test]
fn catch_up_asks_again_at_once_after_an_empty_answer() {
    let mut net = Net::new(3, NetworkParams::new(1), 10 * BCC, vec![]);
    net.connect_all(Time::ZERO);
    let v = first_validator(&net);
    let behind = (v + 1) % 3;
    let other = (v + 2) % 3;
    // The node behind misses everything the validator sends it.
    net.cut.insert((v, behind));
    net.submit(ms(1), other, coins(net.address(v), 1));
    net.run_until(ms(20));
    assert_eq!(net.hosts[other].node().chain().height(), 1);
    let b1 = net.hosts[other].node().chain().tip().clone();
    let b2 = {
        // A second block, as the other node would relay it once it is ahead.
        let mut scratch = net.hosts[other].node().chain().clone();
        let vv = scratch.validator_for(0).unwrap();
        let w = net.wallets.iter().find(|w| w.address() == vv).unwrap().clone();
        let tx = std::sync::Arc::new(blockchat_core::Transaction::new_signed(
            &net.wallets[other],
            net.address(v),
            TxKind::Coins { amount: BCC },
            1,
        ));
        scratch.mint(&w, ms(21), 0, [tx].iter(), &mut Default::default()).block.unwrap()
    };
    assert_eq!(b2.previous_hash(), b1.hash());
    net.inject(ms(25), other, behind, blockchat_core::PeerMessage::Block(b2));
    net.run_until(ms(60));
    assert_eq!(net.hosts[behind].node().chain().height(), 2, "caught up in milliseconds, not a round timeout");
}

#[test]
fn a_reconnecting_peer_gets_our_pending_transactions_again() {
    // Nothing is held for a down link here, so only re-announcing can bring the transaction.
    let params = NetworkParams::new(2);
    let mut settings = Settings::new(&params);
    settings.host.held_bytes = 0;
    let mut net = Net::with_settings(&[10 * BCC; 3], params, vec![], settings);
    net.connect_all(Time::ZERO);
    net.link(ms(5), 0, 1, false);
    net.submit(ms(10), 0, coins(net.address(2), 1));
    net.run_until(ms(30));
    let id = net.hosts[0].node().mempool().iter().next().map(|(t, _)| t.id()).unwrap();
    let holds = |net: &Net| net.hosts[1].node().mempool().iter().any(|(t, _)| t.id() == id);
    assert!(!holds(&net));
    net.link(ms(40), 0, 1, true);
    net.run_until(ms(60));
    assert!(holds(&net), "re-announced when the link came back");
}

#[test]
fn a_quiet_chain_reannounces_what_a_peer_missed() {
    let mut net = Net::new(3, NetworkParams::new(2), 10 * BCC, vec![]);
    net.connect_all(Time::ZERO);
    net.cut.insert((0, 1));
    net.submit(ms(10), 0, coins(net.address(2), 1));
    net.run_until(ms(100));
    net.cut.clear();
    let id = net.hosts[0].node().mempool().iter().next().map(|(t, _)| t.id()).unwrap();
    let holds = |net: &Net| net.hosts[1].node().mempool().iter().any(|(t, _)| t.id() == id);
    net.run_until(ms(1_900));
    assert!(!holds(&net), "nothing is re-sent while the chain has not been quiet for a round timeout");
    net.run_until(ms(2_100));
    assert!(holds(&net), "re-announced after a round timeout of quiet");
}

fn lines(texts: &[&str], to: usize) -> Plan {
    Plan::Lines(texts.iter().enumerate().map(|(k, t)| Line { number: k + 1, to, text: t.to_string() }).collect())
}

#[test]
fn a_line_that_cannot_be_afforded_waits_for_income_then_commits() {
    // Node 0, the only staker, starts with 30 BCC: 20 spendable, three lines of 15 BCC. The
    // second waits until the first's (partial) block pays node 0 its own fee back, and so on.
    let params = NetworkParams { initial_balance: 30 * BCC, ..NetworkParams::new(2) }
        .with_block_interval(Some(Duration::from_millis(100)));
    let text = "0123456789abcde";
    let plan = lines(&[text, text, text], 1);
    let mut net = Net::with_settings(&[10 * BCC, 0], params, vec![(plan, Pace::Burst)], Settings::new(&params));
    net.connect_all(Time::ZERO);
    net.run_until(ms(5_000));
    let s = net.hosts[0].client().status();
    assert_eq!((s.total, s.committed, s.failed, s.unsent), (3, 3, 0, 0), "{s:?}");
    let waited: Vec<usize> = net
        .notices(0)
        .filter_map(|(_, n)| if let Notice::LineWaiting { line, .. } = n { Some(*line) } else { None })
        .collect();
    assert!(!waited.is_empty(), "some line had to wait");
    net.assert_agreement(0..2);
}

#[test]
fn a_line_nobody_can_ever_afford_is_reported_and_the_run_goes_quiet() {
    let params = NetworkParams { initial_balance: 30 * BCC, ..NetworkParams::new(1) };
    let long = "x".repeat(25);
    let plan = lines(&["0123456789", &long, "ok"], 1);
    let mut net = Net::with_settings(&[10 * BCC, 0], params, vec![(plan, Pace::Burst)], Settings::new(&params));
    net.connect_all(Time::ZERO);
    net.run();
    let c = net.hosts[0].client();
    let s = c.status();
    assert_eq!((s.committed, s.unsent), (1, 2), "{s:?}");
    let (line, error) = c.waiting().expect("waits on the long line");
    assert_eq!(line, 1);
    assert!(matches!(error, blockchat_core::error::TxError::InsufficientBalance { .. }), "{error:?}");
    assert_eq!(c.unfinished(), vec![1, 2]);
}

#[test]
fn think_time_spaces_the_lines() {
    let think = Think { min_ms: 100.0, max_ms: 200.0 };
    let plan = lines(&["a", "b", "c", "d", "e"], 1);
    let mut net = Net::new(3, NetworkParams::new(5), 10 * BCC, vec![(plan, Pace::Think(think))]);
    net.connect_all(Time::ZERO);
    net.run_until(ms(5_000));
    let sent: Vec<Time> =
        net.notices(0).filter_map(|(t, n)| matches!(n, Notice::LineSubmitted { .. }).then_some(t)).collect();
    assert_eq!(sent.len(), 5);
    assert!(sent[0] >= ms(100), "a pause before the first line too: {sent:?}");
    for w in sent.windows(2) {
        let gap = w[1].since(w[0]);
        assert!((Duration::from_millis(100)..=Duration::from_millis(200)).contains(&gap), "{gap:?}");
    }
    assert_eq!(net.hosts[0].client().status().committed, 5);
}

#[test]
fn the_client_waits_for_every_link_before_it_starts() {
    let plan = lines(&["a"], 1);
    let mut net = Net::new(3, NetworkParams::new(1), 10 * BCC, vec![(plan, Pace::Burst)]);
    net.link(Time::ZERO, 0, 1, true);
    net.link(ms(30), 0, 2, true);
    net.run_until(ms(20));
    assert!(!net.hosts[0].is_ready());
    assert_eq!(net.hosts[0].client().status().submitted, 0);
    net.run_until(ms(40));
    assert!(net.hosts[0].is_ready());
    assert_eq!(net.hosts[0].client().status().submitted, 1);
    assert!(net.notices(0).any(|(t, n)| matches!(n, Notice::Ready) && t == ms(30)));
}

#[test]
fn closed_loop_sends_the_next_line_after_the_previous_commits() {
    let plan = lines(&["a", "b", "c"], 1);
    let mut net = Net::new(3, NetworkParams::new(1), 10 * BCC, vec![(plan, Pace::ClosedLoop)]);
    net.connect_all(Time::ZERO);
    net.run();
    let events: Vec<String> = net
        .notices(0)
        .filter_map(|(_, n)| match n {
            Notice::LineSubmitted { line, .. } => Some(format!("sent {line}")),
            Notice::LineCommitted { line, .. } => Some(format!("committed {line}")),
            _ => None,
        })
        .collect();
    assert_eq!(events, ["sent 0", "committed 0", "sent 1", "committed 1", "sent 2", "committed 2"]);
}
