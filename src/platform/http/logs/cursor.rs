//! Pages with a continuation cursor, for `cursor` mode (arrays of lines) and `entries` mode
//! (arrays of log entries, see `entries.rs`).
//!
//! The first read uses `start` (a template, e.g. the operation's creation time) or no cursor;
//! each read puts the cursor in `{{ cursor }}`. A non-empty cursor the page did not come from
//! means more: the next page is read at once (a few per read, so that the state stays fresh).
//! A page without a new cursor is all there is for now: it is not read again in a loop, and the
//! next read, a poll later, starts from it again, showing only what it gained since. After the
//! final state the engine's drain goes on reading until the log is complete or quiet.

use super::super::source::{Source, value_text};
use super::super::template::{Target, render};
use super::super::{HttpBackend, bad_source};
use super::entries::{self, Misfit, Shown};
use super::state::HttpState;
use super::{completion, misfit, text_lines};
use crate::error::Result;
use crate::platform::backend::{LogRead, LogSink, Operation};
use crate::platform::http::spec::{LogMode, LogSpec};

/// The most pages one read follows, however many cursors the platform hands out.
pub(super) const MAX_PAGES: usize = 16;

impl HttpBackend {
    pub(super) async fn read_pages(
        &self,
        op: &mut Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        if !st.started {
            st.started = true;
            if let Some(start) = &spec.start {
                let seed =
                    render(start, &op.vars, Target::Text).map_err(|e| e.in_section(section))?;
                op.log.cursor = Some(seed).filter(|s| !s.is_empty());
            }
        }
        let next_src = spec
            .cursor
            .as_deref()
            .map(|c| Source::parse(c).ok_or_else(|| bad_source(section, "cursor", c)))
            .transpose()?;
        let mut read = LogRead::default();
        for page in 0..MAX_PAGES {
            let at = op.log.cursor.clone().unwrap_or_default();
            let mut vars = op.vars.clone();
            vars.insert("cursor".into(), at.clone());
            let Some(url) = self.log_url(spec, op, st, &vars, section)? else {
                // The URL comes from the answer, the same for every page: missing on the first.
                return Ok(self.no_log_url(op));
            };
            let req = self.log_request(spec, url.clone(), &vars, section)?;
            let (body, headers) = self.json(req, &format!("{section} path")).await?;
            let before = match &st.page {
                Some((cursor, shown)) if *cursor == at => *shown,
                _ => 0,
            };
            let shown = match spec.mode {
                Some(LogMode::Entries) => {
                    entries::show(&body, (spec, section), st, before, sink).await
                }
                _ => show_lines(&body, spec, before, sink).await,
            }
            .map_err(|m| misfit(self, &url, section, m.key, &m.problem, &m.fix))?;
            st.page = Some((at.clone(), shown.items));
            read.lines += shown.lines;
            read.complete = completion(spec, Some(&body), &headers, &vars);
            let next = next_src
                .as_ref()
                .and_then(|src| src.extract(Some(&body), &headers, &vars))
                .filter(|next| !next.is_empty() && *next != at);
            let Some(next) = next else {
                // Nothing more for now: the next read starts from this page again.
                break;
            };
            op.log.cursor = Some(next);
            if read.complete == Some(true) || shown.items == 0 {
                break;
            }
            if page + 1 == MAX_PAGES {
                // More pages wait: the drain must not take the log as quiet.
                read.complete = read.complete.or(Some(false));
            }
        }
        Ok(read)
    }
}

/// `cursor` mode: shows the lines of one page not shown before (`lines` points at an array of
/// strings, or at one string whose lines count as the items).
pub(super) async fn show_lines(
    body: &serde_json::Value,
    spec: &LogSpec,
    before: usize,
    sink: &mut dyn LogSink,
) -> Result<Shown, Misfit> {
    let pointer = spec.lines.as_deref().unwrap_or("");
    let mut shown = Shown::default();
    if let Some(serde_json::Value::String(text)) = body.pointer(pointer) {
        for line in text.lines() {
            shown.items += 1;
            if shown.items > before {
                sink.line(line).await;
                shown.lines += 1;
            }
        }
        return Ok(shown);
    }
    let items = entries::items(body, pointer, "lines")?;
    shown.items = items.len();
    for item in items.iter().skip(before) {
        let text = value_text(item).unwrap_or_default();
        for line in text_lines(&text) {
            sink.line(line).await;
            shown.lines += 1;
        }
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::entries::tests::{Collect, spec};
    use super::*;

    #[tokio::test]
    async fn a_page_read_again_shows_only_the_lines_it_gained() {
        let spec = spec("mode = \"cursor\"\npath = \"/l\"\nlines = \"/lines\"");
        let mut sink = Collect::default();
        let s = show_lines(&json!({"lines": ["a", "b"]}), &spec, 0, &mut sink)
            .await
            .unwrap();
        assert_eq!(s, Shown { lines: 2, items: 2 });
        let s = show_lines(&json!({"lines": ["a", "b", "c\nd"]}), &spec, 2, &mut sink)
            .await
            .unwrap();
        assert_eq!(s, Shown { lines: 2, items: 3 });
        show_lines(&json!({"lines": "a\nb\nc\nd\ne"}), &spec, 4, &mut sink)
            .await
            .unwrap();
        assert_eq!(sink.0, ["a", "b", "c", "d", "e"]);
    }

    #[tokio::test]
    async fn lines_that_are_not_an_array_name_the_key() {
        let spec = spec("mode = \"cursor\"\npath = \"/l\"\nlines = \"/lines\"");
        let mut sink = Collect::default();
        let e = show_lines(&json!({"lines": 7}), &spec, 0, &mut sink)
            .await
            .unwrap_err();
        assert_eq!(e.key, "lines");
        assert!(e.problem.contains("a number"), "{e:?}");
    }
}
