//! CircleCI (`CIRCLECI=true`).
//!
//! `CIRCLE_PR_NUMBER`, `CIRCLE_PR_USERNAME` and `CIRCLE_PR_REPONAME` exist only on pull requests
//! from forks; same-repository pull requests only have the URL in `CIRCLE_PULL_REQUEST`, whose
//! trailing digits are the number (CircleCI offers nothing better). No target branch is exposed,
//! and on fork pull requests `CIRCLE_BRANCH` is `pull/<n>`, which is no branch name. The forge is
//! guessed from `CIRCLE_REPOSITORY_URL` for well-known public hosts only.

use super::refs::parse_number;
use super::remote::Remote;
use super::{ChangeRequest, Ci, Context, RunInfo};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Circleci);
    ctx.repository = match (
        env.get("CIRCLE_PROJECT_USERNAME"),
        env.get("CIRCLE_PROJECT_REPONAME"),
    ) {
        (Some(owner), Some(name)) => Some(format!("{owner}/{name}")),
        _ => None,
    };
    ctx.sha = var("CIRCLE_SHA1");
    ctx.job_url = var("CIRCLE_BUILD_URL");
    if let Some((forge, api)) = env
        .get("CIRCLE_REPOSITORY_URL")
        .and_then(Remote::parse)
        .and_then(|r| r.public_forge())
    {
        ctx.forge = Some(forge);
        ctx.api_url = Some(api.to_owned());
    }
    ctx.run = RunInfo {
        run_id: var("CIRCLE_WORKFLOW_ID"),
        job_id: var("CIRCLE_BUILD_NUM"),
        ..RunInfo::default()
    };
    // A branch named `pull/<n>` is CircleCI's placeholder for a fork's pull request.
    let branch = env.get("CIRCLE_BRANCH").filter(|b| {
        b.strip_prefix("pull/")
            .is_none_or(|n| parse_number(n).is_none())
    });
    if let Some(tag) = var("CIRCLE_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else {
        ctx.ref_name = branch.map(str::to_owned);
    }

    let fork_only = [
        "CIRCLE_PR_NUMBER",
        "CIRCLE_PR_USERNAME",
        "CIRCLE_PR_REPONAME",
    ]
    .into_iter()
    .any(|name| env.get(name).is_some());
    let url = env
        .get("CIRCLE_PULL_REQUEST")
        .or_else(|| env.get("CIRCLE_PULL_REQUESTS")?.split(',').next())
        .or_else(|| env.get("CI_PULL_REQUEST"));
    let number = env
        .get("CIRCLE_PR_NUMBER")
        .and_then(parse_number)
        .or_else(|| url.and_then(trailing_number));
    if fork_only || number.is_some() {
        ctx.change_request = Some(ChangeRequest {
            number,
            source_branch: branch.map(str::to_owned),
            target_branch: None,
            is_fork: Some(fork_only),
        });
    }
    ctx
}

/// The number at the end of a pull-request URL (`…/pull/42` → 42).
fn trailing_number(url: &str) -> Option<u64> {
    let url = url.trim().trim_end_matches('/');
    let start = url
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    parse_number(&url[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_digits() {
        assert_eq!(trailing_number("https://github.com/o/r/pull/42"), Some(42));
        assert_eq!(trailing_number("https://github.com/o/r/pull/42/"), Some(42));
        assert_eq!(trailing_number("https://github.com/o/r/pull/x"), None);
        assert_eq!(trailing_number(""), None);
    }
}
