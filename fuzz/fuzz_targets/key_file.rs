//! The wallet key file: never panics; a key that loads writes back to a file that loads it.
#![no_main]
use blockchat_core::Wallet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(w) = Wallet::from_key_file(text) {
        let again = Wallet::from_key_file(&w.to_key_file()).expect("a written key file loads");
        assert_eq!(again.address(), w.address());
    }
});
