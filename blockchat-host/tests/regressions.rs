//! Failure modes found in review that need a network of nodes, kept as regression tests: each
//! asserts what the protocol must guarantee, and each failed before its fix. (The ones that
//! feed one core node crafted inputs are in `blockchat-core/tests/regressions.rs`.)

mod support;

use std::time::Duration;

use blockchat_core::{Account, Address, NetworkParams, Time, TxKind, TxRequest, UNITS_PER_BCC};
use blockchat_host::{Notice, Settings};
use support::Net;

const BCC: u64 = UNITS_PER_BCC;

fn coins(to: Address) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Coins { amount: BCC } }
}

/// Node `i`'s own account as node 0 sees it.
fn account(net: &Net, i: usize) -> Account {
    net.hosts[0].node().ledger().account(&net.address(i)).copied().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The mempool admits an unstake by one of the last two stakers against the committed total
// stake; when the other unstake commits first, the leftover one can never apply, is never
// re-checked (its sender was not in the block), and freezes that sender's account.
// ---------------------------------------------------------------------------------------------
/// Nodes 0 and 1 stake 10 BCC each, node 2 nothing; every link up at time 0.
fn two_stakers_net(params: NetworkParams) -> Net {
    let mut net = Net::with_settings(&[10 * BCC, 10 * BCC, 0], params, vec![], Settings::new(&params));
    net.connect_all(Time::ZERO);
    net
}

#[test]
fn a_stuck_unstake_freezes_its_sender_forever() {
    let mut params = NetworkParams::new(1);
    params.round_timeout = Duration::from_millis(100);
    let mut net = two_stakers_net(params);
    let unstake = TxRequest { receiver: Address::ZERO, kind: TxKind::Stake { amount: 0 } };
    net.submit(Time::ZERO, 0, unstake.clone());
    net.submit(Time::ZERO, 1, unstake);
    net.run_until(Time::from_millis(50));
    // Node 2 keeps sending; nodes 0 and 1 each send one coin transfer later.
    for k in 0..5u64 {
        net.submit(Time::from_millis(1_000 + k), 2, coins(net.address(0)));
    }
    net.submit(Time::from_millis(1_010), 0, coins(net.address(2)));
    net.submit(Time::from_millis(1_010), 1, coins(net.address(2)));
    let events = net.run_until(Time::from_millis(60_000));
    let n0 = account(&net, 0).next_nonce;
    let n1 = account(&net, 1).next_nonce;
    let node0 = net.hosts[0].node();
    let refused: Vec<_> = net
        .log
        .notices
        .iter()
        .filter(|(_, _, n)| matches!(n, Notice::PeerTxRejected { .. } | Notice::OwnTxDropped { .. }))
        .collect();
    eprintln!(
        "events {events}, height {}, nonces {n0} {n1}, pending at node 0: {}, round {}, refused {refused:?}",
        node0.chain().height(),
        node0.mempool().len(),
        node0.round(),
    );
    // Exactly one unstake can commit. The other node's later coin transfer must either commit or
    // be reported as rejected; it must not sit forever behind an unstake that can never apply.
    let stuck = if n0 == 1 { 1 } else { 0 };
    let reported = net.log.submitted.iter().any(|(n, _, v)| *n == stuck && v.is_err())
        || net.notices(stuck).any(|(_, n)| matches!(n, Notice::OwnTxDropped { .. }));
    assert!(
        account(&net, stuck).next_nonce == 2 || reported,
        "node {stuck}'s account is frozen: its unstake can never apply, was never reported, and its later transfer never commits (round counter at {})",
        net.hosts[0].node().round()
    );
}

/// With partial blocks, the same stuck unstake makes the validator re-arm its BlockInterval timer
/// at `now` forever: virtual time stops advancing (a hot loop for a real driver).
#[test]
fn partial_blocks_livelock_on_a_transaction_that_cannot_apply() {
    let mut params = NetworkParams::new(10);
    params.max_block_interval = Some(Duration::from_millis(100));
    params.round_timeout = Duration::from_millis(100);
    let mut net = two_stakers_net(params);
    let unstake = TxRequest { receiver: Address::ZERO, kind: TxKind::Stake { amount: 0 } };
    net.submit(Time::ZERO, 0, unstake.clone());
    net.submit(Time::ZERO, 1, unstake);
    let mut steps = 0u64;
    while steps < 200_000 && net.step() {
        steps += 1;
        if net.now > Time::from_millis(10_000) {
            break;
        }
    }
    eprintln!("after {steps} events virtual time is {:?}, height {}", net.now, net.hosts[0].node().chain().height());
    assert!(steps < 200_000, "virtual time is stuck at {:?} after {steps} events", net.now);
    net.assert_agreement(0..3);
}

// ---------------------------------------------------------------------------------------------
// A node cut off while it holds transactions mints alone (rounds eventually draw it), and
// once its private branch is deeper than max_reorg_depth it can never rejoin.
// ---------------------------------------------------------------------------------------------
/// Node 3 is cut off while everyone keeps sending, mints its own branch in fallback rounds, and
/// reconnects with a fork `depth` deep: the exchange must go quiet instead of storming.
fn reconnect_after_deep_fork(depth: u64, rounds: u64, until_ms: u64) {
    let mut params = NetworkParams::new(1);
    params.round_timeout = Duration::from_millis(100);
    params.max_reorg_depth = depth;
    let mut net = Net::new(4, params, 10 * BCC, vec![]);
    net.connect_all(Time::ZERO);
    for other in 0..3 {
        net.cut.insert((other, 3));
        net.cut.insert((3, other));
    }
    for k in 0..rounds {
        for i in 0..4 {
            let to = net.address((i + 1) % 4);
            net.submit(Time::from_millis(50 * k), i, coins(to));
        }
    }
    net.run_until(Time::from_millis(until_ms));
    assert!(net.hosts[3].node().chain().height() > depth, "the isolated branch is deeper than the window");
    net.cut.clear();
    let t = net.now + Duration::from_millis(10);
    net.link(t, 3, 0, true);
    let start = net.events;
    while net.events - start < 20_000 && net.step() {}
    assert!(net.events - start < 20_000, "no quiet after reconnecting: 20,000 events by {:?}", net.now.since(t));
}

#[test]
fn reconnecting_after_a_deep_fork_does_not_start_a_get_blocks_storm() {
    reconnect_after_deep_fork(8, 40, 60_000);
}

#[test]
fn reconnecting_after_a_deep_fork_default_depth() {
    reconnect_after_deep_fork(64, 100, 200_000);
}

/// `--rate 1e-300` panicked: the next gap (about 1e300 s) overflowed a `Duration`.
#[test]
fn an_extreme_rate_saturates_instead_of_panicking() {
    use blockchat_host::client::course::Line;
    use blockchat_host::{Client, Pace, Plan};
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;
    let members: std::sync::Arc<[Address]> = (0..2u8).map(|i| Address([i + 1; 32])).collect();
    let plan = || Plan::Lines(vec![Line { number: 1, to: 1, text: "hi".into() }]);
    for per_second in [1e-300, f64::MIN_POSITIVE, 1e300] {
        let mut c = Client::new(plan(), Pace::Poisson { per_second }, ChaCha8Rng::seed_from_u64(1), 0, members.clone())
            .unwrap();
        c.start(Time(1));
        let at = c.release_at().unwrap();
        assert!(at >= Time(1), "{per_second}: {at:?}");
    }
    for per_second in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let c = Client::new(plan(), Pace::Poisson { per_second }, ChaCha8Rng::seed_from_u64(1), 0, members.clone());
        assert!(c.is_err(), "{per_second}");
    }
}
