//! Block decoding: never panics, and what decodes re-encodes to the same bytes.
#![no_main]
use blockchat_core::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        assert_eq!(block.encode(), data);
        let _ = block.hash();
    }
});
