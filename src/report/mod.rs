//! Stage 5 — how we report: sinks that consume the engine's events and the final outcome.
//!
//! Each sink has one audience: the terminal, the CI log, the `--events` file, the job's outputs,
//! a forge. Sinks never decide what happened; they only show it. A failing sink is a warning
//! (unless `fail_on_report_error`), never a reason to change the deploy's result.
//!
//! What is here:
//!
//! - [`dispatch()`] / [`finish_all`]: stamp each event once and feed every sink, collecting failures,
//!   each worded one way by [`SinkFailure`] (`<sink> failed (<part>): <what>; fix: <hint>`);
//! - [`Console`]: human progress on stderr ([`Flavour`]: terminal, plain, GitHub Actions, GitLab CI);
//! - [`EventsFile`]: `--events FILE`, NDJSON in the `ferry.events/v1` schema;
//! - [`job_reports`]: the reports a CI job leaves besides its log, chosen in `forge`:
//!   - the forge reporters: one shared sequencing (`forge::reporter`, start-of-run calls in the
//!     background so nothing waits for a forge, one degraded notice, one warning wording) over a
//!     small adapter per forge (`github/`, `gitlab/`: their clients and calls);
//!   - the CI files (`ci_files`): step outputs, job summary, dotenv report, sinks of their own
//!     that need no token and read what the forges found (`findings`);
//! - the comment model shared by the PR comment, the MR note and the job summary: [`Row`],
//!   [`Table`], [`CommentBody`] (with its embedded, mergeable [`State`]) and [`Summary`];
//! - [`Preview`]: `ferry demo`'s `comment.md` and `summary.md`;
//! - [`EarlyError`]: an error that ended ferry before its run began, shown where the CI's users
//!   look (an annotation, the step outputs and summary, the dotenv report).
//!
//! Untrusted text (platform logs, states, messages, branch and environment names) is escaped for
//! where it goes: terminals and job logs (`sanitize`), GitHub workflow commands
//! (`workflow_commands`), GitLab log sections (`log_section`), Markdown and HTML (`markdown`).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::ci::Context;
use crate::error::Result;
use crate::platform::{Event, RunOutcome};

mod ci_files;
mod comment;
mod console;
pub(crate) mod diagnostics;
mod dispatch;
mod early_error;
mod events_file;
mod findings;
mod fit;
mod forge;
mod github;
mod gitlab;
mod human_duration;
pub(crate) mod inert;
mod log_section;
mod markdown;
mod paint;
pub(crate) mod plan_text;
mod preview;
mod progress_line;
mod row;
mod sanitize;
mod sink_failure;
mod summary;
mod table;
mod workflow_commands;

#[cfg(test)]
mod fixture;

pub(crate) use ci_files::{Ended, write_checked};
pub(crate) use comment::GITLAB_NOTE_LIMIT;
pub use comment::{CommentBody, GITHUB_COMMENT_LIMIT, State};
pub use console::{Console, Flavour};
pub use dispatch::{dispatch, finish_all};
pub(crate) use early_error::EarlyError;
pub use events_file::EventsFile;
pub(crate) use forge::{ReportRequest, job_reports};
pub(crate) use human_duration::HumanDuration;
pub use preview::Preview;
pub(crate) use row::DEFAULT_ENVIRONMENT;
pub use row::{Row, RowStatus};
pub(crate) use sink_failure::SinkFailure;

/// An event with the time it was seen, as sinks receive it.
#[derive(Clone, Copy, Debug)]
pub struct Stamped<'a> {
    /// 1-based order of the event in the run.
    pub seq: u64,
    /// Wall-clock time the event was dispatched.
    pub time: SystemTime,
    /// Time since the run started.
    pub elapsed: Duration,
    pub event: &'a Event,
}

/// A consumer of events and of the final outcome.
#[async_trait]
pub trait Sink: Send {
    /// A short name for warnings (`terminal`, `events file`, `github`, …).
    fn name(&self) -> &'static str;

    /// Called for every event, in order.
    async fn event(&mut self, event: Stamped<'_>) -> Result<()>;

    /// Called every [`TICK`] while events are awaited, with the time since the run started, so a
    /// live display can move without events. Most sinks ignore it.
    async fn tick(&mut self, elapsed: Duration) -> Result<()> {
        let _ = elapsed;
        Ok(())
    }

    /// Called once at the end with the run's outcome and context.
    async fn finish(&mut self, outcome: &RunOutcome, context: &Context) -> Result<()>;

    /// Failures met during `finish` beyond the error it returns, already worded (a forge
    /// reporter may fail on several calls, each said on its own). Taken once, right after
    /// `finish`; most sinks have none.
    fn failures(&mut self) -> Vec<SinkFailure> {
        Vec::new()
    }
}

/// A warning for the end of a run, as the CI shows it best: an annotation in GitHub-style
/// Actions (the console has resumed workflow commands by then), a plain line elsewhere.
pub(crate) fn warning_line(ci: crate::ci::Ci, message: &str) -> String {
    end_line(ci, "warning", "warning", message)
}

/// A notice for the end of a run (a forge that got only part of the report because ferry had
/// nothing to write with), as the CI shows it best: an annotation in GitHub-style Actions, a
/// plain `note:` line elsewhere.
pub(crate) fn notice_line(ci: crate::ci::Ci, message: &str) -> String {
    end_line(ci, "notice", "note", message)
}

/// One line for the end of a run: the `command` annotation in GitHub-style Actions (one command
/// line: its data cannot start another, see `escape_data`), `<label>: …` elsewhere.
fn end_line(ci: crate::ci::Ci, command: &str, label: &str, message: &str) -> String {
    use crate::ci::Ci;
    let message = sanitize::clean(
        message,
        sanitize::Clean {
            keep_color: false,
            keep_newlines: true,
        },
    );
    match ci {
        Ci::Github | Ci::Gitea | Ci::Forgejo => format!(
            "::{command} title=ferry::{}",
            workflow_commands::escape_data(&message)
        ),
        _ => format!("{label}: {message}"),
    }
}
