//! Where to report: the repository, the commit (the pull request's head, never a merge commit)
//! and the pull request, per event (`github.md` §10), with the `sha` / `pr_number` settings
//! always winning.
//!
//! Detection (`ci::github`) already read the event payload; this only fills the gaps it left,
//! with at most one API call:
//!
//! | case | call |
//! |---|---|
//! | pull_request, pull_request_target, pull_request_review, workflow_run with `pull_requests` | none |
//! | issue_comment on a PR; `pr_number` set without `sha` (workflow_dispatch); a PR without head | `GET /pulls/{n}` → `head.sha` |
//! | push, workflow_dispatch on a branch, workflow_run of a fork (number unknown) | `GET /commits/{sha}/pulls` → the open PR whose head is this SHA |
//! | merge_group | none: the PR at the tip of the queue, from the branch name |
//!
//! No pull request is a normal case: statuses, deployments and the summary still go out.

use serde_json::Value;

use super::client::Client;
use crate::ci::Context;
use crate::error::{Error, Result};
use crate::plan::Subject;

/// `owner/name`, checked to be safe in a URL path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Repo(String);

impl Repo {
    /// The repository of `GITHUB_REPOSITORY`; `None` unless it is `owner/name` of the characters
    /// GitHub allows.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (owner, name) = text.split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(name) && name != "." && name != "..").then(|| Self(text.to_owned()))
    }

    /// `/repos/owner/name` followed by `rest`.
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.0)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) sha: Option<String>,
    pub(crate) pr: Option<u64>,
    /// How the pull request was found, for the summary (`from the event`, …).
    pub(crate) pr_source: &'static str,
}

impl Target {
    /// What the context and the decided subject say, without any call.
    pub(crate) fn known(context: &Context, subject: &Subject) -> Self {
        let from_event = context.change_request.as_ref().and_then(|c| c.number);
        let (pr, pr_source) = match (subject.explicit_pr, from_event) {
            (Some(n), _) => (Some(n), "from `pr_number`"),
            (None, Some(n)) => (Some(n), "from the event"),
            (None, None) => match context.run.queued_change_request {
                Some(n) => (Some(n), "from the merge queue branch"),
                None => (None, ""),
            },
        };
        Self {
            sha: subject.sha.clone(),
            pr,
            pr_source,
        }
    }

    /// Fills the gaps with one API call where the table in the module docs says so.
    pub(crate) async fn resolve(
        context: &Context,
        subject: &Subject,
        repo: &Repo,
        client: &Client,
    ) -> Result<Self> {
        let mut target = Self::known(context, subject);
        let event = context.run.event.as_deref();
        let event_number = context.change_request.as_ref().and_then(|c| c.number);
        if let Some(n) = target.pr {
            let other_pr = subject.explicit_pr.is_some() && subject.explicit_pr != event_number;
            let head_unknown = context.run.sha_needs_lookup || target.sha.is_none() || other_pr;
            if subject.explicit_sha.is_none() && head_unknown {
                target.sha = Some(pull_head(repo, n, client).await?);
            }
            return Ok(target);
        }
        let Some(sha) = target.sha.clone() else {
            return Ok(target);
        };
        let fork_without_number = context
            .change_request
            .as_ref()
            .is_some_and(|c| c.number.is_none());
        let branch_event = !context.is_tag
            && matches!(
                event,
                Some("push" | "workflow_dispatch" | "workflow_run") | None
            );
        if (fork_without_number || branch_event)
            && let Some(n) = open_pull_with_head(repo, &sha, client).await?
        {
            target.pr = Some(n);
            target.pr_source = "found by its head commit";
        }
        Ok(target)
    }
}

/// `GET /repos/{o}/{r}/pulls/{n}` → `head.sha`.
async fn pull_head(repo: &Repo, number: u64, client: &Client) -> Result<String> {
    let path = repo.path(&format!("/pulls/{number}"));
    let r = client.get(&path).await.map_err(|e| match e {
        Error::PlatformApi { status: 404, .. } => Error::InvalidSetting {
            name: "pr_number".into(),
            source_name: "the event or `pr_number`".into(),
            problem: format!("pull request #{number} was not found in {}", repo.as_str()),
            hint: "check `pr_number` names a pull request of this repository".into(),
        },
        other => other,
    })?;
    r.body["head"]["sha"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::BadResponse {
            platform: super::client::GITHUB.into(),
            url: client.url(&path),
            problem: "the pull request has no head.sha".into(),
            hint: "set `sha` to the commit to report on".into(),
        })
}

/// `GET /repos/{o}/{r}/commits/{sha}/pulls`: the open pull request whose head is `sha` (the
/// oldest when several are), or none. A merged pull request that introduced the commit is not
/// reported on.
async fn open_pull_with_head(repo: &Repo, sha: &str, client: &Client) -> Result<Option<u64>> {
    let r = client
        .get(&repo.path(&format!("/commits/{sha}/pulls?per_page=100")))
        .await?;
    Ok(pick_open_pull(&r.body, sha))
}

pub(crate) fn pick_open_pull(list: &Value, sha: &str) -> Option<u64> {
    list.as_array()?
        .iter()
        .filter(|p| p["state"] == "open")
        .filter(|p| {
            p["head"]["sha"]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(sha))
        })
        .filter_map(|p| p["number"].as_u64())
        .min()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn repos_are_checked() {
        assert!(Repo::parse("acme/shop.web").is_some());
        assert!(Repo::parse("acme").is_none());
        assert!(Repo::parse("acme/../x").is_none());
        assert!(Repo::parse("acme/shop?x=1").is_none());
        assert_eq!(
            Repo::parse("o/r").map(|r| r.path("/statuses/abc")),
            Some("/repos/o/r/statuses/abc".into())
        );
    }

    #[test]
    fn the_open_pull_with_this_head_is_picked() {
        let list = json!([
            {"number": 9, "state": "closed", "head": {"sha": "abc"}},
            {"number": 12, "state": "open", "head": {"sha": "def"}},
            {"number": 11, "state": "open", "head": {"sha": "ABC"}},
            {"number": 10, "state": "open", "head": {"sha": "abc"}},
        ]);
        assert_eq!(pick_open_pull(&list, "abc"), Some(10));
        assert_eq!(pick_open_pull(&list, "fff"), None);
        assert_eq!(pick_open_pull(&json!({"message": "x"}), "abc"), None);
    }
}
