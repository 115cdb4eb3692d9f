//! Transaction decoding: never panics, and what decodes re-encodes to the same bytes.
#![no_main]
use blockchat_core::Transaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode(data) {
        assert_eq!(tx.encode(), data);
        let _ = tx.check_form();
    }
});
