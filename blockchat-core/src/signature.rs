//! Signature checking under one rule for single and batch verification.
//!
//! The rule is the cofactored Ed25519 equation of ZIP-215: `[8](s·B − R − k·A) = 0` with
//! `k = SHA-512(R ‖ A ‖ M)`, `s` canonical, `R` and `A` any encodings that decompress, and `A`
//! not of small order (the protocol's rule for addresses, checked here before the equation).
//! ed25519-dalek's own `verify` (cofactorless) and `verify_batch` (cofactorless, with
//! data-dependent coefficients) can disagree on crafted signatures, which in a blockchain would
//! split nodes that checked a transaction alone (mempool) from nodes that checked it in a batch
//! (block). ed25519-zebra implements exactly ZIP-215, alone and in batches, so both paths go
//! through it; its batch takes our RNG, seeded from the batch itself.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ed25519_zebra::{VerificationKey, VerificationKeyBytes, batch};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crate::FastMap;
use crate::ids::{Address, Signature};

/// One (public key, 32-byte message, signature) triple to check.
#[derive(Debug, Clone, Copy)]
pub struct SignedItem<'a> {
    /// The signer's address (public key).
    pub key: &'a Address,
    /// The signed 32-byte message: a transaction id or a block hash.
    pub msg: &'a [u8; 32],
    /// The signature.
    pub sig: &'a Signature,
}

/// Checks signatures for a node. The simulator swaps in a memoising implementation; every
/// implementation must give the answers of [`Ed25519Check`].
pub trait SignatureCheck {
    /// Whether `item` holds a valid signature.
    fn verify(&mut self, item: SignedItem<'_>) -> bool;
    /// Whether every item holds a valid signature (all or nothing).
    fn verify_batch(&mut self, items: &[SignedItem<'_>]) -> bool;
}

/// Most public keys remembered in decompressed form before the cache is emptied.
const KEY_CACHE_LIMIT: usize = 65_536;

/// Real Ed25519 verification (ZIP-215, through ed25519-zebra), with decompressed public keys
/// cached per address.
#[derive(Debug, Default, Clone)]
pub struct Ed25519Check {
    // Lookup only; its iteration order never matters.
    keys: FastMap<Address, Option<VerificationKey>>,
}

impl Ed25519Check {
    /// A checker with an empty key cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key of `address` if it may sign (decompresses, not of small order).
    fn key(&mut self, address: &Address) -> Option<VerificationKey> {
        if let Some(k) = self.keys.get(address) {
            return *k;
        }
        if self.keys.len() >= KEY_CACHE_LIMIT {
            self.keys.clear();
        }
        let k = if is_valid_public_key(address) { VerificationKey::try_from(address.0).ok() } else { None };
        self.keys.insert(*address, k);
        k
    }
}

fn zebra_signature(sig: &Signature) -> ed25519_zebra::Signature {
    ed25519_zebra::Signature::from_bytes(&sig.0)
}

impl SignatureCheck for Ed25519Check {
    fn verify(&mut self, item: SignedItem<'_>) -> bool {
        self.key(item.key).is_some_and(|k| k.verify(&zebra_signature(item.sig), item.msg).is_ok())
    }

    fn verify_batch(&mut self, items: &[SignedItem<'_>]) -> bool {
        if items.iter().any(|item| self.key(item.key).is_none()) {
            return false;
        }
        // Coefficients derive from the whole batch, so the check is deterministic yet unpredictable
        // to anyone who cannot find SHA-256 preimages.
        let mut transcript = Sha256::new();
        let mut verifier = batch::Verifier::new();
        for item in items {
            transcript.update(item.key.0);
            transcript.update(item.msg);
            transcript.update(item.sig.0);
            verifier.queue((VerificationKeyBytes::from(item.key.0), zebra_signature(item.sig), &item.msg[..]));
        }
        verifier.verify(ChaCha20Rng::from_seed(transcript.finalize().into())).is_ok()
    }
}

/// The public key as a curve point, if it decompresses and is not of small order.
pub fn public_point(key: &Address) -> Option<EdwardsPoint> {
    let p = CompressedEdwardsY(key.0).decompress()?;
    (!p.is_small_order()).then_some(p)
}

/// Whether `address` can sign: a valid, non-small-order public key.
pub fn is_valid_public_key(address: &Address) -> bool {
    public_point(address).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::Wallet;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::scalar::Scalar;
    use sha2::Sha512;

    /// `k = SHA-512(R ‖ A ‖ M)` as a scalar, to sign by hand.
    fn challenge(r: &[u8], a: &[u8; 32], msg: &[u8; 32]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r);
        h.update(a);
        h.update(msg);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    fn signed(seed: u64, msg: [u8; 32]) -> (Address, Signature) {
        let w = Wallet::from_seed(seed);
        (w.address(), w.sign(&msg))
    }

    #[test]
    fn valid_and_tampered_signatures() {
        let msg = [9u8; 32];
        let (key, sig) = signed(1, msg);
        let mut check = Ed25519Check::new();
        assert!(check.verify(SignedItem { key: &key, msg: &msg, sig: &sig }));
        let other = [8u8; 32];
        assert!(!check.verify(SignedItem { key: &key, msg: &other, sig: &sig }));
        let mut bad = sig;
        bad.0[40] ^= 1;
        assert!(!check.verify(SignedItem { key: &key, msg: &msg, sig: &bad }));
        // Non-canonical s (s + ℓ) is rejected.
        let mut high = sig;
        high.0[63] |= 0xf0;
        assert!(!check.verify(SignedItem { key: &key, msg: &msg, sig: &high }));
        // A key that does not decompress, and address 0 (small order), cannot sign.
        assert!(!is_valid_public_key(&Address::ZERO));
        let not_a_point =
            (2u8..=255).map(|b| Address([b; 32])).find(|a| CompressedEdwardsY(a.0).decompress().is_none()).unwrap();
        assert!(!is_valid_public_key(&not_a_point));
        assert!(!check.verify(SignedItem { key: &not_a_point, msg: &msg, sig: &sig }));
    }

    #[test]
    fn batch_agrees_and_pinpoints_nothing_extra() {
        let msgs: Vec<[u8; 32]> = (0..20u8).map(|i| [i; 32]).collect();
        let sigs: Vec<(Address, Signature)> = msgs.iter().enumerate().map(|(i, m)| signed(i as u64, *m)).collect();
        let items: Vec<SignedItem<'_>> =
            sigs.iter().zip(&msgs).map(|((k, s), m)| SignedItem { key: k, msg: m, sig: s }).collect();
        let mut check = Ed25519Check::new();
        assert!(check.verify_batch(&items));
        assert!(check.verify_batch(&[]));
        let mut bad = items.clone();
        let wrong = [0xee; 32];
        bad[7].msg = &wrong;
        assert!(!check.verify_batch(&bad));
    }

    /// A signature whose R carries a small-order component passes the cofactored equation, alone
    /// and in every batch, so mempool and block checks cannot disagree on it.
    #[test]
    fn torsion_in_r_is_judged_the_same_alone_and_in_batches() {
        let wallet = Wallet::from_seed(42);
        let a_bytes = wallet.address();
        // The signing scalar: the clamped first half of SHA-512(secret key), as RFC 8032 says.
        let h: [u8; 64] = Sha512::digest(wallet.secret_bytes()).into();
        let mut clamped = [0u8; 32];
        clamped.copy_from_slice(&h[..32]);
        clamped[0] &= 248;
        clamped[31] &= 127;
        clamped[31] |= 64;
        let secret = Scalar::from_bytes_mod_order(clamped);
        let msg = [3u8; 32];
        // Sign by hand with R' = R + T, T of order 8, so s·B − k·A − R' = −T.
        let r = Scalar::from_bytes_mod_order_wide(&[5u8; 64]);
        let r_point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[1];
        let r_bytes = r_point.compress().0;
        let k = challenge(&r_bytes, &a_bytes.0, &msg);
        let s = r + k * secret;
        let mut sig = Signature([0; 64]);
        sig.0[..32].copy_from_slice(&r_bytes);
        sig.0[32..].copy_from_slice(&s.to_bytes());
        let item = SignedItem { key: &a_bytes, msg: &msg, sig: &sig };

        let mut check = Ed25519Check::new();
        assert!(check.verify(item));
        // ed25519-dalek's cofactorless check rejects it: the reason we do not use it.
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&a_bytes.0).unwrap();
        let dalek_sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        assert!(vk.verify_strict(&msg, &dalek_sig).is_err());
        // Every batch containing it agrees with the single check.
        for n in 1..10u64 {
            let others: Vec<(Address, Signature, [u8; 32])> = (0..n)
                .map(|i| {
                    let m = [i as u8 + 100; 32];
                    let (k, s) = signed(i + 1000, m);
                    (k, s, m)
                })
                .collect();
            let mut items: Vec<SignedItem<'_>> =
                others.iter().map(|(k, s, m)| SignedItem { key: k, msg: m, sig: s }).collect();
            items.push(item);
            assert!(check.verify_batch(&items), "batch of {}", n + 1);
        }
    }
}
