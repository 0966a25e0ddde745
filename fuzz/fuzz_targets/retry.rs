//! `X-Pyrus-Retry`: any header bytes give an attempt, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrus_host::retry::Attempt;

fuzz_target!(|data: &[u8]| {
    let attempt = Attempt::parse(Some(data));
    assert!(attempt.attempt >= 1);
    if let Some(max) = attempt.max_attempts {
        assert!(attempt.attempt <= max);
    }
});
