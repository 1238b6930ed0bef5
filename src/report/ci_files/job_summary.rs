//! The job summary (`$GITHUB_STEP_SUMMARY`): the shared [`Summary`] of the run, then what could
//! not be reported to the forge and why (from the run's [`Findings`]). It needs no permission,
//! so it is the channel that always works (fork pull requests, no token at all): a sink of its
//! own, written at the end of every run.
//!
//! GitHub replaces a step summary over 1 MiB with an error, so the summary is fitted into what is
//! left of that after anything already in the file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::ci::Context;
use crate::error::Result;
use crate::platform::RunOutcome;
use crate::report::findings::Findings;
use crate::report::markdown;
use crate::report::row::Row;
use crate::report::summary::{GITHUB_SUMMARY_LIMIT, Summary};
use crate::report::{Sink, Stamped};

/// The job-summary sink: appends the run's summary to `$GITHUB_STEP_SUMMARY` at the end.
pub(crate) struct JobSummary {
    path: PathBuf,
    findings: Findings,
}

impl JobSummary {
    /// A sink appending to `path` (the file `$GITHUB_STEP_SUMMARY` names).
    pub(crate) fn new(path: PathBuf, findings: Findings) -> Self {
        Self { path, findings }
    }
}

#[async_trait]
impl Sink for JobSummary {
    fn name(&self) -> &'static str {
        "job summary"
    }

    async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, context: &Context) -> Result<()> {
        let found = self.findings.get();
        // The row shows the commit the forge reported on (a pull request's head it looked up).
        let mut context = context.clone();
        if let Some(sha) = found.commit.clone() {
            context.sha = Some(sha);
        }
        let row = Row::from_outcome(outcome, &context, SystemTime::now());
        append(&self.path, outcome, row, &found.summary_notes())
    }
}

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
    super::append(path, "$GITHUB_STEP_SUMMARY", &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[tokio::test]
    async fn written_without_any_forge_and_with_what_the_forge_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        let mut sink = JobSummary::new(path.clone(), Findings::default());
        sink.finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("### 🚢 ferry deploy: review-42"), "{text}");
        assert!(!text.contains("[!NOTE]"), "{text}");

        let findings = Findings::default();
        findings.reported_on(Some("f".repeat(40)), None);
        findings.incomplete("GitHub");
        let mut sink = JobSummary::new(path.clone(), findings);
        sink.finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("### 🚢 ferry deploy").count(), 2, "appended");
        assert!(text.contains("`fffffff`"), "{text}");
        assert!(
            text.contains("> Not everything was reported to GitHub"),
            "{text}"
        );
    }
}
