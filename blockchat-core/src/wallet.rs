//! Wallets: an Ed25519 key pair whose public key is the address, and its key file.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, SeedableRng};
use thiserror::Error;

use crate::ids::{Address, Signature};

/// First line of a key file, naming its format.
const KEY_FILE_HEADER: &str = "blockchat-secret-key-v1";

/// Why a key file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFileError {
    /// The first line is not the key file header.
    #[error("not a BlockChat key file (first line should be '{KEY_FILE_HEADER}')")]
    BadHeader,
    /// The secret key line is missing or not 64 hex digits.
    #[error("the secret key line is not 64 hex digits")]
    BadSecret,
    /// The stored address does not belong to the stored secret key.
    #[error("the address line {stored} does not match the secret key (which gives {derived})")]
    AddressMismatch {
        /// Address written in the file.
        stored: String,
        /// Address derived from the secret key.
        derived: Address,
    },
}

/// A key pair that signs transactions and blocks. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    address: Address,
}

impl Wallet {
    /// The wallet of a 32-byte Ed25519 secret key.
    pub fn from_secret(secret: [u8; 32]) -> Wallet {
        let key = SigningKey::from_bytes(&secret);
        let address = Address(key.verifying_key().to_bytes());
        Wallet { key, address }
    }

    /// A new wallet from a cryptographic RNG (OS entropy in deployment).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Wallet {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        Wallet::from_secret(secret)
    }

    /// A reproducible wallet for tests and simulation: the key is drawn from
    /// `ChaCha20Rng::seed_from_u64(seed)`.
    pub fn from_seed(seed: u64) -> Wallet {
        Wallet::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    /// This wallet's address (its public key).
    pub fn address(&self) -> Address {
        self.address
    }

    /// The 32-byte secret key; keep it private.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Signs a 32-byte message (a transaction id or a block hash).
    pub fn sign(&self, msg: &[u8; 32]) -> Signature {
        Signature(self.key.sign(msg).to_bytes())
    }

    /// The key file text: header, secret key in hex, address in hex.
    pub fn to_key_file(&self) -> String {
        format!("{KEY_FILE_HEADER}\nsecret {}\naddress {}\n", hex::encode(self.secret_bytes()), self.address)
    }

    /// Reads a key file written by [`Wallet::to_key_file`].
    pub fn from_key_file(text: &str) -> Result<Wallet, KeyFileError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(KeyFileError::BadHeader);
        }
        let secret_hex = lines.next().and_then(|l| l.strip_prefix("secret ")).ok_or(KeyFileError::BadSecret)?;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(secret_hex.trim(), &mut secret).map_err(|_| KeyFileError::BadSecret)?;
        let wallet = Wallet::from_secret(secret);
        if let Some(stored) = lines.next().and_then(|l| l.strip_prefix("address "))
            && stored.trim() != wallet.address.to_hex()
        {
            return Err(KeyFileError::AddressMismatch { stored: stored.trim().to_string(), derived: wallet.address });
        }
        Ok(wallet)
    }
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet").field("address", &self.address).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_wallets_are_reproducible_and_distinct() {
        assert_eq!(Wallet::from_seed(1).address(), Wallet::from_seed(1).address());
        assert_ne!(Wallet::from_seed(1).address(), Wallet::from_seed(2).address());
    }

    #[test]
    fn key_file_round_trip_and_errors() {
        let w = Wallet::from_seed(7);
        let text = w.to_key_file();
        assert_eq!(Wallet::from_key_file(&text).unwrap().address(), w.address());
        assert!(!format!("{w:?}").contains(&hex::encode(w.secret_bytes())));
        assert!(matches!(Wallet::from_key_file("hello"), Err(KeyFileError::BadHeader)));
        assert!(matches!(
            Wallet::from_key_file(&format!("{KEY_FILE_HEADER}\nsecret zz\n")),
            Err(KeyFileError::BadSecret)
        ));
        let other = Wallet::from_seed(8).address();
        let tampered = text.replace(&w.address().to_hex(), &other.to_hex());
        assert!(matches!(Wallet::from_key_file(&tampered), Err(KeyFileError::AddressMismatch { .. })));
    }
}
