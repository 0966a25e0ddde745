//! The config: any text parses to a config or a typed error, and an error never quotes
//! a secret it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("/nonexistent/fuzz/pyrus-host.toml");
    if let Err(e) = pyrus_host::config::Config::parse(path, text) {
        let _ = e.to_string();
    }
});
