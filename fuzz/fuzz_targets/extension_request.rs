//! The SDK's extension models: any body parses or fails, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrus_plugin_sdk::{AuthorizeRequest, ExtensionRequest, SendMessageRequest, ToggleRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = AuthorizeRequest::parse(text);
    let _ = ToggleRequest::parse(text);
    let _ = ExtensionRequest::parse(text);
    let _ = SendMessageRequest::parse(text);
});
