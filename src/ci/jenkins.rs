//! Jenkins (`JENKINS_URL`, or `JENKINS_HOME`), with the variables of three plugins:
//! - Multibranch / branch sources: `BRANCH_NAME` (`PR-<n>` on pull requests, which is **not a
//!   branch**), `CHANGE_ID`, `CHANGE_URL`, `CHANGE_BRANCH`, `CHANGE_TARGET`, `CHANGE_FORK`,
//!   `TAG_NAME`;
//! - GitHub Pull Request Builder (ghprb): `ghprbPullId`, `ghprbActualCommit` (the head; `GIT_COMMIT`
//!   is the merge), `ghprbGhRepository`, `ghprbSourceBranch`, `ghprbTargetBranch`;
//! - GitLab plugin: `gitlabMergeRequestIid` (not the instance-wide `…Id`),
//!   `gitlabMergeRequestLastCommit`, `gitlabSourceBranch`, `gitlabTargetBranch`, …
//!
//! With multibranch's default "merge" pull-request discovery, `GIT_COMMIT` may be a merge commit:
//! a multibranch pull request therefore reports no `sha` (it goes to `run.checkout_sha`, and
//! `run.sha_needs_lookup` asks the reporter to look the head up). Jenkins names no forge: the
//! plugin says GitHub or GitLab, and the API is guessed for well-known public hosts only.

use super::refs::parse_number;
use super::remote::Remote;
use super::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::env::Env;

/// Which plugin describes the change request, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// GitLab plugin, merge-request event.
    GitlabMergeRequest,
    /// GitHub Pull Request Builder.
    Ghprb,
    /// Multibranch pipeline building a change request (`CHANGE_ID`).
    Multibranch,
    /// A branch or tag build.
    Branch,
}

impl Trigger {
    fn of(env: &Env) -> Self {
        if env.get("gitlabMergeRequestIid").is_some() {
            Trigger::GitlabMergeRequest
        } else if env.get("ghprbPullId").is_some() {
            Trigger::Ghprb
        } else if env.get("CHANGE_ID").is_some() {
            Trigger::Multibranch
        } else {
            Trigger::Branch
        }
    }
}

pub(crate) fn read(env: &Env) -> Context {
    let var = |name: &str| env.get(name).map(str::to_owned);
    let first = |names: &[&str]| names.iter().find_map(|name| var(name));
    let mut ctx = Context::empty(Ci::Jenkins);
    let trigger = Trigger::of(env);
    ctx.job_url = var("BUILD_URL");
    ctx.run = RunInfo {
        run_id: var("BUILD_NUMBER"),
        server_url: var("JENKINS_URL").map(|u| u.trim_end_matches('/').to_owned()),
        ..RunInfo::default()
    };
    ctx.repository = repository(env);
    ctx.forge = match trigger {
        Trigger::Ghprb => Some(Forge::Github),
        Trigger::GitlabMergeRequest => Some(Forge::Gitlab),
        _ if env.get("gitlabSourceBranch").is_some() => Some(Forge::Gitlab),
        _ => None,
    };
    if let Some((forge, api)) = [
        "CHANGE_URL",
        "ghprbPullLink",
        "gitlabTargetRepoHttpUrl",
        "GIT_URL",
    ]
    .into_iter()
    .find_map(|name| Remote::parse(env.get(name)?)?.public_forge())
    {
        ctx.forge = Some(forge);
        ctx.api_url = Some(api.to_owned());
    }

    let head = first(&["ghprbActualCommit", "gitlabMergeRequestLastCommit"]);
    let git_commit = var("GIT_COMMIT");
    ctx.sha = match (trigger, head) {
        (_, Some(head)) => Some(head),
        (Trigger::Branch, None) => git_commit.clone(),
        (_, None) => {
            ctx.run.sha_needs_lookup = true;
            ctx.notes.push(
                "GIT_COMMIT may be the merge commit of the pull request (Jenkins' default \
                 discovery): the head commit needs an API lookup (or set `sha`)"
                    .to_owned(),
            );
            None
        }
    };
    if git_commit.is_some() && git_commit != ctx.sha {
        ctx.run.checkout_sha = git_commit;
    }

    let source = first(&["CHANGE_BRANCH", "ghprbSourceBranch", "gitlabSourceBranch"]);
    if let Some(tag) = var("TAG_NAME") {
        ctx.ref_name = Some(tag);
        ctx.is_tag = true;
    } else {
        ctx.ref_name = source
            .clone()
            .or_else(|| {
                (trigger == Trigger::Branch)
                    .then(|| var("BRANCH_NAME"))
                    .flatten()
            })
            .or_else(|| var("GIT_LOCAL_BRANCH"))
            .or_else(|| {
                env.get("GIT_BRANCH")
                    .map(|b| b.strip_prefix("origin/").unwrap_or(b).to_owned())
            });
    }

    let number = match trigger {
        Trigger::GitlabMergeRequest => env.get("gitlabMergeRequestIid"),
        Trigger::Ghprb => env.get("ghprbPullId"),
        Trigger::Multibranch => env.get("CHANGE_ID"),
        Trigger::Branch => None,
    };
    if trigger != Trigger::Branch {
        ctx.change_request = Some(ChangeRequest {
            number: number.and_then(parse_number),
            source_branch: source,
            target_branch: first(&["CHANGE_TARGET", "ghprbTargetBranch", "gitlabTargetBranch"]),
            is_fork: match trigger {
                Trigger::Multibranch => Some(env.get("CHANGE_FORK").is_some()),
                Trigger::GitlabMergeRequest => match (
                    env.get("gitlabSourceRepoHttpUrl"),
                    env.get("gitlabTargetRepoHttpUrl"),
                ) {
                    (Some(source), Some(target)) => Some(source != target),
                    _ => None,
                },
                Trigger::Ghprb | Trigger::Branch => None,
            },
        });
    }
    ctx
}

/// `owner/repo` from the plugin variables, the change URL, or (best effort) `GIT_URL`.
fn repository(env: &Env) -> Option<String> {
    if let Some(slug) = env.get("ghprbGhRepository") {
        return Some(slug.to_owned());
    }
    if let (Some(namespace), Some(name)) = (
        env.get("gitlabTargetNamespace"),
        env.get("gitlabTargetRepoName"),
    ) {
        return Some(format!("{namespace}/{name}"));
    }
    env.get("CHANGE_URL")
        .and_then(slug_from_change_url)
        .or_else(|| Some(Remote::parse(env.get("GIT_URL")?)?.path))
}

/// `…/<owner>/<repo>/pull/<n>` (GitHub) → `owner/repo`;
/// `…/projects/<P>/repos/<R>/pull-requests/<n>` (Bitbucket Server) → `P/R`.
fn slug_from_change_url(change_url: &str) -> Option<String> {
    let url = url::Url::parse(change_url).ok()?;
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let number_follows = |i: usize| segments.get(i + 1).and_then(|n| parse_number(n)).is_some();
    if let Some(i) = segments
        .iter()
        .position(|s| *s == "pull-requests")
        .filter(|&i| number_follows(i) && i >= 4)
        && segments[i - 4] == "projects"
        && segments[i - 2] == "repos"
    {
        return Some(format!("{}/{}", segments[i - 3], segments[i - 1]));
    }
    let i = segments
        .iter()
        .rposition(|s| *s == "pull")
        .filter(|&i| number_follows(i) && i >= 2)?;
    Some(format!("{}/{}", segments[i - 2], segments[i - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_url_slugs() {
        assert_eq!(
            slug_from_change_url("https://github.com/octo-org/octo-repo/pull/42").as_deref(),
            Some("octo-org/octo-repo")
        );
        assert_eq!(
            slug_from_change_url(
                "https://bitbucket.example.com/projects/PRJ/repos/app/pull-requests/7/overview"
            )
            .as_deref(),
            Some("PRJ/app")
        );
        assert_eq!(
            slug_from_change_url(
                "https://bitbucket.example.com/projects/PRJ/repos/app/pull-requests/7"
            )
            .as_deref(),
            Some("PRJ/app")
        );
        assert_eq!(
            slug_from_change_url("https://example.com/x/merge_requests/3"),
            None
        );
        assert_eq!(slug_from_change_url("not a url"), None);
    }
}
