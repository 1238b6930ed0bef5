//! What each kind of report needs from a GitHub token, and the words for a refusal.
//!
//! The Actions `GITHUB_TOKEN` has only the permissions the workflow lists (listing one sets the
//! others to none), and a pull request from a fork gets a read-only one. A refused write answers
//! 403 "Resource not accessible by integration"; the shared reporter then skips that kind of
//! report (all of them for a fork's read-only token) and says once, in these words, which
//! permission was missing and what to do.

use crate::report::forge::adapter::Surface;

/// The permission `surface` needs, as written in a workflow's `permissions:`.
pub(crate) fn permission(surface: Surface) -> &'static str {
    match surface {
        Surface::Status => "statuses: write",
        Surface::Deployment => "deployments: write",
        Surface::Comment => "pull-requests: write",
        Surface::Lookup => "pull-requests: read",
    }
}

/// The permissions of `surfaces`, comma-separated.
pub(crate) fn permissions(surfaces: &[Surface]) -> String {
    surfaces
        .iter()
        .map(|s| permission(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why and the fix, for a refusal of `missing` on `repo`: a fork's pull request is told to run
/// from `workflow_run`; anything else to grant the permission.
pub(crate) fn refusal(missing: &[Surface], read_only: bool, repo: &str) -> (String, String) {
    let missing = permissions(missing);
    if read_only {
        (
            format!(
                "the token is read-only here (GitHub gives pull requests from forks a read-only \
                 GITHUB_TOKEN) and cannot use {missing} on {repo}"
            ),
            "if the pull request should be reported on, run ferry from a `workflow_run` \
             workflow, with `pr_number` and `sha` from the pull request's run"
                .into(),
        )
    } else {
        (
            format!("the token lacks {missing} on {repo}"),
            format!(
                "grant `permissions:` {missing} to the job (listing any permission sets the \
                 others to none)"
            ),
        )
    }
}

/// The fix when there is no token at all.
pub(crate) fn no_token_fix(surfaces: &[Surface]) -> String {
    format!(
        "pass `token: ${{{{ github.token }}}}` to the action (or set FERRY_TOKEN), with \
         `permissions:` {}",
        permissions(surfaces)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_is_told_about_workflow_run_and_others_to_grant_the_permission() {
        let (why, fix) = refusal(&[Surface::Status, Surface::Comment], true, "o/r");
        assert!(
            why.contains("read-only")
                && why.contains("statuses: write, pull-requests: write on o/r"),
            "{why}"
        );
        assert!(fix.contains("workflow_run"), "{fix}");
        let (why, fix) = refusal(&[Surface::Deployment], false, "o/r");
        assert_eq!(why, "the token lacks deployments: write on o/r");
        assert!(
            fix.starts_with("grant `permissions:` deployments: write"),
            "{fix}"
        );
        assert_eq!(
            no_token_fix(&[Surface::Status]),
            "pass `token: ${{ github.token }}` to the action (or set FERRY_TOKEN), with \
             `permissions:` statuses: write"
        );
    }
}
