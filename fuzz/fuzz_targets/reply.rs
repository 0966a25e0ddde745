//! The check of a plugin's reply before it goes to Pyrus: any text is accepted or refused,
//! and what a bot may answer is always one JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrus_host::runtime::call::{check_reply, ReplyShape};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if check_reply(text, ReplyShape::Object).is_ok() {
        let value: serde_json::Value = serde_json::from_str(text).expect("accepted as JSON");
        assert!(value.is_object(), "a bot reply that is not an object: {text:?}");
    }
    let _ = check_reply(text, ReplyShape::Any);
});
