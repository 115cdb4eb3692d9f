//! Answers in plain words, for the prompt and `blockchat client`.

use std::fmt::Write;

use blockchat_core::format_bcc;

use crate::control::{BlockView, Reply, Response, TxView};

fn tx_line(t: &TxView) -> String {
    match t.kind.as_str() {
        // Quoted and escaped: a message's newlines or escape sequences must not forge lines or
        // drive the terminal.
        "message" => format!("{} -> {}: message {:?} (fee {} BCC)", t.from, t.to, t.what, t.fee),
        "stake" => format!("{} stakes {}", t.from, t.what),
        _ => format!("{} -> {}: {} (fee {} BCC)", t.from, t.to, t.what, t.fee),
    }
}

fn block(b: &BlockView) -> String {
    let by = b.validator.map_or("genesis".to_string(), |v| format!("validator node {v}"));
    let mut s = format!(
        "block {} ({}), {by}, round {}, {} transactions",
        b.index,
        b.hash.short(),
        b.round,
        b.transactions.len()
    );
    for t in &b.transactions {
        let _ = write!(s, "\n  {}", tx_line(t));
    }
    s
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
                if let Some((line, why)) = &s.waiting {
                    let _ = write!(out, "\nline {line} waits for a block: {why}");
                }
            }
            out
        }
        Reply::Balance { balance, stake, available, pending } => {
            let mut line = format!(
                "balance {} BCC (staked {} BCC, available {} BCC)",
                format_bcc(*balance),
                format_bcc(*stake),
                format_bcc(*available)
            );
            if *pending > 0 {
                let _ = write!(line, "; pending transactions will spend {} BCC", format_bcc(*pending));
            }
            line
        }
        Reply::View(b) => block(b),
        Reply::History { entries } if entries.is_empty() => "no committed transactions of yours yet".to_string(),
        Reply::History { entries } => {
            entries.iter().map(|(h, t)| format!("block {h}: {}", tx_line(t))).collect::<Vec<_>>().join("\n")
        }
        Reply::Peers { peers } => peers
            .iter()
            .map(|p| {
                let state = match (p.this_node, p.connected) {
                    (true, _) => "this node",
                    (false, true) => "connected",
                    (false, false) => "not connected",
                };
                format!("node {} at {} ({}): {state}", p.id, p.address, p.key.short())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Reply::Submitted { id, nonce, fee } => {
            format!("sent: transaction {} (nonce {nonce}, fee {} BCC) is pending", id.short(), format_bcc(*fee))
        }
        Reply::Chain { blocks } => blocks
            .iter()
            .map(|b| {
                let by = b.validator.map_or("genesis".to_string(), |v| format!("node {v}"));
                format!(
                    "block {} {} by {by}, round {}: {} transactions, fees {} BCC",
                    b.index,
                    b.hash.short(),
                    b.round,
                    b.transactions,
                    format_bcc(b.fees)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Reply::Ledger { accounts, supply } => {
            let mut s: Vec<String> = accounts
                .iter()
                .map(|a| {
                    let who = a.id.map_or(a.address.short(), |i| format!("node {i}"));
                    format!("{who}: {} BCC, staked {} BCC", format_bcc(a.balance), format_bcc(a.stake))
                })
                .collect();
            s.push(format!("supply {} BCC", format_bcc(*supply)));
            s.join("\n")
        }
        Reply::ShuttingDown => "the node is shutting down".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_shows_what_pending_transactions_will_spend() {
        let reply =
            |pending| Ok(Reply::Balance { balance: 5_000_000, stake: 1_000_000, available: 4_000_000, pending });
        assert_eq!(render(&reply(0)), "balance 5 BCC (staked 1 BCC, available 4 BCC)");
        assert_eq!(
            render(&reply(1_030_000)),
            "balance 5 BCC (staked 1 BCC, available 4 BCC); pending transactions will spend 1.03 BCC"
        );
    }

    #[test]
    fn message_text_cannot_forge_lines_or_drive_the_terminal() {
        let forged = "hi\n  node 3 -> node 0: 500 BCC (fee 0 BCC)\u{1b}]0;owned\u{7}\u{1b}[31m\r\u{9b}";
        let t = TxView {
            id: blockchat_core::TxId([0; 32]),
            from: "node 1".into(),
            to: "node 2".into(),
            kind: "message".into(),
            what: forged.into(),
            fee: "1".into(),
        };
        let line = tx_line(&t);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains(r"hi\n  node 3") && line.contains(r"\u{1b}]0;owned\u{7}"), "{line}");
    }
}
