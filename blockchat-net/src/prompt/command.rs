//! The prompt's commands, parsed from what the user typed into API calls.

use blockchat_core::amount::AmountError;
use blockchat_core::{Address, parse_bcc};

use crate::api::{Amount, Recipient, Request};

/// What a line of input asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Something for the node.
    Node(Request),
    /// Show the help.
    Help,
    /// Leave (and stop the node, at the prompt).
    Exit,
}

/// The commands and what they do.
pub const HELP: &str = "\
commands:
  t <id|address> <amount>    send BCC (decimals allowed: t 2 12.5); 3% fee
  t <id> <text>              send a message when <text> is not a number (1 BCC per character)
  m <id|address> <message>   send a message
  stake <amount>             set your stake (0 releases it)
  view                       the last block's transactions and its validator
  block <height|hash>        a block and its transactions
  tx <id>                    a transaction and the block that holds it
  balance                    your balance and stake
  account <id|address>       another account's balance, stake and nonce
  status                     height, peers, mempool
  history [n]                your last n committed transactions (default 20)
  blocks <height> [n]        n blocks of the chain from that height (default 10)
  mempool                    transactions waiting for a block
  ledger                     every account and the supply
  shares                     each validator's share of blocks against its share of stake
  peers                      every node and whether it is connected
  help                       this text
  exit                       leave (at a node's own prompt: stop the node)";

/// Every command word, for completion.
pub const WORDS: &[&str] = &[
    "t", "m", "stake", "view", "block", "tx", "balance", "account", "status", "history", "blocks", "mempool", "ledger",
    "shares", "peers", "help", "exit",
];

fn recipient(word: &str) -> Result<Recipient, String> {
    // 64 hex digits are an address even when every one is a decimal digit.
    if !word.is_empty() && word.len() != 2 * Address::LEN && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().map(Recipient::Id).map_err(|_| format!("'{word}' is too large to be a node id"));
    }
    word.parse::<Address>()
        .map(Recipient::Address)
        .map_err(|_| format!("'{word}' is neither a node id (like 3) nor an address (64 hex digits)"))
}

fn amount(word: &str) -> Result<Amount, String> {
    parse_bcc(word).map(Amount).map_err(|e| e.to_string())
}

/// Whether `t`'s text is meant as an amount: it starts like a number or reads as one
/// (`-1`, `.5`, `1e9`, `NaN`, `inf`), so it is never sent as a paid message by accident.
fn looks_like_amount(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) || text.parse::<f64>().is_ok()
}

/// Parses one line; `Ok(None)` for a blank one.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let usage = |u: &str| Err(format!("usage: {u}"));
    let cmd = match word {
        "" => return Ok(None),
        "t" | "m" => {
            let Some((to, what)) = rest.split_once(char::is_whitespace) else {
                return usage(if word == "t" { "t <id|address> <amount>" } else { "m <id|address> <message>" });
            };
            let (to, what) = (recipient(to)?, what.trim());
            if word == "m" {
                Request::SendMessage { to, text: what.to_string() }
            } else {
                match parse_bcc(what) {
                    Ok(units) => Request::SendCoins { to, amount: Amount(units) },
                    Err(AmountError::NotANumber(_)) if !looks_like_amount(what) => {
                        Request::SendMessage { to, text: what.to_string() }
                    }
                    Err(e @ AmountError::NotANumber(_)) => {
                        return Err(format!("{e}; to send this text as a message, use m"));
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        "stake" if !rest.is_empty() && !rest.contains(char::is_whitespace) => Request::Stake { amount: amount(rest)? },
        "stake" => return usage("stake <amount>"),
        "view" => Request::Block { height: None, hash: None },
        "block" => match rest.parse::<u64>() {
            Ok(height) => Request::Block { height: Some(height), hash: None },
            Err(_) => match rest.parse() {
                Ok(hash) => Request::Block { height: None, hash: Some(hash) },
                Err(_) => return usage("block <height|hash>"),
            },
        },
        "tx" => match rest.parse() {
            Ok(id) => Request::Transaction { id },
            Err(_) => return usage("tx <id> (64 hex digits)"),
        },
        "balance" => Request::Account { holder: None },
        "account" if !rest.is_empty() => Request::Account { holder: Some(recipient(rest)?) },
        "account" => return usage("account <id|address>"),
        "status" => Request::Status {},
        "peers" => Request::Peers {},
        "mempool" => Request::Mempool { limit: 100 },
        "ledger" => Request::Ledger {},
        "shares" => Request::Shares {},
        "history" if rest.is_empty() => Request::History { limit: 20 },
        "history" => match rest.parse() {
            Ok(limit) => Request::History { limit },
            Err(_) => return usage("history [n]"),
        },
        "blocks" => {
            let mut words = rest.split_whitespace().map(str::parse::<u64>);
            match (words.next(), words.next(), words.next()) {
                (Some(Ok(from)), None, None) => Request::Blocks { from, limit: 10 },
                (Some(Ok(from)), Some(Ok(n)), None) => Request::Blocks { from, limit: n.min(1_000) as usize },
                _ => return usage("blocks <height> [n]"),
            }
        }
        "help" | "?" => return Ok(Some(Command::Help)),
        "exit" | "quit" => return Ok(Some(Command::Exit)),
        other => return Err(format!("unknown command '{other}' (type help for the list)")),
    };
    Ok(Some(Command::Node(cmd)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let a = Address([0xab; 32]);
        let node = |r| Ok(Some(Command::Node(r)));
        let cases: Vec<(&str, Result<Option<Command>, String>)> = vec![
            ("", Ok(None)),
            ("   ", Ok(None)),
            ("t 2 12.5", node(Request::SendCoins { to: Recipient::Id(2), amount: Amount(12_500_000) })),
            (
                &*Box::leak(format!("t {a} 1").into_boxed_str()),
                node(Request::SendCoins { to: Recipient::Address(a), amount: Amount(1_000_000) }),
            ),
            ("t 1 hello world", node(Request::SendMessage { to: Recipient::Id(1), text: "hello world".into() })),
            ("m 3 42", node(Request::SendMessage { to: Recipient::Id(3), text: "42".into() })),
            ("stake 10", node(Request::Stake { amount: Amount(10_000_000) })),
            ("view", node(Request::Block { height: None, hash: None })),
            ("block 3", node(Request::Block { height: Some(3), hash: None })),
            ("account 2", node(Request::Account { holder: Some(Recipient::Id(2)) })),
            ("mempool", node(Request::Mempool { limit: 100 })),
            ("shares", node(Request::Shares {})),
            ("balance", node(Request::Account { holder: None })),
            ("history 5", node(Request::History { limit: 5 })),
            ("blocks 3", node(Request::Blocks { from: 3, limit: 10 })),
            ("blocks 0 5000", node(Request::Blocks { from: 0, limit: 1_000 })),
            ("blocks", Err("usage: blocks <height> [n]".into())),
            ("blocks -1", Err("usage: blocks <height> [n]".into())),
            ("blocks 1 2 3", Err("usage: blocks <height> [n]".into())),
            ("help", Ok(Some(Command::Help))),
            ("exit", Ok(Some(Command::Exit))),
            ("t 2", Err("usage: t <id|address> <amount>".into())),
            ("t x 5", Err("'x' is neither a node id (like 3) nor an address (64 hex digits)".into())),
            (
                "t 2 1.0000001",
                Err("'1.0000001' has more than 6 decimal places (the smallest amount is 0.000001 BCC)".into()),
            ),
            ("stake", Err("usage: stake <amount>".into())),
            ("stake lots", Err("'lots' is not an amount (write BCC as a number, like 12 or 12.5)".into())),
            ("history x", Err("usage: history [n]".into())),
            // An all-digit address is an address, not node 0.
            (
                &*Box::leak(format!("t {} 1", "0".repeat(64)).into_boxed_str()),
                node(Request::SendCoins { to: Recipient::Address(Address([0; 32])), amount: Amount(1_000_000) }),
            ),
            ("t 1 1e9", Err("'1e9' is not an amount (write BCC as a number, like 12 or 12.5); to send this text as a message, use m".into())),
            ("t 1 -1", Err("'-1' is not an amount (write BCC as a number, like 12 or 12.5); to send this text as a message, use m".into())),
            ("t 1 NaN", Err("'NaN' is not an amount (write BCC as a number, like 12 or 12.5); to send this text as a message, use m".into())),
            ("m 1 NaN", node(Request::SendMessage { to: Recipient::Id(1), text: "NaN".into() })),
            ("t 1 12 apples", Err("'12 apples' is not an amount (write BCC as a number, like 12 or 12.5); to send this text as a message, use m".into())),
            ("fly", Err("unknown command 'fly' (type help for the list)".into())),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), want, "{line:?}");
        }
    }
}
