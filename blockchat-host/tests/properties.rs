//! Properties of a network of hosts that must hold for any workload: agreement, no honest
//! block refused, determinism.

mod support;

use blockchat_core::{NetworkParams, Time, TxKind, TxRequest, UNITS_PER_BCC};
use blockchat_host::Notice;
use proptest::prelude::*;
use support::Net;

const BCC: u64 = UNITS_PER_BCC;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random workloads on a small network: every node ends on the same chain, no honest block
    /// is ever rejected, and a rerun gives the same chain, verdicts, notices and frames.
    #[test]
    fn networks_agree_and_rerun_identically(
        n in 2usize..5,
        capacity in 1usize..6,
        sends in proptest::collection::vec((0usize..5, 0usize..5, 0u8..3, 1u64..3_000, 0u64..40), 1..60),
    ) {
        let run = || {
            let mut net = Net::new(n, NetworkParams::new(capacity), 10 * BCC, vec![]);
            net.connect_all(Time::ZERO);
            for &(s, r, sel, amount, at) in &sends {
                let (s, r) = (s % n, r % n);
                let kind = match sel {
                    0 => TxKind::Coins { amount: amount * BCC / 10 },
                    1 => TxKind::Message { text: "hi".repeat(1 + amount as usize % 20) },
                    _ => TxKind::Stake { amount: amount * BCC / 10 },
                };
                net.submit(Time::from_millis(at), s, TxRequest { receiver: net.address(r), kind });
            }
            net.run();
            net
        };
        let a = run();
        a.assert_agreement(0..n);
        let refused = a.log.notices.iter().filter(|(_, _, n)| matches!(n, Notice::BlockRejected { .. })).count();
        prop_assert_eq!(refused, 0);
        let b = run();
        prop_assert_eq!(a.tips(0..n), b.tips(0..n));
        prop_assert_eq!(&a.log.submitted, &b.log.submitted);
        prop_assert_eq!(&a.log.notices, &b.log.notices);
        prop_assert_eq!(&a.log.effects, &b.log.effects);
        prop_assert_eq!(a.events, b.events);
    }
}

/// Values at the edges of their types, mixed with ordinary ones.
fn extreme() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(1 << 63),
        Just(u32::MAX as u64),
        any::<u64>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every request a host takes from outside (a peer's `GetBlocks`, a client's transfer, stake
    /// or message) with extreme values: never a panic, and the honest nodes still agree and keep
    /// their supply.
    #[test]
    fn extreme_values_in_every_request_are_refused_or_served(
        froms in proptest::collection::vec(extreme(), 1..8),
        amounts in proptest::collection::vec((extreme(), 0u8..3), 1..8),
        long in 0usize..3,
    ) {
        let mut net = Net::new(3, NetworkParams::new(2), 10 * BCC, vec![]);
        net.connect_all(Time::ZERO);
        net.submit(Time::from_millis(1), 0, TxRequest { receiver: net.address(1), kind: TxKind::Coins { amount: BCC } });
        net.submit(Time::from_millis(1), 1, TxRequest { receiver: net.address(2), kind: TxKind::Coins { amount: BCC } });
        for (k, &from) in froms.iter().enumerate() {
            net.inject(Time::from_millis(2 + k as u64), 2, 0, blockchat_core::PeerMessage::GetBlocks { from });
        }
        for &(amount, sel) in &amounts {
            let (receiver, kind) = match sel {
                0 => (net.address(1), TxKind::Coins { amount }),
                1 => (blockchat_core::Address::ZERO, TxKind::Stake { amount }),
                _ => (net.address(1), TxKind::Message { text: "x".repeat([1, 1_000, 70_000][long]) }),
            };
            net.submit(Time::from_millis(3), 0, TxRequest { receiver, kind });
        }
        net.run();
        net.assert_agreement(0..3);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The same random workloads on a network that loses up to 10% of frames and delays each by
    /// up to 20 ms (so frames overtake each other) for the first 5 s, then delivers reliably:
    /// once it has, every node holds the same chain, and the faults are reproducible from their
    /// seed.
    #[test]
    fn networks_agree_after_loss_delay_and_reordering(
        n in 2usize..5,
        capacity in 1usize..4,
        loss in 0u64..100,
        jitter_ms in 0u64..20,
        seed in any::<u64>(),
        sends in proptest::collection::vec((0usize..5, 0usize..5, 1u64..3_000, 0u64..3_000), 1..40),
    ) {
        use rand_core::SeedableRng;
        let run = || {
            let params = NetworkParams::new(capacity).with_block_interval(Some(std::time::Duration::from_millis(200)));
            let mut net = Net::new(n, params, 10 * BCC, vec![]);
            net.faults = Some(support::Faults {
                rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
                max_jitter: std::time::Duration::from_millis(jitter_ms),
                loss_per_mille: loss,
            });
            net.connect_all(Time::ZERO);
            for &(s, r, amount, at) in &sends {
                let (s, r) = (s % n, (s + 1 + r % (n - 1)) % n);
                let kind = TxKind::Coins { amount: amount * BCC / 100 };
                net.submit(Time::from_millis(at), s, TxRequest { receiver: net.address(r), kind });
            }
            net.run_until(Time::from_millis(5_000));
            net.faults = None;
            net.run_until(Time::from_millis(60_000));
            net
        };
        let a = run();
        a.assert_agreement(0..n);
        let b = run();
        prop_assert_eq!(a.tips(0..n), b.tips(0..n));
    }
}
