//! Proving who is on the other end: each side signs the other's fresh random challenge, bound to
//! the network's genesis hash, so no peer can pose as another or replay an old handshake.

use blockchat_core::signature::SignedItem;
use blockchat_core::{Address, BlockHash, Ed25519Check, SignatureCheck, Wallet};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::daemon::wire::{
    self, Answer, FramedStream, Greeting, Hello, JoinRequest, MAGIC, Opening, PROTOCOL_VERSION, WireError,
};

/// Domain of a member's proof.
const HELLO_DOMAIN: &[u8] = b"blockchat-hello-v1";
/// Domain of a joiner's proof.
const JOIN_DOMAIN: &[u8] = b"blockchat-join-v1";

/// A fresh 32-byte challenge from the OS-seeded generator.
pub fn new_challenge() -> [u8; 32] {
    let mut c = [0u8; 32];
    rand::rng().fill_bytes(&mut c);
    c
}

/// Our greeting carrying `challenge`.
pub fn greeting(challenge: [u8; 32]) -> Greeting {
    Greeting { magic: MAGIC, version: PROTOCOL_VERSION, challenge }
}

/// The 32 bytes a member signs: `H(domain ‖ challenge ‖ genesis ‖ key)`.
fn hello_message(challenge: &[u8; 32], genesis: &BlockHash, key: &Address) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HELLO_DOMAIN);
    h.update(challenge);
    h.update(genesis.as_bytes());
    h.update(key.as_bytes());
    h.finalize().into()
}

/// The 32 bytes a joiner signs: `H(domain ‖ challenge ‖ key ‖ stake ‖ advertise)`.
fn join_message(challenge: &[u8; 32], key: &Address, stake: u64, advertise: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(JOIN_DOMAIN);
    h.update(challenge);
    h.update(key.as_bytes());
    h.update(stake.to_be_bytes());
    h.update(advertise.as_bytes());
    h.finalize().into()
}

fn verify(key: &Address, msg: &[u8; 32], sig: &blockchat_core::Signature) -> bool {
    Ed25519Check::new().verify(SignedItem { key, msg, sig })
}

/// Our member proof answering `challenge`.
pub fn sign_hello(wallet: &Wallet, genesis: BlockHash, challenge: &[u8; 32]) -> Hello {
    let key = wallet.address();
    Hello { genesis, key, proof: wallet.sign(&hello_message(challenge, &genesis, &key)) }
}

/// Checks a member's proof over our `challenge` on our network `genesis`.
pub fn verify_hello(hello: &Hello, challenge: &[u8; 32], genesis: BlockHash) -> Result<(), WireError> {
    if hello.genesis != genesis {
        return Err(WireError::WrongGenesis { got: hello.genesis, ours: genesis });
    }
    if !verify(&hello.key, &hello_message(challenge, &genesis, &hello.key), &hello.proof) {
        return Err(WireError::BadProof { key: hello.key });
    }
    Ok(())
}

/// Our join request answering the bootstrap's `challenge`.
pub fn sign_join(wallet: &Wallet, advertise: String, stake: u64, challenge: &[u8; 32]) -> JoinRequest {
    let key = wallet.address();
    let proof = wallet.sign(&join_message(challenge, &key, stake, &advertise));
    JoinRequest { key, advertise, stake, proof }
}

/// Checks a joiner's proof over our `challenge`.
pub fn verify_join(request: &JoinRequest, challenge: &[u8; 32]) -> Result<(), WireError> {
    let msg = join_message(challenge, &request.key, request.stake, &request.advertise);
    if !verify(&request.key, &msg, &request.proof) {
        return Err(WireError::BadProof { key: request.key });
    }
    Ok(())
}

/// Exchanges greetings; returns the other side's challenge.
pub async fn exchange_greetings(framed: &mut FramedStream, ours: [u8; 32]) -> Result<[u8; 32], WireError> {
    wire::send(framed, &greeting(ours)).await?;
    Ok(wire::recv_greeting(framed).await?.challenge)
}

/// The dialler's side of a member connection to the peer holding `expected`.
pub async fn dial_member(
    framed: &mut FramedStream,
    wallet: &Wallet,
    genesis: BlockHash,
    expected: Address,
) -> Result<(), WireError> {
    let ours = new_challenge();
    let theirs = exchange_greetings(framed, ours).await?;
    wire::send(framed, &Opening::Hello(sign_hello(wallet, genesis, &theirs))).await?;
    match wire::recv::<Answer>(framed, "handshake answer").await? {
        Answer::Hello(hello) => {
            verify_hello(&hello, &ours, genesis)?;
            if hello.key != expected {
                return Err(WireError::UnexpectedKey {
                    key: hello.key,
                    expected: format!("the dialled peer {expected}"),
                });
            }
            Ok(())
        }
        Answer::Refused(reason) => Err(WireError::Refused(reason)),
        _ => Err(WireError::Refused("unexpected answer to a hello".into())),
    }
}

/// The acceptor's first steps: greetings, then the dialler's opening. Returns our challenge,
/// theirs, and what they asked for.
pub async fn accept_opening(framed: &mut FramedStream) -> Result<([u8; 32], [u8; 32], Opening), WireError> {
    let ours = new_challenge();
    let theirs = exchange_greetings(framed, ours).await?;
    let opening = wire::recv::<Opening>(framed, "opening").await?;
    Ok((ours, theirs, opening))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_table() {
        let alice = Wallet::from_seed(1);
        let bob = Wallet::from_seed(2);
        let genesis = BlockHash([9; 32]);
        let challenge = new_challenge();
        let good = sign_hello(&alice, genesis, &challenge);
        assert!(verify_hello(&good, &challenge, genesis).is_ok());
        // Replayed against a fresh challenge.
        assert!(matches!(verify_hello(&good, &new_challenge(), genesis), Err(WireError::BadProof { .. })));
        // Another network.
        assert!(matches!(verify_hello(&good, &challenge, BlockHash([8; 32])), Err(WireError::WrongGenesis { .. })));
        // Bob claims to be alice.
        let forged = Hello { key: alice.address(), ..sign_hello(&bob, genesis, &challenge) };
        assert!(matches!(verify_hello(&forged, &challenge, genesis), Err(WireError::BadProof { .. })));

        let join = sign_join(&alice, "127.0.0.2:7000".into(), 10, &challenge);
        assert!(verify_join(&join, &challenge).is_ok());
        let more_stake = JoinRequest { stake: 11, ..join.clone() };
        assert!(matches!(verify_join(&more_stake, &challenge), Err(WireError::BadProof { .. })));
    }
}
