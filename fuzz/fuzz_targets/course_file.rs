//! Course-format input files: never panic; every line read names a node and a non-empty message.
#![no_main]
use blockchat_host::client::course;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(lines) = course::parse(std::path::Path::new("fuzz.txt"), text) {
        for l in &lines {
            assert!(!l.text.trim().is_empty());
        }
        let _ = course::check_targets(std::path::Path::new("fuzz.txt"), &lines, 5);
    }
});
