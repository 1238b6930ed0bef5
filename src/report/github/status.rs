//! The commit status on the head SHA: `pending` when the work starts, then `success`, `failure` or
//! `error`, under the context `ferry/<environment>` (setting `status_context`).
//!
//! GitHub refuses a description over 140 characters (422 `description is too long`), so it is
//! cut on a character boundary with `…`. The link (`target_url`) is the environment URL, else the
//! platform's log, else the CI job.

use serde_json::{Value, json};

use super::client::Client;
use super::target::Repo;
use crate::error::Result;
use crate::net::Replay;
use crate::platform::{Command, Phase, RunOutcome, Status};
use crate::report::human_duration::HumanDuration;
use crate::report::row::culprit;
use crate::report::sanitize;

/// GitHub's limit for a status description, in characters.
pub(crate) const DESCRIPTION_MAX: usize = 140;

/// The status context: the setting, else `ferry/<environment>`, else `ferry`.
pub(crate) fn context_name(setting: Option<&str>, environment: Option<&str>) -> String {
    match (setting, environment) {
        (Some(s), _) => s.to_owned(),
        (None, Some(env)) => format!("ferry/{env}"),
        (None, None) => "ferry".to_owned(),
    }
}

/// `text` on one line, at most [`DESCRIPTION_MAX`] characters.
pub(crate) fn description(text: &str) -> String {
    let line = sanitize::inline(text);
    let line = line.trim();
    if line.chars().count() <= DESCRIPTION_MAX {
        return line.to_owned();
    }
    let mut out: String = line.chars().take(DESCRIPTION_MAX - 1).collect();
    out.push('…');
    out
}

/// One status to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommitStatus {
    pub(crate) state: &'static str,
    pub(crate) description: String,
    pub(crate) target_url: Option<String>,
}

impl CommitStatus {
    /// The status when the work starts.
    pub(crate) fn pending(command: Command, environment: Option<&str>, link: Option<&str>) -> Self {
        let text = match (command, environment) {
            (Command::Build, _) => "Building…".to_owned(),
            (Command::Deploy, Some(env)) => format!("Deploying to {env}…"),
            (Command::Deploy, None) => "Deploying…".to_owned(),
            (Command::Stop, Some(env)) => format!("Stopping {env}…"),
            (Command::Stop, None) => "Stopping…".to_owned(),
        };
        Self {
            state: "pending",
            description: description(&text),
            target_url: link.and_then(http_url),
        }
    }

    /// The final status of a run.
    pub(crate) fn finished(outcome: &RunOutcome, link: Option<&str>) -> Self {
        let d = HumanDuration(outcome.duration);
        let env = outcome.environment.as_deref();
        let why = outcome
            .message
            .clone()
            .or_else(|| culprit(outcome).and_then(|p| p.message.clone()));
        let failed_phase = culprit(outcome).map_or(Phase::Deploy, |p| p.phase);
        let (state, text) = match outcome.status {
            Status::Succeeded | Status::Skipped => (
                "success",
                match (outcome.command, env) {
                    (Command::Deploy, Some(env)) => format!("Deployed to {env} in {d}"),
                    (Command::Deploy, None) => format!("Deployed in {d}"),
                    (Command::Build, _) => format!("Built in {d}"),
                    (Command::Stop, Some(env)) => format!("Stopped {env} in {d}"),
                    (Command::Stop, None) => format!("Stopped in {d}"),
                },
            ),
            Status::Detached => ("success", "Triggered; ferry did not wait for it".into()),
            Status::Failed => (
                "failure",
                with_reason(&format!("{failed_phase} failed after {d}"), why.as_deref()),
            ),
            Status::Errored => (
                "error",
                with_reason(&format!("{failed_phase}: error"), why.as_deref()),
            ),
            Status::TimedOut => ("error", format!("{failed_phase} timed out after {d}")),
            Status::Cancelled => ("error", format!("{failed_phase} cancelled")),
        };
        Self {
            state,
            description: description(&text),
            target_url: link.and_then(http_url),
        }
    }

    pub(crate) fn body(&self, context: &str) -> Value {
        let mut body = json!({
            "state": self.state,
            "context": context,
            "description": self.description,
        });
        if let Some(url) = &self.target_url {
            body["target_url"] = json!(url);
        }
        body
    }

    /// Posts it on `sha`; returns the login GitHub recorded as its creator (ferry's identity).
    pub(crate) async fn post(
        &self,
        client: &Client,
        repo: &Repo,
        sha: &str,
        context: &str,
    ) -> Result<Option<String>> {
        // Posting the same state twice changes nothing people see: safe to repeat.
        let r = client
            .post(
                &repo.path(&format!("/statuses/{sha}")),
                &self.body(context),
                Replay::Safe,
            )
            .await?;
        Ok(r.body["creator"]["login"].as_str().map(str::to_owned))
    }
}

fn with_reason(head: &str, why: Option<&str>) -> String {
    match why {
        Some(why) if !why.trim().is_empty() => format!("{head}: {}", why.trim()),
        _ => head.to_owned(),
    }
}

/// `url` when it is an absolute http(s) URL (GitHub links nothing else).
pub(crate) fn http_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_fit_140_characters_on_a_char_boundary() {
        let long = "é".repeat(300);
        let d = description(&long);
        assert_eq!(d.chars().count(), DESCRIPTION_MAX);
        assert!(d.ends_with('…'));
        assert_eq!(description("a\nb\x1b[31m"), "a b");
        assert_eq!(description(&"x".repeat(140)).chars().count(), 140);
    }

    #[test]
    fn context_names() {
        assert_eq!(context_name(None, Some("staging")), "ferry/staging");
        assert_eq!(
            context_name(Some("deploy/shop"), Some("staging")),
            "deploy/shop"
        );
        assert_eq!(context_name(None, None), "ferry");
    }

    #[test]
    fn only_http_links() {
        assert_eq!(http_url("javascript:alert(1)"), None);
        assert_eq!(
            http_url("https://a.example/x").as_deref(),
            Some("https://a.example/x")
        );
    }
}
