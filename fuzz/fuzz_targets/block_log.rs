//! The block log's reader: never panics, and what it keeps lies inside the file.
#![no_main]
use blockchat_net::daemon::blocklog::scan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = scan(data) {
        assert!(s.valid_len <= data.len());
        for &(start, end) in &s.records {
            assert!(start <= end && end <= s.valid_len);
        }
    }
});
