//! Signed transactions: coin transfers, messages and stakes, with their canonical encoding.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::amount::{MAX_MESSAGE_CHARS, message_fee, transfer_fee};
use crate::codec::{DecodeError, Reader, Writer};
use crate::error::TxError;
use crate::ids::{Address, Signature, TxId};
use crate::signature::SignedItem;
use crate::wallet::Wallet;

/// Tag byte that starts every transaction body, separating its hashes from block hashes.
pub const TX_DOMAIN: u8 = b'T';
/// Largest message, in bytes, that decoding accepts (four bytes per character at most).
pub const MAX_MESSAGE_BYTES: usize = 4 * MAX_MESSAGE_CHARS;

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TxKind {
    /// Moves `amount` units to the receiver; the sender also pays a 3% fee.
    Coins {
        /// Units sent.
        amount: u64,
    },
    /// Delivers a text to the receiver; the sender pays 1 BCC per character.
    Message {
        /// The message.
        text: String,
    },
    /// Sets the sender's stake to `amount` units (receiver: address 0); no fee.
    Stake {
        /// The new stake, in units.
        amount: u64,
    },
}

impl TxKind {
    /// The fee this kind of transaction pays to the block's validator.
    pub fn fee(&self) -> u64 {
        match self {
            TxKind::Coins { amount } => transfer_fee(*amount),
            TxKind::Message { text } => message_fee(text.chars().count()),
            TxKind::Stake { .. } => 0,
        }
    }

    /// Units that leave the sender's unstaked balance: amount plus fee (zero for a stake).
    pub fn debit(&self) -> u64 {
        match self {
            TxKind::Coins { amount } => amount.saturating_add(self.fee()),
            TxKind::Message { .. } => self.fee(),
            TxKind::Stake { .. } => 0,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            TxKind::Coins { .. } => 0,
            TxKind::Message { .. } => 1,
            TxKind::Stake { .. } => 2,
        }
    }
}

/// A signed transaction. Its id is derived from its fields, so it cannot disagree with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    id: TxId,
    sender: Address,
    receiver: Address,
    #[serde(flatten)]
    kind: TxKind,
    nonce: u64,
    signature: Signature,
}

impl Transaction {
    /// Builds and signs a transaction from `wallet` (a stake's receiver is forced to address 0).
    pub fn new_signed(wallet: &Wallet, receiver: Address, kind: TxKind, nonce: u64) -> Transaction {
        let receiver = if matches!(kind, TxKind::Stake { .. }) { Address::ZERO } else { receiver };
        let id = body_id(&wallet.address(), &receiver, &kind, nonce);
        let signature = wallet.sign(&id.0);
        Transaction { id, sender: wallet.address(), receiver, kind, nonce, signature }
    }

    /// Assembles a transaction from its fields, computing its id; the signature is not checked.
    pub fn from_parts(
        sender: Address,
        receiver: Address,
        kind: TxKind,
        nonce: u64,
        signature: Signature,
    ) -> Transaction {
        let id = body_id(&sender, &receiver, &kind, nonce);
        Transaction { id, sender, receiver, kind, nonce, signature }
    }

    /// SHA-256 of the canonical body.
    pub fn id(&self) -> TxId {
        self.id
    }
    /// Who signs and pays.
    pub fn sender(&self) -> Address {
        self.sender
    }
    /// Who receives the coins or message (address 0 for a stake).
    pub fn receiver(&self) -> Address {
        self.receiver
    }
    /// What the transaction does.
    pub fn kind(&self) -> &TxKind {
        &self.kind
    }
    /// The sender's sequence number, against replay.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }
    /// The sender's Ed25519 signature over the id.
    pub fn signature(&self) -> Signature {
        self.signature
    }
    /// The fee paid to the block's validator.
    pub fn fee(&self) -> u64 {
        self.kind.fee()
    }

    /// The (key, message, signature) triple that must verify.
    pub fn signed_item(&self) -> SignedItem<'_> {
        SignedItem { key: &self.sender, msg: &self.id.0, sig: &self.signature }
    }

    /// The rules that need no state: receivers, amounts and message lengths.
    pub fn check_form(&self) -> Result<(), TxError> {
        match &self.kind {
            TxKind::Stake { .. } => {
                if !self.receiver.is_zero() {
                    return Err(TxError::StakeReceiverNotZero { receiver: self.receiver });
                }
                return Ok(());
            }
            TxKind::Coins { amount } if *amount == 0 => return Err(TxError::ZeroAmount),
            TxKind::Message { text } => {
                let chars = text.chars().count();
                if chars == 0 {
                    return Err(TxError::EmptyMessage);
                }
                if chars > MAX_MESSAGE_CHARS {
                    return Err(TxError::MessageTooLong { chars, max: MAX_MESSAGE_CHARS });
                }
            }
            TxKind::Coins { .. } => {}
        }
        if self.receiver.is_zero() {
            return Err(TxError::ReceiverIsZero);
        }
        if self.receiver == self.sender {
            return Err(TxError::SendToSelf);
        }
        Ok(())
    }

    /// Bytes of the canonical encoding (body then signature).
    pub fn encoded_len(&self) -> usize {
        let kind = match &self.kind {
            TxKind::Coins { .. } | TxKind::Stake { .. } => 1 + 8,
            TxKind::Message { text } => 1 + 4 + text.len(),
        };
        1 + 32 + 32 + 8 + kind + 64
    }

    /// Appends the canonical encoding: body, then the 64-byte signature.
    pub fn encode_into(&self, w: &mut Writer) {
        write_body(w, &self.sender, &self.receiver, &self.kind, self.nonce);
        w.bytes(&self.signature.0);
    }

    /// The canonical encoding as a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.encode_into(&mut w);
        w.finish()
    }

    /// Reads one transaction from `r`; the id is recomputed from the bytes read.
    pub fn decode_from(r: &mut Reader<'_>) -> Result<Transaction, DecodeError> {
        let start = r.rest();
        let domain = r.u8("transaction tag")?;
        if domain != TX_DOMAIN {
            return Err(DecodeError::UnknownTag { what: "transaction", tag: domain });
        }
        let sender = Address(r.array("sender")?);
        let receiver = Address(r.array("receiver")?);
        let nonce = r.u64("nonce")?;
        let kind = match r.u8("kind")? {
            0 => TxKind::Coins { amount: r.u64("amount")? },
            1 => TxKind::Message { text: r.str("message", MAX_MESSAGE_BYTES)?.to_string() },
            2 => TxKind::Stake { amount: r.u64("stake")? },
            tag => return Err(DecodeError::UnknownTag { what: "transaction kind", tag }),
        };
        let body = &start[..start.len() - r.remaining()];
        let id = TxId(Sha256::digest(body).into());
        let signature = Signature(r.array("signature")?);
        Ok(Transaction { id, sender, receiver, kind, nonce, signature })
    }

    /// Decodes exactly one transaction from `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Transaction, DecodeError> {
        let mut r = Reader::new(bytes);
        let tx = Transaction::decode_from(&mut r)?;
        r.finish()?;
        Ok(tx)
    }
}

fn write_body(w: &mut Writer, sender: &Address, receiver: &Address, kind: &TxKind, nonce: u64) {
    w.u8(TX_DOMAIN);
    w.bytes(&sender.0);
    w.bytes(&receiver.0);
    w.u64(nonce);
    w.u8(kind.tag());
    match kind {
        TxKind::Coins { amount } | TxKind::Stake { amount } => w.u64(*amount),
        TxKind::Message { text } => w.str(text),
    }
}

fn body_id(sender: &Address, receiver: &Address, kind: &TxKind, nonce: u64) -> TxId {
    let mut w = Writer::with_capacity(128);
    write_body(&mut w, sender, receiver, kind, nonce);
    TxId(Sha256::digest(w.finish()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::UNITS_PER_BCC;

    fn tx(kind: TxKind, receiver: Address) -> Transaction {
        Transaction::new_signed(&Wallet::from_seed(1), receiver, kind, 0)
    }

    #[test]
    fn form_rules_table() {
        let me = Wallet::from_seed(1).address();
        let you = Wallet::from_seed(2).address();
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        let cases: Vec<(&str, Transaction, Result<(), TxError>)> = vec![
            ("coins", tx(TxKind::Coins { amount: 5 }, you), Ok(())),
            ("zero coins", tx(TxKind::Coins { amount: 0 }, you), Err(TxError::ZeroAmount)),
            ("coins to self", tx(TxKind::Coins { amount: 5 }, me), Err(TxError::SendToSelf)),
            ("coins to 0", tx(TxKind::Coins { amount: 5 }, Address::ZERO), Err(TxError::ReceiverIsZero)),
            ("message", tx(TxKind::Message { text: "hi".into() }, you), Ok(())),
            ("empty message", tx(TxKind::Message { text: String::new() }, you), Err(TxError::EmptyMessage)),
            (
                "long message",
                tx(TxKind::Message { text: long }, you),
                Err(TxError::MessageTooLong { chars: MAX_MESSAGE_CHARS + 1, max: MAX_MESSAGE_CHARS }),
            ),
            ("message to 0", tx(TxKind::Message { text: "a".into() }, Address::ZERO), Err(TxError::ReceiverIsZero)),
            ("stake", tx(TxKind::Stake { amount: 10 }, you), Ok(())),
            ("unstake", tx(TxKind::Stake { amount: 0 }, you), Ok(())),
            (
                "stake not to 0",
                Transaction::from_parts(me, you, TxKind::Stake { amount: 1 }, 0, Signature::ZERO),
                Err(TxError::StakeReceiverNotZero { receiver: you }),
            ),
        ];
        for (name, tx, want) in cases {
            assert_eq!(tx.check_form(), want, "{name}");
        }
    }

    #[test]
    fn fees_table() {
        let you = Wallet::from_seed(2).address();
        for (kind, fee, debit) in [
            (TxKind::Coins { amount: 100 * UNITS_PER_BCC }, 3 * UNITS_PER_BCC, 103 * UNITS_PER_BCC),
            (TxKind::Coins { amount: 1 }, 1, 2),
            (TxKind::Message { text: "héllo".into() }, 5 * UNITS_PER_BCC, 5 * UNITS_PER_BCC),
            (TxKind::Stake { amount: 50 }, 0, 0),
        ] {
            let t = tx(kind.clone(), you);
            assert_eq!((t.fee(), t.kind().debit()), (fee, debit), "{kind:?}");
        }
    }

    #[test]
    fn encoding_round_trip_keeps_id_and_signature() {
        let you = Wallet::from_seed(2).address();
        for kind in
            [TxKind::Coins { amount: 7 }, TxKind::Message { text: "καλημέρα 🙂".into() }, TxKind::Stake { amount: 3 }]
        {
            let t = tx(kind, you);
            let bytes = t.encode();
            assert_eq!(bytes.len(), t.encoded_len());
            assert_eq!(Transaction::decode(&bytes), Ok(t.clone()));
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(Transaction::decode(&longer), Err(DecodeError::TrailingBytes { count: 1 }));
            for cut in 0..bytes.len() {
                assert!(Transaction::decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn changing_any_field_changes_the_id() {
        let me = Wallet::from_seed(1).address();
        let you = Wallet::from_seed(2).address();
        let base = Transaction::from_parts(me, you, TxKind::Coins { amount: 5 }, 0, Signature::ZERO);
        let variants = [
            Transaction::from_parts(you, me, TxKind::Coins { amount: 5 }, 0, Signature::ZERO),
            Transaction::from_parts(me, you, TxKind::Coins { amount: 6 }, 0, Signature::ZERO),
            Transaction::from_parts(me, you, TxKind::Coins { amount: 5 }, 1, Signature::ZERO),
            Transaction::from_parts(me, you, TxKind::Stake { amount: 5 }, 0, Signature::ZERO),
        ];
        for v in variants {
            assert_ne!(v.id(), base.id());
        }
        let resigned = Transaction::from_parts(me, you, TxKind::Coins { amount: 5 }, 0, Signature([1; 64]));
        assert_eq!(resigned.id(), base.id(), "the signature is not part of the id");
    }
}
