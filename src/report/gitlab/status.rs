//! The commit status: one external job named `ferry/<environment>` (or `status_context`) in this
//! pipeline, `running` when the first phase starts, then `success` / `failed` / `canceled`.
//!
//! GitLab quirks handled here (`gitlab.md` §3, `app/services/ci/create_commit_status_service.rb`):
//!
//! - posting the state a status already has answers 400 `Cannot transition status via :run
//!   from :running`: the status is already there, so it counts as done;
//! - 409 `Another update to this commit status is in progress` (a per-commit lock that GitLab
//!   itself retried for ~10 s): retried with back-off, then given up with a warning;
//! - 400 `name has already been taken`: a job of the pipeline has that name; the warning says
//!   to set `status_context`;
//! - `target_url` and `description` are at most 255 characters, or GitLab refuses the status.

use std::time::Duration;

use gitlab::api::projects::repository::commits::{CommitStatusState, CreateCommitStatus};
use serde::Deserialize;

use super::client::{Failure, GitlabClient};
use super::target::StatusTarget;
use crate::platform::{Command, RunOutcome, Status};
use crate::report::HumanDuration;
use crate::secret::Redactor;

/// GitLab's limit for `target_url` and `description` (and the crate's builder check).
pub(crate) const FIELD_MAX: usize = 255;
/// Waits before retrying a 409 (GitLab already retried for about 10 s on its side).
const CONFLICT_WAITS: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// The status name used when `status_context` is not set.
pub(crate) fn default_name(environment: &str) -> String {
    format!("ferry/{environment}")
}

/// The state GitLab shows for a finished run.
pub(crate) fn final_state(outcome: &RunOutcome) -> CommitStatusState {
    match outcome.status {
        // A detached run was triggered and is not watched: leaving `running` would keep the
        // pipeline running forever (gitlab.md §3), so it is reported as done.
        Status::Succeeded | Status::Detached => CommitStatusState::Success,
        Status::Failed | Status::Errored | Status::TimedOut => CommitStatusState::Failed,
        Status::Cancelled => CommitStatusState::Canceled,
        Status::Skipped => CommitStatusState::Skipped,
    }
}

/// The one-line description of a finished run (at most [`FIELD_MAX`] characters, redacted).
pub(crate) fn final_description(
    outcome: &RunOutcome,
    environment: &str,
    redactor: &Redactor,
) -> String {
    let d = HumanDuration(outcome.duration);
    let text = match (outcome.status, outcome.command) {
        (Status::Succeeded, Command::Deploy) => format!("Deployed to {environment} in {d}"),
        (Status::Succeeded, Command::Build) => format!("Built in {d}"),
        (Status::Succeeded, Command::Stop) => format!("Stopped {environment} in {d}"),
        (Status::Detached, _) => format!(
            "Triggered {} of {environment}; not waiting",
            outcome.command.as_str()
        ),
        (Status::Skipped, _) => "Nothing to do".to_string(),
        (status, command) => {
            let what = match status {
                Status::TimedOut => "timed out",
                Status::Cancelled => "cancelled",
                Status::Errored => "could not talk to the platform",
                _ => "failed",
            };
            match &outcome.message {
                Some(m) => format!("{} {what}: {m}", capitalised(command.as_str())),
                None => format!("{} {what} after {d}", capitalised(command.as_str())),
            }
        }
    };
    one_line(&redactor.redact(&text), FIELD_MAX)
}

/// The description while running.
pub(crate) fn running_description(command: Command, environment: &str) -> String {
    one_line(
        &match command {
            Command::Deploy => format!("Deploying to {environment}"),
            Command::Build => "Building".to_string(),
            Command::Stop => format!("Stopping {environment}"),
        },
        FIELD_MAX,
    )
}

/// A link GitLab accepts: http(s), at most [`FIELD_MAX`] characters, no credentials.
pub(crate) fn usable_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let ok = matches!(parsed.scheme(), "http" | "https")
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.as_str().len() <= FIELD_MAX;
    ok.then(|| parsed.to_string())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// `text` on one line, control characters turned into spaces, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    if clean.chars().count() <= max {
        clean
    } else {
        let mut cut: String = clean.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// GitLab's answer to a status POST (only what ferry reads).
#[derive(Debug, Deserialize)]
pub(crate) struct CommitStatus {
    pub(crate) id: u64,
    pub(crate) status: String,
}

/// What posting a status came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Posted {
    /// GitLab created or updated the status.
    Done,
    /// The status already had this state (the same-state 400).
    AlreadyThere,
}

/// Posts one state of the status.
pub(crate) async fn post(
    client: &GitlabClient,
    target: &StatusTarget,
    name: &str,
    state: CommitStatusState,
    description: &str,
    target_url: Option<&str>,
) -> Result<Posted, Failure> {
    let mut builder = CreateCommitStatus::builder();
    builder
        .project(target.project.name_or_id())
        .commit(target.sha.as_str())
        .state(state)
        .name(name)
        .description(description);
    if let Some(url) = target_url {
        builder.target_url(url);
    }
    if let Some(id) = target.pipeline_id {
        builder.pipeline_id(id);
    }
    let endpoint = builder.build().map_err(|e| Failure {
        method: "POST".into(),
        url: format!("projects/…/statuses/{}", target.sha),
        status: None,
        message: format!("ferry built an invalid status request: {e}"),
        hint: Some(crate::error::BUG_FIX.into()),
    })?;
    let mut waits = CONFLICT_WAITS.iter();
    loop {
        match client.call::<CommitStatus, _>(&endpoint).await {
            Ok(status) => {
                tracing::debug!(id = status.id, state = %status.status, "commit status posted");
                return Ok(Posted::Done);
            }
            Err(f) if f.status == Some(400) && f.message.contains("Cannot transition status") => {
                return Ok(Posted::AlreadyThere);
            }
            Err(f) if f.status == Some(409) => match waits.next() {
                Some(wait) => tokio::time::sleep(*wait).await,
                None => {
                    return Err(f.with_hint(
                        "another update of this commit's statuses kept GitLab busy; the status may be out of date",
                    ));
                }
            },
            Err(f) => return Err(explain(f, name)),
        }
    }
}

/// Adds the fix for the errors people can do something about (a 403 is a refusal, which the
/// shared reporter words through the adapter).
fn explain(f: Failure, name: &str) -> Failure {
    let hint = match f.status {
        Some(400) if f.message.contains("has already been taken") => format!(
            "a job of this pipeline is named {name:?}: set `status_context` (FERRY_STATUS_CONTEXT) to another name"
        ),
        Some(401) => "the token is not valid (expired or revoked?): create a project access token with the `api` scope and role Developer, and store it as the masked CI/CD variable FERRY_TOKEN".into(),
        Some(404) => "GitLab does not know this project, commit or pipeline for the token: check that the token's user is a member of the project and that the commit was pushed".into(),
        _ => return f,
    };
    f.with_hint(hint)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_documented_response_parses() {
        let s: CommitStatus = serde_json::from_str(include_str!(
            "../../../tests/fixtures/gitlab-api/commit_status.json"
        ))
        .unwrap();
        assert_eq!((s.id, s.status.as_str()), (93, "success"));
    }

    #[test]
    fn states_map_to_gitlabs() {
        let mut o = fixture::failed_outcome();
        assert_eq!(final_state(&o), CommitStatusState::Failed);
        o.status = Status::Succeeded;
        assert_eq!(final_state(&o), CommitStatusState::Success);
        o.status = Status::Cancelled;
        assert_eq!(final_state(&o), CommitStatusState::Canceled);
        o.status = Status::Detached;
        assert_eq!(final_state(&o), CommitStatusState::Success);
    }

    #[test]
    fn descriptions_are_one_short_redacted_line() {
        let mut o = fixture::failed_outcome();
        o.message = Some(format!("boom\nwith s3cret-token {}", "x".repeat(400)));
        let secrets = [crate::secret::SecretString::from("s3cret-token")];
        let d = final_description(&o, "staging", &Redactor::new(&secrets));
        assert!(d.chars().count() <= FIELD_MAX);
        assert!(!d.contains('\n'));
        assert!(!d.contains("s3cret-token"));
        assert!(d.starts_with("Deploy failed: boom with ***"), "{d}");
        o.status = Status::Succeeded;
        o.duration = Duration::from_secs(65);
        assert_eq!(
            final_description(&o, "staging", &Redactor::default()),
            "Deployed to staging in 1m 05s"
        );
    }

    #[test]
    fn target_urls_must_fit_and_carry_no_credentials() {
        assert_eq!(
            usable_url("https://x.example/a").as_deref(),
            Some("https://x.example/a")
        );
        assert_eq!(usable_url("https://u:p@x.example/"), None);
        assert_eq!(
            usable_url(&format!("https://x.example/{}", "a".repeat(300))),
            None
        );
        assert_eq!(usable_url("javascript:alert(1)"), None);
    }
}
