//! GitLab's side of the shared forge reporter: the commit status (`running` when the first
//! phase starts, the final state at the end, [`super::status`]) and the sticky merge-request
//! note ([`super::note`]). GitLab keeps no deployment records through this API (the job's own
//! `environment:` does), so the deployment operations are the trait's defaults.
//!
//! An MR deploy costs at most 8 requests: `running`, final state, `GET /user`, one page of
//! notes, the write, the read-back (6), plus the MR look-up in a branch pipeline and a second
//! notes page on long MRs.

use async_trait::async_trait;
use gitlab::api::projects::repository::commits::CommitStatusState;

use super::client::{Failure, GitlabClient};
use super::note::{self, Notes};
use super::status::{self, Posted};
use super::target::{NoteTarget, StatusTarget};
use crate::ci::Context;
use crate::config::CommentMode;
use crate::platform::Command;
use crate::report::Row;
use crate::report::forge::adapter::{Adapter, ForgeError, Names, StatusChange, Surface};

/// How GitLab is named in messages.
pub(crate) const NAMES: Names = Names {
    sink: "gitlab",
    forge: "GitLab",
    comment: "merge-request note",
    lookup: "merge-request lookup",
};

/// The kinds of report a run makes on GitLab: the status always, the note unless
/// `comment = "off"`.
pub(crate) fn surfaces(comment: CommentMode) -> Vec<Surface> {
    let mut out = vec![Surface::Status];
    if comment != CommentMode::Off {
        out.push(Surface::Comment);
    }
    out
}

/// What the adapter needs, resolved before the run.
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

/// GitLab, for one run.
pub(crate) struct GitlabAdapter {
    pub(crate) client: GitlabClient,
    pub(crate) plan: Plan,
    /// Redacts status descriptions (CI_JOB_TOKEN included).
    pub(crate) redactor: crate::secret::Redactor,
}

impl From<Failure> for ForgeError {
    fn from(f: Failure) -> Self {
        let what = match f.status {
            Some(status) => format!(
                "{} {} answered HTTP {status}: {}",
                f.method, f.url, f.message
            ),
            None if f.method == "-" => f.message,
            None => format!("{} {}: {}", f.method, f.url, f.message),
        };
        let fix = f.hint.or_else(|| {
            f.status
                .is_none()
                .then(|| "check CI_API_V4_URL and that GitLab is reachable from the runner".into())
        });
        Self {
            refused: f.status == Some(403),
            what,
            fix,
        }
    }
}

impl GitlabAdapter {
    fn job_url(&self) -> Option<String> {
        self.plan
            .context
            .job_url
            .as_deref()
            .and_then(status::usable_url)
    }

    /// The merge request that gets the note, looking it up when the pipeline does not say.
    async fn merge_request(&self) -> Result<Option<(super::target::ProjectRef, u64)>, ForgeError> {
        match &self.plan.note {
            NoteTarget::MergeRequest { project, iid } => Ok(Some((project.clone(), *iid))),
            NoteTarget::LookUp {
                project,
                sha,
                branch,
            } => {
                let found =
                    note::open_merge_request(&self.client, project, sha, branch.as_deref()).await?;
                if found.is_none() {
                    tracing::debug!("no open merge request for this commit: no note");
                }
                Ok(found.map(|iid| (project.clone(), iid)))
            }
            NoteTarget::None(why) => {
                tracing::debug!(why, "no merge request note");
                Ok(None)
            }
            NoteTarget::Invalid(why) => Err(ForgeError {
                refused: false,
                what: why.clone(),
                fix: None,
            }),
        }
    }
}

#[async_trait]
impl Adapter for GitlabAdapter {
    const NAMES: Names = NAMES;

    fn surfaces(&self) -> Vec<Surface> {
        surfaces(self.plan.comment)
    }

    fn commit(&self) -> Option<&str> {
        self.plan.status.as_ref().map(|t| t.sha.as_str())
    }

    fn row_commit(&self) -> Option<String> {
        self.plan.context.sha.clone()
    }

    async fn set_status(&mut self, change: StatusChange<'_>) -> Result<(), ForgeError> {
        let Some(target) = self.plan.status.clone() else {
            return Ok(());
        };
        let (state, description, url) = match change {
            StatusChange::Started => (
                CommitStatusState::Running,
                status::running_description(self.plan.command, &self.plan.environment),
                self.job_url(),
            ),
            // GitLab links the app, else the job (not the platform's log).
            StatusChange::Finished { outcome, .. } => (
                status::final_state(outcome),
                status::final_description(outcome, &self.plan.environment, &self.redactor),
                outcome
                    .url
                    .as_deref()
                    .and_then(status::usable_url)
                    .or_else(|| self.job_url()),
            ),
        };
        let posted = status::post(
            &self.client,
            &target,
            &self.plan.status_name,
            state,
            &description,
            url.as_deref(),
        )
        .await?;
        if posted == Posted::AlreadyThere {
            tracing::debug!(?state, "the commit status already had this state");
        }
        Ok(())
    }

    async fn comment(&mut self, row: &Row) -> Result<Option<String>, ForgeError> {
        let Some((project, iid)) = self.merge_request().await? else {
            return Ok(None);
        };
        let me = match self.plan.comment {
            CommentMode::Update => Some(note::current_user(&self.client).await?),
            _ => None,
        };
        if let Some(me) = &me {
            tracing::debug!(user = %me.username, id = me.id, "ferry's notes are this user's");
        }
        let notes = Notes {
            client: &self.client,
            project,
            iid,
            settle: note::settle,
        };
        notes.write(self.plan.comment, me.as_ref(), row).await?;
        Ok(None)
    }

    fn refusal(&self, missing: &[Surface], _read_only: bool) -> (String, String) {
        let what = match (
            missing.contains(&Surface::Status),
            missing.contains(&Surface::Comment),
        ) {
            (true, true) => "set commit statuses or write merge-request notes",
            (false, true) => "write merge-request notes",
            _ => "set commit statuses",
        };
        (
            format!("the token may not {what} in this project"),
            "give the token's user at least the Developer role in the project (Reporter is \
             enough for notes; a protected ref also needs the right to push to it), with a \
             token of the `api` scope stored as the masked CI/CD variable FERRY_TOKEN"
                .into(),
        )
    }

    fn calls(&self) -> u32 {
        self.client.calls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_the_request_and_gitlabs_answer() {
        let f = Failure {
            method: "POST".into(),
            url: "https://gitlab.example.com/api/v4/projects/42/statuses/abc".into(),
            status: Some(400),
            message: "name has already been taken".into(),
            hint: Some("set `status_context`".into()),
        };
        let e = ForgeError::from(f);
        assert!(!e.refused);
        assert_eq!(
            e.what,
            "POST https://gitlab.example.com/api/v4/projects/42/statuses/abc answered HTTP 400: \
             name has already been taken"
        );
        assert_eq!(e.fix.as_deref(), Some("set `status_context`"));
        let transport = ForgeError::from(Failure {
            method: "GET".into(),
            url: "https://gitlab.example.com/api/v4/user".into(),
            status: None,
            message: "connection refused".into(),
            hint: None,
        });
        assert!(transport.fix.unwrap().contains("CI_API_V4_URL"));
        let refused = ForgeError::from(Failure {
            method: "POST".into(),
            url: "u".into(),
            status: Some(403),
            message: "403 Forbidden".into(),
            hint: None,
        });
        assert!(refused.refused);
    }
}
