//! The job summary (GitHub `$GITHUB_STEP_SUMMARY`, `ferry demo`'s `summary.md`): the comment's
//! table for this run's environment, then what each phase did — ids, states, durations, outputs.
//!
//! It needs no forge permission, which makes it the channel that always works (fork pull requests
//! included). Everything shown is escaped by [`super::markdown`]; the size is kept by [`super::fit`].

use std::fmt::Write as _;

use super::fit::{Omitted, fit};
use super::human_duration::HumanDuration;
use super::markdown;
use super::row::{Row, culprit};
use super::table::Table;
use crate::platform::{PhaseOutcome, RunOutcome, Status};

/// GitHub's limit for one step's summary, in bytes (over it, the summary is replaced by an error).
pub(crate) const GITHUB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// How many characters of an output value or a phase message are shown.
const VALUE_CHARS: usize = 500;
const MESSAGE_CHARS: usize = 1_000;

/// A job summary for one run.
#[derive(Clone, Debug)]
pub(crate) struct Summary<'a> {
    outcome: &'a RunOutcome,
    row: Row,
}

impl<'a> Summary<'a> {
    /// The summary of `outcome`, headed by its environment's `row` (see [`Row::from_outcome`]).
    pub(crate) fn new(outcome: &'a RunOutcome, row: Row) -> Self {
        Self { outcome, row }
    }

    /// The Markdown summary, at most `max_chars` long (measured in UTF-8 bytes).
    pub(crate) fn render(&self, max_chars: usize) -> String {
        fit(vec![self.row.clone()], max_chars, |rows, omitted| {
            self.render_rows(rows, omitted)
        })
        .0
    }

    fn render_rows(&self, rows: &[Row], _omitted: Omitted) -> String {
        let outcome = self.outcome;
        let mut out = String::with_capacity(2048);
        let _ = write!(out, "### 🚢 ferry {}", outcome.command.as_str());
        if let Some(env) = &outcome.environment {
            let _ = write!(out, ": {}", markdown::text(env));
        }
        out.push_str("\n\n");
        Table::new(rows).render_into(&mut out);
        if outcome.phases.is_empty() {
            return out;
        }

        out.push_str("\n#### Phases\n\n| Phase | Status | ID | State | Duration |\n");
        out.push_str("| :--- | :--- | :--- | :--- | :--- |\n");
        for p in &outcome.phases {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                p.phase,
                status_cell(p.status),
                p.id.as_deref().map_or_else(|| "—".to_owned(), short_code),
                p.state
                    .as_deref()
                    .map_or_else(|| "—".to_owned(), short_code),
                HumanDuration(p.duration),
            );
        }
        // The row above already quotes the failed phase's message: each failure is said once.
        let quoted = self
            .row
            .message
            .as_ref()
            .and(culprit(outcome))
            .map(|p| p.phase);
        let messages: Vec<&PhaseOutcome> = outcome
            .phases
            .iter()
            .filter(|p| p.message.is_some() && Some(p.phase) != quoted)
            .collect();
        if !messages.is_empty() {
            out.push('\n');
        }
        for p in messages {
            let message = p.message.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "- **{}**: {}",
                p.phase,
                markdown::text(&markdown::shorten(message, MESSAGE_CHARS))
            );
        }

        if outcome.phases.iter().any(|p| !p.outputs.is_empty()) {
            out.push_str("\n#### Outputs\n\n| Phase | Name | Value |\n| :--- | :--- | :--- |\n");
            for p in &outcome.phases {
                for (name, value) in &p.outputs {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        p.phase,
                        markdown::code(name),
                        short_code(value)
                    );
                }
            }
        }
        out
    }
}

fn short_code(s: &str) -> String {
    markdown::code(&markdown::shorten(s, VALUE_CHARS))
}

fn status_cell(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "✅ Succeeded",
        Status::Failed => "❌ Failed",
        Status::Cancelled => "🚫 Cancelled",
        Status::TimedOut => "⌛ Timed out",
        Status::Errored => "⚠️ Error",
        Status::Detached => "↗️ Detached",
        Status::Skipped => "⏭️ Skipped",
    }
}
