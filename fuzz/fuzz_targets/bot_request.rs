//! The SDK's bot model: any body parses or fails with an error that quotes no body value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrus_plugin_sdk::BotRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match BotRequest::parse(text) {
        Ok(req) => {
            let _ = req.task_id();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
