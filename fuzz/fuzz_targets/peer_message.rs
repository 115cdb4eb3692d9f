//! Peer message decoding (every tag): never panics, and what decodes re-encodes to the same bytes.
#![no_main]
use blockchat_core::PeerMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = PeerMessage::decode(data) {
        assert_eq!(m.encode(), data);
        assert_eq!(m.encoded_len(), data.len());
    }
});
