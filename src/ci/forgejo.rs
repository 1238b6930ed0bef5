//! Forgejo Actions (`FORGEJO_ACTIONS=true`) and Gitea Actions (`GITEA_ACTIONS=true`), checked in
//! that order and before GitHub: both runners also set `GITHUB_ACTIONS=true`.
//!
//! Same variable names and payload shape as GitHub, with these differences (reference:
//! `ci-environments.md` §4, from Gitea's `services/actions/context.go`):
//! - on `pull_request`, `GITHUB_REF` is `refs/pull/<n>/head` and **`GITHUB_SHA` is the head**
//!   (no merge commit); on `pull_request_target` both are the base's;
//! - the job URL uses `GITHUB_RUN_NUMBER` (the per-repository index in the web page), not the
//!   global `GITHUB_RUN_ID`, and `GITHUB_SERVER_URL` may end with `/`;
//! - the API is `GITHUB_API_URL` (`<AppURL>api/v1`).
//!
//! There is no merge queue and no `workflow_run` payload to special-case: such events read as
//! the run's own ref and SHA.

use super::actions::{self, EventKind, PullRequestFacts};
use super::{Ci, Context, Forge};
use crate::env::Env;

/// Reads a Forgejo (`ci = Forgejo`) or Gitea (`ci = Gitea`) run.
pub(crate) fn read(env: &Env, ci: Ci) -> Context {
    let forge = if ci == Ci::Gitea {
        Forge::Gitea
    } else {
        Forge::Forgejo
    };
    let (mut ctx, payload) = actions::start(env, ci, forge, "GITHUB_RUN_NUMBER");
    let payload = payload.as_ref();
    match EventKind::of(env, payload) {
        EventKind::PullRequest { target } => {
            let pr = PullRequestFacts::read(env, payload);
            // `GITHUB_SHA` is the head on `pull_request`, the base on `pull_request_target`.
            let sha = pr.head_sha.clone().or_else(|| {
                (!target)
                    .then(|| env.get("GITHUB_SHA").map(str::to_owned))
                    .flatten()
            });
            if sha.is_none() {
                ctx.notes.push(
                    "the pull request's head commit is not in the event payload, and GITHUB_SHA \
                     is the base's on pull_request_target: set `sha` to report on the head"
                        .to_owned(),
                );
            }
            pr.apply(sha, &mut ctx);
        }
        EventKind::IssueComment => actions::issue_comment(env, payload, &mut ctx),
        EventKind::MergeGroup | EventKind::WorkflowRun | EventKind::Other => {
            actions::read_ref(env, &mut ctx);
        }
    }
    actions::finish(env, &mut ctx);
    ctx
}
