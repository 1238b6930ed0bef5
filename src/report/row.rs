//! One environment's line in the comment, the MR note and the job summary, and the state it is
//! stored as (inside the comment itself, so another job can merge its own row in).
//!
//! A `Row` is data, not Markdown: [`super::Table`] renders it, [`super::CommentBody`] stores it.
//! Its serialised form is part of the `ferry:v1` comment state: add optional fields, never rename.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::ci::{Context, Forge};
use crate::platform::{Command, Phase, PhaseOutcome, RunOutcome, Status};

/// Where an environment stands, as people read it in the table (a closed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// The build is running.
    Building,
    /// The deploy is running.
    Deploying,
    /// The environment is being torn down.
    Stopping,
    /// Deployed and live.
    Ready,
    /// Built (a `ferry build` run; nothing deployed).
    Built,
    /// Triggered and left running (`--detach`).
    Triggered,
    /// Torn down (`ferry stop`).
    Stopped,
    /// The platform reported a failure.
    Failed,
    /// ferry could not talk to the platform.
    Errored,
    /// A time limit ran out.
    TimedOut,
    /// Cancelled (the job was cancelled).
    Cancelled,
    /// Nothing was run.
    Skipped,
    /// Written by a newer ferry with a status this one does not know; shown as such, kept as is.
    #[serde(other)]
    Unknown,
}

impl RowStatus {
    /// The status of a finished run.
    pub fn from_outcome(outcome: &RunOutcome) -> Self {
        match (outcome.status, outcome.command) {
            (Status::Succeeded, Command::Deploy) => RowStatus::Ready,
            (Status::Succeeded, Command::Build) => RowStatus::Built,
            (Status::Succeeded, Command::Stop) => RowStatus::Stopped,
            (Status::Detached, _) => RowStatus::Triggered,
            (Status::Failed, _) => RowStatus::Failed,
            (Status::Errored, _) => RowStatus::Errored,
            (Status::TimedOut, _) => RowStatus::TimedOut,
            (Status::Cancelled, _) => RowStatus::Cancelled,
            (Status::Skipped, _) => RowStatus::Skipped,
        }
    }

    /// The status while `phase` is running.
    pub fn running(phase: Phase) -> Self {
        match phase {
            Phase::Build => RowStatus::Building,
            Phase::Deploy => RowStatus::Deploying,
            Phase::Stop => RowStatus::Stopping,
        }
    }

    /// The emoji shown before the word.
    pub fn emoji(self) -> &'static str {
        match self {
            RowStatus::Building => "🔨",
            RowStatus::Deploying => "🚀",
            RowStatus::Stopping => "⏳",
            RowStatus::Ready | RowStatus::Built => "✅",
            RowStatus::Triggered => "↗️",
            RowStatus::Stopped => "⚪",
            RowStatus::Failed => "❌",
            RowStatus::Errored => "⚠️",
            RowStatus::TimedOut => "⌛",
            RowStatus::Cancelled => "🚫",
            RowStatus::Skipped => "⏭️",
            RowStatus::Unknown => "❔",
        }
    }

    /// The word shown after the emoji.
    pub fn word(self) -> &'static str {
        match self {
            RowStatus::Building => "Building",
            RowStatus::Deploying => "Deploying",
            RowStatus::Stopping => "Stopping",
            RowStatus::Ready => "Ready",
            RowStatus::Built => "Built",
            RowStatus::Triggered => "Triggered",
            RowStatus::Stopped => "Stopped",
            RowStatus::Failed => "Failed",
            RowStatus::Errored => "Error",
            RowStatus::TimedOut => "Timed out",
            RowStatus::Cancelled => "Cancelled",
            RowStatus::Skipped => "Skipped",
            RowStatus::Unknown => "Unknown",
        }
    }

    /// True when the row reports something that went wrong (and may carry a log tail).
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            RowStatus::Failed | RowStatus::Errored | RowStatus::TimedOut | RowStatus::Cancelled
        )
    }
}

/// One environment's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The environment's name; rows are keyed by it.
    pub environment: String,
    pub status: RowStatus,
    /// The environment URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The full commit SHA the row reports on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A link to the commit on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_url: Option<String>,
    /// How long the run took (kept to the millisecond).
    #[serde(
        default,
        with = "opt_duration_ms",
        rename = "duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// A link to the logs: the platform's, or the CI job's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_url: Option<String>,
    /// When the row was last written (kept to the second).
    #[serde(with = "rfc3339_seconds")]
    pub updated: SystemTime,
    /// Why it went wrong, for a bad status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The last log lines, for a bad status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    /// How many earlier tail lines were dropped to fit a size limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub log_tail_omitted: usize,
}

impl Row {
    /// A row with just a name, a status and a time (truncated to whole seconds, as stored).
    pub fn new(environment: impl Into<String>, status: RowStatus, updated: SystemTime) -> Self {
        Self {
            environment: environment.into(),
            status,
            url: None,
            commit: None,
            commit_url: None,
            duration: None,
            logs_url: None,
            updated: whole_seconds(updated),
            message: None,
            log_tail: Vec::new(),
            log_tail_omitted: 0,
        }
    }

    /// The row for a finished run: environment, status, URL, commit (from the context), duration,
    /// logs link (the platform's `log_url` output, else the CI job), and for a bad status the
    /// message and the failed phase's log tail.
    pub fn from_outcome(outcome: &RunOutcome, context: &Context, updated: SystemTime) -> Self {
        let status = RowStatus::from_outcome(outcome);
        let mut row = Row::new(
            outcome
                .environment
                .clone()
                .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned()),
            status,
            updated,
        );
        row.url.clone_from(&outcome.url);
        row.set_commit(context);
        row.duration = Some(whole_millis(outcome.duration));
        let culprit = culprit(outcome);
        row.logs_url = culprit
            .or_else(|| outcome.phases.last())
            .and_then(|p| p.outputs.get("log_url").cloned())
            .or_else(|| context.job_url.clone());
        if status.is_bad() {
            row.message = outcome
                .message
                .clone()
                .or_else(|| culprit.and_then(|p| p.message.clone()));
            row.log_tail = culprit.map(|p| p.log_tail.clone()).unwrap_or_default();
        }
        row
    }

    /// Fills `commit` and `commit_url` from the context (the commit URL only for forges whose
    /// commit page layout is known, and only with a server URL and repository).
    pub fn set_commit(&mut self, context: &Context) {
        self.commit.clone_from(&context.sha);
        self.commit_url = match (
            &context.sha,
            context.forge,
            &context.run.server_url,
            &context.repository,
        ) {
            (Some(sha), Some(forge), Some(server), Some(repo)) => {
                let server = server.trim_end_matches('/');
                match forge {
                    Forge::Github | Forge::Gitea | Forge::Forgejo => {
                        Some(format!("{server}/{repo}/commit/{sha}"))
                    }
                    Forge::Gitlab => Some(format!("{server}/{repo}/-/commit/{sha}")),
                    Forge::Bitbucket => Some(format!("{server}/{repo}/commits/{sha}")),
                    Forge::Azure => None,
                }
            }
            _ => None,
        };
    }
}

/// The row name used when a run has no environment (`ferry build` without one).
pub(crate) const DEFAULT_ENVIRONMENT: &str = "default";

/// The phase that made the run go wrong: the first one that neither succeeded nor was skipped.
pub(crate) fn culprit(outcome: &RunOutcome) -> Option<&PhaseOutcome> {
    outcome
        .phases
        .iter()
        .find(|p| !p.status.is_good() && p.status != Status::Skipped)
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

fn whole_millis(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `Option<Duration>` as whole milliseconds.
mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// `SystemTime` as RFC 3339 UTC with whole seconds (`2025-01-02T03:04:05Z`).
mod rfc3339_seconds {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_seconds(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_from_newer_versions_still_parse() {
        let row: Row = serde_json::from_str(
            r#"{"environment":"e","status":"hibernating","updated":"2025-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        assert_eq!(row.status, RowStatus::Unknown);
    }

    #[test]
    fn new_truncates_time_to_seconds() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        assert_eq!(
            Row::new("e", RowStatus::Ready, t).updated,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        );
    }
}
