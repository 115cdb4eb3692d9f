//! Signature checks for simulated nodes: real verification shared across nodes (each distinct
//! triple verified once, and none that a simulated node made itself: Ed25519 signing is correct
//! by construction), or real verification in every node.

use std::cell::RefCell;
use std::rc::Rc;

use blockchat_core::signature::SignedItem;
use blockchat_core::{Ed25519Check, SignatureCheck};
use rustc_hash::FxHashMap;

/// (public key, message, signature): a signature check is a pure function of these bytes.
type Triple = ([u8; 32], [u8; 32], [u8; 64]);

/// Verdicts shared by every node of one simulation.
#[derive(Debug, Default)]
pub struct Verdicts {
    real: Ed25519Check,
    // Lookup only; its iteration order never matters.
    known: FxHashMap<Triple, bool>,
    /// Real verifications performed.
    pub computed: u64,
    /// Checks answered from memory.
    pub reused: u64,
    /// Signatures known valid because a simulated node made them.
    pub made: u64,
}

fn triple(item: &SignedItem<'_>) -> Triple {
    (item.key.0, *item.msg, item.sig.0)
}

impl Verdicts {
    /// A simulated node signed `item` with its own key: it verifies, no need to check.
    pub fn signed(&mut self, item: SignedItem<'_>) {
        if self.known.insert(triple(&item), true).is_none() {
            self.made += 1;
        }
    }

    fn verify(&mut self, item: SignedItem<'_>) -> bool {
        if let Some(v) = self.known.get(&triple(&item)) {
            self.reused += 1;
            return *v;
        }
        self.computed += 1;
        let v = self.real.verify(item);
        self.known.insert(triple(&item), v);
        v
    }

    fn verify_batch(&mut self, items: &[SignedItem<'_>]) -> bool {
        let unknown: Vec<SignedItem<'_>> =
            items.iter().filter(|i| !self.known.contains_key(&triple(i))).copied().collect();
        self.reused += (items.len() - unknown.len()) as u64;
        if !unknown.is_empty() {
            self.computed += unknown.len() as u64;
            if self.real.verify_batch(&unknown) {
                for i in &unknown {
                    self.known.insert(triple(i), true);
                }
            } else {
                for i in &unknown {
                    let v = self.real.verify(*i);
                    self.known.insert(triple(i), v);
                }
            }
        }
        items.iter().all(|i| self.known.get(&triple(i)).copied().unwrap_or(false))
    }
}

/// The signature check a simulated node uses.
#[derive(Debug)]
pub enum SimCheck {
    /// Verified once per distinct triple, answers shared by all nodes.
    Shared(Rc<RefCell<Verdicts>>),
    /// Verified for real by this node alone.
    Real(Ed25519Check),
}

impl SignatureCheck for SimCheck {
    fn verify(&mut self, item: SignedItem<'_>) -> bool {
        match self {
            SimCheck::Shared(v) => v.borrow_mut().verify(item),
            SimCheck::Real(c) => c.verify(item),
        }
    }

    fn verify_batch(&mut self, items: &[SignedItem<'_>]) -> bool {
        match self {
            SimCheck::Shared(v) => v.borrow_mut().verify_batch(items),
            SimCheck::Real(c) => c.verify_batch(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_core::{Signature, Wallet};

    #[test]
    fn shared_verdicts_match_real_ones() {
        let w = Wallet::from_seed(1);
        let msgs: Vec<[u8; 32]> = (0..4u8).map(|i| [i; 32]).collect();
        let mut sigs: Vec<Signature> = msgs.iter().map(|m| w.sign(m)).collect();
        sigs[2].0[5] ^= 1;
        let key = w.address();
        let items: Vec<SignedItem<'_>> =
            msgs.iter().zip(&sigs).map(|(m, s)| SignedItem { key: &key, msg: m, sig: s }).collect();
        let shared = Rc::new(RefCell::new(Verdicts::default()));
        let mut a = SimCheck::Shared(shared.clone());
        let mut b = SimCheck::Shared(shared.clone());
        let mut real = SimCheck::Real(Ed25519Check::new());
        for item in &items {
            assert_eq!(a.verify(*item), real.verify(*item));
        }
        assert!(!b.verify_batch(&items));
        assert!(b.verify_batch(&[items[0], items[1], items[3]]));
        let v = shared.borrow();
        assert_eq!(v.computed, 4, "each triple verified for real once");
        assert!(v.reused >= 7);
    }
}
