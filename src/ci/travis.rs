//! Travis CI (`TRAVIS=true`).
//!
//! On pull requests `TRAVIS_COMMIT` is the merge commit and `TRAVIS_BRANCH` the **target**: the
//! head is `TRAVIS_PULL_REQUEST_SHA` and the source `TRAVIS_PULL_REQUEST_BRANCH`.
//! `TRAVIS_PULL_REQUEST` is the string `false` outside pull requests, and several variables are
//! exported empty. Travis names no forge API; the job URL is null on old environments that lack
//! `TRAVIS_JOB_WEB_URL` and `TRAVIS_BUILD_WEB_URL` (`.org` vs `.com` can't be known).

use super::refs::parse_number;
use super::{ChangeRequest, Ci, Context, RunInfo};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Travis);
    ctx.repository = var("TRAVIS_REPO_SLUG");
    ctx.job_url = var("TRAVIS_JOB_WEB_URL").or_else(|| var("TRAVIS_BUILD_WEB_URL"));
    ctx.run = RunInfo {
        event: var("TRAVIS_EVENT_TYPE"),
        run_id: var("TRAVIS_BUILD_ID"),
        job_id: var("TRAVIS_JOB_ID"),
        ..RunInfo::default()
    };
    let pull_request = env.get("TRAVIS_PULL_REQUEST").filter(|v| *v != "false");
    if let Some(number) = pull_request {
        ctx.sha = var("TRAVIS_PULL_REQUEST_SHA");
        if ctx.sha.is_none() {
            ctx.notes.push(
                "TRAVIS_PULL_REQUEST_SHA is not set (TRAVIS_COMMIT is a merge commit): set `sha`"
                    .to_owned(),
            );
        }
        ctx.ref_name = var("TRAVIS_PULL_REQUEST_BRANCH");
        ctx.change_request = Some(ChangeRequest {
            number: parse_number(number),
            source_branch: var("TRAVIS_PULL_REQUEST_BRANCH"),
            target_branch: var("TRAVIS_BRANCH"),
            is_fork: match (
                env.get("TRAVIS_PULL_REQUEST_SLUG"),
                env.get("TRAVIS_REPO_SLUG"),
            ) {
                (Some(head), Some(base)) => Some(!head.eq_ignore_ascii_case(base)),
                _ => None,
            },
        });
    } else {
        ctx.sha = var("TRAVIS_COMMIT");
        ctx.ref_name = var("TRAVIS_BRANCH");
    }
    let commit = var("TRAVIS_COMMIT");
    if commit.is_some() && commit != ctx.sha {
        ctx.run.checkout_sha = commit;
    }
    // On tag builds `TRAVIS_BRANCH` is the tag; the tag wins anyway.
    if let Some(tag) = var("TRAVIS_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    }
    ctx
}
