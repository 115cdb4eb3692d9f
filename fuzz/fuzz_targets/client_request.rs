//! What a client sends: control requests (JSON) and prompt lines; never panic.
#![no_main]
use blockchat_net::control::Request;
use blockchat_net::prompt::command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Request>(data);
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = command::parse(line);
    }
});
