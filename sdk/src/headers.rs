//! Header lists as the SDK carries them: `(name, value)` pairs.

/// The value of the first header named `name`, compared without regard to case.
pub(crate) fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The names alone, for `Debug`: header values (authorization, cookies, shared secrets) must
/// not reach a log through `{:?}`.
pub(crate) fn names(headers: &[(String, String)]) -> Vec<&str> {
    headers.iter().map(|(k, _)| k.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use crate::http::{Request, Response};
    use crate::{InboundRequest, InboundResponse};

    #[test]
    fn debug_shows_header_names_never_values() {
        let headers = vec![("Authorization".to_string(), "Bearer s3cr3t".to_string())];
        let shown = [
            format!("{:?}", Request::get("https://x").bearer("s3cr3t")),
            format!(
                "{:?}",
                Response {
                    status: 200,
                    headers: headers.clone(),
                    body: vec![]
                }
            ),
            format!(
                "{:?}",
                InboundRequest {
                    headers: headers.clone(),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                InboundResponse {
                    status: 200,
                    headers: headers.clone(),
                    body: vec![]
                }
            ),
        ];
        for text in shown {
            assert!(text.contains("Authorization"), "{text}");
            assert!(!text.contains("s3cr3t"), "{text}");
        }
        assert_eq!(
            super::find(&headers, "authorization"),
            Some("Bearer s3cr3t")
        );
        assert_eq!(super::find(&headers, "cookie"), None);
    }
}
