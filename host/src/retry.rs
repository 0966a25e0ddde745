//! `X-Pyrus-Retry`: which delivery attempt a call is.
//!
//! Forms seen in the wild: `1/3`, `2/3`, `3/3`, `1`, `0`, and no header at all. Anything else
//! is treated as absent rather than refused: the header is informational, and refusing a
//! correctly signed call over it would lose the call.

/// The header Pyrus marks retries with.
pub const HEADER: &str = "x-pyrus-retry";

/// The attempt number and, when Pyrus said it, the total number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub attempt: u32,
    pub max_attempts: Option<u32>,
}

impl Default for Attempt {
    fn default() -> Self {
        Attempt {
            attempt: 1,
            max_attempts: None,
        }
    }
}

impl Attempt {
    /// Parses the header leniently; `None` or an unreadable value gives attempt 1.
    pub fn parse(header: Option<&[u8]>) -> Attempt {
        header
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(Self::parse_str)
            .unwrap_or_default()
    }

    fn parse_str(text: &str) -> Option<Attempt> {
        let (attempt, max) = match text.trim().split_once('/') {
            Some((a, m)) => (a.trim(), Some(m.trim().parse().ok()?)),
            None => (text.trim(), None),
        };
        // Attempts count from 1; a total below the attempt says nothing (found by fuzzing:
        // `0` reached plugins as attempt 0).
        let attempt: u32 = attempt.parse().ok().filter(|&a| a >= 1)?;
        Some(Attempt {
            attempt,
            max_attempts: max.filter(|&m| m >= attempt),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: Option<&str>) -> (u32, Option<u32>) {
        let a = Attempt::parse(s.map(str::as_bytes));
        (a.attempt, a.max_attempts)
    }

    #[test]
    fn attempts_count_from_one() {
        assert_eq!(p(Some("0")), (1, None));
        assert_eq!(p(Some("0/3")), (1, None));
        assert_eq!(p(Some("4/3")), (4, None));
        assert_eq!(p(Some("2/0")), (2, None));
    }

    #[test]
    fn every_form_seen_in_the_wild() {
        assert_eq!(p(Some("1/3")), (1, Some(3)));
        assert_eq!(p(Some("2/3")), (2, Some(3)));
        assert_eq!(p(Some(" 3 / 3 ")), (3, Some(3)));
        assert_eq!(p(Some("2")), (2, None));
        assert_eq!(p(None), (1, None));
    }

    #[test]
    fn garbage_is_treated_as_absent() {
        assert_eq!(p(Some("soon")), (1, None));
        assert_eq!(p(Some("2/x")), (1, None));
        assert_eq!(p(Some("-1")), (1, None));
    }
}
