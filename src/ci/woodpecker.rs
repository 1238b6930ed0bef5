//! Woodpecker ≥ 1.0 (`CI=woodpecker`, or `CI_SYSTEM_NAME=woodpecker`), with the 1.0 variable
//! names (`CI_PIPELINE_*`, `CI_STEP_*`); the pre-1.0 `CI_BUILD_*` names are not read.
//!
//! On pull requests `CI_COMMIT_BRANCH` is the **target** branch: the source is
//! `CI_COMMIT_SOURCE_BRANCH`. The forge API comes from `CI_FORGE_TYPE` + `CI_FORGE_URL`; for
//! GitLab and Bitbucket the API path is inferred from the forge's documented layout. Woodpecker
//! gives no fork signal.

use super::actions::trim_url;
use super::refs::parse_number;
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::Woodpecker);
    ctx.repository = var("CI_REPO");
    ctx.sha = var("CI_COMMIT_SHA");
    ctx.job_url = var("CI_STEP_URL").or_else(|| var("CI_PIPELINE_URL"));
    if let Some((forge, api)) = forge_api(env.get("CI_FORGE_TYPE"), env.get("CI_FORGE_URL")) {
        ctx.forge = Some(forge);
        ctx.api_url = Some(api);
    }
    ctx.run = RunInfo {
        event: var("CI_PIPELINE_EVENT"),
        server_url: env.get("CI_FORGE_URL").map(trim_url),
        run_id: var("CI_PIPELINE_NUMBER"),
        ..RunInfo::default()
    };
    let pull_request = env.get("CI_COMMIT_PULL_REQUEST");
    if let Some(tag) = var("CI_COMMIT_TAG") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else if pull_request.is_some() {
        ctx.ref_name = var("CI_COMMIT_SOURCE_BRANCH");
    } else {
        ctx.ref_name = var("CI_COMMIT_BRANCH");
    }
    if let Some(number) = pull_request {
        ctx.change_request = Some(ChangeRequest {
            number: parse_number(number),
            source_branch: var("CI_COMMIT_SOURCE_BRANCH"),
            target_branch: var("CI_COMMIT_TARGET_BRANCH"),
            is_fork: None,
        });
    }
    ctx
}

/// The forge and its REST base from `CI_FORGE_TYPE` and `CI_FORGE_URL`.
fn forge_api(kind: Option<&str>, url: Option<&str>) -> Option<(Forge, String)> {
    let url = trim_url(url?);
    let is_public = |host: &str| {
        url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.eq_ignore_ascii_case(host)))
            .unwrap_or(false)
    };
    match kind? {
        "gitea" => Some((Forge::Gitea, format!("{url}/api/v1"))),
        "forgejo" => Some((Forge::Forgejo, format!("{url}/api/v1"))),
        // github.com's API is on its own host; GitHub Enterprise Server serves it at /api/v3.
        "github" if is_public("github.com") => {
            Some((Forge::Github, "https://api.github.com".to_owned()))
        }
        "github" => Some((Forge::Github, format!("{url}/api/v3"))),
        "gitlab" => Some((Forge::Gitlab, format!("{url}/api/v4"))),
        "bitbucket" => Some((Forge::Bitbucket, "https://api.bitbucket.org/2.0".to_owned())),
        // Bitbucket Data Center's REST API (the forge enum has no separate variant for it).
        "bitbucket_dc" => Some((Forge::Bitbucket, format!("{url}/rest/api/1.0"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_api_mapping() {
        let api = |k, u| forge_api(Some(k), Some(u)).map(|(_, a)| a);
        assert_eq!(
            api("forgejo", "https://codeberg.org/"),
            Some("https://codeberg.org/api/v1".to_owned())
        );
        assert_eq!(
            api("github", "https://github.com"),
            Some("https://api.github.com".to_owned())
        );
        assert_eq!(
            api("github", "https://ghe.example.com"),
            Some("https://ghe.example.com/api/v3".to_owned())
        );
        assert_eq!(
            api("gitlab", "https://example.com/gitlab"),
            Some("https://example.com/gitlab/api/v4".to_owned())
        );
        assert_eq!(api("unknown", "https://x"), None);
        assert_eq!(forge_api(Some("gitea"), None), None);
    }
}
