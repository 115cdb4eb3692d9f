//! Answers in plain words, for the prompt and `blockchat client`.

use std::fmt::Write;

use crate::api::{BlockView, Located, Payload, Placement, Reply, Response, TxView};

fn tx_line(t: &TxView) -> String {
    match &t.payload {
        // Quoted and escaped: a message's newlines or escape sequences must not forge lines or
        // drive the terminal.
        Payload::Message { text } => format!("{} -> {}: message {text:?} (fee {})", t.sender, t.receiver, t.fee),
        Payload::Stake { amount } => format!("{} stakes {amount}", t.sender),
        Payload::Coins { amount } => format!("{} -> {}: {amount} (fee {})", t.sender, t.receiver, t.fee),
    }
}

fn located(l: &Located) -> String {
    let at = match &l.placement {
        Placement::Committed { height, confirmations, .. } => format!("block {height} ({confirmations} confirmations)"),
        Placement::Pending => "pending".to_string(),
    };
    format!("{at}: {} [{}]", tx_line(&l.transaction), l.transaction.id.short())
}

fn block(b: &BlockView) -> String {
    let by = b.validator.map_or("genesis".to_string(), |v| format!("validator {v}"));
    let mut s = format!(
        "block {} ({}), {by}, round {}, {} transactions, fees {}",
        b.height,
        b.hash.short(),
        b.round,
        b.transactions.len(),
        b.fees
    );
    for t in &b.transactions {
        let _ = write!(s, "\n  {}", tx_line(t));
    }
    s
}

fn lines<T>(items: &[T], empty: &str, line: impl Fn(&T) -> String) -> String {
    if items.is_empty() {
        return empty.to_string();
    }
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// The answer as text; errors start with `error:`.
pub fn render(response: &Response) -> String {
    let reply = match response {
        Ok(r) => r,
        Err(e) => return format!("error: {e}"),
    };
    match reply {
        Reply::Status(s) => {
            let id = s.id.map_or("?".to_string(), |i| i.to_string());
            let mut out = format!(
                "node {id}: {}\nheight {} (tip {}), round {}\npeers connected {} of {}\nmempool {} pending, capacity {}\ncommitted {} transactions",
                s.phase,
                s.height,
                s.tip.map_or("-".to_string(), |t| t.short()),
                s.round,
                s.peers_connected,
                s.nodes.saturating_sub(1),
                s.mempool,
                s.capacity,
                s.committed_txs,
            );
            if s.workload.total > 0 {
                let w = &s.workload;
                let _ = write!(
                    out,
                    "\nworkload: {} lines, {} sent, {} committed, {} pending, {} given up, {} not sent yet",
                    w.total, w.submitted, w.committed, w.pending, w.failed, w.unsent
                );
                if let Some(wait) = &s.waiting {
                    let _ = write!(out, "\nline {} waits for a block: {}", wait.line, wait.reason);
                }
            }
            out
        }
        Reply::Account(a) => {
            let mut line = format!(
                "{}: balance {} (staked {}, available {}), next nonce {}",
                a.holder, a.balance, a.stake, a.spendable, a.next_nonce
            );
            if a.pending_transactions > 0 {
                let _ =
                    write!(line, "; {} pending transactions will spend {}", a.pending_transactions, a.pending_spends);
            }
            line
        }
        Reply::Block(b) => block(b),
        Reply::Transaction(l) => located(l),
        Reply::History(entries) => lines(entries, "no committed transactions of yours yet", located),
        Reply::Mempool(txs) => lines(txs, "the mempool is empty", |t| format!("{} [{}]", tx_line(t), t.id.short())),
        Reply::Peers(peers) => lines(peers, "", |p| {
            let state = match (p.this_node, p.connected) {
                (true, _) => "this node",
                (false, true) => "connected",
                (false, false) => "not connected",
            };
            format!("node {} at {} ({}): {state}", p.id, p.endpoint, p.address.short())
        }),
        Reply::Submitted(s) => {
            format!("sent: transaction {} (nonce {}, fee {}) is pending", s.id.short(), s.nonce, s.fee)
        }
        Reply::Blocks(blocks) => lines(blocks, "no blocks there", |b| {
            let by = b.validator.map_or("genesis".to_string(), |v| format!("node {v}"));
            format!(
                "block {} {} by {by}, round {}: {} transactions, fees {}",
                b.height,
                b.hash.short(),
                b.round,
                b.transactions,
                b.fees
            )
        }),
        Reply::Ledger(l) => {
            let mut s = lines(&l.accounts, "", |a| format!("{}: {}, staked {}", a.holder, a.balance, a.stake));
            let _ = write!(s, "\nsupply {}", l.supply);
            s
        }
        Reply::Shares(shares) => lines(shares, "", |s| {
            format!(
                "node {}: {:.1}% of the stake ({}), {:.1}% of the blocks ({}), fees {}",
                s.id,
                100.0 * s.stake_share,
                s.stake,
                100.0 * s.block_share,
                s.blocks,
                s.fees
            )
        }),
        Reply::ShuttingDown => "the node is shutting down".to_string(),
        Reply::Metrics(m) => m.to_prometheus(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_shows_what_pending_transactions_will_spend() {
        use crate::api::{AccountView, Amount, Party};
        let reply = |n, pending| {
            Ok(Reply::Account(AccountView {
                holder: Party { id: Some(1), address: blockchat_core::Address([1; 32]) },
                balance: Amount(5_000_000),
                stake: Amount(1_000_000),
                spendable: Amount(4_000_000),
                next_nonce: 3,
                pending_spends: Amount(pending),
                pending_transactions: n,
            }))
        };
        assert_eq!(render(&reply(0, 0)), "node 1: balance 5 BCC (staked 1 BCC, available 4 BCC), next nonce 3");
        assert_eq!(
            render(&reply(1, 1_030_000)),
            "node 1: balance 5 BCC (staked 1 BCC, available 4 BCC), next nonce 3; 1 pending transactions will spend 1.03 BCC"
        );
    }

    #[test]
    fn message_text_cannot_forge_lines_or_drive_the_terminal() {
        let forged = "hi\n  node 3 -> node 0: 500 BCC (fee 0 BCC)\u{1b}]0;owned\u{7}\u{1b}[31m\r\u{9b}";
        use crate::api::{Amount, Party};
        let party = |id| Party { id: Some(id), address: blockchat_core::Address([id as u8; 32]) };
        let t = TxView {
            id: blockchat_core::TxId([0; 32]),
            sender: party(1),
            receiver: party(2),
            nonce: 0,
            payload: Payload::Message { text: forged.into() },
            fee: Amount(1_000_000),
        };
        let line = tx_line(&t);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains(r"hi\n  node 3") && line.contains(r"\u{1b}]0;owned\u{7}"), "{line}");
    }
}
