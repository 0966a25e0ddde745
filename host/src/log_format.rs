//! The JSON log line (`--log-format json`), written straight into the line's buffer.
//!
//! The same shape as tracing-subscriber's JSON format with `with_span_list(false)`:
//! `{"timestamp":..,"level":..,"fields":{..},"target":..,"span":{..,"name":..}}`, one line
//! per event. Its own formatter because tracing-subscriber's re-parses the current span's
//! fields into a `serde_json::Value` for every event and builds the line through serde: about
//! 6 % of the host's CPU under load, most of the per-call log line's cost. Here the span's
//! fields, stored as JSON text when the span was made ([`SpanFields`]), are copied as they
//! are.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{span, Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter, for `tracing_subscriber::fmt().fmt_fields(SpanFields)`.
pub struct JsonLine;

/// A span's fields as the members of a JSON object, `{"a":1,"b":"x"}`, formatted once when
/// the span is made; a field recorded later is appended (tracing-subscriber's `JsonFields`
/// parses and re-writes the whole object for each `record`).
pub struct SpanFields;

impl<'w> FormatFields<'w> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut w: Writer<'w>, fields: R) -> fmt::Result {
        w.write_char('{')?;
        write_members(&mut w, true, |v| fields.record(v))?;
        w.write_char('}')
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &span::Record<'_>,
    ) -> fmt::Result {
        // Each field is recorded once here (`task_id`): a field recorded twice would
        // repeat its key.
        let before = current.fields.len();
        let had_members = before > 2;
        if current.fields.ends_with('}') {
            current.fields.pop();
        } else {
            current.fields.push('{');
        }
        let result = write_members(&mut current.as_writer(), !had_members, |v| fields.record(v));
        if result.is_err() {
            // A value whose formatting failed leaves the object as it was, still valid.
            current.fields.truncate(before.saturating_sub(1));
        }
        current.fields.push('}');
        result
    }
}

impl<S> FormatEvent<S, SpanFields> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SpanFields>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // An event from the `log` crate (wasmtime, notify, rustls...) keeps its own target.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        w.write_str("{\"timestamp\":\"")?;
        write_rfc3339(&mut w, SystemTime::now())?;
        write!(w, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        write_members(&mut w, true, |v| event.record(v))?;
        w.write_str("},\"target\":")?;
        write_str(&mut w, meta.target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            w.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            let stored = extensions
                .get::<FormattedFields<SpanFields>>()
                .map(|f| f.fields.as_str())
                .unwrap_or("");
            // `{"a":1,"b":"x"}` as SpanFields wrote it: its members, then the name.
            let members = stored
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .unwrap_or("");
            if !members.is_empty() {
                w.write_str(members)?;
                w.write_char(',')?;
            }
            w.write_str("\"name\":")?;
            write_str(&mut w, span.name())?;
            w.write_char('}')?;
        }
        w.write_str("}\n")
    }
}

/// Writes fields as JSON members through `record` (`first`: none written before them).
fn write_members(
    w: &mut Writer<'_>,
    first: bool,
    record: impl FnOnce(&mut Fields<'_, '_>),
) -> fmt::Result {
    let mut visitor = Fields {
        w,
        first,
        result: Ok(()),
    };
    record(&mut visitor);
    visitor.result
}

/// Writes fields as JSON members.
struct Fields<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !self.first {
                self.w.write_char(',')?;
            }
            self.first = false;
            // `r#type` is the field `type`.
            let name = field.name();
            write_str(self.w, name.strip_prefix("r#").unwrap_or(name))?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |w| write_str(w, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |w| write!(w, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |w| write!(w, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: as serde_json writes them.
        self.member(field, |w| match value.is_finite() {
            // `{:?}` keeps `1.0` a float and `1e300` short, as serde_json writes them.
            true => write!(w, "{value:?}"),
            false => w.write_str("null"),
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// A JSON string, quoted and escaped.
fn write_str(w: &mut impl fmt::Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    Escaped(w).write_str(s)?;
    w.write_char('"')
}

/// Escapes what is written through it as the inside of a JSON string: quotes, backslashes
/// and control characters (so no text, whatever it holds, can end the line or the string).
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let mut plain = 0;
        for (i, &b) in bytes.iter().enumerate() {
            // (escape, length of the character it replaces)
            let (escape, len) = match b {
                b'"' => ("\\\"", 1),
                b'\\' => ("\\\\", 1),
                b'\n' => ("\\n", 1),
                b'\r' => ("\\r", 1),
                b'\t' => ("\\t", 1),
                0..=0x1f | 0x7f => ("", 1),
                // U+0085, U+2028 and U+2029 end a line for some readers (Python's
                // `splitlines`, JavaScript): escaped too.
                0xc2 if bytes.get(i + 1) == Some(&0x85) => ("\\u0085", 2),
                0xe2 if bytes.get(i + 1) == Some(&0x80) => match bytes.get(i + 2) {
                    Some(0xa8) => ("\\u2028", 3),
                    Some(0xa9) => ("\\u2029", 3),
                    _ => continue,
                },
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            match escape {
                "" => write!(self.0, "\\u{b:04x}")?,
                e => self.0.write_str(e)?,
            }
            plain = i + len;
        }
        self.0.write_str(&s[plain..])
    }
}

/// `2026-12-02T12:51:59.138558Z`: UTC, microseconds, as tracing-subscriber writes it.
fn write_rfc3339(w: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    write!(
        w,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_match_the_calendar() {
        let at = |secs: u64, micros: u64| {
            let mut s = String::new();
            let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            write_rfc3339(&mut s, t).unwrap();
            s
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_796_215_919, 138_558), "2026-12-02T12:51:59.138558Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
    }

    #[test]
    fn text_cannot_break_out_of_its_string() {
        let mut s = String::new();
        let text = "a\"b\\c\nd\re\tf\u{1}g\u{7f}h é\u{85}i\u{2028}j\u{2029}k\u{2027}\u{a5}";
        write_str(&mut s, text).unwrap();
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh é\\u0085i\\u2028j\\u2029k\u{2027}\u{a5}\""
        );
        let parsed: String = serde_json::from_str(&s).unwrap();
        assert_eq!(parsed, text);
    }

    /// Lines written by a subscriber with this format, as JSON values.
    fn lines_of(run: impl FnOnce()) -> Vec<serde_json::Value> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(SpanFields)
            .event_format(JsonLine)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_call_line_has_the_event_its_span_and_fields_recorded_later() {
        let hostile = "x\"}\n{\"level\":\"ERROR\"";
        let lines = lines_of(|| {
            let span = tracing::info_span!(
                "bot_call",
                bot = %hostile,
                task_id = tracing::field::Empty,
                attempt = 2u32,
            );
            span.record("task_id", tracing::field::display(4242));
            let _in = span.enter();
            tracing::info!(
                status = 200u16,
                outcome = "ok",
                ratio = 0.5,
                whole = 1.0,
                r#type = "t",
                "call"
            );
            tracing::warn!(cause = %hostile, "failed");
            // As a dependency logging through the `log` crate does.
            tracing_log::format_trace(
                &tracing_log::log::Record::builder()
                    .target("wasmtime::module")
                    .level(tracing_log::log::Level::Warn)
                    .args(format_args!("from log"))
                    .build(),
            )
            .unwrap();
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        let call = &lines[0];
        assert_eq!(call["level"], "INFO");
        assert_eq!(call["fields"]["message"], "call");
        assert_eq!(call["fields"]["status"], 200);
        assert_eq!(call["fields"]["outcome"], "ok");
        assert_eq!(call["fields"]["ratio"], 0.5);
        assert!(
            call["fields"]["whole"].is_f64(),
            "{}",
            call["fields"]["whole"]
        );
        assert_eq!(call["fields"]["type"], "t");
        assert_eq!(call["target"], module_path!());
        assert_eq!(call["span"]["name"], "bot_call");
        assert_eq!(call["span"]["bot"], hostile);
        assert_eq!(call["span"]["attempt"], 2);
        assert_eq!(call["span"]["task_id"], "4242");
        let stamp = call["timestamp"].as_str().unwrap();
        assert_eq!(stamp.len(), "2026-12-02T12:51:59.138558Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z'));
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["fields"]["cause"], hostile);
        assert_eq!(lines[1]["span"]["task_id"], "4242");
        assert_eq!(lines[2]["target"], "wasmtime::module");
        assert_eq!(lines[2]["fields"]["message"], "from log");
    }

    #[test]
    fn an_event_outside_a_span_has_no_span_and_an_empty_span_has_its_name() {
        let lines = lines_of(|| {
            tracing::info!("alone");
            let span = tracing::info_span!("bare", later = tracing::field::Empty);
            span.record("later", 1u8);
            let _in = span.enter();
            tracing::info!("inside");
        });
        assert!(lines[0].get("span").is_none(), "{}", lines[0]);
        assert_eq!(
            lines[1]["span"],
            serde_json::json!({"later": 1, "name": "bare"})
        );
    }

    #[test]
    fn a_field_that_fails_to_format_leaves_the_span_valid() {
        struct Fails;
        impl fmt::Debug for Fails {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                Err(fmt::Error)
            }
        }
        let lines = lines_of(|| {
            let span = tracing::info_span!(
                "s",
                a = 1u8,
                b = tracing::field::Empty,
                c = tracing::field::Empty
            );
            span.record("b", tracing::field::debug(Fails));
            span.record("c", 3u8);
            let _in = span.enter();
            tracing::info!("inside");
        });
        assert_eq!(
            lines[0]["span"],
            serde_json::json!({"a": 1, "c": 3, "name": "s"})
        );
    }
}
