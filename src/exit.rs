//! The documented, stable exit codes (README "Exit codes").

use serde::Serialize;

/// How a ferry run ended, as the process exit code. These numbers are a public contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// 0 — everything asked for succeeded.
    Success,
    /// 1 — the platform reported a failed build, deploy or stop.
    Failed,
    /// 2 — bad usage or settings; nothing was triggered.
    Usage,
    /// 3 — the platform was unreachable or its API kept failing after retries.
    Platform,
    /// 4 — a phase or the whole run exceeded its time limit (the remote operation was cancelled).
    Timeout,
    /// 5 — a report failed and `fail_on_report_error` is set.
    Report,
    /// 70 — an internal error: a bug in ferry (`EX_SOFTWARE` of sysexits.h).
    Internal,
    /// 130 — cancelled by SIGINT/SIGTERM/SIGHUP (the remote operation was cancelled).
    Cancelled,
}

impl ExitCode {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failed => 1,
            ExitCode::Usage => 2,
            ExitCode::Platform => 3,
            ExitCode::Timeout => 4,
            ExitCode::Report => 5,
            ExitCode::Internal => 70,
            ExitCode::Cancelled => 130,
        }
    }
}
