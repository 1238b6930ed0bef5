//! What GitHub-style Actions runners (GitHub, Forgejo, Gitea) share: the `GITHUB_*` variables,
//! the event payload, the classification of events, and the pull-request facts of a payload.
//!
//! The per-provider rules (which SHA, which run number in the job URL) live in `github.rs` and
//! `forgejo.rs`; this module only reads, it decides nothing provider-specific.

use super::event::Payload;
use super::refs::GitRef;
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

/// Starts a context from the variables every Actions runner sets, and loads the event payload.
///
/// `run_var` names the variable holding the run number of the job URL (`GITHUB_RUN_ID` on
/// GitHub, `GITHUB_RUN_NUMBER` on Forgejo and Gitea).
pub(crate) fn start(env: &Env, ci: Ci, forge: Forge, run_var: &str) -> (Context, Option<Payload>) {
    let mut ctx = Context::empty(ci);
    ctx.forge = Some(forge);
    ctx.api_url = env.get("GITHUB_API_URL").map(trim_url);
    if ctx.api_url.is_none() {
        ctx.notes
            .push("GITHUB_API_URL is not set: the forge API is unknown".to_owned());
    }
    ctx.repository = env.get("GITHUB_REPOSITORY").map(str::to_owned);
    let server_url = env.get("GITHUB_SERVER_URL").map(trim_url);
    ctx.job_url = match (&server_url, &ctx.repository, env.get(run_var)) {
        (Some(server), Some(repo), Some(run)) => {
            Some(format!("{server}/{repo}/actions/runs/{run}"))
        }
        _ => None,
    };
    ctx.run = RunInfo {
        event: env.get("GITHUB_EVENT_NAME").map(str::to_owned),
        server_url,
        run_id: env.get("GITHUB_RUN_ID").map(str::to_owned),
        run_attempt: env.get("GITHUB_RUN_ATTEMPT").map(str::to_owned),
        ..RunInfo::default()
    };
    let payload = Payload::load(env, &mut ctx.notes);
    (ctx, payload)
}

/// Records `GITHUB_SHA` as the checked-out commit when it differs from the reported `sha`
/// (the merge commit of a pull request, the base of `pull_request_target`, …).
pub(crate) fn finish(env: &Env, ctx: &mut Context) {
    let checkout = env.get("GITHUB_SHA");
    if checkout.is_some() && checkout != ctx.sha.as_deref() {
        ctx.run.checkout_sha = checkout.map(str::to_owned);
    }
}

/// Strips trailing `/` from a server or API URL (Gitea's `AppURL` ends with one) and keeps the
/// rest verbatim: GHES `…/api/v3` and relative roots stay as the CI wrote them.
pub(crate) fn trim_url(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The family of the triggering event, as far as detection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// `pull_request`, `pull_request_target`, `pull_request_review*` (Gitea also has
    /// `pull_request_sync`, …: every `pull_request*` name counts).
    PullRequest {
        /// `pull_request_target`: the ref and SHA of the run are the base's.
        target: bool,
    },
    MergeGroup,
    WorkflowRun,
    IssueComment,
    /// push, tag push, release, `workflow_dispatch`, schedule, …: the run's own ref and SHA.
    Other,
}

impl EventKind {
    /// Classifies from `GITHUB_EVENT_NAME`; without it, a `refs/pull/…` ref or a payload with a
    /// `pull_request` object still means a pull request.
    pub(crate) fn of(env: &Env, payload: Option<&Payload>) -> Self {
        match env.get("GITHUB_EVENT_NAME") {
            Some("pull_request_target") => EventKind::PullRequest { target: true },
            Some(name) if name.starts_with("pull_request") => {
                EventKind::PullRequest { target: false }
            }
            Some("merge_group") => EventKind::MergeGroup,
            Some("workflow_run") => EventKind::WorkflowRun,
            Some("issue_comment") => EventKind::IssueComment,
            Some(_) => EventKind::Other,
            None => {
                let pull_ref = env
                    .get("GITHUB_REF")
                    .and_then(|r| GitRef::parse(r).pull())
                    .is_some();
                if pull_ref || payload.is_some_and(|p| p.present("/pull_request")) {
                    EventKind::PullRequest { target: false }
                } else {
                    EventKind::Other
                }
            }
        }
    }
}

/// Fills `sha`, `ref_name` and `is_tag` from `GITHUB_SHA` and `GITHUB_REF` (push, tag push,
/// release, `workflow_dispatch` on a branch or tag, schedule, …).
pub(crate) fn read_ref(env: &Env, ctx: &mut Context) {
    ctx.sha = env.get("GITHUB_SHA").map(str::to_owned);
    let type_is_tag = env.get("GITHUB_REF_TYPE") == Some("tag");
    match env.get("GITHUB_REF").map(GitRef::parse) {
        Some(git_ref @ (GitRef::Branch(_) | GitRef::Tag(_))) => {
            ctx.ref_name = git_ref.name().map(str::to_owned);
            ctx.is_tag = git_ref.is_tag();
        }
        // A short or unknown ref: trust `GITHUB_REF_NAME` / `GITHUB_REF_TYPE` when present.
        Some(git_ref) => {
            ctx.ref_name = env
                .get("GITHUB_REF_NAME")
                .or(git_ref.name())
                .map(str::to_owned);
            ctx.is_tag = type_is_tag;
        }
        None => {
            ctx.ref_name = env.get("GITHUB_REF_NAME").map(str::to_owned);
            ctx.is_tag = type_is_tag;
        }
    }
}

/// The pull-request facts of a `pull_request*` run, payload first, variables as fallback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PullRequestFacts {
    pub(crate) number: Option<u64>,
    /// `pull_request.head.sha`; never a variable (GitHub's `GITHUB_SHA` is the merge commit).
    pub(crate) head_sha: Option<String>,
    pub(crate) head_ref: Option<String>,
    pub(crate) base_ref: Option<String>,
    pub(crate) is_fork: Option<bool>,
}

impl PullRequestFacts {
    pub(crate) fn read(env: &Env, payload: Option<&Payload>) -> Self {
        let from_payload = |pointer: &str| payload.and_then(|p| p.string(pointer));
        Self {
            number: payload
                .and_then(|p| {
                    p.number("/pull_request/number")
                        .or_else(|| p.number("/number"))
                })
                .or_else(|| env.get("GITHUB_REF").and_then(|r| GitRef::parse(r).pull())),
            head_sha: from_payload("/pull_request/head/sha"),
            head_ref: from_payload("/pull_request/head/ref")
                .or_else(|| env.get("GITHUB_HEAD_REF").map(str::to_owned)),
            base_ref: from_payload("/pull_request/base/ref")
                .or_else(|| env.get("GITHUB_BASE_REF").map(str::to_owned)),
            is_fork: payload.and_then(|p| p.pull_request_is_fork("/pull_request")),
        }
    }

    /// Fills the context of a pull-request run: `sha` is the given head, `ref_name` the source
    /// branch (never `refs/pull/…` or `<n>/head`).
    pub(crate) fn apply(self, sha: Option<String>, ctx: &mut Context) {
        ctx.sha = sha;
        ctx.ref_name.clone_from(&self.head_ref);
        ctx.is_tag = false;
        ctx.change_request = Some(ChangeRequest {
            number: self.number,
            source_branch: self.head_ref,
            target_branch: self.base_ref,
            is_fork: self.is_fork,
        });
    }
}

/// `issue_comment`: the pull-request number when the commented issue is a pull request
/// (`issue.pull_request` on GitHub; Gitea also sets `is_pull`). Never any `issue.number`.
pub(crate) fn commented_pull_request(payload: Option<&Payload>) -> Option<u64> {
    let payload = payload?;
    let is_pull = payload.present("/issue/pull_request") || payload.present("/is_pull");
    is_pull.then(|| payload.number("/issue/number")).flatten()
}

/// Fills the context of an `issue_comment` run: on a pull request, the number is known but the
/// head SHA and branch need an API call; on an issue, the run's own ref and SHA.
pub(crate) fn issue_comment(env: &Env, payload: Option<&Payload>, ctx: &mut Context) {
    let Some(number) = commented_pull_request(payload) else {
        read_ref(env, ctx);
        return;
    };
    ctx.change_request = Some(ChangeRequest {
        number: Some(number),
        ..ChangeRequest::default()
    });
    ctx.run.sha_needs_lookup = true;
    ctx.notes.push(format!(
        "comment on pull request #{number}: its head commit and branch are not in the event; \
         they need an API lookup (or set `sha`)"
    ));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_kinds() {
        let kind = |name: &str| EventKind::of(&Env::new().with("GITHUB_EVENT_NAME", name), None);
        assert_eq!(
            kind("pull_request"),
            EventKind::PullRequest { target: false }
        );
        assert_eq!(
            kind("pull_request_review"),
            EventKind::PullRequest { target: false }
        );
        assert_eq!(
            kind("pull_request_target"),
            EventKind::PullRequest { target: true }
        );
        assert_eq!(kind("merge_group"), EventKind::MergeGroup);
        assert_eq!(kind("push"), EventKind::Other);
        let no_name = Env::new().with("GITHUB_REF", "refs/pull/3/merge");
        assert_eq!(
            EventKind::of(&no_name, None),
            EventKind::PullRequest { target: false }
        );
        assert_eq!(EventKind::of(&Env::new(), None), EventKind::Other);
    }

    #[test]
    fn issue_comment_is_a_pull_request_only_with_the_marker() {
        let on_issue = Payload::from_value(json!({"issue": {"number": 1}}));
        let on_pr =
            Payload::from_value(json!({"issue": {"number": 1, "pull_request": {"url": "u"}}}));
        let gitea = Payload::from_value(json!({"is_pull": true, "issue": {"number": 5}}));
        assert_eq!(commented_pull_request(Some(&on_issue)), None);
        assert_eq!(commented_pull_request(Some(&on_pr)), Some(1));
        assert_eq!(commented_pull_request(Some(&gitea)), Some(5));
        assert_eq!(commented_pull_request(None), None);
    }

    #[test]
    fn ref_type_backs_up_a_short_ref() {
        let env = Env::new()
            .with("GITHUB_REF_NAME", "v1")
            .with("GITHUB_REF_TYPE", "tag");
        let mut ctx = Context::empty(Ci::Github);
        read_ref(&env, &mut ctx);
        assert_eq!(ctx.ref_name.as_deref(), Some("v1"));
        assert!(ctx.is_tag);
    }
}
