//! `entries` mode: JSON log entries (`items`, each an object whose `text` is the line), with
//! their `time` and `level` shown before the text. Entries already shown are skipped: by their
//! `key` when the description names one, else by count when the same page is read again (a
//! whole array re-read shows only what it gained).
//!
//! An answer that does not fit (no array where `items` points, no entry with the `text`
//! field) is a [`Misfit`] naming the key, never a panic; an odd entry without the text is
//! skipped with one warning per operation.

use super::super::source::value_text;
use super::state::HttpState;
use super::text_lines;
use crate::platform::backend::LogSink;
use crate::platform::http::spec::LogSpec;

/// What one page showed: lines delivered, and the items on the page (shown or not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Shown {
    pub(super) lines: u64,
    pub(super) items: usize,
}

/// An answer that does not fit the description.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Misfit {
    /// The key whose value did not fit.
    pub(super) key: &'static str,
    pub(super) problem: String,
    pub(super) fix: String,
}

/// The array at `pointer` (`""` is the whole body); absent or null is an empty page.
pub(super) fn items<'a>(
    body: &'a serde_json::Value,
    pointer: &str,
    key: &'static str,
) -> Result<&'a [serde_json::Value], Misfit> {
    match body.pointer(pointer) {
        None | Some(serde_json::Value::Null) => Ok(&[]),
        Some(serde_json::Value::Array(items)) => Ok(items),
        Some(other) => Err(Misfit {
            key,
            problem: format!(
                "{key} = {pointer:?} is {} in the answer, not an array of entries",
                kind(other)
            ),
            fix: format!(
                "point {key} at the array of log entries (\"\" for an answer that is one)"
            ),
        }),
    }
}

/// Shows the entries of one page that were not shown before: `before` is how many of this
/// page's entries were shown when it was last read.
pub(super) async fn show(
    body: &serde_json::Value,
    (spec, section): (&LogSpec, &str),
    st: &mut HttpState,
    before: usize,
    sink: &mut dyn LogSink,
) -> Result<Shown, Misfit> {
    let entries = items(body, spec.items.as_deref().unwrap_or(""), "items")?;
    let text = spec.text.as_deref().unwrap_or("");
    let mut shown = Shown {
        lines: 0,
        items: entries.len(),
    };
    let (mut new, mut missing) = (0, 0);
    for (i, entry) in entries.iter().enumerate() {
        let id = spec
            .key
            .as_deref()
            .and_then(|k| entry.pointer(k))
            .and_then(value_text);
        let fresh = match &id {
            Some(id) => st.keys.insert(id),
            None => i >= before,
        };
        if !fresh {
            continue;
        }
        new += 1;
        let Some(message) = entry.pointer(text).and_then(value_text) else {
            missing += 1;
            continue;
        };
        let prefix = prefix(entry, spec);
        for line in text_lines(&message) {
            sink.line(&format!("{prefix}{line}")).await;
            shown.lines += 1;
        }
    }
    if missing > 0 && missing == new {
        return Err(Misfit {
            key: "text",
            problem: format!(
                "text = {text:?} matched nothing in the entries of the answer (e.g. {})",
                crate::net::shorten(&entries[before.min(entries.len() - 1)].to_string(), 200)
            ),
            fix: "point text at the field holding an entry's message (a JSON Pointer inside one entry, such as /message)".into(),
        });
    }
    if missing > 0 && !st.warned {
        st.warned = true;
        tracing::warn!(
            "{missing} log entries have no text at {section} text = {text:?}; they are skipped (fix: point text at the field holding an entry's message)"
        );
    }
    Ok(shown)
}

/// The entry's time and level, each followed by a space, when the description names them.
fn prefix(entry: &serde_json::Value, spec: &LogSpec) -> String {
    let mut out = String::new();
    for pointer in [&spec.time, &spec.level].into_iter().flatten() {
        if let Some(value) = entry.pointer(pointer).and_then(value_text) {
            out.push_str(&value);
            out.push(' ');
        }
    }
    out
}

/// What a JSON value is, for messages.
pub(super) fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Default)]
    pub(crate) struct Collect(pub(crate) Vec<String>);

    #[async_trait::async_trait]
    impl LogSink for Collect {
        async fn line(&mut self, line: &str) {
            self.0.push(line.to_string());
        }
    }

    pub(crate) fn spec(toml: &str) -> LogSpec {
        toml::from_str(toml).unwrap()
    }

    #[tokio::test]
    async fn entries_show_time_level_and_text() {
        let spec = spec(
            "mode = \"entries\"\npath = \"/l\"\nitems = \"/logs\"\ntext = \"/message\"\ntime = \"/timestamp\"\nlevel = \"/level\"",
        );
        let body = json!({"logs": [
            {"message": "one", "timestamp": "10:00", "level": "info"},
            {"message": "two\nthree", "timestamp": "10:01"},
            {"message": ""},
        ]});
        let mut sink = Collect::default();
        let mut st = HttpState::default();
        let shown = show(&body, (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        assert_eq!(shown, Shown { lines: 4, items: 3 });
        assert_eq!(sink.0, ["10:00 info one", "10:01 two", "10:01 three", ""]);
    }

    #[tokio::test]
    async fn a_whole_array_read_again_shows_only_new_entries_by_count() {
        let spec = spec("mode = \"entries\"\npath = \"/l\"\ntext = \"/m\"");
        let mut st = HttpState::default();
        let mut sink = Collect::default();
        let first = json!([{"m": "a"}, {"m": "b"}]);
        let again = json!([{"m": "a"}, {"m": "b"}, {"m": "c"}]);
        let s = show(&first, (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        show(
            &again,
            (&spec, "[deploy.logs]"),
            &mut st,
            s.items,
            &mut sink,
        )
        .await
        .unwrap();
        assert_eq!(sink.0, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_key_skips_entries_already_shown_wherever_they_come_again() {
        let spec = spec("mode = \"entries\"\npath = \"/l\"\ntext = \"/m\"\nkey = \"/id\"");
        let mut st = HttpState::default();
        let mut sink = Collect::default();
        let first = json!([{"id": 1, "m": "a"}, {"id": 2, "m": "b"}]);
        // A window that moved on: "a" fell out, "b" is read again, "c" is new.
        let moved = json!([{"id": 2, "m": "b"}, {"id": 3, "m": "c"}]);
        show(&first, (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        show(&moved, (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.0, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn answers_that_do_not_fit_name_the_key() {
        let spec =
            spec("mode = \"entries\"\npath = \"/l\"\nitems = \"/logs\"\ntext = \"/message\"");
        let mut st = HttpState::default();
        let mut sink = Collect::default();
        let e = show(
            &json!({"logs": {"a": 1}}),
            (&spec, "[deploy.logs]"),
            &mut st,
            0,
            &mut sink,
        )
        .await
        .unwrap_err();
        assert_eq!(e.key, "items");
        assert!(e.problem.contains("an object"), "{e:?}");
        let e = show(
            &json!({"logs": [{"msg": "x"}]}),
            (&spec, "[deploy.logs]"),
            &mut st,
            0,
            &mut sink,
        )
        .await
        .unwrap_err();
        assert_eq!(e.key, "text");
        // One odd entry among good ones is skipped, with one warning.
        let mixed = json!({"logs": [{"message": "ok"}, {"msg": "odd"}]});
        let s = show(&mixed, (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        assert_eq!(s, Shown { lines: 1, items: 2 });
        assert!(st.warned);
        // An absent array is an empty page.
        let s = show(&json!({}), (&spec, "[deploy.logs]"), &mut st, 0, &mut sink)
            .await
            .unwrap();
        assert_eq!(s, Shown::default());
    }
}
