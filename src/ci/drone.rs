//! Drone (`DRONE=true`). On pull requests `DRONE_BRANCH` is the **target** branch: the source is
//! `DRONE_SOURCE_BRANCH`. Drone names no forge API and gives no fork signal; the forge is guessed
//! only for well-known public hosts.

use super::refs::parse_number;
use super::remote::Remote;
use super::{ChangeRequest, Ci, Context, RunInfo};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Drone);
    ctx.repository = var("DRONE_REPO");
    ctx.sha = var("DRONE_COMMIT_SHA").or_else(|| var("DRONE_COMMIT"));
    ctx.job_url = var("DRONE_BUILD_LINK");
    if let Some((forge, api)) = ["DRONE_GIT_HTTP_URL", "DRONE_REMOTE_URL", "DRONE_REPO_LINK"]
        .into_iter()
        .find_map(|name| Remote::parse(env.get(name)?)?.public_forge())
    {
        ctx.forge = Some(forge);
        ctx.api_url = Some(api.to_owned());
    }
    ctx.run = RunInfo {
        event: var("DRONE_BUILD_EVENT"),
        run_id: var("DRONE_BUILD_NUMBER"),
        ..RunInfo::default()
    };
    let pull_request = env.get("DRONE_PULL_REQUEST");
    if let Some(tag) = var("DRONE_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else if pull_request.is_some() {
        ctx.ref_name = var("DRONE_SOURCE_BRANCH");
    } else {
        ctx.ref_name = var("DRONE_BRANCH").or_else(|| var("DRONE_COMMIT_BRANCH"));
    }
    if let Some(number) = pull_request {
        ctx.change_request = Some(ChangeRequest {
            number: parse_number(number),
            source_branch: var("DRONE_SOURCE_BRANCH"),
            target_branch: var("DRONE_TARGET_BRANCH"),
            is_fork: None,
        });
    }
    ctx
}
