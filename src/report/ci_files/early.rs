//! The CI files of a run that ended before it began (a settings or command-line error, or any
//! other error returned before the sinks existed), and of `ferry check`: the files the sinks
//! would have written at the end, so a later step or job sees `errored` instead of nothing.
//! GitHub Actions: `status=errored` with every other documented output empty in
//! `$GITHUB_OUTPUT`, and a short section in `$GITHUB_STEP_SUMMARY`; GitLab CI (or wherever
//! `FERRY_DOTENV` points): the dotenv report with `FERRY_STATUS=errored`, for a run's command.
//! A `ferry check` that passes sets `status=checked` (see [`write_checked`]).
//!
//! Must not decide anything or call an API; the message it is given is already redacted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dotenv::{DEFAULT_DOTENV, Dotenv};
use super::step_outputs::{self, outputs};
use crate::ci::Ci;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::platform::{Command, RunOutcome, Status};
use crate::report::markdown;
use crate::secret::Redactor;

/// What ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// `deploy`, `build` or `stop`: its run never began.
    Run(Command),
    /// `ferry check` (the action's `command: check`): GitHub's files only, it is no run.
    Check,
    /// A command line that names no command ferry knows (`command: deplyo`): GitHub's files
    /// only, the dotenv report belongs to a run.
    Unknown,
    /// `context`, `demo`, `sim`: no CI files (they write none when they succeed either).
    Other,
}

impl Ended {
    /// What ended, from the command a command line names.
    pub(crate) fn named(command: Option<&str>) -> Self {
        match command {
            Some("deploy") => Ended::Run(Command::Deploy),
            Some("build") => Ended::Run(Command::Build),
            Some("stop") => Ended::Run(Command::Stop),
            Some("check") => Ended::Check,
            Some("context" | "demo" | "sim" | "help") => Ended::Other,
            _ => Ended::Unknown,
        }
    }
}

/// What the files are written from.
pub(crate) struct Early<'a> {
    pub(crate) ci: Ci,
    pub(crate) env: &'a Env,
    /// The working directory (a relative `FERRY_DOTENV` is relative to it).
    pub(crate) cwd: &'a Path,
    pub(crate) ended: Ended,
    /// The summary's heading after the command: `settings error`, `command-line error`, …
    pub(crate) kind: &'a str,
    pub(crate) exit_code: u8,
    /// The error as shown (redacted).
    pub(crate) message: &'a str,
    pub(crate) redactor: &'a Redactor,
}

/// Writes every CI file this job keeps; returns what could not be written.
pub(crate) fn write(early: &Early<'_>) -> Vec<Error> {
    if early.ended == Ended::Other {
        return Vec::new();
    }
    // A command that never ran has no outcome of its own: the outputs and the dotenv report
    // read these fields only (the command's, for the dotenv report, is the run's).
    let outcome = RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: match early.ended {
            Ended::Run(command) => command,
            _ => Command::Deploy,
        },
        environment: None,
        status: Status::Errored,
        exit_code: early.exit_code,
        url: None,
        phases: Vec::new(),
        duration: Duration::ZERO,
        message: Some(early.message.to_string()),
    };
    let mut failed = github_files(
        early.ci,
        early.env,
        &outputs(&outcome, None),
        Some(&summary(early)),
    );
    let dotenv = file(early.env, "FERRY_DOTENV")
        .or_else(|| (early.ci == Ci::Gitlab).then(|| PathBuf::from(DEFAULT_DOTENV)));
    if let (Some(path), Ended::Run(_)) = (dotenv, early.ended)
        && let Err(e) = write_dotenv(&early.cwd.join(path), &outcome, early.redactor)
    {
        failed.push(e);
    }
    failed
}

/// The outputs of a `ferry check` that passed: `status=checked` (not `succeeded`, which a later
/// step would read as "deployed"), the environment a run here would deploy to, every other
/// output empty. No job summary: the plan is in the log.
pub(crate) fn write_checked(ci: Ci, env: &Env, environment: Option<&str>) -> Vec<Error> {
    let nothing = RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: Command::Deploy,
        environment: environment.map(str::to_string),
        status: Status::Succeeded,
        exit_code: 0,
        url: None,
        phases: Vec::new(),
        duration: Duration::ZERO,
        message: None,
    };
    let values: Vec<(&str, String)> = outputs(&nothing, None)
        .into_iter()
        .map(|(name, value)| match name {
            "status" => (name, CHECKED.to_string()),
            _ => (name, value),
        })
        .collect();
    github_files(ci, env, &values, None)
}

/// The status a `ferry check` that passed sets.
pub(crate) const CHECKED: &str = "checked";

fn file(env: &Env, name: &str) -> Option<PathBuf> {
    env.get(name).map(PathBuf::from)
}

/// `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, in GitHub Actions (and its Gitea/Forgejo kin).
fn github_files(ci: Ci, env: &Env, values: &[(&str, String)], summary: Option<&str>) -> Vec<Error> {
    let mut failed = Vec::new();
    if !matches!(ci, Ci::Github | Ci::Gitea | Ci::Forgejo) {
        return failed;
    }
    if let Some(path) = file(env, "GITHUB_OUTPUT")
        && let Err(e) = step_outputs::append(&path, values)
    {
        failed.push(e);
    }
    if let (Some(path), Some(text)) = (file(env, "GITHUB_STEP_SUMMARY"), summary)
        && let Err(e) = super::append(&path, "$GITHUB_STEP_SUMMARY", text)
    {
        failed.push(e);
    }
    failed
}

/// The job summary's section: what failed, the error in a code block (its fix included).
fn summary(early: &Early<'_>) -> String {
    let lines: Vec<&str> = early.message.lines().collect();
    let (title, what) = match early.ended {
        Ended::Run(command) => (
            format!("ferry {}", command.as_str()),
            format!(
                "Nothing was triggered: ferry stopped before the {}",
                command.as_str()
            ),
        ),
        Ended::Check => (
            "ferry check".to_string(),
            "ferry check found what would stop a run; nothing was deployed".to_string(),
        ),
        Ended::Unknown | Ended::Other => (
            "ferry".to_string(),
            "Nothing was triggered: ferry could not tell what to run".to_string(),
        ),
    };
    format!(
        "### 🚢 {title}: {}\n\n{what} (exit code {}).\n\n{}\n",
        early.kind,
        early.exit_code,
        markdown::code_block(&lines)
    )
}

fn write_dotenv(path: &Path, outcome: &RunOutcome, redactor: &Redactor) -> Result<()> {
    std::fs::write(path, Dotenv::render(outcome, redactor))
        .map_err(|source| super::dotenv::write_error(path, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn early<'a>(ci: Ci, env: &'a Env, cwd: &'a Path, redactor: &'a Redactor) -> Early<'a> {
        Early {
            ci,
            env,
            cwd,
            ended: Ended::Run(Command::Deploy),
            kind: "settings error",
            exit_code: 2,
            message: "error: invalid setting `timeout` (action input `timeout`): \"soon\" is not a duration\n  fix: use 10m",
            redactor,
        }
    }

    #[test]
    fn github_gets_status_errored_and_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let sum = dir.path().join("sum");
        let env = Env::new()
            .with("GITHUB_OUTPUT", out.to_str().unwrap())
            .with("GITHUB_STEP_SUMMARY", sum.to_str().unwrap());
        let redactor = Redactor::default();
        assert!(write(&early(Ci::Github, &env, dir.path(), &redactor)).is_empty());
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("status<<"), "{text}");
        assert!(text.contains("\nerrored\n"), "{text}");
        for name in ["url", "build_id", "deployment_id", "environment"] {
            assert!(text.contains(&format!("{name}<<")), "{name}: {text}");
        }
        let summary = std::fs::read_to_string(&sum).unwrap();
        assert!(summary.contains("settings error"), "{summary}");
        assert!(summary.contains("fix: use 10m"), "{summary}");
        // Not GitLab: no dotenv report.
        assert!(!dir.path().join(DEFAULT_DOTENV).exists());
    }

    #[test]
    fn gitlab_gets_the_dotenv_report() {
        let dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::default();
        let env = Env::new();
        assert!(write(&early(Ci::Gitlab, &env, dir.path(), &redactor)).is_empty());
        let text = std::fs::read_to_string(dir.path().join(DEFAULT_DOTENV)).unwrap();
        assert!(text.starts_with("FERRY_STATUS=errored\n"), "{text}");
        assert!(text.contains("FERRY_EXIT_CODE=2\n"), "{text}");
    }
}
