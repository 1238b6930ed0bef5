//! The dotenv report: `FERRY_URL=…`, `FERRY_STATUS=…` and the ids in a file the job declares as
//! `artifacts:reports:dotenv`, so `environment: url: $FERRY_URL` works and later jobs get the
//! values. Written at the end of every run, failed or not, with or without a token: a sink of its
//! own, which needs nothing from GitLab's API.
//!
//! GitLab's dotenv rules (`doc/ci/variables/dotenv_variables.md`, `gitlab.md` §2): UTF-8
//! `KEY=value` lines, no blank lines, no comments, no quoting (quotes are kept literally), no
//! multi-line values or escapes, names `[A-Za-z0-9_]`, surrounding whitespace stripped, at most
//! 5 KB. The values are readable by anyone who can read the job's artifacts: no secret ever goes
//! there (every value is redacted, and URLs lose any `user:password@`).

use std::fmt::Write as _;
use std::path::PathBuf;

use async_trait::async_trait;

use crate::ci::Context;
use crate::error::{Error, Result};
use crate::platform::{Phase, RunOutcome};
use crate::report::{Sink, Stamped};
use crate::secret::Redactor;

/// The file written when `dotenv` is not set (in GitLab CI).
pub(crate) const DEFAULT_DOTENV: &str = "ferry.env";
/// GitLab rejects a larger dotenv report.
pub(crate) const DOTENV_LIMIT: usize = 5 * 1024;
/// The most bytes of one value (a URL longer than this is of no use in a dotenv file).
const VALUE_MAX: usize = 1024;

/// The dotenv sink.
pub(crate) struct Dotenv {
    path: PathBuf,
    redactor: Redactor,
}

impl Dotenv {
    /// A sink writing to `path` (relative paths are relative to the working directory).
    pub(crate) fn new(path: PathBuf, redactor: Redactor) -> Self {
        Self { path, redactor }
    }

    /// The file's text for `outcome`.
    pub(crate) fn render(outcome: &RunOutcome, redactor: &Redactor) -> String {
        let id = |phase| outcome.phase(phase).and_then(|p| p.id.clone());
        let vars: [(&str, Option<String>); 8] = [
            ("FERRY_STATUS", Some(outcome.status.as_str().to_string())),
            ("FERRY_URL", outcome.url.as_deref().map(strip_credentials)),
            ("FERRY_ENVIRONMENT", outcome.environment.clone()),
            ("FERRY_COMMAND", Some(outcome.command.as_str().to_string())),
            ("FERRY_EXIT_CODE", Some(outcome.exit_code.to_string())),
            ("FERRY_BUILD_ID", id(Phase::Build)),
            ("FERRY_DEPLOYMENT_ID", id(Phase::Deploy)),
            ("FERRY_STOP_ID", id(Phase::Stop)),
        ];
        let mut out = String::new();
        for (name, value) in vars {
            let value = value
                .map(|v| clean(&redactor.redact(&v)))
                .unwrap_or_default();
            let _ = writeln!(out, "{name}={value}");
        }
        debug_assert!(out.len() <= DOTENV_LIMIT);
        out
    }
}

/// One line, no control characters, no surrounding spaces, at most [`VALUE_MAX`] bytes.
fn clean(value: &str) -> String {
    let one: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.trim();
    let mut end = one.len().min(VALUE_MAX);
    while !one.is_char_boundary(end) {
        end -= 1;
    }
    one[..end].trim_end().to_string()
}

/// A URL without `user:password@` (a platform may put credentials in an environment URL).
fn strip_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[async_trait]
impl Sink for Dotenv {
    fn name(&self) -> &'static str {
        "dotenv report"
    }

    async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, _: &Context) -> Result<()> {
        let text = Self::render(outcome, &self.redactor);
        tokio::fs::write(&self.path, text)
            .await
            .map_err(|source| write_error(&self.path, source))
    }
}

/// A dotenv report that could not be written at `path`, with the setting that moves it.
pub(super) fn write_error(path: &std::path::Path, source: std::io::Error) -> Error {
    Error::Io {
        path: format!(
            "{} (the dotenv report; set `dotenv` / FERRY_DOTENV to a writable file)",
            path.display()
        ),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::secret::SecretString;

    #[test]
    fn follows_gitlabs_dotenv_rules() {
        let mut o = fixture::succeeded_outcome();
        o.url = Some("https://user:tok-s3cret-1@pr-42.example.com/\n\"x\"".into());
        let secrets = [SecretString::from("tok-s3cret-1")];
        let text = Dotenv::render(&o, &Redactor::new(&secrets));
        assert!(text.len() <= DOTENV_LIMIT);
        assert!(!text.contains("tok-s3cret-1"), "{text}");
        for line in text.lines() {
            let (name, value) = line.split_once('=').unwrap();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            );
            assert_eq!(value, value.trim());
        }
        assert!(!text.contains("\n\n"));
        assert!(text.starts_with("FERRY_STATUS=succeeded\n"), "{text}");
        assert!(text.contains("FERRY_ENVIRONMENT=review-42\n"), "{text}");
        assert!(text.contains("FERRY_DEPLOYMENT_ID="), "{text}");
    }

    #[test]
    fn a_failed_run_still_has_every_name() {
        let text = Dotenv::render(&fixture::failed_outcome(), &Redactor::default());
        assert!(text.contains("FERRY_STATUS=failed\n"));
        assert!(text.contains("FERRY_URL=\n"));
        assert_eq!(text.lines().count(), 8);
    }
}
