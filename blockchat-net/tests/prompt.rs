//! The interactive prompt, driven through a pseudo-terminal: `t`, `m`, `stake`, `view`,
//! `balance`, a bad command, `exit`.

mod support;

use blockchat_core::UNITS_PER_BCC;
use blockchat_net::api::{Amount, ApiError, Phase, Recipient, Request};
use blockchat_net::cluster::ApiFailure;
use rexpect::session::spawn_command;
use support::{Net, serial};

#[test]
fn the_prompt_sends_views_and_explains_errors() {
    let _one = serial();
    let mut net = Net::new(26, 2, 1);
    net.params = vec!["--round-timeout-ms".into(), "300".into()];
    std::fs::create_dir_all(net.dir(0)).expect("dir");
    let mut prompt = spawn_command(net.command(0, &[]), Some(20_000)).expect("spawn in a pty");
    net.wait(20, "the bootstrap to listen", || net.try_status(0).map(|_| ()));
    // Before the network forms, the node answers only `status`, and says where it is.
    let early = net.ask(0, Request::Account { holder: None });
    let want = ApiError::NotReady { phase: Phase::WaitingForJoins { missing: 1 } };
    assert!(matches!(&early, Err(ApiFailure::Refused(e)) if *e == want), "{early:?}");
    net.start(1, &[]);
    // The bootstrap's terminal shows the joins while the prompt waits for the network.
    prompt.exp_string("node 1 joined from").expect("join progress");
    prompt.exp_string("all 2 nodes joined").expect("join progress");
    prompt.exp_string("Type help for the commands.").expect("banner");
    prompt.exp_string("blockchat[0]> ").expect("prompt");
    net.wait(20, "both nodes connected", || (net.status(0).phase == Phase::Ready).then_some(()));

    // The node lists itself as itself, not as a connected peer.
    prompt.send_line("peers").expect("type");
    prompt.exp_regex(r"node 0 at [^\n]*: this node").expect("node 0 is this node");
    prompt.exp_regex(r"node 1 at [^\n]*: connected").expect("node 1 is connected");
    prompt.exp_string("blockchat[0]> ").expect("prompt again");

    let mut say = |line: &str, want: &str| {
        prompt.send_line(line).expect("type");
        if let Err(e) = prompt.exp_string(want) {
            panic!("after '{line}' expected '{want}': {e}");
        }
        prompt.exp_string("blockchat[0]> ").expect("prompt again");
    };
    say("balance", "node 0: balance 1000 BCC (staked 10 BCC, available 990 BCC)");
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
    say("shares", "node 1: ");
    say("block 1", "block 1 (");
    say("history", "node 0 -> node 1: message \"hello there\" (fee 11 BCC)");
    // Genesis transfers were never charged a fee, and history says so.
    say("history 40", "node 0 -> node 1: 1000 BCC (fee 0 BCC)");
    // 12.5 + 3% fee, 11 + 7 BCC of messages: 1000 − 12.875 − 18 = 969.125, plus any fees earned.
    prompt.send_line("balance").expect("type");
    let (_, line) = prompt.exp_regex(r"balance [0-9.]+ BCC \(staked 20 BCC, available [0-9.]+ BCC\)").expect("balance");
    let balance: f64 = line.split_whitespace().nth(1).and_then(|b| b.parse().ok()).expect("a number");
    assert!(balance >= 969.125, "{line}");
    prompt.exp_string("blockchat[0]> ").expect("prompt");
    // The API's refusals are typed: what the prompt printed above, as data.
    let to_nobody = net.ask(0, Request::SendCoins { to: Recipient::Id(7), amount: Amount(UNITS_PER_BCC) });
    let want = ApiError::UnknownNode { id: 7, last: 1 };
    assert!(matches!(&to_nobody, Err(ApiFailure::Refused(e)) if *e == want), "{to_nobody:?}");
    let too_much = net.ask(0, Request::SendCoins { to: Recipient::Id(1), amount: Amount(5_000 * UNITS_PER_BCC) });
    assert!(
        matches!(&too_much, Err(ApiFailure::Refused(ApiError::Refused { reason, .. })) if reason == "InsufficientBalance"),
        "{too_much:?}"
    );
    prompt.send_line("exit").expect("type");
    prompt.exp_string("bye").expect("bye");
    prompt.exp_eof().expect("the node exits");
}
