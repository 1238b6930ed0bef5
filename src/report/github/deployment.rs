//! A GitHub deployment per run and environment, with its statuses `in_progress` → `success` /
//! `failure` / `error` (a cancelled run → `inactive`), and `ferry stop` marking the environment's
//! deployments `inactive`.
//!
//! The traps (`github.md` §3), each avoided here:
//!
//! - `auto_merge` defaults to true (GitHub merges the default branch in, 202 or 409): always false;
//! - `required_contexts` defaults to every status context (409 while ferry's own is pending):
//!   always `[]`;
//! - the ref must be the pull request's head, never `refs/pull/N/merge`: the head SHA;
//! - a 202 answer has no deployment: said plainly, nothing more is posted;
//! - review environments (`review…`, `preview…`, `pr-…`) are `transient_environment`, so GitHub
//!   shows them as destroyed once stopped; `production_environment` only when configured;
//! - `auto_inactive` (GitHub's default true) is sent only when configured.
//!
//! Setting `deployments = "off"` leaves deployments to the job's own `environment:` key.

use serde_json::{Value, json};

use super::client::{Client, GITHUB};
use super::status::{description, http_url};
use super::target::Repo;
use crate::error::{Error, Result};
use crate::net::Replay;
use crate::platform::{RunOutcome, Status};

/// How many of an environment's deployments `ferry stop` marks inactive (newest first): a stop
/// must not loop over a long history (bobheadxi/deployments#67).
pub(crate) const STOP_MAX: usize = 10;

/// True for review environments, which come and go with a pull request.
pub(crate) fn is_transient(environment: &str, production: Option<bool>) -> bool {
    if production == Some(true) {
        return false;
    }
    let e = environment.to_ascii_lowercase();
    e.starts_with("review")
        || e.starts_with("preview")
        || e.starts_with("pr-")
        || e.starts_with("pr/")
}

/// The body of `POST /repos/{o}/{r}/deployments`.
pub(crate) fn create_body(sha: &str, environment: &str, production: Option<bool>) -> Value {
    let mut body = json!({
        "ref": sha,
        "task": "deploy",
        "environment": environment,
        "auto_merge": false,
        "required_contexts": [],
        "transient_environment": is_transient(environment, production),
        "description": description(&format!("ferry deploy to {environment}")),
    });
    if let Some(production) = production {
        body["production_environment"] = json!(production);
    }
    body
}

/// Creates the deployment; returns its id.
pub(crate) async fn create(
    client: &Client,
    repo: &Repo,
    sha: &str,
    environment: &str,
    production: Option<bool>,
) -> Result<u64> {
    let path = repo.path("/deployments");
    let r = client
        .post(
            &path,
            &create_body(sha, environment, production),
            Replay::Never,
        )
        .await?;
    match r.body["id"].as_u64() {
        Some(id) if r.status.as_u16() == 201 => Ok(id),
        _ => Err(Error::BadResponse {
            platform: GITHUB.into(),
            url: client.url(&path),
            problem: format!(
                "GitHub answered {} without creating a deployment: {}",
                r.status.as_u16(),
                r.body["message"].as_str().unwrap_or("no message")
            ),
            hint: "this happens when GitHub tries to merge the default branch in; ferry sends \
                   auto_merge: false, so check the ref exists"
                .into(),
        }),
    }
}

/// One deployment status to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeploymentStatus {
    pub(crate) state: &'static str,
    pub(crate) description: String,
    pub(crate) log_url: Option<String>,
    pub(crate) environment_url: Option<String>,
}

impl DeploymentStatus {
    pub(crate) fn in_progress(log_url: Option<&str>) -> Self {
        Self {
            state: "in_progress",
            description: "Deploying…".into(),
            log_url: log_url.and_then(http_url),
            environment_url: None,
        }
    }

    /// The final status of a run, or `None` for a detached run (it is still in progress).
    pub(crate) fn finished(outcome: &RunOutcome, log_url: Option<&str>) -> Option<Self> {
        let (state, text) = match outcome.status {
            Status::Succeeded | Status::Skipped => ("success", "Deployed"),
            Status::Detached => return None,
            Status::Failed => ("failure", "Failed"),
            Status::Errored => ("error", "Error"),
            Status::TimedOut => ("error", "Timed out"),
            Status::Cancelled => ("inactive", "Cancelled"),
        };
        Some(Self {
            state,
            description: text.into(),
            log_url: log_url.and_then(http_url),
            environment_url: (state == "success")
                .then(|| outcome.url.as_deref().and_then(http_url))
                .flatten(),
        })
    }

    /// Marks a deployment inactive (`ferry stop`).
    pub(crate) fn inactive() -> Self {
        Self {
            state: "inactive",
            description: "Stopped".into(),
            log_url: None,
            environment_url: None,
        }
    }

    pub(crate) fn body(&self, auto_inactive: Option<bool>) -> Value {
        let mut body = json!({
            "state": self.state,
            "description": description(&self.description),
        });
        if let Some(url) = &self.log_url {
            body["log_url"] = json!(url);
        }
        if let Some(url) = &self.environment_url {
            body["environment_url"] = json!(url);
        }
        if let Some(auto) = auto_inactive {
            body["auto_inactive"] = json!(auto);
        }
        body
    }

    pub(crate) async fn post(
        &self,
        client: &Client,
        repo: &Repo,
        id: u64,
        auto_inactive: Option<bool>,
    ) -> Result<()> {
        // The same state twice is the same deployment state: safe to repeat.
        client
            .post(
                &repo.path(&format!("/deployments/{id}/statuses")),
                &self.body(auto_inactive),
                Replay::Safe,
            )
            .await?;
        Ok(())
    }
}

/// `ferry stop`: marks the newest [`STOP_MAX`] deployments of `environment` inactive. Returns
/// how many were marked.
pub(crate) async fn stop(client: &Client, repo: &Repo, environment: &str) -> Result<usize> {
    let env: String = url::form_urlencoded::byte_serialize(environment.as_bytes()).collect();
    let r = client
        .get(&repo.path(&format!(
            "/deployments?environment={env}&per_page={STOP_MAX}"
        )))
        .await?;
    let ids: Vec<u64> = r
        .body
        .as_array()
        .map(|list| list.iter().filter_map(|d| d["id"].as_u64()).collect())
        .unwrap_or_default();
    for id in &ids {
        DeploymentStatus::inactive()
            .post(client, repo, *id, None)
            .await?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_environments_are_transient() {
        assert!(is_transient("review-42", None));
        assert!(is_transient("Preview/feature-x", None));
        assert!(is_transient("pr-7", None));
        assert!(!is_transient("staging", None));
        assert!(!is_transient("production", None));
        assert!(!is_transient("review-42", Some(true)));
    }

    #[test]
    fn creation_never_merges_nor_waits_for_contexts() {
        let body = create_body("abc1234", "staging", None);
        assert_eq!(body["auto_merge"], false);
        assert_eq!(body["required_contexts"], json!([]));
        assert_eq!(body["ref"], "abc1234");
        assert!(body.get("production_environment").is_none());
        let prod = create_body("abc1234", "prod", Some(true));
        assert_eq!(prod["production_environment"], true);
        assert_eq!(prod["transient_environment"], false);
    }
}
