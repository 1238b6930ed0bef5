//! The CI files of a run that ended before it began (a settings error, exit 2): the files the
//! sinks would have written at the end, so a later step or job sees `errored` instead of
//! nothing. GitHub Actions: `status=errored` with every other documented output empty in
//! `$GITHUB_OUTPUT`, and a short section in `$GITHUB_STEP_SUMMARY`; GitLab CI (or wherever
//! `FERRY_DOTENV` points): the dotenv report with `FERRY_STATUS=errored`.
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

/// What the files are written from.
pub(crate) struct Early<'a> {
    pub(crate) ci: Ci,
    pub(crate) env: &'a Env,
    /// The working directory (a relative `FERRY_DOTENV` is relative to it).
    pub(crate) cwd: &'a Path,
    pub(crate) command: Command,
    pub(crate) exit_code: u8,
    /// The error as shown (redacted).
    pub(crate) message: &'a str,
    pub(crate) redactor: &'a Redactor,
}

/// Writes every CI file this job keeps; returns what could not be written.
pub(crate) fn write(early: &Early<'_>) -> Vec<Error> {
    let outcome = RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: early.command,
        environment: None,
        status: Status::Errored,
        exit_code: early.exit_code,
        url: None,
        phases: Vec::new(),
        duration: Duration::ZERO,
        message: Some(early.message.to_string()),
    };
    let mut failed = Vec::new();
    let file = |name: &str| {
        early
            .env
            .get(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if matches!(early.ci, Ci::Github | Ci::Gitea | Ci::Forgejo) {
        if let Some(path) = file("GITHUB_OUTPUT")
            && let Err(e) = step_outputs::append(&path, &outputs(&outcome, None))
        {
            failed.push(e);
        }
        if let Some(path) = file("GITHUB_STEP_SUMMARY")
            && let Err(e) = super::append(&path, "$GITHUB_STEP_SUMMARY", &summary(early))
        {
            failed.push(e);
        }
    }
    let dotenv = file("FERRY_DOTENV")
        .or_else(|| (early.ci == Ci::Gitlab).then(|| PathBuf::from(DEFAULT_DOTENV)));
    if let Some(path) = dotenv
        && let Err(e) = write_dotenv(&early.cwd.join(path), &outcome, early.redactor)
    {
        failed.push(e);
    }
    failed
}

/// The job summary's section: what failed, the error in a code block (its fix included).
fn summary(early: &Early<'_>) -> String {
    let lines: Vec<&str> = early.message.lines().collect();
    format!(
        "### 🚢 ferry {}: settings error\n\nNothing was triggered: ferry stopped before the {} (exit code {}).\n\n{}\n",
        early.command.as_str(),
        early.command.as_str(),
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
            command: Command::Deploy,
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
