//! `X-Pyrus-Sig`: HMAC-SHA1 of the raw request body, keyed by the bot's or extension's secret.
//!
//! Pyrus's own samples disagree on the hex case (PHP/C# upper, Python lower), and handlers in
//! the wild also see surrounding whitespace and a `sha1=` prefix, so all of those are accepted.
//! The comparison is on the decoded bytes and in constant time (`Mac::verify_slice`).

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::secret::Secret;

type HmacSha1 = Hmac<Sha1>;

/// The header Pyrus signs its calls with.
pub const HEADER: &str = "x-pyrus-sig";

/// A decoded `X-Pyrus-Sig` value: the 20 bytes of an HMAC-SHA1.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature([u8; 20]);

/// Why a call's signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the X-Pyrus-Sig header is missing")]
    Missing,
    #[error("the X-Pyrus-Sig header is not 40 hex digits")]
    Malformed,
    #[error("the X-Pyrus-Sig signature does not match the body")]
    Mismatch,
}

impl Signature {
    /// Parses a header value: 40 hex digits in any case, optionally `sha1=`-prefixed,
    /// surrounded by whitespace or not.
    pub fn parse(header: &[u8]) -> Result<Self, SignatureError> {
        let text = std::str::from_utf8(header).map_err(|_| SignatureError::Malformed)?;
        let text = text.trim();
        let hex_part = match text.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha1=") => &text[5..],
            _ => text,
        };
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| SignatureError::Malformed)?;
        Ok(Signature(bytes))
    }

    /// Checks that this is the HMAC-SHA1 of `body` under `secret`, in constant time.
    pub fn verify(&self, secret: &Secret, body: &[u8]) -> Result<(), SignatureError> {
        let mut mac = mac(secret);
        mac.update(body);
        mac.verify_slice(&self.0)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Verifies an optional header value against the body: the whole check a route needs.
pub fn check(header: Option<&[u8]>, secret: &Secret, body: &[u8]) -> Result<(), SignatureError> {
    Signature::parse(header.ok_or(SignatureError::Missing)?)?.verify(secret, body)
}

/// The signature Pyrus would send for `body`, as lower-case hex (for tests and tooling).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn mac(secret: &Secret) -> HmacSha1 {
    // HMAC accepts keys of any length; this cannot fail.
    HmacSha1::new_from_slice(secret.expose()).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new(b"security_key")
    }

    #[test]
    fn known_vector() {
        // RFC 2202 test case 2 for HMAC-SHA1.
        let s = Secret::new(b"Jefe");
        assert_eq!(
            sign(&s, b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn accepts_any_case_whitespace_and_prefix() {
        let body = br#"{"task_id":1}"#;
        let lower = sign(&key(), body);
        for form in [
            lower.clone(),
            lower.to_uppercase(),
            format!("  {lower}\t"),
            format!("sha1={lower}"),
            format!("SHA1={}", lower.to_uppercase()),
        ] {
            assert_eq!(check(Some(form.as_bytes()), &key(), body), Ok(()), "{form}");
        }
    }

    #[test]
    fn rejects_missing_malformed_and_wrong() {
        let body = b"{}";
        let good = sign(&key(), body);
        assert_eq!(check(None, &key(), body), Err(SignatureError::Missing));
        assert_eq!(
            check(Some(b""), &key(), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(Some(&good.as_bytes()[..38]), &key(), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(Some(format!("{good}00").as_bytes()), &key(), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(Some(good.as_bytes()), &key(), b"{} "),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(good.as_bytes()), &Secret::new(b"other"), body),
            Err(SignatureError::Mismatch)
        );
    }
}
