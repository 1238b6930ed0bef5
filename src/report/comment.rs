//! The sticky pull-request comment / merge-request note: one table, one row per environment, with
//! the rows stored invisibly in the body so the next job can merge its own row in.
//!
//! Layout of a body (GitHub- and GitLab-flavoured Markdown alike):
//!
//! ```text
//! <!-- ferry:v1 -->                    the marker the reporters search for (with the author)
//! ### 🚢 Deployments
//!
//! | Environment | Status | URL | Commit | Duration | Updated |   see `Table`
//! …
//! <details>…log tail of a failed environment…</details>
//!
//! <!-- ferry:state eyJ2IjoxLC… -->     the rows as base64url JSON
//! ```
//!
//! The state is JSON `{"v":1,"rows":[Row…]}` encoded as unpadded base64url, whose alphabet
//! (`A–Z a–z 0–9 - _`) cannot spell `-->` or `--!>`, so no value can end the HTML comment early,
//! and the comment is invisible in the rendered body. [`CommentBody::parse`] reads it back;
//! [`State::upsert`] replaces one environment's row and keeps the others, so two jobs deploying
//! different environments to the same change request each keep the other's row (the reporter
//! re-reads the comment right before writing; [`State::merge`] reconciles two reads).
//!
//! The body always fits the limit given to [`CommentBody::render`] (see [`super::fit`]).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::fit::{Omitted, fit};
use super::row::Row;
use super::table::Table;

/// The hidden, versioned marker on the first line of every ferry comment.
pub(crate) const MARKER: &str = "<!-- ferry:v1 -->";
/// GitHub's limit for an issue or pull-request comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// GitLab's limit for a note body, in characters.
pub(crate) const GITLAB_NOTE_LIMIT: usize = 1_000_000;

const STATE_OPEN: &str = "<!-- ferry:state ";
const STATE_CLOSE: &str = " -->";
const STATE_VERSION: u32 = 1;

/// The rows of a comment, in display order (first appearance), keyed by environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub rows: Vec<Row>,
}

impl State {
    /// Replaces the row of `row.environment` in place, or appends it.
    pub fn upsert(&mut self, row: Row) {
        match self
            .rows
            .iter_mut()
            .find(|r| r.environment == row.environment)
        {
            Some(existing) => *existing = row,
            None => self.rows.push(row),
        }
    }

    /// Merges another read of the same comment: for each environment the most recently updated
    /// row wins (ties keep ours); environments only in `other` are appended.
    pub fn merge(&mut self, other: State) {
        for row in other.rows {
            match self
                .rows
                .iter_mut()
                .find(|r| r.environment == row.environment)
            {
                Some(existing) if existing.updated < row.updated => *existing = row,
                Some(_) => {}
                None => self.rows.push(row),
            }
        }
    }

    /// The row of `environment`, if any.
    pub fn row(&self, environment: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.environment == environment)
    }

    /// Removes and returns the row of `environment`.
    pub fn remove(&mut self, environment: &str) -> Option<Row> {
        let i = self
            .rows
            .iter()
            .position(|r| r.environment == environment)?;
        Some(self.rows.remove(i))
    }
}

/// The stored form: the rows and a version, so a later format can be told apart.
#[derive(Serialize, Deserialize)]
struct StateDoc {
    v: u32,
    rows: Vec<Row>,
}

/// A comment body: the state it shows, rendered on demand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentBody {
    state: State,
}

impl CommentBody {
    /// A body showing `state`.
    pub fn new(state: State) -> Self {
        Self { state }
    }

    /// True when `body` carries ferry's marker (the reporters also check the author).
    pub fn has_marker(body: &str) -> bool {
        body.contains(MARKER)
    }

    /// The state stored in an existing body, or `None` when the body is not a ferry `v1` comment
    /// or its state cannot be read (then the reporter starts a fresh table).
    pub fn parse(body: &str) -> Option<State> {
        let after_marker = &body[body.find(MARKER)? + MARKER.len()..];
        // The real state is always last: a log tail above it may quote a forged one.
        let start = after_marker.rfind(STATE_OPEN)? + STATE_OPEN.len();
        let encoded = &after_marker[start..];
        let encoded = &encoded[..encoded.find(STATE_CLOSE)?];
        let json = URL_SAFE_NO_PAD.decode(encoded.trim()).ok()?;
        let doc: StateDoc = serde_json::from_slice(&json).ok()?;
        (doc.v == STATE_VERSION).then_some(State { rows: doc.rows })
    }

    /// The state shown.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Replaces or adds one environment's row (see [`State::upsert`]).
    pub fn upsert(&mut self, row: Row) {
        self.state.upsert(row);
    }

    /// The Markdown body, at most `max_chars` long (measured in UTF-8 bytes, never fewer than
    /// characters). Use [`GITHUB_COMMENT_LIMIT`] or [`GITLAB_NOTE_LIMIT`].
    pub fn render(&self, max_chars: usize) -> String {
        self.render_fitted(max_chars).0
    }

    /// Like [`CommentBody::render`], also returning the state as stored in the body (tails may
    /// have been trimmed, rows dropped, to fit).
    pub fn render_fitted(&self, max_chars: usize) -> (String, State) {
        let (body, rows) = fit(self.state.rows.clone(), max_chars, render_rows);
        (body, State { rows })
    }
}

fn render_rows(rows: &[Row], omitted: Omitted) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(MARKER);
    out.push_str("\n### 🚢 Deployments\n\n");
    Table::new(rows).render_into(&mut out);
    if omitted.rows > 0 {
        let s = if omitted.rows == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "\n_{} older environment{s} not shown: comment size limit._",
            omitted.rows
        );
    }
    out.push('\n');
    out.push_str(STATE_OPEN);
    let doc = StateDoc {
        v: STATE_VERSION,
        rows: rows.to_vec(),
    };
    // Serialising plain data (strings, numbers) cannot fail; an empty state is the safe fallback.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    out.push_str(&URL_SAFE_NO_PAD.encode(json));
    out.push_str(STATE_CLOSE);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::report::row::RowStatus;

    fn at(secs: u64) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_735_787_045 + secs)
    }

    fn ready(env: &str, secs: u64) -> Row {
        let mut r = Row::new(env, RowStatus::Ready, at(secs));
        r.url = Some(format!("https://{env}.apps.example.com/"));
        r.commit = Some("1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5".into());
        r.commit_url = Some(
            "https://github.com/acme/shop/commit/1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5".into(),
        );
        r.duration = Some(Duration::from_millis(8_245));
        r.logs_url = Some("https://github.com/acme/shop/actions/runs/42/job/7".into());
        r
    }

    fn failed(env: &str, secs: u64) -> Row {
        let mut r = ready(env, secs);
        r.status = RowStatus::Failed;
        r.url = None;
        r.duration = Some(Duration::from_millis(3_100));
        r.message = Some("build 1187 failed: exit code 2".into());
        r.log_tail = vec![
            "Step 4/9 : RUN npm ci".into(),
            "npm ERR! code ERESOLVE".into(),
            "npm ERR! ERESOLVE unable to resolve dependency tree".into(),
        ];
        r
    }

    fn typical() -> CommentBody {
        let mut body = CommentBody::default();
        body.upsert(ready("review-42", 0));
        body.upsert(failed("staging", 60));
        body
    }

    #[test]
    fn parse_reads_back_what_render_wrote() {
        let body = typical();
        let text = body.render(GITHUB_COMMENT_LIMIT);
        assert_eq!(CommentBody::parse(&text).as_ref(), Some(body.state()));
        assert!(CommentBody::has_marker(&text));
    }

    #[test]
    fn parse_rejects_foreign_and_broken_bodies() {
        assert_eq!(CommentBody::parse("just a comment"), None);
        assert_eq!(
            CommentBody::parse("<!-- ferry:state e30 -->"),
            None,
            "no marker"
        );
        assert_eq!(
            CommentBody::parse("<!-- ferry:v1 -->\n<!-- ferry:state !!! -->"),
            None
        );
        let v2 = URL_SAFE_NO_PAD.encode(r#"{"v":2,"rows":[]}"#);
        assert_eq!(
            CommentBody::parse(&format!("<!-- ferry:v1 --><!-- ferry:state {v2} -->")),
            None
        );
    }

    #[test]
    fn upsert_keeps_other_environments_and_their_order() {
        let text = typical().render(GITHUB_COMMENT_LIMIT);
        // Another job, another environment, then staging recovers.
        let mut body = CommentBody::new(CommentBody::parse(&text).unwrap_or_default());
        body.upsert(ready("production", 120));
        body.upsert(ready("staging", 180));
        let text = body.render(GITHUB_COMMENT_LIMIT);
        let state = CommentBody::parse(&text).unwrap_or_default();
        let names: Vec<_> = state.rows.iter().map(|r| r.environment.as_str()).collect();
        assert_eq!(names, ["review-42", "staging", "production"]);
        assert_eq!(
            state.row("staging").map(|r| r.status),
            Some(RowStatus::Ready)
        );
        assert!(!text.contains("<details>"), "the recovered row has no tail");
    }

    #[test]
    fn merge_keeps_the_newest_row_per_environment() {
        let mut ours = State::default();
        ours.upsert(ready("a", 10));
        ours.upsert(failed("b", 10));
        let mut theirs = State::default();
        theirs.upsert(failed("a", 5));
        theirs.upsert(ready("b", 20));
        theirs.upsert(ready("c", 1));
        ours.merge(theirs);
        let got: Vec<_> = ours
            .rows
            .iter()
            .map(|r| (r.environment.as_str(), r.status))
            .collect();
        assert_eq!(
            got,
            [
                ("a", RowStatus::Ready),
                ("b", RowStatus::Ready),
                ("c", RowStatus::Ready)
            ]
        );
        assert_eq!(ours.remove("c").map(|r| r.environment), Some("c".into()));
        assert!(ours.row("c").is_none());
    }

    #[test]
    fn hostile_text_stays_in_its_place() {
        let mut r = failed("pr-<!--|-->", 0);
        r.message = Some("</details> <!-- ```\n| x | @admin".into());
        r.url = Some("https://evil.example/)|<script>".into());
        let forged = URL_SAFE_NO_PAD.encode(r#"{"v":1,"rows":[]}"#);
        r.log_tail = vec![
            "```".into(),
            "</details>".into(),
            format!("<!-- ferry:state {forged} -->"),
            "-->".into(),
            "| a | b |".into(),
            "\x1b[31m@admin /approve".into(),
            "/merge".into(),
        ];
        let body = CommentBody::new(State {
            rows: vec![r.clone()],
        });
        let (text, stored) = body.render_fitted(GITHUB_COMMENT_LIMIT);

        // The state survives hostile content and is read back exactly (as stored: tail lines
        // cleaned of escape sequences), and the forged state in the tail is not what is read.
        assert_eq!(CommentBody::parse(&text).as_ref(), Some(&stored));
        r.log_tail[5] = "@admin /approve".into();
        assert_eq!(stored.rows, [r]);
        // Structure: exactly one details block, one fence pair, one marker, one state comment.
        assert_eq!(text.matches("<details>").count(), 1);
        assert_eq!(
            text.matches("</details>").count(),
            2,
            "one real, one in the code block"
        );
        let fences = text
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        assert_eq!(fences, 2, "{text}");
        assert_eq!(
            text.matches("<!--").count(),
            3,
            "marker, state, and one in the code block"
        );
        // The table row has exactly its seven pipes.
        let row_line = text
            .lines()
            .find(|l| l.starts_with("| **"))
            .unwrap_or_default();
        assert_eq!(row_line.matches('|').count(), 7, "{row_line}");
        // No escape sequences, no quick action at a line start, no live mention outside code.
        assert!(!text.contains('\x1b'));
        assert!(!text.lines().any(|l| l.starts_with("/merge")));
        assert!(text.contains("@\u{200b}admin"));
    }

    #[test]
    fn stays_within_the_limit_however_long_the_tail() {
        let mut r = failed("staging", 0);
        r.log_tail = (0..5_000)
            .map(|i| format!("{i:05} {}", "log ".repeat(30)))
            .collect();
        let body = CommentBody::new(State {
            rows: vec![ready("review-42", 0), r],
        });
        let (text, stored) = body.render_fitted(GITHUB_COMMENT_LIMIT);
        assert!(text.len() <= GITHUB_COMMENT_LIMIT, "{}", text.len());
        // Kept the newest lines, said how many were dropped, and the state matches the body.
        let tail = &stored.rows[1].log_tail;
        assert!(tail.last().is_some_and(|l| l.starts_with("04999 ")));
        assert_eq!(stored.rows[1].log_tail_omitted + tail.len(), 5_000);
        assert!(text.contains(&format!(
            "{} earlier not shown: size limit",
            stored.rows[1].log_tail_omitted
        )));
        assert_eq!(CommentBody::parse(&text), Some(stored));
        // Not needlessly short either: more than half the budget is used.
        assert!(text.len() > GITHUB_COMMENT_LIMIT / 2);
    }

    #[test]
    fn stays_within_the_limit_with_many_environments() {
        let mut state = State::default();
        for i in 0..1_000 {
            state.upsert(ready(&format!("review-{i:04}"), i));
        }
        let text = CommentBody::new(state).render(GITHUB_COMMENT_LIMIT);
        assert!(text.len() <= GITHUB_COMMENT_LIMIT);
        let kept = CommentBody::parse(&text).unwrap_or_default();
        assert!(kept.row("review-0999").is_some(), "the newest row is kept");
        assert!(text.contains("older environments not shown: comment size limit"));
    }

    #[test]
    fn snapshot_typical_body() {
        insta::assert_snapshot!(typical().render(GITHUB_COMMENT_LIMIT));
    }
}
