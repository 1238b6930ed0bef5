//! What each kind of report needs from the token, and the one notice when GitHub refused it.
//!
//! The Actions `GITHUB_TOKEN` has only the permissions the workflow lists (listing one sets the
//! others to none), and a pull request from a fork gets a read-only one. A refused write answers
//! 403 "Resource not accessible by integration"; ferry then skips that kind of report (all of
//! them for a fork's read-only token) and says once which permission was missing and what to do.

use crate::error::Error;

/// The things ferry writes through the API, each needing its own permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    Status,
    Deployment,
    Comment,
    /// Reads (pull-request lookups, identity): no write permission involved.
    Lookup,
}

impl Surface {
    /// The permission as written in a workflow's `permissions:`.
    pub(crate) fn permission(self) -> &'static str {
        match self {
            Surface::Status => "statuses: write",
            Surface::Deployment => "deployments: write",
            Surface::Comment => "pull-requests: write",
            Surface::Lookup => "pull-requests: read",
        }
    }
}

/// The notice for a refusal: GitHub's answer, which permissions are missing, and the fix that
/// fits (a fork's pull request: run from `workflow_run`; else: grant the permission).
pub(crate) fn notice(refusal: Error, read_only: bool, missing: &[Surface], repo: &str) -> Error {
    let missing = missing
        .iter()
        .map(|s| s.permission())
        .collect::<Vec<_>>()
        .join(", ");
    let explained = if read_only {
        format!(
            "the token is read-only here (GitHub gives pull requests from forks a read-only \
             GITHUB_TOKEN), so {missing} on {repo} cannot be used. Reported to the job summary, \
             outputs and log only. Fix, if the pull request should be reported on: run ferry from \
             a `workflow_run` workflow, with `pr_number` and `sha` from the pull request's run"
        )
    } else {
        format!(
            "the token lacks {missing} on {repo}; that part was skipped. Fix: grant \
             `permissions:` {missing} to the job (listing any permission sets the others to none)"
        )
    };
    match refusal {
        Error::PlatformApi {
            platform,
            method,
            url,
            status,
            body,
            retry_after,
        } => Error::PlatformApi {
            platform,
            method,
            url,
            status,
            body: format!("{body}: {explained}"),
            retry_after,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal() -> Error {
        Error::PlatformApi {
            platform: "GitHub".into(),
            method: "POST".into(),
            url: "https://api.github.com/repos/o/r/statuses/abc".into(),
            status: 403,
            body: "Resource not accessible by integration".into(),
            retry_after: None,
        }
    }

    #[test]
    fn a_fork_is_told_about_workflow_run_and_others_to_grant_the_permission() {
        let fork = notice(refusal(), true, &[Surface::Status, Surface::Comment], "o/r").to_string();
        assert!(
            fork.contains("statuses: write, pull-requests: write on o/r"),
            "{fork}"
        );
        assert!(fork.contains("workflow_run"), "{fork}");
        let same_repo = notice(refusal(), false, &[Surface::Deployment], "o/r").to_string();
        assert!(
            same_repo.contains("grant `permissions:` deployments: write"),
            "{same_repo}"
        );
        assert!(same_repo.starts_with("GitHub: POST https://api.github.com/repos/o/r/statuses/abc answered HTTP 403: Resource not accessible by integration: "), "{same_repo}");
    }
}
