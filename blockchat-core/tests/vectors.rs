//! The test vectors in docs/PROTOCOL.md, recomputed from the code. The document is the source:
//! if an encoding, hash, signature or lottery rule changes, this test fails until the document
//! is updated too.

use std::sync::Arc;

use blockchat_core::genesis::GenesisAccount;
use blockchat_core::lottery::Lottery;
use blockchat_core::{Address, Block, BlockHash, Genesis, NetworkParams, Time, Transaction, TxKind, Wallet};

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

/// Every vector, as (name, lower-case hex or decimal) in document order.
fn computed() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, val: String| v.push((k.to_string(), val));
    // RFC 8032 section 7.1, tests 1 and 2.
    let alice = Wallet::from_secret(hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    let bob = Wallet::from_secret(hex32("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
    put("alice.address", alice.address().to_hex());
    put("bob.address", bob.address().to_hex());

    let coins = Transaction::new_signed(&alice, bob.address(), TxKind::Coins { amount: 12_500_000 }, 0);
    let bytes = coins.encode();
    put("coins.encoding", hex::encode(&bytes));
    put("coins.id", coins.id().to_hex());
    put("coins.signature", coins.signature().to_hex());
    put("coins.fee", coins.fee().to_string());

    let msg = Transaction::new_signed(&alice, bob.address(), TxKind::Message { text: "Γειά σου!".into() }, 1);
    put("message.encoding", hex::encode(msg.encode()));
    put("message.id", msg.id().to_hex());
    put("message.signature", msg.signature().to_hex());
    put("message.fee", msg.fee().to_string());

    let stake = Transaction::new_signed(&bob, Address::ZERO, TxKind::Stake { amount: 25_000_000 }, 0);
    put("stake.encoding", hex::encode(stake.encode()));
    put("stake.id", stake.id().to_hex());

    let genesis = Genesis {
        params: NetworkParams::new(1),
        accounts: vec![
            GenesisAccount { address: alice.address(), stake: 10_000_000 },
            GenesisAccount { address: bob.address(), stake: 30_000_000 },
        ],
        timestamp: Time(0),
    };
    let g = genesis.block().unwrap();
    put("genesis.encoding", hex::encode(g.encode()));
    put("genesis.hash", g.hash().to_hex());

    let ledger = genesis.ledger().unwrap();
    let lottery = ledger.lottery();
    for round in 0..4u32 {
        put(&format!("genesis.validator.round{round}"), lottery.draw(&g.hash(), round).unwrap().to_hex());
    }
    put("lottery.seed.round1", hex::encode(Lottery::seed(&g.hash(), 1)));
    put("lottery.ticket.round1", Lottery::ticket(Lottery::seed(&g.hash(), 1), lottery.total_stake()).to_string());

    let validator = if lottery.draw(&g.hash(), 0) == Some(alice.address()) { &alice } else { &bob };
    let block = Block::new_signed(validator, 1, Time(1_700_000_000_000_000_000), 0, g.hash(), vec![Arc::new(coins)]);
    put("block1.encoding", hex::encode(block.encode()));
    put("block1.hash", block.hash().to_hex());
    put("block1.signature", block.signature().to_hex());

    // A lottery with three fixed stakers: addresses 0x01.., 0x02.., 0x03.. staking 1, 2, 3 units.
    let toy = Lottery::new([(Address([3; 32]), 3), (Address([1; 32]), 1), (Address([2; 32]), 2)]);
    for (i, parent) in [[0u8; 32], [0xff; 32], [0x42; 32]].iter().enumerate() {
        let winner = toy.draw(&BlockHash(*parent), 0).unwrap();
        put(&format!("toy.parent{i}.winner"), winner.to_hex()[..2].to_string());
        put(&format!("toy.parent{i}.ticket"), Lottery::ticket(*parent, 6).to_string());
    }
    v
}

/// The `name = value` lines of the ```vectors blocks in docs/PROTOCOL.md.
fn documented() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md")).unwrap();
    let mut out = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            inside = t == "```vectors";
            continue;
        }
        if inside && let Some((k, val)) = t.split_once(" = ") {
            out.push((k.trim().to_string(), val.trim().to_string()));
        }
    }
    out
}

#[test]
fn protocol_document_vectors_match_the_code() {
    let computed = computed();
    let documented = documented();
    let listing: String = computed.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    assert_eq!(
        documented.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        computed.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "docs/PROTOCOL.md lists other vectors than the code computes; the computed set is:\n{listing}"
    );
    for ((name, doc), (_, code)) in documented.iter().zip(&computed) {
        assert_eq!(doc, code, "vector {name} differs; the computed set is:\n{listing}");
    }
}

#[test]
fn rfc8032_public_keys_are_reproduced() {
    // The public keys RFC 8032 gives for its first two test secrets.
    let alice = Wallet::from_secret(hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    assert_eq!(alice.address().to_hex(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let bob = Wallet::from_secret(hex32("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
    assert_eq!(bob.address().to_hex(), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
}
