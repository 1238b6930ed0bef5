//! GitLab CI (`GITLAB_CI=true`): branch, tag, merge-request (detached, merged results, merge
//! train) and external pull-request pipelines, on GitLab.com or a self-managed instance.
//!
//! Rules from `ci-environments.md` §4 and `gitlab.md` §6–7:
//! - the change-request number is `CI_MERGE_REQUEST_IID`, never the instance-wide `…_ID`;
//! - the SHA is the source branch head: a non-empty `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`
//!   (merged results, merge trains) wins over `CI_COMMIT_SHA`, which is then a temporary merge
//!   commit (kept in `run.checkout_sha`). The event type is not trusted (gitlab#358228);
//! - the repository is the MR's target project (`CI_MERGE_REQUEST_PROJECT_PATH`), also when the
//!   pipeline runs in the fork; the fork test compares project ids;
//! - `CI_API_V4_URL` is kept verbatim (it carries relative roots such as `/gitlab`);
//! - `CI_OPEN_MERGE_REQUESTS` (branch pipelines) is a hint for reporters, never a change request.
//!
//! `CI_REPOSITORY_URL` embeds the job token: it is never read here.

use super::actions::trim_url;
use super::refs::parse_number;
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Gitlab);
    ctx.forge = Some(Forge::Gitlab);
    ctx.api_url = env.get("CI_API_V4_URL").map(trim_url);
    if ctx.api_url.is_none() {
        ctx.notes
            .push("CI_API_V4_URL is not set: the GitLab API is unknown".to_owned());
    }
    ctx.job_url = var("CI_JOB_URL").or_else(|| {
        let project = env.get("CI_PROJECT_URL").map(trim_url)?;
        Some(format!("{project}/-/jobs/{}", env.get("CI_JOB_ID")?))
    });
    ctx.run = RunInfo {
        event: var("CI_PIPELINE_SOURCE"),
        server_url: env.get("CI_SERVER_URL").map(trim_url),
        run_id: var("CI_PIPELINE_ID"),
        job_id: var("CI_JOB_ID"),
        project_id: var("CI_PROJECT_ID"),
        change_request_project_id: var("CI_MERGE_REQUEST_PROJECT_ID"),
        open_change_requests: env
            .get("CI_OPEN_MERGE_REQUESTS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        ..RunInfo::default()
    };

    let commit_sha = var("CI_COMMIT_SHA");
    let tag = var("CI_COMMIT_TAG");
    let source = env.get("CI_PIPELINE_SOURCE");
    let merge_request =
        env.get("CI_MERGE_REQUEST_IID").is_some() || source == Some("merge_request_event");
    let external = env.get("CI_EXTERNAL_PULL_REQUEST_IID").is_some()
        || source == Some("external_pull_request_event");

    if merge_request {
        ctx.repository = var("CI_MERGE_REQUEST_PROJECT_PATH").or_else(|| var("CI_PROJECT_PATH"));
        ctx.sha = var("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA").or_else(|| commit_sha.clone());
        let source_branch = var("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME");
        ctx.ref_name.clone_from(&source_branch);
        let number = env.get("CI_MERGE_REQUEST_IID").and_then(parse_number);
        if number.is_none() {
            ctx.notes.push(
                "merge request pipeline without a valid CI_MERGE_REQUEST_IID: set `pr_number`"
                    .to_owned(),
            );
        }
        ctx.change_request = Some(ChangeRequest {
            number,
            source_branch,
            target_branch: var("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
            is_fork: match (
                env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"),
                env.get("CI_MERGE_REQUEST_PROJECT_ID"),
            ) {
                (Some(source), Some(target)) => Some(source != target),
                _ => None,
            },
        });
    } else if external {
        // The pull request lives on GitHub; the pipeline and its reports stay in this project.
        ctx.repository = var("CI_PROJECT_PATH");
        ctx.sha = var("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA").or_else(|| commit_sha.clone());
        let source_branch = var("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME");
        ctx.ref_name = source_branch.clone().or_else(|| var("CI_COMMIT_REF_NAME"));
        ctx.run.external_repository = var("CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY");
        ctx.change_request = Some(ChangeRequest {
            number: env
                .get("CI_EXTERNAL_PULL_REQUEST_IID")
                .and_then(parse_number),
            source_branch,
            target_branch: var("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME"),
            // GitLab doesn't run external pull requests from forks.
            is_fork: Some(false),
        });
        ctx.notes.push(format!(
            "external pull request pipeline: the pull request is on GitHub ({}), not a GitLab \
             merge request",
            ctx.run
                .external_repository
                .as_deref()
                .unwrap_or("unknown repository"),
        ));
    } else {
        ctx.repository = var("CI_PROJECT_PATH");
        ctx.sha.clone_from(&commit_sha);
        ctx.ref_name = var("CI_COMMIT_REF_NAME").or_else(|| var("CI_COMMIT_BRANCH"));
    }

    // A tag wins over any branch (tag pipelines have `CI_COMMIT_TAG`, never MR variables).
    if let Some(tag) = tag {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    }
    if commit_sha.is_some() && commit_sha != ctx.sha {
        ctx.run.checkout_sha = commit_sha;
    }
    ctx
}
