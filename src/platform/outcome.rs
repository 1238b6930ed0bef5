//! The result of a whole run: what `--json` prints and what every reporter receives at the end.

use std::time::Duration;

use serde::Serialize;

use super::event::{PhaseOutcome, Status, duration_ms};
use crate::exit::ExitCode;

/// The command a run carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Build,
    Deploy,
    Stop,
}

impl Command {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Build => "build",
            Command::Deploy => "deploy",
            Command::Stop => "stop",
        }
    }
}

/// How a whole run ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunOutcome {
    /// Schema of this JSON document (`ferry.result/v1`).
    pub schema: &'static str,
    pub command: Command,
    pub environment: Option<String>,
    pub status: Status,
    pub exit_code: u8,
    /// The environment URL (the deploy's `url` output), when there is one.
    pub url: Option<String>,
    pub phases: Vec<PhaseOutcome>,
    #[serde(with = "duration_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Why the run did not succeed, for people.
    pub message: Option<String>,
}

impl RunOutcome {
    /// The schema name of the `--json` result.
    pub const SCHEMA: &'static str = "ferry.result/v1";

    /// The outcome of one phase, if it ran.
    pub fn phase(&self, phase: super::event::Phase) -> Option<&PhaseOutcome> {
        self.phases.iter().find(|p| p.phase == phase)
    }

    /// The exit code as the enum.
    pub fn exit(&self) -> ExitCode {
        match self.status {
            Status::Succeeded | Status::Detached | Status::Skipped => ExitCode::Success,
            Status::Failed => ExitCode::Failed,
            Status::Cancelled => ExitCode::Cancelled,
            Status::TimedOut => ExitCode::Timeout,
            // A settings mistake the platform revealed (a refused credential) is one to fix.
            Status::Errored if self.phases.iter().any(|p| p.settings_error) => ExitCode::Usage,
            Status::Errored => ExitCode::Platform,
        }
    }
}
