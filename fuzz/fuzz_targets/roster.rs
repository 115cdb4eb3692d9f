//! The network file and roster: never panic, whatever network.json or a bootstrap holds.
#![no_main]
use blockchat_core::Address;
use blockchat_net::daemon::roster::{NetworkInfo, Roster};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = serde_json::from_slice::<NetworkInfo>(data).ok().or_else(|| postcard::from_bytes(data).ok());
    if let Some(info) = parsed {
        let me = info.members.first().map_or(Address::ZERO, |m| m.key);
        let _ = Roster::new(info, me);
    }
});
