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
