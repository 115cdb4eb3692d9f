//! Writes the seed corpus: valid encodings of every input the fuzz targets read, so fuzzing
//! starts from inputs that reach deep into each decoder. `cargo run --example seeds` in fuzz/.

use std::path::Path;
use std::sync::Arc;

use blockchat_core::{Address, Block, Genesis, NetworkParams, PeerMessage, Time, Transaction, TxKind, Wallet};
use blockchat_net::control::{Recipient, Request};
use blockchat_net::daemon::handshake::{self, Role, Session};
use blockchat_net::daemon::roster::{Member, NetworkInfo};
use blockchat_net::daemon::wire::{Answer, Opening};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let wallets: Vec<Wallet> = (0..3).map(Wallet::from_seed).collect();
    let addrs: Vec<Address> = wallets.iter().map(Wallet::address).collect();
    let txs = [
        Transaction::new_signed(&wallets[0], addrs[1], TxKind::Coins { amount: 1_500_000 }, 0),
        Transaction::new_signed(&wallets[1], addrs[2], TxKind::Message { text: "Γειά σου!".into() }, 3),
        Transaction::new_signed(&wallets[2], Address::ZERO, TxKind::Stake { amount: 10_000_000 }, 7),
    ];
    for (k, tx) in txs.iter().enumerate() {
        write("transaction", &format!("tx-{k}"), &tx.encode());
    }
    let genesis = Genesis::course(NetworkParams::new(2), &addrs, 10_000_000).block().expect("genesis");
    let txs: Vec<Arc<Transaction>> = txs.into_iter().map(Arc::new).collect();
    let block = Block::new_signed(&wallets[0], 1, Time(5), 0, genesis.hash(), txs[..2].to_vec());
    write("block", "genesis", &genesis.encode());
    write("block", "block-1", &block.encode());
    let messages = [
        PeerMessage::Transaction(txs[0].clone()),
        PeerMessage::Block(Arc::new(block.clone())),
        PeerMessage::GetBlocks { from: 1 },
        PeerMessage::Blocks(vec![Arc::new(block.clone())]),
        PeerMessage::Transactions(txs.clone()),
    ];
    for (k, m) in messages.iter().enumerate() {
        write("peer_message", &format!("message-{k}"), &m.encode());
    }
    let session = Session { genesis: genesis.hash(), dialler: [1; 32], acceptor: [2; 32] };
    let hello = handshake::sign_hello(&wallets[0], &session, Role::Dialler, &addrs[1]);
    let join = handshake::sign_join(&wallets[2], "127.0.0.3:7000".into(), 10_000_000, Some("token"), &[2; 32]);
    write("handshake", "greeting", &postcard::to_stdvec(&handshake::greeting([7; 32])).expect("postcard"));
    write("handshake", "hello", &postcard::to_stdvec(&Opening::Hello(hello.clone())).expect("postcard"));
    write("handshake", "join", &postcard::to_stdvec(&Opening::Join(join)).expect("postcard"));
    write("handshake", "admitted", &postcard::to_stdvec(&Answer::Admitted { id: 2, nodes: 3 }).expect("postcard"));
    write("handshake", "answer", &postcard::to_stdvec(&Answer::Hello(hello)).expect("postcard"));
    // A block log of two records (format 2), and one of format 1 (no length checksum).
    let mut log = blockchat_net::daemon::blocklog::MAGIC.to_vec();
    let mut old = Vec::new();
    for b in [&genesis, &block] {
        let payload = b.encode();
        log.extend_from_slice(&blockchat_net::daemon::blocklog::record(&payload));
        old.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        old.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
        old.extend_from_slice(&payload);
    }
    write("block_log", "format-2", &log);
    write("block_log", "format-1", &old);
    write("key_file", "wallet.key", wallets[0].to_key_file().as_bytes());
    let info = NetworkInfo {
        members: addrs
            .iter()
            .enumerate()
            .map(|(k, a)| Member { id: k as u32, key: *a, address: format!("127.0.0.{}:7000", k + 1), stake: 10_000_000 })
            .collect(),
        genesis: hex::encode(genesis.encode()),
    };
    write("roster", "network.json", serde_json::to_string_pretty(&info).expect("json").as_bytes());
    write("course_file", "trans0.txt", b"id1 Hello there\r\nid2 \xce\x93\xce\xb5\xce\xb9\xce\xac\r\nid0 a\tb\r\n");
    let requests = [
        Request::Transfer { to: Recipient::Id(1), amount: 5 },
        Request::Message { to: Recipient::Address(addrs[2]), text: "hi".into() },
        Request::Stake { amount: 3 },
        Request::Status,
    ];
    for (k, r) in requests.iter().enumerate() {
        write("client_request", &format!("request-{k}.json"), serde_json::to_string(r).expect("json").as_bytes());
    }
    for (k, line) in ["t 1 12.5", "m 2 hello world", "stake 10", "history 5"].iter().enumerate() {
        write("client_request", &format!("line-{k}"), line.as_bytes());
    }
    println!("wrote the seed corpus to {}/corpus", env!("CARGO_MANIFEST_DIR"));
}
