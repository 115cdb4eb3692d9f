//! Proving who is on the other end: each side signs both ends' fresh random challenges, its role,
//! its own key and the key of the peer it means to talk to, bound to the network's genesis hash.
//! So no peer can pose as another, replay an old handshake, or relay one member's proof to a
//! third node (a proof names the node it was made for). The links are not encrypted: see
//! SECURITY.md for what an attacker on the network path can still do.

use blockchat_core::signature::SignedItem;
use blockchat_core::{Address, BlockHash, Ed25519Check, SignatureCheck, Wallet};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::daemon::wire::{
    self, Answer, FramedStream, Greeting, Hello, JoinRequest, MAGIC, Opening, PROTOCOL_VERSION, WireError,
};

/// Domain of a member's proof.
const HELLO_DOMAIN: &[u8] = b"blockchat-hello-v2";
/// Domain of a joiner's proof.
const JOIN_DOMAIN: &[u8] = b"blockchat-join-v2";
/// Domain of a join token's proof.
const TOKEN_DOMAIN: &[u8] = b"blockchat-join-token-v1";

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

/// Which end of a connection signed a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The node that dialled.
    Dialler,
    /// The node that accepted.
    Acceptor,
}

/// What both ends of one connection agree on before proving who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The network's genesis hash.
    pub genesis: BlockHash,
    /// The dialler's fresh challenge.
    pub dialler: [u8; 32],
    /// The acceptor's fresh challenge.
    pub acceptor: [u8; 32],
}

/// The 32 bytes a member signs:
/// `H(domain ‖ role ‖ genesis ‖ dialler challenge ‖ acceptor challenge ‖ signer ‖ peer)`.
fn hello_message(session: &Session, role: Role, signer: &Address, peer: &Address) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HELLO_DOMAIN);
    h.update([match role {
        Role::Dialler => b'D',
        Role::Acceptor => b'A',
    }]);
    h.update(session.genesis.as_bytes());
    h.update(session.dialler);
    h.update(session.acceptor);
    h.update(signer.as_bytes());
    h.update(peer.as_bytes());
    h.finalize().into()
}

/// The 32 bytes a joiner signs: `H(domain ‖ challenge ‖ key ‖ stake ‖ advertise ‖ token proof)`.
fn join_message(challenge: &[u8; 32], request: &JoinRequest) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(JOIN_DOMAIN);
    h.update(challenge);
    h.update(request.key.as_bytes());
    h.update(request.stake.to_be_bytes());
    h.update((request.advertise.len() as u64).to_be_bytes());
    h.update(request.advertise.as_bytes());
    h.update(request.token_proof);
    h.finalize().into()
}

/// Proof of a join `token` for `key` answering `challenge` (zeros without a token).
pub fn token_proof(token: Option<&str>, challenge: &[u8; 32], key: &Address) -> [u8; 32] {
    let Some(token) = token else { return [0; 32] };
    let mut h = Sha256::new();
    h.update(TOKEN_DOMAIN);
    h.update((token.len() as u64).to_be_bytes());
    h.update(token.as_bytes());
    h.update(challenge);
    h.update(key.as_bytes());
    h.finalize().into()
}

/// The session of a probe: no network yet (genesis zero), the bootstrap dialling.
pub fn probe_session(prober: [u8; 32], joiner: [u8; 32]) -> Session {
    Session { genesis: BlockHash::ZERO, dialler: prober, acceptor: joiner }
}

fn verify(key: &Address, msg: &[u8; 32], sig: &blockchat_core::Signature) -> bool {
    Ed25519Check::new().verify(SignedItem { key, msg, sig })
}

/// Our member proof in `session`, as `role`, meant for the node holding `peer`.
pub fn sign_hello(wallet: &Wallet, session: &Session, role: Role, peer: &Address) -> Hello {
    let key = wallet.address();
    Hello { genesis: session.genesis, key, proof: wallet.sign(&hello_message(session, role, &key, peer)) }
}

/// Checks a proof made in `session` by the end playing `role`, for us (`me`).
pub fn verify_hello(hello: &Hello, session: &Session, role: Role, me: &Address) -> Result<(), WireError> {
    if hello.genesis != session.genesis {
        return Err(WireError::WrongGenesis { got: hello.genesis, ours: session.genesis });
    }
    if !verify(&hello.key, &hello_message(session, role, &hello.key, me), &hello.proof) {
        return Err(WireError::BadProof { key: hello.key });
    }
    Ok(())
}

/// Our join request answering the bootstrap's `challenge`, with the join `token` if we have one.
pub fn sign_join(
    wallet: &Wallet,
    advertise: String,
    stake: u64,
    token: Option<&str>,
    challenge: &[u8; 32],
) -> JoinRequest {
    let key = wallet.address();
    let token_proof = token_proof(token, challenge, &key);
    let mut request = JoinRequest { key, advertise, stake, token_proof, proof: blockchat_core::Signature::ZERO };
    request.proof = wallet.sign(&join_message(challenge, &request));
    request
}

/// Checks a joiner's proof over our `challenge`.
pub fn verify_join(request: &JoinRequest, challenge: &[u8; 32]) -> Result<(), WireError> {
    if !verify(&request.key, &join_message(challenge, request), &request.proof) {
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
    let session = Session { genesis, dialler: ours, acceptor: theirs };
    wire::send(framed, &Opening::Hello(sign_hello(wallet, &session, Role::Dialler, &expected))).await?;
    match wire::recv::<Answer>(framed, "handshake answer").await? {
        Answer::Hello(hello) => {
            verify_hello(&hello, &session, Role::Acceptor, &wallet.address())?;
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
        let (alice, bob, carol) = (Wallet::from_seed(1), Wallet::from_seed(2), Wallet::from_seed(3));
        let (a, b, c) = (alice.address(), bob.address(), carol.address());
        let genesis = BlockHash([9; 32]);
        let session = Session { genesis, dialler: new_challenge(), acceptor: new_challenge() };
        let good = sign_hello(&alice, &session, Role::Dialler, &b);
        assert!(verify_hello(&good, &session, Role::Dialler, &b).is_ok());
        let bad = |hello: &Hello, s: &Session, role, me: &Address| {
            matches!(verify_hello(hello, s, role, me), Err(WireError::BadProof { .. }))
        };
        // Replayed in a session with a fresh challenge on either side.
        assert!(bad(&good, &Session { acceptor: new_challenge(), ..session }, Role::Dialler, &b));
        assert!(bad(&good, &Session { dialler: new_challenge(), ..session }, Role::Dialler, &b));
        // Made for bob, shown to carol: a relay.
        assert!(bad(&good, &session, Role::Dialler, &c));
        // A dialler's proof passed off as an acceptor's answer.
        assert!(bad(&good, &session, Role::Acceptor, &b));
        // Another network.
        let other = Session { genesis: BlockHash([8; 32]), ..session };
        assert!(matches!(verify_hello(&good, &other, Role::Dialler, &b), Err(WireError::WrongGenesis { .. })));
        // Bob claims to be alice.
        let forged = Hello { key: a, ..sign_hello(&bob, &session, Role::Dialler, &b) };
        assert!(bad(&forged, &session, Role::Dialler, &b));

        let challenge = new_challenge();
        let join = sign_join(&alice, "127.0.0.2:7000".into(), 10, Some("s3cret"), &challenge);
        assert!(verify_join(&join, &challenge).is_ok());
        assert_eq!(join.token_proof, token_proof(Some("s3cret"), &challenge, &a));
        assert_ne!(join.token_proof, token_proof(Some("guess"), &challenge, &a));
        let more_stake = JoinRequest { stake: 11, ..join.clone() };
        assert!(matches!(verify_join(&more_stake, &challenge), Err(WireError::BadProof { .. })));
        let no_token = JoinRequest { token_proof: [0; 32], ..join.clone() };
        assert!(matches!(verify_join(&no_token, &challenge), Err(WireError::BadProof { .. })));
    }

    /// The relay the hostile test found: mallory, a member, dials bob and relays bob's challenge
    /// to alice, whom she also dials; alice's answer, signed over bob's challenge, was accepted
    /// by bob as alice. Now alice's answer names mallory, and bob refuses it.
    #[test]
    fn a_relayed_proof_is_refused() {
        let (alice, bob, mallory) = (Wallet::from_seed(1), Wallet::from_seed(2), Wallet::from_seed(3));
        let genesis = BlockHash([9; 32]);
        // Mallory → bob: bob's challenge cb, mallory's chosen challenge.
        let cb = new_challenge();
        // Mallory → alice, greeting alice with cb: alice answers with her acceptor proof.
        let ca = new_challenge();
        let with_alice = Session { genesis, dialler: cb, acceptor: ca };
        let mallory_hello = sign_hello(&mallory, &with_alice, Role::Dialler, &alice.address());
        verify_hello(&mallory_hello, &with_alice, Role::Dialler, &alice.address()).unwrap();
        let alice_answer = sign_hello(&alice, &with_alice, Role::Acceptor, &mallory.address());
        // Mallory shows bob alice's proof, having greeted bob with ca so the challenges match.
        for (dialler, acceptor) in [(ca, cb), (cb, ca)] {
            let with_bob = Session { genesis, dialler, acceptor };
            for role in [Role::Dialler, Role::Acceptor] {
                let got = verify_hello(&alice_answer, &with_bob, role, &bob.address());
                assert!(matches!(got, Err(WireError::BadProof { .. })), "{role:?}: {got:?}");
            }
        }
    }
}
