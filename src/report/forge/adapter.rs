//! What one forge does for the shared [`ForgeReporter`](super::reporter::ForgeReporter): its
//! API calls, one operation each, and the words for its messages. Nothing here decides *when* to
//! call, what a refusal means for the rest of the run, or how a failure is worded: the reporter
//! does, once for every forge.

use async_trait::async_trait;

use crate::error::Error;
use crate::platform::RunOutcome;
use crate::report::Row;
use crate::report::sink_failure;

/// The kinds of report a forge reporter makes, each needing its own permission, and the reads
/// that find where to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    /// The commit status (`ferry/<environment>`).
    Status,
    /// A deployment record with its statuses (GitHub).
    Deployment,
    /// The sticky change-request comment (pull-request comment, merge-request note).
    Comment,
    /// Reads that find the commit and the change request: never a permission problem.
    Lookup,
}

/// How a forge names itself and its reports in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    /// The sink's name, which starts its warnings: `github`.
    pub(crate) sink: &'static str,
    /// The forge as people write it: `GitHub`.
    pub(crate) forge: &'static str,
    /// Its change-request comment: `pull-request comment`.
    pub(crate) comment: &'static str,
    /// Its look-up of where to report: `pull-request lookup`.
    pub(crate) lookup: &'static str,
}

impl Names {
    /// The name of `surface` on this forge.
    pub(crate) fn of(&self, surface: Surface) -> &'static str {
        match surface {
            Surface::Status => "commit status",
            Surface::Deployment => "deployment",
            Surface::Comment => self.comment,
            Surface::Lookup => self.lookup,
        }
    }
}

/// A commit-status change the reporter asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StatusChange<'a> {
    /// The work started (`pending`, `running`).
    Started,
    /// The run ended. `log_url` is the platform's log of the phase that decided the outcome,
    /// else the CI job's page.
    Finished {
        outcome: &'a RunOutcome,
        log_url: Option<&'a str>,
    },
}

/// A forge call that failed: what happened, the fix when the adapter knows one, and whether the
/// forge refused the token's permission (which the reporter handles as a degraded report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForgeError {
    /// A 403 that is not a rate limit: the token may not do this.
    pub(crate) refused: bool,
    pub(crate) what: String,
    pub(crate) fix: Option<String>,
}

impl From<Error> for ForgeError {
    fn from(error: Error) -> Self {
        // A rate limit's 403 carries the wait; a refusal does not.
        let refused = matches!(
            error,
            Error::PlatformApi {
                status: 403,
                retry_after: None,
                ..
            }
        );
        let (what, fix) = sink_failure::split(&error);
        Self { refused, what, fix }
    }
}

/// One forge's side of reporting. GitHub and GitLab implement it; a third forge needs its client
/// and this. Every call is best effort: an `Err` becomes a warning (or, when `refused`, part of
/// the one degraded notice), never a different deploy result.
///
/// The reporter calls, in this order and only for the [`Adapter::surfaces`] this run writes to
/// and the token may still write to:
///
/// 1. when the first phase starts, beside the dispatcher: [`Adapter::locate`], then (when
///    [`Adapter::commit`] is known) [`Adapter::set_status`] `Started` and, for a deploy,
///    [`Adapter::start_deployment`];
/// 2. when the run ends: [`Adapter::finish_deployment`], [`Adapter::set_status`] `Finished`,
///    [`Adapter::comment`].
#[async_trait]
pub(crate) trait Adapter: Send + 'static {
    /// How this forge is named in messages.
    const NAMES: Names;

    /// The kinds of report this run makes (a stop sets no GitHub status; `comment = "off"`).
    fn surfaces(&self) -> Vec<Surface>;

    /// Finds where to report (the commit, the change request), with at most a call or two.
    /// On `Err` the adapter still reports on what it knew without calling.
    async fn locate(&mut self) -> Result<(), ForgeError> {
        Ok(())
    }

    /// The commit the statuses go on, once located; `None` when it is unknown.
    fn commit(&self) -> Option<&str>;

    /// The commit the comment's and the summary's row shows, when the adapter knows better than
    /// the context (a pull request's head it looked up).
    fn row_commit(&self) -> Option<String>;

    /// Sets the commit status.
    async fn set_status(&mut self, change: StatusChange<'_>) -> Result<(), ForgeError>;

    /// Starts the forge's deployment record, for forges that keep one.
    async fn start_deployment(&mut self) -> Result<(), ForgeError> {
        Ok(())
    }

    /// Finishes it (or, for `ferry stop`, marks the environment's records inactive).
    async fn finish_deployment(
        &mut self,
        outcome: &RunOutcome,
        log_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        let _ = (outcome, log_url);
        Ok(())
    }

    /// The forge's id of this run's deployment record, if it made one.
    fn deployment(&self) -> Option<u64> {
        None
    }

    /// Puts `row` into the change request's sticky comment. `Ok(Some(sentence))` when there is
    /// no change request worth saying so (the sentence goes to the log and the summary).
    async fn comment(&mut self, row: &Row) -> Result<Option<String>, ForgeError>;

    /// The words for a refusal of `missing`: why (which permission the token lacks) and the fix.
    /// `read_only` when the token can write nothing at all here (see
    /// [`Adapter::refusal_is_read_only`]).
    fn refusal(&self, missing: &[Surface], read_only: bool) -> (String, String);

    /// True when one refusal means the token is read-only for the whole run (a GitHub pull
    /// request from a fork), so the reporter stops writing anything.
    fn refusal_is_read_only(&self) -> bool {
        false
    }

    /// True once the client stopped calling the forge for this run (a spent rate-limit budget).
    fn gave_up(&self) -> bool {
        false
    }

    /// How many requests the client sent (for `-v`).
    fn calls(&self) -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_is_a_refusal_unless_it_is_a_rate_limit() {
        let answer = |retry_after| Error::PlatformApi {
            platform: "GitHub".into(),
            method: "POST".into(),
            url: "https://api.github.com/repos/o/r/statuses/abc".into(),
            status: 403,
            body: "Resource not accessible by integration".into(),
            retry_after,
        };
        let refused = ForgeError::from(answer(None));
        assert!(refused.refused);
        assert_eq!(
            refused.what,
            "POST https://api.github.com/repos/o/r/statuses/abc answered HTTP 403: Resource not \
             accessible by integration"
        );
        assert!(!ForgeError::from(answer(Some(std::time::Duration::from_secs(60)))).refused);
    }
}
