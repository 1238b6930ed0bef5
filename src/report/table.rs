//! The environments table shared by the PR comment, the MR note and the job summary, in the shape
//! of Vercel's bot (Environment | Status | URL | Commit | Duration | Updated), followed by a
//! collapsed log tail for each environment that went wrong.
//!
//! Every value is untrusted and goes through [`super::markdown`]; nothing here decides sizes
//! (that is [`super::fit`]).

use std::fmt::Write as _;

use super::human_duration::HumanDuration;
use super::markdown;
use super::row::Row;

/// How many characters of a URL are shown as its label.
const URL_LABEL_CHARS: usize = 60;
/// How many characters of a message are shown in a `<summary>` line.
const SUMMARY_MESSAGE_CHARS: usize = 300;

/// Rows rendered as a Markdown table plus failure details.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table<'a> {
    rows: &'a [Row],
}

impl<'a> Table<'a> {
    /// A table of `rows`, in the given order.
    pub(crate) fn new(rows: &'a [Row]) -> Self {
        Self { rows }
    }

    /// The table, then one block per row that went wrong. Ends with a newline.
    #[cfg(test)]
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    /// Appends [`Table::render`]'s output to `out`.
    pub(crate) fn render_into(&self, out: &mut String) {
        out.push_str("| Environment | Status | URL | Commit | Duration | Updated |\n");
        out.push_str("| :--- | :--- | :--- | :--- | :--- | :--- |\n");
        for row in self.rows {
            let _ = writeln!(
                out,
                "| **{}** | {} | {} | {} | {} | {} |",
                markdown::text(&row.environment),
                status_cell(row),
                url_cell(row),
                commit_cell(row),
                row.duration
                    .map_or_else(|| "—".to_owned(), |d| HumanDuration(d).to_string()),
                updated_cell(row),
            );
        }
        for row in self.rows.iter().filter(|r| r.status.is_bad()) {
            failure_block(row, out);
        }
    }
}

fn status_cell(row: &Row) -> String {
    let mut cell = format!("{} {}", row.status.emoji(), row.status.word());
    if let Some(logs) = row.logs_url.as_deref().and_then(markdown::href) {
        let _ = write!(cell, " ([logs]({logs}))");
    }
    cell
}

fn url_cell(row: &Row) -> String {
    match &row.url {
        Some(url) => markdown::link(&markdown::url_label(url, URL_LABEL_CHARS), url),
        None => "—".to_owned(),
    }
}

fn commit_cell(row: &Row) -> String {
    let Some(sha) = row.commit.as_deref() else {
        return "—".to_owned();
    };
    if sha.len() >= 7 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        let short = &sha[..7];
        match row.commit_url.as_deref().and_then(markdown::href) {
            Some(dest) => format!("[`{short}`]({dest})"),
            None => format!("`{short}`"),
        }
    } else {
        markdown::code(&markdown::shorten(sha, 12))
    }
}

/// `2025-01-02 03:04 UTC`: minutes are enough in a table, and the zone is said.
fn updated_cell(row: &Row) -> String {
    let iso = humantime::format_rfc3339_seconds(row.updated).to_string();
    // `YYYY-MM-DDTHH:MM:SSZ`
    match (iso.get(..10), iso.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => iso,
    }
}

fn failure_block(row: &Row, out: &mut String) {
    let env = markdown::text(&row.environment);
    let message = row
        .message
        .as_deref()
        .map(|m| markdown::text(&markdown::shorten(m, SUMMARY_MESSAGE_CHARS)));
    if row.log_tail.is_empty() {
        if let Some(message) = message {
            let _ = writeln!(out, "\n{} **{env}**: {message}", row.status.emoji());
        }
        return;
    }
    let lines = row.log_tail.len();
    let mut what = format!("last {lines} log line{}", if lines == 1 { "" } else { "s" });
    if row.log_tail_omitted > 0 {
        let _ = write!(
            what,
            " ({} earlier not shown: size limit)",
            row.log_tail_omitted
        );
    }
    let _ = write!(
        out,
        "\n<details><summary>{} <b>{env}</b>: ",
        row.status.emoji()
    );
    if let Some(message) = message {
        let _ = write!(out, "{message} — ");
    }
    let _ = writeln!(out, "{what}</summary>\n");
    out.push_str(&markdown::code_block(&row.log_tail));
    out.push_str("\n</details>\n");
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::report::row::RowStatus;

    fn row(status: RowStatus) -> Row {
        Row::new(
            "review-42",
            status,
            UNIX_EPOCH + Duration::from_secs(1_735_787_045),
        )
    }

    #[test]
    fn hostile_cells_cannot_split_the_row_or_open_html() {
        let mut r = row(RowStatus::Ready);
        r.environment = "a|b<!--".into();
        r.url = Some("https://x.example/|)<".into());
        r.commit = Some("not|a sha`".into());
        let table = Table::new(std::slice::from_ref(&r)).render();
        let line = table.lines().nth(2).unwrap_or_default();
        assert_eq!(line.matches('|').count(), 7, "{line}");
        assert!(!line.contains('<') || line.contains("<code>"), "{line}");
        assert!(!line.contains("<!--"), "{line}");
    }

    #[test]
    fn updated_is_shown_in_utc_minutes() {
        assert_eq!(updated_cell(&row(RowStatus::Ready)), "2025-01-02 03:04 UTC");
    }

    #[test]
    fn bad_rows_without_tail_show_the_message() {
        let mut r = row(RowStatus::Errored);
        r.message = Some("cannot reach\nplatform".into());
        let out = Table::new(std::slice::from_ref(&r)).render();
        assert!(
            out.ends_with("\n⚠️ **review-42**: cannot reach platform\n"),
            "{out}"
        );
    }
}
