//! Fixed-size byte identifiers: addresses, transaction ids, block hashes, signatures.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a hex string could not be read as a fixed-size identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The string has the wrong number of hex digits.
    #[error("expected {expected} hex digits, got {got}")]
    WrongLength {
        /// Digits required (twice the byte length).
        expected: usize,
        /// Digits given.
        got: usize,
    },
    /// The string holds a character that is not a hex digit.
    #[error("not a hex string: {0}")]
    NotHex(String),
}

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub [u8; $len]);

        // Ids are hash outputs or public keys: their first eight bytes are already uniform, and a
        // seeded hasher mixes them (two ids sharing them take ~2^32 work to find).
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                let mut head = [0u8; 8];
                head.copy_from_slice(&self.0[..8]);
                state.write_u64(u64::from_le_bytes(head));
            }
        }

        // Byte order, compared 16 bytes at a time: ids are map keys on hot paths.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                for (a, b) in self.0.chunks_exact(16).zip(other.0.chunks_exact(16)) {
                    let a = u128::from_be_bytes(a.try_into().unwrap_or([0; 16]));
                    let b = u128::from_be_bytes(b.try_into().unwrap_or([0; 16]));
                    match a.cmp(&b) {
                        std::cmp::Ordering::Equal => {}
                        other => return other,
                    }
                }
                std::cmp::Ordering::Equal
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// Number of bytes in this identifier.
            pub const LEN: usize = $len;
            /// The all-zero value.
            pub const ZERO: Self = Self([0; $len]);

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lower-case hex, two digits per byte.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first eight hex digits, for logs and summaries.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                let s = s.trim();
                if s.len() != 2 * $len {
                    return Err(HexError::WrongLength { expected: 2 * $len, got: s.len() });
                }
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).map_err(|e| HexError::NotHex(e.to_string()))?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

byte_id!(
    /// A wallet's address: its 32-byte Ed25519 public key. The all-zero address is "address 0".
    Address,
    32
);
byte_id!(
    /// A transaction id: SHA-256 of the transaction's canonical body.
    TxId,
    32
);
byte_id!(
    /// A block hash: SHA-256 of the block's canonical header.
    BlockHash,
    32
);
byte_id!(
    /// An Ed25519 signature (R ‖ s), 64 bytes.
    Signature,
    64
);

impl Address {
    /// Whether this is address 0, the receiver of stake transactions and sender of the genesis mint.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_byte_order() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        a[20] = 1;
        b[3] = 1;
        assert!(Address(a) < Address(b));
        assert_eq!(Address(a).cmp(&Address(a)), std::cmp::Ordering::Equal);
        let mut c = [0xffu8; 64];
        c[63] = 0;
        assert!(Signature(c) < Signature([0xff; 64]));
        assert_eq!(Address(a).cmp(&Address(b)), a.cmp(&b));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let a = Address([0xab; 32]);
        assert_eq!(a.to_hex().parse::<Address>(), Ok(a));
        assert_eq!("abc".parse::<Address>(), Err(HexError::WrongLength { expected: 64, got: 3 }));
        assert!(matches!("zz".repeat(32).parse::<Address>(), Err(HexError::NotHex(_))));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        assert!(Address::ZERO.is_zero() && !a.is_zero());
    }
}
