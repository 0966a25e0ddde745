//! Text a plugin (or a caller) chose, made safe to put in a log line, an error body or a
//! page: control characters escaped, so that it cannot start a line of its own or carry
//! terminal escapes, and its length capped.

use std::borrow::Cow;
use std::fmt::Write;

/// Marks text that was cut at the cap.
const CUT: &str = "…";

/// `text` with every control character (and the Unicode line and paragraph separators)
/// written as an escape (`\n`, `\u{1b}`), cut at a character boundary so that the result,
/// the cut mark `…` included, is at most `max_bytes` long. Borrows when nothing needs to
/// change.
pub fn sanitize(text: &str, max_bytes: usize) -> Cow<'_, str> {
    let needs_escape = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if text.len() <= max_bytes && !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_bytes) + CUT.len());
    let mut piece = String::new();
    // Where each piece (a character or its escape) ends, to cut only between pieces.
    let mut ends = Vec::new();
    for c in text.chars() {
        piece.clear();
        match c {
            '\n' => piece.push_str("\\n"),
            '\r' => piece.push_str("\\r"),
            '\t' => piece.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(piece, "\\u{{{:x}}}", c as u32);
            }
            c => piece.push(c),
        }
        if out.len() + piece.len() > max_bytes {
            while out.len() + CUT.len() > max_bytes {
                ends.pop();
                out.truncate(ends.last().copied().unwrap_or(0));
                if out.is_empty() {
                    break;
                }
            }
            if out.len() + CUT.len() <= max_bytes {
                out.push_str(CUT);
            }
            break;
        }
        out.push_str(&piece);
        ends.push(out.len());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn control_characters_are_escaped_and_length_is_capped() {
        assert!(matches!(
            sanitize("plain text", 100),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            sanitize("a\nb\r\tc\u{1b}[31m\0\u{2028}", 100),
            "a\\nb\\r\\tc\\u{1b}[31m\\u{0}\\u{2028}"
        );
        assert_eq!(sanitize("héllo", 4), "h…");
        assert_eq!(sanitize("héllo", 6), "héllo");
        assert_eq!(sanitize("hé\nllo", 7), "hé…");
        assert_eq!(sanitize("ab\ncd", 5), "ab…");
        assert_eq!(sanitize("abcdef", 2), "");
        let long = "x".repeat(10_000);
        assert_eq!(sanitize(&long, 100).len(), 100);
    }
}
