//! Bitbucket Pipelines (`BITBUCKET_BUILD_NUMBER` or `BITBUCKET_PIPELINE_UUID`), Bitbucket Cloud
//! only, so the API is always `https://api.bitbucket.org/2.0`.
//!
//! The job URL is not exposed, so it is built from the repository and build number, with the
//! step as a deep link. No variable names a pull request's source repository: the fork flag of a
//! pull request is unknown (`None`). `BITBUCKET_COMMIT` may be a 12-character short SHA; it is
//! kept as it is.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::refs::parse_number;
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

/// Characters escaped in the step UUID path segment (`{…}` braces are not valid in a URL).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'#')
    .add(b'?');

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Bitbucket);
    ctx.forge = Some(Forge::Bitbucket);
    ctx.api_url = Some("https://api.bitbucket.org/2.0".to_owned());
    ctx.repository = var("BITBUCKET_REPO_FULL_NAME").or_else(|| {
        Some(format!(
            "{}/{}",
            env.get("BITBUCKET_WORKSPACE")?,
            env.get("BITBUCKET_REPO_SLUG")?
        ))
    });
    ctx.sha = var("BITBUCKET_COMMIT");
    ctx.job_url = match (&ctx.repository, env.get("BITBUCKET_BUILD_NUMBER")) {
        (Some(repo), Some(build)) => {
            let mut url = format!("https://bitbucket.org/{repo}/pipelines/results/{build}");
            if let Some(step) = env.get("BITBUCKET_STEP_UUID") {
                url.push_str("/steps/");
                url.extend(utf8_percent_encode(step, SEGMENT));
            }
            Some(url)
        }
        _ => None,
    };
    ctx.run = RunInfo {
        run_id: var("BITBUCKET_BUILD_NUMBER"),
        job_id: var("BITBUCKET_STEP_UUID"),
        ..RunInfo::default()
    };
    if let Some(tag) = var("BITBUCKET_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else {
        ctx.ref_name = var("BITBUCKET_BRANCH");
    }
    if let Some(id) = env.get("BITBUCKET_PR_ID") {
        ctx.change_request = Some(ChangeRequest {
            number: parse_number(id),
            source_branch: var("BITBUCKET_BRANCH"),
            target_branch: var("BITBUCKET_PR_DESTINATION_BRANCH"),
            is_fork: None,
        });
    }
    ctx
}
