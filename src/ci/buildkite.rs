//! Buildkite (`BUILDKITE=true`).
//!
//! `BUILDKITE_PULL_REQUEST` is the string `false` outside pull requests and `BUILDKITE_TAG` may be
//! exported empty. The repository is the path of `BUILDKITE_REPO`; the fork test compares the
//! repository *paths* of `BUILDKITE_PULL_REQUEST_REPO` and `BUILDKITE_REPO`, since their schemes
//! differ (`git://` vs `git@`). `BUILDKITE_COMMIT` may be a symbolic `HEAD` on builds started by
//! hand: only a hexadecimal commit id is reported. The forge is guessed for public hosts only.

use super::refs::parse_number;
use super::remote::Remote;
use super::{ChangeRequest, Ci, Context, RunInfo};
use crate::env::Env;
use crate::error::quote;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Buildkite);
    let repo = env.get("BUILDKITE_REPO").and_then(Remote::parse);
    ctx.repository = repo.as_ref().map(|r| r.path.clone());
    if let Some((forge, api)) = repo.as_ref().and_then(Remote::public_forge) {
        ctx.forge = Some(forge);
        ctx.api_url = Some(api.to_owned());
    }
    ctx.sha = match env.get("BUILDKITE_COMMIT") {
        Some(commit) if commit.bytes().all(|b| b.is_ascii_hexdigit()) => Some(commit.to_owned()),
        Some(other) => {
            ctx.notes.push(format!(
                "BUILDKITE_COMMIT is {}, not a commit id: set `sha`",
                quote(other)
            ));
            None
        }
        None => None,
    };
    ctx.job_url = match (env.get("BUILDKITE_BUILD_URL"), env.get("BUILDKITE_JOB_ID")) {
        (Some(build), Some(job)) => Some(format!("{build}#{job}")),
        (build, _) => build.map(str::to_owned),
    };
    ctx.run = RunInfo {
        event: var("BUILDKITE_SOURCE"),
        run_id: var("BUILDKITE_BUILD_ID"),
        job_id: var("BUILDKITE_JOB_ID"),
        ..RunInfo::default()
    };
    if let Some(tag) = var("BUILDKITE_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else {
        ctx.ref_name = var("BUILDKITE_BRANCH");
    }
    if let Some(number) = env.get("BUILDKITE_PULL_REQUEST").filter(|v| *v != "false") {
        let head = env
            .get("BUILDKITE_PULL_REQUEST_REPO")
            .and_then(Remote::parse);
        ctx.change_request = Some(ChangeRequest {
            number: parse_number(number),
            source_branch: var("BUILDKITE_BRANCH"),
            target_branch: var("BUILDKITE_PULL_REQUEST_BASE_BRANCH"),
            is_fork: match (head, &repo) {
                (Some(head), Some(base)) => Some(!head.path.eq_ignore_ascii_case(&base.path)),
                _ => None,
            },
        });
    }
    ctx
}
