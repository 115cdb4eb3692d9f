//! What travels on a connection: length-delimited frames, the handshake and bootstrap messages
//! (postcard), and after the handshake the core's peer messages in their canonical encoding.

use blockchat_core::{Address, BlockHash, Signature};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::daemon::roster::NetworkInfo;

/// The version of this wire protocol; peers speaking another are refused.
pub const PROTOCOL_VERSION: u32 = 2;
/// The first bytes of every connection's first frame.
pub const MAGIC: [u8; 9] = *b"blockchat";
/// Largest frame accepted by default (32 MiB); a larger length prefix closes the connection.
pub const DEFAULT_MAX_FRAME: usize = 32 << 20;

/// Largest frame read before a peer has proved who it is: greetings, hellos and join requests
/// are a few hundred bytes, and a stranger must not make the node hold megabytes.
pub const HANDSHAKE_MAX_FRAME: usize = 16 << 10;

/// A TCP stream cut into length-prefixed frames (4-byte big-endian length).
pub type FramedStream = Framed<TcpStream, LengthDelimitedCodec>;

/// Frames `stream`, refusing frames longer than `max_frame` bytes.
pub fn framed(stream: TcpStream, max_frame: usize) -> FramedStream {
    let codec = LengthDelimitedCodec::builder().length_field_length(4).max_frame_length(max_frame).new_codec();
    Framed::new(stream, codec)
}

/// Accepts frames up to `max_frame` bytes from now on (once the peer is authenticated).
pub fn set_max_frame(framed: &mut FramedStream, max_frame: usize) {
    framed.codec_mut().set_max_frame_length(max_frame);
}

/// Why a connection failed before or during the handshake.
#[derive(Debug, Error)]
pub enum WireError {
    /// The socket failed, or a frame was malformed or too large.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    Closed,
    /// A frame did not hold the expected message.
    #[error("malformed {what}: {error}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// The decoder's complaint.
        error: postcard::Error,
    },
    /// The first frame did not start with the BlockChat magic bytes.
    #[error("not a BlockChat peer (bad magic bytes)")]
    BadMagic,
    /// The peer speaks another protocol version.
    #[error("wrong protocol version {got} (this node speaks {PROTOCOL_VERSION})")]
    WrongVersion {
        /// The peer's version.
        got: u32,
    },
    /// The peer's signature over our challenge does not verify.
    #[error("handshake signature by {key} does not verify")]
    BadProof {
        /// The key the peer claimed.
        key: Address,
    },
    /// The peer belongs to another network.
    #[error("peer is on another network (genesis {got}, ours {ours})")]
    WrongGenesis {
        /// The peer's genesis hash.
        got: BlockHash,
        /// Ours.
        ours: BlockHash,
    },
    /// The key is not a member of this network, or not the one we dialled.
    #[error("key {key} is not {expected}")]
    UnexpectedKey {
        /// The key presented.
        key: Address,
        /// What was expected, in words.
        expected: String,
    },
    /// The peer refused us, giving a reason.
    #[error("refused by the peer: {0}")]
    Refused(String),
    /// The handshake did not finish in time.
    #[error("the handshake timed out")]
    Timeout,
    /// The roster or genesis received is invalid.
    #[error("invalid network description: {0}")]
    Network(#[from] crate::daemon::roster::RosterError),
}

/// The first frame each side sends on any connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Greeting {
    /// [`MAGIC`].
    pub magic: [u8; 9],
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// A fresh random challenge the other side must sign.
    pub challenge: [u8; 32],
}

/// A member's proof of identity on an established network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The network's genesis hash.
    pub genesis: BlockHash,
    /// The sender's public key.
    pub key: Address,
    /// The sender's signature over the other side's challenge (see [`crate::daemon::handshake`]).
    pub proof: Signature,
}

/// A node asking the bootstrap for an id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The joiner's public key.
    pub key: Address,
    /// The address other nodes should dial (`host:port`).
    pub advertise: String,
    /// The stake it asks for in the genesis, in units.
    pub stake: u64,
    /// `H(domain ‖ join token ‖ the bootstrap's challenge ‖ key)` when the joiner was given a
    /// join token, zeros otherwise: the token itself never travels.
    pub token_proof: [u8; 32],
    /// The joiner's signature over the bootstrap's challenge and everything above.
    pub proof: Signature,
}

/// The dialler's second frame: what it wants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Opening {
    /// Join a network being formed (to the bootstrap).
    Join(JoinRequest),
    /// Connect as a member of an established network.
    Hello(Hello),
    /// The bootstrap checking that a joiner holds its key at the address it advertised: the
    /// joiner answers with a `Hello` for genesis zero, naming `key`, the prober.
    Probe {
        /// The prober's key.
        key: Address,
    },
}

/// The acceptor's answer to an [`Opening`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer {
    /// The acceptor's own proof: the connection is up.
    Hello(Hello),
    /// The joiner's id; the network description follows once everyone has joined.
    Admitted {
        /// The id assigned.
        id: u32,
        /// How many nodes the network will have.
        nodes: u32,
    },
    /// The whole network: sent to joiners when the last node has joined.
    Network(NetworkInfo),
    /// Refused, and why.
    Refused(String),
}

/// Sends one postcard-encoded frame.
pub async fn send<T: Serialize>(framed: &mut FramedStream, message: &T) -> Result<(), WireError> {
    let bytes = postcard::to_stdvec(message).map_err(|error| WireError::Malformed { what: "outgoing frame", error })?;
    framed.send(Bytes::from(bytes)).await?;
    Ok(())
}

/// Receives one postcard-encoded frame.
pub async fn recv<T: DeserializeOwned>(framed: &mut FramedStream, what: &'static str) -> Result<T, WireError> {
    let frame = framed.next().await.ok_or(WireError::Closed)??;
    postcard::from_bytes(&frame).map_err(|error| WireError::Malformed { what, error })
}

/// Checks a greeting's magic bytes and version.
pub fn check_greeting(greeting: &Greeting) -> Result<(), WireError> {
    if greeting.magic != MAGIC {
        return Err(WireError::BadMagic);
    }
    if greeting.version != PROTOCOL_VERSION {
        return Err(WireError::WrongVersion { got: greeting.version });
    }
    Ok(())
}

/// Receives the other side's greeting, mapping undecodable bytes to "not a BlockChat peer".
pub async fn recv_greeting(framed: &mut FramedStream) -> Result<Greeting, WireError> {
    let greeting: Greeting = match recv(framed, "greeting").await {
        Err(WireError::Malformed { .. }) => return Err(WireError::BadMagic),
        other => other?,
    };
    check_greeting(&greeting)?;
    Ok(greeting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_checks_table() {
        let ok = Greeting { magic: MAGIC, version: PROTOCOL_VERSION, challenge: [7; 32] };
        assert!(check_greeting(&ok).is_ok());
        let bad_magic = Greeting { magic: *b"blockchaT", ..ok.clone() };
        assert!(matches!(check_greeting(&bad_magic), Err(WireError::BadMagic)));
        let bad_version = Greeting { version: 9, ..ok.clone() };
        assert!(matches!(check_greeting(&bad_version), Err(WireError::WrongVersion { got: 9 })));
        let bytes = postcard::to_stdvec(&ok).unwrap();
        let back: Greeting = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.challenge, ok.challenge);
    }
}
