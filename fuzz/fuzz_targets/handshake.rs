//! The handshake and bootstrap frames (postcard): never panic, whatever a stranger sends.
#![no_main]
use blockchat_net::daemon::wire::{Answer, Greeting, Opening};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = postcard::from_bytes::<Greeting>(data);
    if let Ok(Opening::Join(request)) = postcard::from_bytes::<Opening>(data) {
        let _ = blockchat_net::daemon::handshake::verify_join(&request, &[0; 32]);
    }
    let _ = postcard::from_bytes::<Answer>(data);
});
