//! The GitHub reporter: a sink that tells GitHub what a run did, where people look.
//!
//! | when | what | calls |
//! |---|---|---|
//! | the first phase starts | find the pull request and head commit ([`target`]) | 0–1 |
//! | | commit status `pending` ([`status`]), which also tells ferry who it is ([`identity`]) | 1 |
//! | | a deployment and its `in_progress` status ([`deployment`]) | 2 |
//! | the run ends | the deployment's final status, the commit status's final state | 2 |
//! | | the sticky pull-request comment ([`sticky`]) | 3 |
//! | | the job summary ([`job_summary`]) and step outputs ([`outputs`]) | files |
//!
//! So a pull-request deploy makes 8 calls; a push that has to look its pull request up, 9.
//!
//! Reporting is best effort: the first failure is handed back from [`Sink::finish`] as the
//! run's warning (exit code 5 only with `fail_on_report_error`), later ones are written as
//! warning lines. Without a token nothing is sent to the API; with a fork's read-only token the
//! first refused write stops the rest ([`permissions`]); either way the summary and outputs are
//! still written and one notice names the missing permissions. A 403 on one kind of report (say
//! `statuses: write` not granted) skips that kind only. Requests go through [`client`], which
//! honours rate limits ([`rate_limit`]) and never sends a creating request twice.
//!
//! The log side (groups, `::error::` annotations, neutralised platform lines) is the console
//! sink's; this one only registers secrets read from files with `::add-mask::`, before anything
//! else is written.

mod client;
mod deployment;
mod identity;
mod permissions;
mod rate_limit;
mod status;
mod sticky;
mod target;

use std::io::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use self::client::{Client, GITHUB};
use self::deployment::DeploymentStatus;
use self::identity::Identity;
use self::permissions::Surface;
use self::status::CommitStatus;
use self::sticky::Sticky;
use self::target::{Repo, Target};
use super::findings::Findings;
use super::forge::ReportRequest;
use super::row::{Row, culprit};
use super::workflow_commands::escape_data;
use super::{Sink, Stamped};
use crate::ci::{Ci, Context};
use crate::config::{CommentMode, DeploymentsMode, Settings};
use crate::error::{Error, Result};
use crate::plan::Subject;
use crate::platform::{Command, Event, RunOutcome};
use crate::secret::ExposeSecret;
use crate::stream::Stream;

/// The API side, when there is a token, an API URL and a repository.
struct Api {
    client: Client,
    repo: Repo,
}

/// The GitHub sink. See the module docs.
///
/// The calls made when the work starts run in a task beside the engine, so the other sinks
/// (the live log) never wait for GitHub; `finish` waits for them first.
pub(crate) struct GithubReporter {
    reporter: Arc<Mutex<Reporter>>,
    starting: Option<JoinHandle<()>>,
    started: bool,
}

impl GithubReporter {
    /// The reporter for a run whose repository lives on GitHub.
    pub(crate) fn new(request: &ReportRequest<'_>, findings: Findings) -> Self {
        Self {
            reporter: Arc::new(Mutex::new(Reporter::new(request, findings))),
            starting: None,
            started: false,
        }
    }
}

/// What the sink knows and does.
struct Reporter {
    settings: Settings,
    subject: Subject,
    context: Context,
    command: Command,
    environment: Option<String>,
    api: Option<Api>,
    /// Why there is no API side (no token, no repository, a bad URL).
    no_api: Option<Error>,
    findings: Findings,
    log: Stream,
    target: Option<Target>,
    identity: Option<Identity>,
    deployment: Option<u64>,
    /// Permissions GitHub refused (403), in the order met.
    denied: Vec<Surface>,
    /// The first refusal, kept for the notice.
    refusal: Option<Error>,
    /// A read-only token (a fork's pull request): no more writes this run.
    read_only: bool,
    problems: Vec<Error>,
    /// Sentences for the summary and the log (a skipped comment, …).
    notes: Vec<String>,
}

impl Reporter {
    fn new(request: &ReportRequest<'_>, findings: Findings) -> Self {
        let settings = request.settings.clone();
        let context = request.context.clone();
        let mut log = request.log.clone();
        if context.ci == Ci::Github {
            register_masks(&settings, request, &mut log);
        }
        let (api, no_api) = match api(&context, &settings, request) {
            Ok(api) => (Some(api), None),
            // Outside GitHub Actions (Jenkins, CircleCI, … on a GitHub repository), no token
            // means no GitHub reporting was asked for: nothing to say.
            Err(Error::MissingSetting { .. }) if context.ci != Ci::Github => (None, None),
            Err(e) => (None, Some(e)),
        };
        Self {
            findings,
            settings,
            subject: request.subject.clone(),
            context,
            command: request.command,
            environment: request.environment.map(str::to_owned),
            api,
            no_api,
            log,
            target: None,
            identity: None,
            deployment: None,
            denied: Vec::new(),
            refusal: None,
            read_only: false,
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn status_context(&self) -> String {
        status::context_name(
            self.settings.status_context.as_deref(),
            self.environment.as_deref(),
        )
    }

    fn wants_deployment(&self) -> bool {
        self.settings.deployments == DeploymentsMode::Create && self.environment.is_some()
    }

    /// May `surface` still be written to?
    fn open(&self, surface: Surface) -> bool {
        self.api.as_ref().is_some_and(|a| !a.client.gave_up())
            && !self.read_only
            && !self.denied.contains(&surface)
    }

    /// Records a failed call: a permission refusal disables its surface (all of them for a
    /// fork's read-only token); anything else is a problem to report.
    fn failed(&mut self, surface: Surface, error: Error) {
        // A 403 for a rate limit carries the wait; a refusal does not.
        let refused = matches!(
            error,
            Error::PlatformApi {
                status: 403,
                retry_after: None,
                ..
            }
        );
        if refused && surface != Surface::Lookup {
            if !self.denied.contains(&surface) {
                self.denied.push(surface);
            }
            let fork = self
                .context
                .change_request
                .as_ref()
                .is_some_and(|c| c.is_fork == Some(true));
            if fork && self.context.run.event.as_deref() != Some("pull_request_target") {
                self.read_only = true;
            }
            self.refusal.get_or_insert(error);
        } else {
            self.problems.push(error);
        }
    }

    /// When the first phase starts: where to report, `pending`, the deployment.
    async fn start(&mut self) {
        let Some(api) = &self.api else {
            return;
        };
        let target =
            match Target::resolve(&self.context, &self.subject, &api.repo, &api.client).await {
                Ok(t) => t,
                Err(e) => {
                    let known = Target::known(&self.context, &self.subject);
                    self.failed(Surface::Lookup, e);
                    known
                }
            };
        tracing::debug!(sha = ?target.sha, pr = ?target.pr, how = target.pr_source, "GitHub target");
        self.target = Some(target.clone());
        let Some(sha) = target.sha.clone() else {
            self.notes.push(
                "The commit is unknown here, so no commit status or deployment was posted; set \
                 `sha` to report on one."
                    .into(),
            );
            return;
        };
        if self.command != Command::Stop && self.open(Surface::Status) {
            self.post_status(
                &sha,
                CommitStatus::pending(
                    self.command,
                    self.environment.as_deref(),
                    self.context.job_url.as_deref(),
                ),
            )
            .await;
        }
        if self.command == Command::Deploy && self.wants_deployment() {
            self.create_deployment(&sha).await;
        }
    }

    async fn post_status(&mut self, sha: &str, status: CommitStatus) {
        let Some(api) = &self.api else { return };
        let context = self.status_context();
        match status.post(&api.client, &api.repo, sha, &context).await {
            Ok(creator) => {
                if self.identity.is_none() {
                    self.identity =
                        creator.map(|c| Identity::new(c, "the commit status's creator"));
                }
            }
            Err(e) => self.failed(Surface::Status, e),
        }
    }

    async fn create_deployment(&mut self, sha: &str) {
        if !self.open(Surface::Deployment) {
            return;
        }
        let (Some(api), Some(env)) = (&self.api, self.environment.clone()) else {
            return;
        };
        match deployment::create(&api.client, &api.repo, sha, &env, self.settings.production).await
        {
            Ok(id) => {
                self.deployment = Some(id);
                let status = DeploymentStatus::in_progress(self.context.job_url.as_deref());
                if let Err(e) = status
                    .post(&api.client, &api.repo, id, self.settings.auto_inactive)
                    .await
                {
                    self.failed(Surface::Deployment, e);
                }
            }
            Err(e) => self.failed(Surface::Deployment, e),
        }
    }

    /// The run's final deployment status, or `ferry stop`'s inactive marks.
    async fn finish_deployment(&mut self, outcome: &RunOutcome, log_url: Option<&str>) {
        if !self.open(Surface::Deployment) || !self.wants_deployment() {
            return;
        }
        let Some(api) = &self.api else { return };
        let result = match (self.command, self.deployment) {
            (Command::Stop, _) if outcome.status.is_good() => {
                let env = self.environment.clone().unwrap_or_default();
                deployment::stop(&api.client, &api.repo, &env)
                    .await
                    .map(|_| ())
            }
            (Command::Deploy, Some(id)) => match DeploymentStatus::finished(outcome, log_url) {
                Some(status) => {
                    status
                        .post(&api.client, &api.repo, id, self.settings.auto_inactive)
                        .await
                }
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.failed(Surface::Deployment, e);
        }
    }

    /// The sticky comment (or a new one), when there is a pull request.
    async fn comment(&mut self, row: &Row) {
        if self.settings.comment == CommentMode::Off || !self.open(Surface::Comment) {
            return;
        }
        let Some(pr) = self.target.as_ref().and_then(|t| t.pr) else {
            self.notes.push(
                "No pull request is associated with this run, so no pull-request comment was \
                 written; set `pr_number` to comment on one."
                    .into(),
            );
            return;
        };
        if self.identity.is_none() && self.settings.comment == CommentMode::Update {
            let Some(api) = &self.api else { return };
            match Identity::discover(&api.client).await {
                Ok(me) => self.identity = Some(me),
                Err(e) => {
                    self.failed(Surface::Lookup, e);
                    return;
                }
            }
        }
        let Some(api) = &self.api else { return };
        let me = self
            .identity
            .clone()
            .unwrap_or_else(|| Identity::new(identity::ACTIONS_BOT, "unused"));
        let sticky = Sticky {
            client: &api.client,
            repo: &api.repo,
            pr,
            identity: &me,
            settle: None,
        };
        let written = match self.settings.comment {
            CommentMode::New => sticky.post_new(row).await,
            _ => sticky.upsert(row).await,
        };
        if let Err(e) = written {
            self.failed(Surface::Comment, e);
        }
    }

    /// The row of this run, on the commit reported on.
    fn row(&self, outcome: &RunOutcome) -> Row {
        let mut context = self.context.clone();
        if let Some(sha) = self.target.as_ref().and_then(|t| t.sha.clone()) {
            context.sha = Some(sha);
        }
        Row::from_outcome(outcome, &context, SystemTime::now())
    }

    /// The one notice for what could not be reported, as the error `finish` returns.
    fn verdict(&mut self) -> Result<()> {
        if let Some(e) = self.no_api.take() {
            return Err(e);
        }
        let refusal = self.refusal.take().map(|refusal| {
            let missing = if self.read_only {
                self.applicable()
            } else {
                self.denied.clone()
            };
            let repo = self.api.as_ref().map_or("", |a| a.repo.as_str());
            permissions::notice(refusal, self.read_only, &missing, repo)
        });
        // One warning comes back to the caller (the permission notice first); the rest are
        // written here.
        let mut problems = refusal
            .into_iter()
            .chain(std::mem::take(&mut self.problems));
        let Some(first) = problems.next() else {
            return Ok(());
        };
        for other in problems {
            let _ = writeln!(self.log, "warning: github: {other}");
        }
        Err(first)
    }

    /// The surfaces this run would write to.
    fn applicable(&self) -> Vec<Surface> {
        let mut out = Vec::new();
        if self.command != Command::Stop {
            out.push(Surface::Status);
        }
        if self.wants_deployment() && self.command != Command::Build {
            out.push(Surface::Deployment);
        }
        if self.settings.comment != CommentMode::Off {
            out.push(Surface::Comment);
        }
        out
    }

    /// When the run ends: final statuses, the comment, the summary and outputs; and the verdict.
    async fn finish(&mut self, outcome: &RunOutcome) -> Result<()> {
        let log_url = culprit(outcome)
            .or_else(|| outcome.phases.last())
            .and_then(|p| p.outputs.get("log_url").cloned())
            .or_else(|| self.context.job_url.clone());
        self.finish_deployment(outcome, log_url.as_deref()).await;
        let sha = self.target.as_ref().and_then(|t| t.sha.clone());
        if let Some(sha) = sha
            && self.command != Command::Stop
            && self.open(Surface::Status)
        {
            let link = outcome.url.clone().or(log_url);
            self.post_status(&sha, CommitStatus::finished(outcome, link.as_deref()))
                .await;
        }
        let row = self.row(outcome);
        self.comment(&row).await;

        self.findings.reported_on(
            self.target.as_ref().and_then(|t| t.sha.clone()),
            self.deployment,
        );
        if self.no_api.is_some() || self.read_only || !self.denied.is_empty() {
            self.findings.incomplete("GitHub");
        }
        for note in &self.notes {
            self.findings.note(note.clone());
            let _ = writeln!(self.log, "note: {note}");
        }
        if let Some(api) = &self.api {
            tracing::debug!(calls = api.client.calls(), "GitHub calls this run");
        }
        self.verdict()
    }
}

#[async_trait]
impl Sink for GithubReporter {
    fn name(&self) -> &'static str {
        "github"
    }

    async fn event(&mut self, event: Stamped<'_>) -> Result<()> {
        if !self.started && matches!(event.event, Event::PhaseStarted { .. }) {
            self.started = true;
            let reporter = self.reporter.clone();
            self.starting = Some(tokio::spawn(async move {
                reporter.lock().await.start().await;
            }));
        }
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, _context: &Context) -> Result<()> {
        if let Some(starting) = self.starting.take() {
            let _ = starting.await;
        }
        let mut reporter = self.reporter.lock().await;
        if !self.started {
            // No phase ran: still say where the run stands.
            self.started = true;
            reporter.start().await;
        }
        reporter.finish(outcome).await
    }
}

/// The API side, or why there is none.
fn api(context: &Context, settings: &Settings, request: &ReportRequest<'_>) -> Result<Api> {
    let Some(token) = settings.token.clone() else {
        return Err(Error::MissingSetting {
            name: "token".into(),
            hint: "nothing was posted to GitHub (commit status, deployment, pull-request \
                   comment); the job summary and outputs were written. Fix: pass \
                   `token: ${{ github.token }}` to the action (or set FERRY_TOKEN), with \
                   `permissions:` statuses: write, deployments: write, pull-requests: write"
                .into(),
        });
    };
    let repo = context
        .repository
        .as_deref()
        .and_then(Repo::parse)
        .ok_or_else(|| Error::BadResponse {
            platform: GITHUB.into(),
            url: context.api_url.clone().unwrap_or_default(),
            problem: "the repository is unknown (GITHUB_REPOSITORY is not owner/name)".into(),
            hint: "run ferry inside GitHub Actions, or set GITHUB_REPOSITORY".into(),
        })?;
    let api_url = context
        .api_url
        .as_deref()
        .ok_or_else(|| Error::BadResponse {
            platform: GITHUB.into(),
            url: String::new(),
            problem: "the API URL is unknown (GITHUB_API_URL is not set)".into(),
            hint:
                "set GITHUB_API_URL, e.g. https://api.github.com or https://HOST/api/v3 on GitHub \
               Enterprise Server"
                    .into(),
        })?;
    let client = Client::new(api_url, token, request.redactor.clone())?;
    Ok(Api { client, repo })
}

/// `::add-mask::` for the secrets read from files: GitHub masks the ones the workflow passed
/// from `secrets.*` (and `github.token`) itself, but cannot know a value ferry read from a file.
fn register_masks(settings: &Settings, request: &ReportRequest<'_>, log: &mut Stream) {
    let pairs = [
        (&settings.token, ["FERRY_TOKEN", "INPUT_TOKEN"]),
        (
            &settings.platform_token,
            ["FERRY_PLATFORM_TOKEN", "INPUT_PLATFORM_TOKEN"],
        ),
    ];
    for (secret, names) in pairs {
        let Some(secret) = secret else { continue };
        let value = secret.expose_secret().trim();
        let from_env = names
            .iter()
            .any(|n| request.env.get(n).map(str::trim) == Some(value));
        if value.is_empty() || from_env {
            continue;
        }
        // Each line of a multi-line secret is masked on its own.
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(log, "::add-mask::{}", escape_data(line));
        }
    }
    let _ = log.flush();
}
