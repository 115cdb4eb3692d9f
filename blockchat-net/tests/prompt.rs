//! The interactive prompt, driven through a pseudo-terminal: `t`, `m`, `stake`, `view`,
//! `balance`, a bad command, `exit`.

mod support;

use rexpect::session::spawn_command;
use support::{Net, serial};

#[test]
fn the_prompt_sends_views_and_explains_errors() {
    let _one = serial();
    let mut net = Net::new(26, 2, 1);
    std::fs::create_dir_all(net.dir(0)).expect("dir");
    let mut prompt =
        spawn_command(net.command(0, &["--round-timeout-ms", "300"]), Some(20_000)).expect("spawn in a pty");
    net.wait(20, "the bootstrap to listen", || net.try_status(0).map(|_| ()));
    net.start(1, &["--round-timeout-ms", "300"]);
    prompt.exp_string("Type help for the commands.").expect("banner");
    prompt.exp_string("blockchat[0]> ").expect("prompt");
    net.wait(20, "both nodes connected", || (net.status(0).phase == "ready").then_some(()));

    let mut say = |line: &str, want: &str| {
        prompt.send_line(line).expect("type");
        if let Err(e) = prompt.exp_string(want) {
            panic!("after '{line}' expected '{want}': {e}");
        }
        prompt.exp_string("blockchat[0]> ").expect("prompt again");
    };
    say("balance", "balance 1000 BCC (staked 10 BCC, available 990 BCC)");
    say("help", "t <id|address> <amount>");
    say("t 1 12.5", "sent: transaction");
    say("m 1 hello there", "sent: transaction");
    say("t 1 so long", "sent: transaction");
    say("stake 20", "sent: transaction");
    say("fly", "error: unknown command 'fly' (type help for the list)");
    say("t 7 5", "error: there is no node 7 (ids go from 0 to 1)");
    say("t 1 5000", "error: refused: insufficient balance");
    say("stake", "error: usage: stake <amount>");
    net.wait(30, "four transactions to commit", || (net.status(0).committed_txs >= 4).then_some(()));
    say("view", "validator node");
    say("history", "node 0 -> node 1: message \"hello there\" (fee 11 BCC)");
    // 12.5 + 3% fee, 11 + 7 BCC of messages: 1000 − 12.875 − 18 = 969.125, plus any fees earned.
    prompt.send_line("balance").expect("type");
    let (_, line) = prompt.exp_regex(r"balance [0-9.]+ BCC \(staked 20 BCC, available [0-9.]+ BCC\)").expect("balance");
    let balance: f64 = line.split_whitespace().nth(1).and_then(|b| b.parse().ok()).expect("a number");
    assert!(balance >= 969.125, "{line}");
    prompt.exp_string("blockchat[0]> ").expect("prompt");
    prompt.send_line("exit").expect("type");
    prompt.exp_string("bye").expect("bye");
    prompt.exp_eof().expect("the node exits");
}
