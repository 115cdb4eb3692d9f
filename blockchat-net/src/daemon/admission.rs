//! Who may join a network while it forms: a joiner proves its key over the connection (the
//! join request's signature), holds the join token if the bootstrap requires one, is on the key
//! list if the bootstrap keeps one, and answers at the address it advertised with that same key
//! (the bootstrap dials it there). So nobody can take an honest node's address, or a place in
//! the network, without holding the key and the address.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;
use std::time::Duration;

use blockchat_core::{Address, Wallet};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tracing::debug;

use crate::daemon::handshake::{self, Role};
use crate::daemon::wire::{self, Answer, HANDSHAKE_MAX_FRAME, JoinRequest, Opening, WireError};

/// Longest the bootstrap waits to reach a joiner at its advertised address.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The bootstrap's rules for joiners.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// A shared secret every joiner must prove it holds.
    pub token: Option<String>,
    /// The only keys allowed to join, if set.
    pub keys: Option<BTreeSet<Address>>,
}

/// Why a key list could not be read.
#[derive(Debug, Error)]
pub enum KeysFileError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an address.
    #[error("{path}, line {line}: {text:?} is not a public key (64 hex digits)")]
    NotAKey {
        /// The file.
        path: std::path::PathBuf,
        /// One-based line number.
        line: usize,
        /// What the line holds.
        text: String,
    },
}

/// Reads a key list: one public key (64 hex digits) per line; blank lines and `#` comments
/// are skipped.
pub fn read_keys(path: &Path) -> Result<BTreeSet<Address>, KeysFileError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| KeysFileError::Read { path: path.to_path_buf(), source })?;
    let mut keys = BTreeSet::new();
    for (k, line) in text.lines().enumerate() {
        let word = line.split('#').next().unwrap_or("").trim();
        if word.is_empty() {
            continue;
        }
        let key = word.parse::<Address>().map_err(|_| KeysFileError::NotAKey {
            path: path.to_path_buf(),
            line: k + 1,
            text: word.to_string(),
        })?;
        keys.insert(key);
    }
    Ok(keys)
}

impl Admission {
    /// Checks a verified join request answering `challenge` against the token and the key list.
    pub fn check(&self, request: &JoinRequest, challenge: &[u8; 32]) -> Result<(), WireError> {
        if let Some(token) = &self.token
            && request.token_proof != handshake::token_proof(Some(token), challenge, &request.key)
        {
            let why = if request.token_proof == [0; 32] { "a join token is required" } else { "wrong join token" };
            return Err(WireError::Refused(why.into()));
        }
        if let Some(keys) = &self.keys
            && !keys.contains(&request.key)
        {
            return Err(WireError::Refused(format!("key {} is not on the bootstrap's list", request.key)));
        }
        Ok(())
    }
}

/// Dials the joiner at its advertised address and checks that it answers there with its key.
pub async fn probe(request: &JoinRequest, prober: &Address) -> Result<(), WireError> {
    let addr = &request.advertise;
    let unreachable = |why: String| WireError::Refused(format!("cannot reach you at {addr}: {why}"));
    let stream = timeout(PROBE_TIMEOUT, TcpStream::connect(addr.as_str()))
        .await
        .map_err(|_| unreachable("timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let mut framed = wire::framed(stream, HANDSHAKE_MAX_FRAME);
    let answer = timeout(PROBE_TIMEOUT, async {
        let ours = handshake::new_challenge();
        let theirs = handshake::exchange_greetings(&mut framed, ours).await?;
        wire::send(&mut framed, &Opening::Probe { key: *prober }).await?;
        let answer = wire::recv::<Answer>(&mut framed, "probe answer").await?;
        Ok::<_, WireError>((answer, handshake::probe_session(ours, theirs)))
    })
    .await
    .map_err(|_| unreachable("no answer".into()))?
    .map_err(|e| unreachable(e.to_string()))?;
    match answer {
        (Answer::Hello(hello), session) => {
            handshake::verify_hello(&hello, &session, Role::Acceptor, prober)
                .map_err(|e| unreachable(format!("the node there failed the check: {e}")))?;
            if hello.key != request.key {
                return Err(WireError::Refused(format!(
                    "{addr} is another node's address (it answers with key {})",
                    hello.key
                )));
            }
            Ok(())
        }
        (Answer::Refused(why), _) => Err(unreachable(format!("the node there refused the check: {why}"))),
        _ => Err(unreachable("the node there answered something else".into())),
    }
}

/// While joining: answers the bootstrap's probes on our listener, proving our key at our
/// address; anything else is refused (the network is not formed yet).
pub async fn answer_probes(listener: &TcpListener, wallet: &Wallet) -> Infallible {
    loop {
        let Ok((stream, from)) = listener.accept().await else { continue };
        let wallet = wallet.clone();
        tokio::spawn(async move {
            let mut framed = wire::framed(stream, HANDSHAKE_MAX_FRAME);
            let answered = timeout(PROBE_TIMEOUT, async {
                let (ours, theirs, opening) = handshake::accept_opening(&mut framed).await?;
                let answer = match opening {
                    Opening::Probe { key } => {
                        let session = handshake::probe_session(theirs, ours);
                        Answer::Hello(handshake::sign_hello(&wallet, &session, Role::Acceptor, &key))
                    }
                    _ => Answer::Refused("this node is still joining its network".into()),
                };
                wire::send(&mut framed, &answer).await
            })
            .await;
            debug!(%from, "answered a probe while joining: {answered:?}");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_key_lists_table() {
        let (alice, bob) = (Wallet::from_seed(1), Wallet::from_seed(2));
        let challenge = [7; 32];
        let request = |w: &Wallet, token| handshake::sign_join(w, "127.0.0.2:7000".into(), 1, token, &challenge);
        let open = Admission::default();
        let token = Admission { token: Some("s3cret".into()), keys: None };
        let listed = Admission { token: None, keys: Some([alice.address()].into()) };
        let refusal = |a: &Admission, r: &JoinRequest| match a.check(r, &challenge) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        };
        let cases: Vec<(&Admission, JoinRequest, &str)> = vec![
            (&open, request(&bob, None), ""),
            (&token, request(&bob, Some("s3cret")), ""),
            (&token, request(&bob, None), "a join token is required"),
            (&token, request(&bob, Some("s3cre")), "wrong join token"),
            (&listed, request(&alice, None), ""),
            (&listed, request(&bob, None), "is not on the bootstrap's list"),
        ];
        for (k, (admission, r, want)) in cases.into_iter().enumerate() {
            let got = refusal(admission, &r);
            assert!(if want.is_empty() { got.is_empty() } else { got.contains(want) }, "case {k}: {got}");
        }
    }

    #[test]
    fn key_files_are_read_strictly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        let a = Wallet::from_seed(1).address();
        std::fs::write(&path, format!("# operators\n{a}  # alice\n\n")).unwrap();
        assert_eq!(read_keys(&path).unwrap(), [a].into());
        std::fs::write(&path, format!("{a}\nnode 3\n")).unwrap();
        let err = read_keys(&path).unwrap_err().to_string();
        assert!(err.contains("line 2: \"node 3\" is not a public key"), "{err}");
        assert!(matches!(read_keys(&dir.path().join("none")), Err(KeysFileError::Read { .. })));
    }
}
