//! GitHub's side of the shared forge reporter: each operation of [`Adapter`] as GitHub's calls
//! ([`super::target`], [`super::status`], [`super::deployment`], [`super::sticky`]), and what it
//! learns on the way (the pull request and head commit, ferry's own login, the deployment id).

use async_trait::async_trait;

use super::client::Client;
use super::deployment::{self, DeploymentStatus};
use super::identity::{self, Identity};
use super::permissions;
use super::status::{self, CommitStatus};
use super::sticky::Sticky;
use super::target::{Repo, Target};
use crate::ci::Context;
use crate::config::{CommentMode, DeploymentsMode, Settings};
use crate::plan::Subject;
use crate::platform::{Command, RunOutcome};
use crate::report::Row;
use crate::report::forge::adapter::{Adapter, ForgeError, Names, StatusChange, Surface};

/// How GitHub is named in messages.
pub(crate) const NAMES: Names = Names {
    sink: "github",
    forge: "GitHub",
    comment: "pull-request comment",
    lookup: "pull-request lookup",
};

/// The kinds of report a run makes on GitHub: a status unless it stops an environment, a
/// deployment when asked for and there is an environment (not for a build), the comment unless
/// `comment = "off"`.
pub(crate) fn surfaces(
    command: Command,
    settings: &Settings,
    environment: Option<&str>,
) -> Vec<Surface> {
    let mut out = Vec::new();
    if command != Command::Stop {
        out.push(Surface::Status);
    }
    if settings.deployments == DeploymentsMode::Create
        && environment.is_some()
        && command != Command::Build
    {
        out.push(Surface::Deployment);
    }
    if settings.comment != CommentMode::Off {
        out.push(Surface::Comment);
    }
    out
}

/// GitHub, for one run.
pub(crate) struct GithubAdapter {
    pub(crate) client: Client,
    pub(crate) repo: Repo,
    pub(crate) settings: Settings,
    pub(crate) subject: Subject,
    pub(crate) context: Context,
    pub(crate) command: Command,
    pub(crate) environment: Option<String>,
    /// Where to report, once located.
    pub(crate) target: Option<Target>,
    /// ferry's login, once known.
    pub(crate) identity: Option<Identity>,
    pub(crate) deployment: Option<u64>,
}

impl GithubAdapter {
    fn status_context(&self) -> String {
        status::context_name(
            self.settings.status_context.as_deref(),
            self.environment.as_deref(),
        )
    }
}

#[async_trait]
impl Adapter for GithubAdapter {
    const NAMES: Names = NAMES;

    fn surfaces(&self) -> Vec<Surface> {
        surfaces(self.command, &self.settings, self.environment.as_deref())
    }

    async fn locate(&mut self) -> Result<(), ForgeError> {
        let resolved =
            Target::resolve(&self.context, &self.subject, &self.repo, &self.client).await;
        let (target, failed) = match resolved {
            Ok(t) => (t, None),
            Err(e) => (Target::known(&self.context, &self.subject), Some(e)),
        };
        tracing::debug!(sha = ?target.sha, pr = ?target.pr, how = target.pr_source, "GitHub target");
        self.target = Some(target);
        failed.map_or(Ok(()), |e| Err(e.into()))
    }

    fn commit(&self) -> Option<&str> {
        self.target.as_ref().and_then(|t| t.sha.as_deref())
    }

    fn row_commit(&self) -> Option<String> {
        self.target.as_ref().and_then(|t| t.sha.clone())
    }

    async fn set_status(&mut self, change: StatusChange<'_>) -> Result<(), ForgeError> {
        let Some(sha) = self.commit().map(str::to_owned) else {
            return Ok(());
        };
        let status = match change {
            StatusChange::Started => CommitStatus::pending(
                self.command,
                self.environment.as_deref(),
                self.context.job_url.as_deref(),
            ),
            StatusChange::Finished { outcome, log_url } => {
                let link = outcome.url.as_deref().or(log_url);
                CommitStatus::finished(outcome, link)
            }
        };
        let context = self.status_context();
        let creator = status
            .post(&self.client, &self.repo, &sha, &context)
            .await?;
        if self.identity.is_none() {
            self.identity = creator.map(|c| Identity::new(c, "the commit status's creator"));
        }
        Ok(())
    }

    async fn start_deployment(&mut self) -> Result<(), ForgeError> {
        let (Some(sha), Some(env)) = (self.commit().map(str::to_owned), self.environment.clone())
        else {
            return Ok(());
        };
        let id = deployment::create(
            &self.client,
            &self.repo,
            &sha,
            &env,
            self.settings.production,
        )
        .await?;
        self.deployment = Some(id);
        DeploymentStatus::in_progress(self.context.job_url.as_deref())
            .post(&self.client, &self.repo, id, self.settings.auto_inactive)
            .await?;
        Ok(())
    }

    async fn finish_deployment(
        &mut self,
        outcome: &RunOutcome,
        log_url: Option<&str>,
    ) -> Result<(), ForgeError> {
        match (self.command, self.deployment) {
            (Command::Stop, _) if outcome.status.is_good() => {
                let env = self.environment.clone().unwrap_or_default();
                deployment::stop(&self.client, &self.repo, &env).await?;
            }
            (Command::Deploy, Some(id)) => {
                if let Some(status) = DeploymentStatus::finished(outcome, log_url) {
                    status
                        .post(&self.client, &self.repo, id, self.settings.auto_inactive)
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn deployment(&self) -> Option<u64> {
        self.deployment
    }

    async fn comment(&mut self, row: &Row) -> Result<Option<String>, ForgeError> {
        let Some(pr) = self.target.as_ref().and_then(|t| t.pr) else {
            return Ok(Some(
                "No pull request is associated with this run, so no pull-request comment was \
                 written; set `pr_number` to comment on one."
                    .into(),
            ));
        };
        if self.identity.is_none() && self.settings.comment == CommentMode::Update {
            self.identity = Some(Identity::discover(&self.client).await?);
        }
        let me = self
            .identity
            .clone()
            .unwrap_or_else(|| Identity::new(identity::ACTIONS_BOT, "unused"));
        let sticky = Sticky {
            client: &self.client,
            repo: &self.repo,
            pr,
            identity: &me,
            settle: None,
        };
        match self.settings.comment {
            CommentMode::New => sticky.post_new(row).await?,
            _ => sticky.upsert(row).await?,
        };
        Ok(None)
    }

    fn refusal(&self, missing: &[Surface], read_only: bool) -> (String, String) {
        permissions::refusal(missing, read_only, self.repo.as_str())
    }

    /// A fork's pull request gets a read-only `GITHUB_TOKEN`, except under
    /// `pull_request_target`, which runs with the base repository's token.
    fn refusal_is_read_only(&self) -> bool {
        let fork = self
            .context
            .change_request
            .as_ref()
            .is_some_and(|c| c.is_fork == Some(true));
        fork && self.context.run.event.as_deref() != Some("pull_request_target")
    }

    fn gave_up(&self) -> bool {
        self.client.gave_up()
    }

    fn calls(&self) -> u32 {
        self.client.calls()
    }
}
