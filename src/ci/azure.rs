//! Azure Pipelines (`TF_BUILD=True`), building a GitHub repository or an Azure Repos one.
//!
//! On pull requests (`BUILD_REASON=PullRequest`) `BUILD_SOURCEVERSION` is the merge commit: the
//! head is `SYSTEM_PULLREQUEST_SOURCECOMMITID`. For GitHub repositories the visible number is
//! `SYSTEM_PULLREQUEST_PULLREQUESTNUMBER` (`…PULLREQUESTID` is internal); Azure Repos has only
//! `…PULLREQUESTID`, which is its visible number. Booleans are `True`/`False`, and
//! `BUILD_SOURCEBRANCHNAME` (the last path segment only) is never used.

use super::actions::trim_url;
use super::refs::{GitRef, parse_number};
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

/// Where the repository is hosted (`BUILD_REPOSITORY_PROVIDER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    /// `GitHub`: `BUILD_REPOSITORY_NAME` is `owner/repo`.
    Github,
    /// `GitHubEnterprise`: as GitHub, on a server whose API URL the variables don't give.
    GithubEnterprise,
    /// `TfsGit`: Azure Repos, `BUILD_REPOSITORY_NAME` is the repository within the project.
    AzureRepos,
    /// Bitbucket, plain Git, TFVC, …
    Other,
}

impl Provider {
    fn of(env: &Env) -> Self {
        match env.get("BUILD_REPOSITORY_PROVIDER") {
            Some(p) if p.eq_ignore_ascii_case("GitHub") => Provider::Github,
            Some(p) if p.eq_ignore_ascii_case("GitHubEnterprise") => Provider::GithubEnterprise,
            Some(p) if p.eq_ignore_ascii_case("TfsGit") => Provider::AzureRepos,
            _ => Provider::Other,
        }
    }
}

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let mut ctx = Context::empty(Ci::AzurePipelines);
    let provider = Provider::of(env);
    let project = env.get("SYSTEM_TEAMPROJECT");
    let name = env.get("BUILD_REPOSITORY_NAME");
    ctx.repository = match (provider, project, name) {
        (Provider::AzureRepos, Some(project), Some(name)) => Some(format!("{project}/{name}")),
        (Provider::AzureRepos, None, _) => None,
        (_, _, name) => name.map(str::to_owned),
    };
    match provider {
        Provider::Github => {
            ctx.forge = Some(Forge::Github);
            ctx.api_url = Some("https://api.github.com".to_owned());
        }
        Provider::GithubEnterprise => ctx.forge = Some(Forge::Github),
        Provider::AzureRepos => {
            ctx.forge = Some(Forge::Azure);
            ctx.api_url = env.get("SYSTEM_COLLECTIONURI").map(trim_url);
        }
        Provider::Other => {}
    }
    ctx.job_url = match (
        env.get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"),
        project,
        env.get("BUILD_BUILDID"),
    ) {
        (Some(collection), Some(project), Some(build)) => Some(format!(
            "{}/{}/_build/results?buildId={build}",
            trim_url(collection),
            crate::net::segment(project)
        )),
        _ => None,
    };
    ctx.run = RunInfo {
        event: var("BUILD_REASON"),
        server_url: env.get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI").map(trim_url),
        run_id: var("BUILD_BUILDID"),
        job_id: var("SYSTEM_JOBID"),
        ..RunInfo::default()
    };
    let source_version = var("BUILD_SOURCEVERSION");
    if env.get("BUILD_REASON") == Some("PullRequest") {
        ctx.sha = var("SYSTEM_PULLREQUEST_SOURCECOMMITID");
        if ctx.sha.is_none() {
            ctx.notes.push(
                "SYSTEM_PULLREQUEST_SOURCECOMMITID is not set (BUILD_SOURCEVERSION is a merge \
                 commit): set `sha`"
                    .to_owned(),
            );
        }
        let source = env.get("SYSTEM_PULLREQUEST_SOURCEBRANCH").and_then(branch);
        ctx.ref_name.clone_from(&source);
        ctx.change_request = Some(ChangeRequest {
            number: env
                .get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
                .or_else(|| env.get("SYSTEM_PULLREQUEST_PULLREQUESTID"))
                .and_then(parse_number),
            source_branch: source,
            target_branch: env.get("SYSTEM_PULLREQUEST_TARGETBRANCH").and_then(branch),
            is_fork: env.get("SYSTEM_PULLREQUEST_ISFORK").and_then(|v| {
                if v.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if v.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }),
        });
    } else {
        ctx.sha.clone_from(&source_version);
        if let Some(git_ref) = env.get("BUILD_SOURCEBRANCH").map(GitRef::parse) {
            ctx.ref_name = git_ref.name().map(str::to_owned);
            ctx.is_tag = git_ref.is_tag();
        }
    }
    if source_version.is_some() && source_version != ctx.sha {
        ctx.run.checkout_sha = source_version;
    }
    ctx
}

/// A pull-request branch: Azure Repos sends `refs/heads/x`, GitHub pull requests send `x`.
fn branch(name: &str) -> Option<String> {
    GitRef::parse(name).name().map(str::to_owned)
}
