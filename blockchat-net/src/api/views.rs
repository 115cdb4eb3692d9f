//! Turning core values into the API's representation.

use blockchat_core::mempool::Mempool;
use blockchat_core::{Address, Block, Chain, Ledger, Transaction, TxKind};

use crate::api::types::{
    AccountView, Amount, BlockSummary, BlockView, Located, Party, Payload, Placement, Share, TxView,
};
use crate::daemon::roster::Roster;

/// An address with its member id, if any.
pub fn party(roster: &Roster, address: Address) -> Party {
    Party { id: roster.id_of(&address), address }
}

/// A transaction, charged `fee`.
pub fn tx_view(roster: &Roster, tx: &Transaction, fee: u64) -> TxView {
    let payload = match tx.kind() {
        TxKind::Coins { amount } => Payload::Coins { amount: Amount(*amount) },
        TxKind::Message { text } => Payload::Message { text: text.clone() },
        TxKind::Stake { amount } => Payload::Stake { amount: Amount(*amount) },
    };
    TxView {
        id: tx.id(),
        sender: party(roster, tx.sender()),
        receiver: party(roster, tx.receiver()),
        nonce: tx.nonce(),
        payload,
        fee: Amount(fee),
    }
}

/// A block with its transactions.
pub fn block_view(roster: &Roster, block: &Block) -> BlockView {
    BlockView {
        height: block.index(),
        hash: block.hash(),
        previous: block.previous_hash(),
        validator: (block.index() > 0).then(|| party(roster, block.validator())),
        round: block.round(),
        timestamp_ns: block.timestamp().as_nanos(),
        fees: Amount(block.fees()),
        transactions: block.transactions().iter().map(|t| tx_view(roster, t, block.fee_of(t))).collect(),
    }
}

/// A block in brief.
pub fn block_summary(roster: &Roster, block: &Block) -> BlockSummary {
    BlockSummary {
        height: block.index(),
        hash: block.hash(),
        validator: if block.index() == 0 { None } else { roster.id_of(&block.validator()) },
        round: block.round(),
        timestamp_ns: block.timestamp().as_nanos(),
        transactions: block.transactions().len(),
        fees: Amount(block.fees()),
    }
}

/// A committed transaction and its place in `chain`.
pub fn committed(roster: &Roster, chain: &Chain, block: &Block, tx: &Transaction) -> Located {
    Located {
        transaction: tx_view(roster, tx, block.fee_of(tx)),
        placement: Placement::Committed {
            height: block.index(),
            hash: block.hash(),
            confirmations: chain.height() - block.index() + 1,
        },
    }
}

/// One account at the tip, with what its transactions pending in `mempool` will spend.
pub fn account(roster: &Roster, ledger: &Ledger, mempool: &Mempool, address: Address) -> AccountView {
    let a = ledger.account(&address).copied().unwrap_or_default();
    let (pending_spends, pending_transactions) = mempool
        .iter()
        .filter(|(t, _)| t.sender() == address)
        .fold((0u64, 0usize), |(sum, n), (t, _)| (sum.saturating_add(t.kind().debit()), n + 1));
    AccountView {
        holder: party(roster, address),
        balance: Amount(a.balance),
        stake: Amount(a.stake),
        spendable: Amount(a.spendable()),
        next_nonce: a.next_nonce,
        pending_spends: Amount(pending_spends),
        pending_transactions,
    }
}

/// Every account at the tip, members first by id.
pub fn accounts(roster: &Roster, ledger: &Ledger, mempool: &Mempool) -> Vec<AccountView> {
    let mut out: Vec<AccountView> =
        ledger.accounts().map(|(address, _)| account(roster, ledger, mempool, *address)).collect();
    out.sort_by_key(|a| (a.holder.id.is_none(), a.holder.id, a.holder.address));
    out
}

/// Each member's blocks and fees in `chain` against its stake at the tip.
pub fn shares(roster: &Roster, chain: &Chain) -> Vec<Share> {
    let members = roster.members();
    let mut blocks = vec![0u64; members.len()];
    let mut fees = vec![0u64; members.len()];
    for b in chain.blocks().iter().skip(1) {
        if let Some(i) = roster.id_of(&b.validator()).map(|id| id as usize).filter(|i| *i < members.len()) {
            blocks[i] += 1;
            fees[i] = fees[i].saturating_add(b.fees());
        }
    }
    let ledger = chain.ledger();
    let stakes: Vec<u64> = members.iter().map(|m| ledger.account(&m.key).map_or(0, |a| a.stake)).collect();
    let all_stake: u64 = stakes.iter().sum();
    let all_blocks: u64 = blocks.iter().sum();
    let ratio = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
    members
        .iter()
        .enumerate()
        .map(|(i, m)| Share {
            id: m.id,
            stake: Amount(stakes[i]),
            stake_share: ratio(stakes[i], all_stake),
            blocks: blocks[i],
            block_share: ratio(blocks[i], all_blocks),
            fees: Amount(fees[i]),
        })
        .collect()
}
