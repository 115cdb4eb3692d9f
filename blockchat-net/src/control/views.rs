//! Turning core values into the control endpoint's display types.

use blockchat_core::{Address, Block, Ledger, Transaction, TxKind, format_bcc};

use crate::control::{AccountView, BlockSummary, BlockView, TxView};
use crate::daemon::roster::Roster;

/// A transaction of `block` for display, naming members by id, with the fee it was charged.
pub fn tx_view(roster: &Roster, block: &Block, tx: &Transaction) -> TxView {
    let (kind, what, to) = match tx.kind() {
        TxKind::Coins { amount } => ("coins", format!("{} BCC", format_bcc(*amount)), roster.label(&tx.receiver())),
        TxKind::Message { text } => ("message", text.clone(), roster.label(&tx.receiver())),
        TxKind::Stake { amount } => ("stake", format!("{} BCC", format_bcc(*amount)), "stake".to_string()),
    };
    TxView {
        id: tx.id(),
        from: roster.label(&tx.sender()),
        to,
        kind: kind.to_string(),
        what,
        fee: format_bcc(block.fee_of(tx)),
    }
}

/// A block with its transactions, for display.
pub fn block_view(roster: &Roster, block: &Block) -> BlockView {
    BlockView {
        index: block.index(),
        hash: block.hash(),
        validator: roster.id_of(&block.validator()),
        round: block.round(),
        timestamp: block.timestamp().as_nanos(),
        transactions: block.transactions().iter().map(|t| tx_view(roster, block, t)).collect(),
    }
}

/// A block in brief.
pub fn block_summary(roster: &Roster, block: &Block) -> BlockSummary {
    BlockSummary {
        index: block.index(),
        hash: block.hash(),
        validator: roster.id_of(&block.validator()),
        round: block.round(),
        timestamp: block.timestamp().as_nanos(),
        transactions: block.transactions().len(),
        fees: block.fees(),
    }
}

/// Every account at the tip, members first by id.
pub fn accounts(roster: &Roster, ledger: &Ledger) -> Vec<AccountView> {
    let mut out: Vec<AccountView> = ledger
        .accounts()
        .map(|(address, a): (&Address, _)| AccountView {
            id: roster.id_of(address),
            address: *address,
            balance: a.balance,
            stake: a.stake,
            next_nonce: a.next_nonce,
        })
        .collect();
    out.sort_by_key(|a| (a.id.is_none(), a.id, a.address));
    out
}
