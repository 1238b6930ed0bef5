//! The GitLab API sink: the commit status (`running` at the first phase, the final state at the
//! end) and the sticky merge-request note (at the end), best effort: every failure becomes a
//! warning through the returned `Result`, never a different deploy result.
//!
//! Order at the end: the status first (it is what merge checks and people look at), then the
//! note. An MR deploy costs at most 8 requests: `running`, final state, `GET /user`, one page of
//! notes, the write, the read-back (6), plus the MR look-up in a branch pipeline and a second
//! notes page on long MRs.

use std::io::Write as _;
use std::time::SystemTime;

use async_trait::async_trait;
use gitlab::api::projects::repository::commits::CommitStatusState;

use super::client::{Failure, GitlabClient};
use super::note::{self, Notes};
use super::status::{self, Posted};
use super::target::{NoteTarget, StatusTarget};
use crate::ci::Context;
use crate::config::CommentMode;
use crate::error::{Error, Result};
use crate::platform::{Command, Event, RunOutcome};
use crate::report::{Row, Sink, Stamped};
use crate::secret::Redactor;
use crate::stream::Stream;

/// What the reporter needs, resolved before the run.
pub(crate) struct Plan {
    pub(crate) status: Option<StatusTarget>,
    pub(crate) status_name: String,
    pub(crate) note: NoteTarget,
    pub(crate) comment: CommentMode,
    pub(crate) environment: String,
    pub(crate) command: Command,
    /// The context with the `sha` setting applied (the commit the note's row shows).
    pub(crate) context: Context,
}

/// The GitLab API sink.
pub(crate) struct Reporter {
    client: GitlabClient,
    plan: Plan,
    redactor: Redactor,
    log: Stream,
    running: bool,
    failures: Vec<Failure>,
}

impl Reporter {
    pub(crate) fn new(client: GitlabClient, plan: Plan, redactor: Redactor, log: Stream) -> Self {
        Self {
            client,
            plan,
            redactor,
            log,
            running: false,
            failures: Vec::new(),
        }
    }

    async fn post_status(
        &mut self,
        state: CommitStatusState,
        description: &str,
        url: Option<&str>,
    ) {
        let Some(target) = self.plan.status.clone() else {
            tracing::debug!("no commit status: the project or commit is unknown");
            return;
        };
        match status::post(
            &self.client,
            &target,
            &self.plan.status_name,
            state,
            description,
            url,
        )
        .await
        {
            Ok(Posted::Done) => {}
            Ok(Posted::AlreadyThere) => {
                tracing::debug!(?state, "the commit status already had this state");
            }
            Err(f) => self.failures.push(f),
        }
    }

    async fn write_note(&mut self, outcome: &RunOutcome) -> std::result::Result<(), Failure> {
        if self.plan.comment == CommentMode::Off {
            return Ok(());
        }
        let (project, iid) = match &self.plan.note {
            NoteTarget::MergeRequest { project, iid } => (project.clone(), *iid),
            NoteTarget::LookUp {
                project,
                sha,
                branch,
            } => {
                let found =
                    note::open_merge_request(&self.client, project, sha, branch.as_deref()).await?;
                let Some(iid) = found else {
                    tracing::debug!("no open merge request for this commit: no note");
                    return Ok(());
                };
                (project.clone(), iid)
            }
            NoteTarget::None(why) => {
                tracing::debug!(why, "no merge request note");
                return Ok(());
            }
            NoteTarget::Invalid(why) => {
                return Err(Failure {
                    method: "-".into(),
                    url: "merge request note".into(),
                    status: None,
                    message: why.clone(),
                    hint: None,
                });
            }
        };
        let me = match self.plan.comment {
            CommentMode::Update => Some(note::current_user(&self.client).await?),
            _ => None,
        };
        if let Some(me) = &me {
            tracing::debug!(user = %me.username, id = me.id, "ferry's notes are this user's");
        }
        let mut row = Row::from_outcome(outcome, &self.plan.context, SystemTime::now());
        row.message = row.message.map(|m| self.redactor.redact(&m));
        row.log_tail = row
            .log_tail
            .iter()
            .map(|l| self.redactor.redact(l))
            .collect();
        let notes = Notes {
            client: &self.client,
            project,
            iid,
            settle: note::settle,
        };
        notes.write(self.plan.comment, me.as_ref(), &row).await
    }
}

#[async_trait]
impl Sink for Reporter {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    async fn event(&mut self, event: Stamped<'_>) -> Result<()> {
        if let Event::PhaseStarted { .. } = event.event
            && !self.running
        {
            self.running = true;
            let description =
                status::running_description(self.plan.command, &self.plan.environment);
            let url = self
                .plan
                .context
                .job_url
                .as_deref()
                .and_then(status::usable_url);
            self.post_status(CommitStatusState::Running, &description, url.as_deref())
                .await;
        }
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, _: &Context) -> Result<()> {
        let state = status::final_state(outcome);
        let description =
            status::final_description(outcome, &self.plan.environment, &self.redactor);
        let url = outcome
            .url
            .as_deref()
            .and_then(status::usable_url)
            .or_else(|| {
                self.plan
                    .context
                    .job_url
                    .as_deref()
                    .and_then(status::usable_url)
            });
        self.post_status(state, &description, url.as_deref()).await;
        if let Err(f) = self.write_note(outcome).await {
            self.failures.push(f);
        }
        tracing::debug!(calls = self.client.calls(), "GitLab requests sent");
        let mut failures = std::mem::take(&mut self.failures)
            .into_iter()
            .map(Failure::into_error);
        let first = failures.next();
        for more in failures {
            let _ = writeln!(self.log, "warning: gitlab failed: {more}");
        }
        first.map_or(Ok(()), Err)
    }
}

/// A sink that only says, at the end, why GitLab got no status or note (no token, only the job
/// token, no API URL), and fails when that is a report error.
pub(crate) struct Degraded {
    pub(crate) notice: String,
    /// Reported as a failure (a warning; exit 5 with `fail_on_report_error`) when set.
    pub(crate) error: Option<Error>,
    pub(crate) log: Stream,
}

#[async_trait]
impl Sink for Degraded {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, _: &RunOutcome, _: &Context) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let _ = writeln!(self.log, "note: {}", self.notice);
        Ok(())
    }
}
