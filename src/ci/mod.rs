//! Stage 1 — where are we: detect the CI provider and read the [`Context`] of this run.
//!
//! Input is an [`Env`](crate::env::Env) map plus, on GitHub-style CIs, the event payload file named by
//! `GITHUB_EVENT_PATH`. This stage never calls an API and never reads the process environment;
//! what the environment cannot tell stays `None` (the reporters may ask the forge later).
//! Rules and sources: `CONTRIBUTING.md` and the CI reference in the repository docs.
//!
//! One module per provider (Forgejo and Gitea share `forgejo`), each reading only the `Env`
//! it is given; [`detect`] picks the provider from its marker variable.

use serde::Serialize;

mod actions;
mod azure;
mod bitbucket;
mod buildkite;
mod circleci;
mod describe;
mod detect;
mod drone;
mod event;
mod forgejo;
mod git;
mod github;
mod gitlab;
mod jenkins;
mod refs;
mod remote;
mod travis;
mod woodpecker;

pub use detect::detect;
pub(crate) use detect::detect_in;

/// The CI provider ferry runs in (a closed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ci {
    Github,
    Forgejo,
    Gitea,
    Gitlab,
    Bitbucket,
    Jenkins,
    Circleci,
    AzurePipelines,
    Buildkite,
    Woodpecker,
    Drone,
    Travis,
    /// Not in CI: a terminal.
    Local,
}

impl Ci {
    /// The name used in `ferry context` and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Ci::Github => "github",
            Ci::Forgejo => "forgejo",
            Ci::Gitea => "gitea",
            Ci::Gitlab => "gitlab",
            Ci::Bitbucket => "bitbucket",
            Ci::Jenkins => "jenkins",
            Ci::Circleci => "circleci",
            Ci::AzurePipelines => "azure-pipelines",
            Ci::Buildkite => "buildkite",
            Ci::Woodpecker => "woodpecker",
            Ci::Drone => "drone",
            Ci::Travis => "travis",
            Ci::Local => "local",
        }
    }
}

/// The forge hosting the repository (where reports go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    Github,
    Gitlab,
    Gitea,
    Forgejo,
    Bitbucket,
    Azure,
}

impl Forge {
    /// The name used in `ferry context` (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
            Forge::Gitea => "gitea",
            Forge::Forgejo => "forgejo",
            Forge::Bitbucket => "bitbucket",
            Forge::Azure => "azure",
        }
    }
}

/// A pull request (GitHub, Gitea, Forgejo, Bitbucket) or merge request (GitLab).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeRequest {
    /// The number people see (GitLab: the IID, never the instance-wide id).
    pub number: Option<u64>,
    pub source_branch: Option<String>,
    pub target_branch: Option<String>,
    /// `None` when the CI gives no signal; a deleted head repository counts as a fork.
    pub is_fork: Option<bool>,
}

/// What ferry knows about this CI run. Serialises to exactly the public `ferry context --json`
/// fields; the `#[serde(skip)]` fields are for the reporters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Context {
    pub ci: Ci,
    pub forge: Option<Forge>,
    /// The forge's REST base, from the CI's variables (never assumed).
    pub api_url: Option<String>,
    /// `owner/name` of the repository the change targets.
    pub repository: Option<String>,
    /// The commit the author pushed: for a change request the head, never a synthetic merge commit.
    pub sha: Option<String>,
    /// Short branch or tag name; for a change request, the source branch.
    pub ref_name: Option<String>,
    pub is_tag: bool,
    pub change_request: Option<ChangeRequest>,
    /// The most specific human link to this job (or run).
    pub job_url: Option<String>,
    /// Provider-specific identifiers the reporters need (not part of the public JSON).
    #[serde(skip)]
    pub run: RunInfo,
    /// Things detection noticed but could not resolve (missing event file, …), for `ferry context`.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// Provider-specific identifiers, kept out of `ferry context --json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// GitHub: `GITHUB_EVENT_NAME`; GitLab: `CI_PIPELINE_SOURCE`; other CIs: their trigger
    /// variable where they have one (`BUILD_REASON`, `CI_PIPELINE_EVENT`, `DRONE_BUILD_EVENT`,
    /// `TRAVIS_EVENT_TYPE`, `BUILDKITE_SOURCE`).
    pub event: Option<String>,
    /// The forge's web base (`GITHUB_SERVER_URL`, `CI_SERVER_URL`), without a trailing `/`.
    pub server_url: Option<String>,
    /// GitHub `GITHUB_RUN_ID`; GitLab `CI_PIPELINE_ID`; the build or pipeline id elsewhere.
    pub run_id: Option<String>,
    /// GitHub `GITHUB_RUN_ATTEMPT`.
    pub run_attempt: Option<String>,
    /// GitLab `CI_JOB_ID`; the job or step id elsewhere (Bitbucket step UUID, Buildkite job).
    pub job_id: Option<String>,
    /// GitLab `CI_PROJECT_ID` (where the pipeline runs; the fork for fork MRs run in the fork).
    pub project_id: Option<String>,
    /// GitLab `CI_MERGE_REQUEST_PROJECT_ID` (the MR's target project, where notes go).
    pub change_request_project_id: Option<String>,
    /// GitLab `CI_OPEN_MERGE_REQUESTS` (branch pipelines), as `group/proj!iid` items.
    pub open_change_requests: Vec<String>,
    /// The commit the CI checked out when it differs from `sha` (a merge commit).
    pub checkout_sha: Option<String>,
    /// The head SHA of `change_request` is unknown here and needs an API call: GitHub
    /// `issue_comment` on a pull request; a Jenkins multibranch pull request, whose
    /// `GIT_COMMIT` may be a merge commit.
    pub sha_needs_lookup: bool,
    /// GitHub `merge_group`: the pull request at the tip of the group, parsed from the
    /// `gh-readonly-queue/<base>/pr-<n>-<sha>` branch. Not a change request of this run (a group
    /// may batch several); for a reporter that wants to link the queued pull request.
    pub queued_change_request: Option<u64>,
    /// GitLab external pull-request pipelines: the GitHub repository holding `change_request`
    /// (`CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY`). When set, the change request is a GitHub
    /// pull request, not a merge request of `repository`: no MR note can be posted for it.
    pub external_repository: Option<String>,
}

impl Context {
    /// The context of a run outside any CI, with nothing known.
    pub fn local() -> Self {
        Self::empty(Ci::Local)
    }

    /// A context for `ci` with nothing known yet.
    pub fn empty(ci: Ci) -> Self {
        Self {
            ci,
            forge: None,
            api_url: None,
            repository: None,
            sha: None,
            ref_name: None,
            is_tag: false,
            change_request: None,
            job_url: None,
            run: RunInfo::default(),
            notes: Vec::new(),
        }
    }

    /// Whether the CI withholds the repository's secrets from this run: GitHub Actions runs a
    /// workflow triggered by a pull request from a fork (`pull_request` and its review events;
    /// not `pull_request_target`, which runs in the base repository) with no secrets and a
    /// read-only `GITHUB_TOKEN`.
    pub(crate) fn secrets_withheld(&self) -> bool {
        self.ci == Ci::Github
            && matches!(
                self.run.event.as_deref(),
                Some("pull_request" | "pull_request_review" | "pull_request_review_comment")
            )
            && self
                .change_request
                .as_ref()
                .is_some_and(|c| c.is_fork == Some(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_withheld_from_a_fork_s_pull_request_event_on_github_only() {
        let context = |ci, event: &str, is_fork| {
            let mut c = Context::empty(ci);
            c.run.event = Some(event.to_string());
            c.change_request = Some(ChangeRequest {
                number: Some(2),
                source_branch: None,
                target_branch: None,
                is_fork,
            });
            c
        };
        assert!(context(Ci::Github, "pull_request", Some(true)).secrets_withheld());
        assert!(context(Ci::Github, "pull_request_review", Some(true)).secrets_withheld());
        // The base repository's run, the repository's own branch, or no way to tell.
        assert!(!context(Ci::Github, "pull_request_target", Some(true)).secrets_withheld());
        assert!(!context(Ci::Github, "pull_request", Some(false)).secrets_withheld());
        assert!(!context(Ci::Github, "pull_request", None).secrets_withheld());
        assert!(!context(Ci::Gitea, "pull_request", Some(true)).secrets_withheld());
    }
}
