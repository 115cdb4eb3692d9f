//! What a client sends: JSON-RPC calls to the API and prompt lines; never panic.
#![no_main]
use blockchat_net::api::server::parse_call;
use blockchat_net::prompt::command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_call(data);
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = command::parse(line);
    }
});
