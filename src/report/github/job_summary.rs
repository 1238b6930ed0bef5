//! The job summary (`$GITHUB_STEP_SUMMARY`): the shared [`Summary`] of the run, then what could
//! not be reported to GitHub and why. It needs no permission, so it is the channel that always
//! works (fork pull requests included).
//!
//! GitHub replaces a step summary over 1 MiB with an error, so the summary is fitted into what is
//! left of that after anything already in the file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::platform::RunOutcome;
use crate::report::markdown;
use crate::report::row::Row;
use crate::report::summary::{GITHUB_SUMMARY_LIMIT, Summary};

/// The Markdown for the run, within `max` bytes; `notes` are plain sentences (escaped here).
pub(crate) fn render(outcome: &RunOutcome, row: Row, notes: &[String], max: usize) -> String {
    let mut tail = String::new();
    for note in notes {
        let _ = writeln!(tail, "\n> [!NOTE]\n> {}", markdown::text(note));
    }
    let room = max.saturating_sub(tail.len());
    let mut text = Summary::new(outcome, row).render(room);
    if text.len() + tail.len() <= max {
        text.push_str(&tail);
    }
    text
}

/// Appends the summary to the file named by `$GITHUB_STEP_SUMMARY`.
pub(crate) fn append(path: &Path, outcome: &RunOutcome, row: Row, notes: &[String]) -> Result<()> {
    let used = std::fs::metadata(path).map_or(0, |m| m.len());
    let room = GITHUB_SUMMARY_LIMIT.saturating_sub(usize::try_from(used).unwrap_or(usize::MAX));
    let mut text = render(outcome, row, notes, room.saturating_sub(1));
    text.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| Error::Io {
            path: format!("$GITHUB_STEP_SUMMARY ({})", path.display()),
            source,
        })
}
