//! `X-Pyrus-Sig`: any header bytes parse to a signature or a typed error, and a parsed
//! signature verifies only the body it was made for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyrus_host::secret::Secret;
use pyrus_host::signature::{check, sign, Signature};

fuzz_target!(|data: &[u8]| {
    let secret = Secret::new(b"fuzz-secret");
    let (header, body) = data.split_at(data.len().min(48));
    if Signature::parse(header).is_ok() {
        let _ = check(Some(header), &secret, body);
    }
    // The signature of the body always verifies, in either case of hex.
    let good = sign(&secret, body);
    assert!(check(Some(good.as_bytes()), &secret, body).is_ok());
    assert!(check(Some(good.to_uppercase().as_bytes()), &secret, body).is_ok());
});
