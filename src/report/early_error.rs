//! Stage 5, for a run that ended before it began: how an error returned to `lib::run` (bad
//! settings, a command line clap refused, a file that cannot be written, …) is shown where a
//! CI's users look. Outside CI it is one `error: …` text on stderr (clap's own text for the
//! command line), as always; in GitHub Actions it is an `::error` annotation (title `ferry`) for
//! every exit code, the `status=errored` step output with the exit code's run left empty, and a
//! job summary section; in GitLab CI the same text plus the dotenv report with
//! `FERRY_STATUS=errored`. A value set through an action input is named as that input (`action
//! input \`timeout\``, see `config::layer`); in GitLab, the variables ferry's component sets from
//! its inputs name the input too.
//!
//! Must not decide the exit code, read the process environment or call an API; the error is
//! shown once, redacted.

use std::io::Write;
use std::path::Path;

use super::ci_files::{Early, Ended, write_early};
use super::sanitize::{self, Clean};
use super::workflow_commands::{escape_data, escape_property};
use crate::ci::Ci;
use crate::env::Env;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::secret::Redactor;

/// The variables the GitLab components (`templates/deploy.yml`, `templates/production.yml`) set
/// from their inputs.
const COMPONENT_INPUTS: [&str; 3] = ["config", "environment", "dotenv"];

/// Where and how an early error is shown.
pub(crate) struct EarlyError<'a> {
    pub(crate) ci: Ci,
    pub(crate) env: &'a Env,
    pub(crate) cwd: &'a Path,
    /// What ended: a run's command, `check`, a command line naming none, or another command
    /// (which leaves no CI files).
    pub(crate) ended: Ended,
    pub(crate) redactor: &'a Redactor,
}

impl EarlyError<'_> {
    /// Writes `e` to `stderr` and the CI's files.
    pub(crate) fn show(&self, e: &Error, stderr: &mut impl Write) {
        let message = self.redactor.redact(&self.describe(e));
        let kind = match e {
            Error::CommandLine { .. } => "command-line error",
            _ if e.exit_code() == ExitCode::Usage => "settings error",
            _ => "error",
        };
        if self.github() {
            let _ = writeln!(stderr, "{}", annotation(&message));
        } else {
            let text = format!("error: {message}");
            let _ = write!(stderr, "{}", super::inert::text(self.ci, &text));
        }
        self.files(kind, e.exit_code(), &message, stderr);
    }

    /// A command line clap refused (`rendered`, its text): as clap wrote it on a terminal and
    /// in other CIs; in GitHub Actions one annotation of the same text, with `fix` (which action
    /// input made the line) added.
    pub(crate) fn show_command_line(
        &self,
        rendered: &str,
        fix: Option<&str>,
        stderr: &mut impl Write,
    ) {
        let text: Vec<&str> = rendered
            .trim()
            .trim_start_matches("error: ")
            .lines()
            .filter(|l| !l.starts_with("For more information, try"))
            .collect();
        let mut message = text.join("\n").trim().to_string();
        if let Some(fix) = fix {
            message = format!("{message}\n  fix: {fix}");
        }
        let message = self.redactor.redact(&message);
        if self.github() {
            let _ = writeln!(stderr, "{}", annotation(&message));
        } else {
            let _ = write!(stderr, "{}", self.redactor.redact(rendered));
            if let Some(fix) = fix {
                let _ = writeln!(stderr, "  fix: {}", self.redactor.redact(fix));
            }
        }
        self.files("command-line error", ExitCode::Usage, &message, stderr);
    }

    /// A `ferry check` that ended with `code` without an error (its probe found a problem, and
    /// its checklist says which): an annotation pointing at the checklist, and the files.
    pub(crate) fn show_check(&self, code: ExitCode, stderr: &mut impl Write) {
        let message = format!(
            "ferry check --probe found what would stop a run (exit code {}): the checklist above says what to fix",
            code.code()
        );
        if self.github() {
            let _ = writeln!(stderr, "{}", annotation(&message));
        }
        self.files("check failed", code, &message, stderr);
    }

    fn github(&self) -> bool {
        matches!(self.ci, Ci::Github | Ci::Gitea | Ci::Forgejo)
    }

    fn files(&self, kind: &str, code: ExitCode, message: &str, stderr: &mut impl Write) {
        let failed = write_early(&Early {
            ci: self.ci,
            env: self.env,
            cwd: self.cwd,
            ended: self.ended,
            kind,
            exit_code: code.code(),
            message,
            redactor: self.redactor,
        });
        for failure in failed {
            let text = self.redactor.redact(&failure.to_string());
            let _ = writeln!(stderr, "{}", super::warning_line(self.ci, &text));
        }
    }

    /// The error's text, naming the GitLab component's input where its variable was the source.
    fn describe(&self, e: &Error) -> String {
        if self.ci == Ci::Gitlab
            && let Error::InvalidSetting {
                name,
                source_name,
                problem,
                hint,
            } = e
            && COMPONENT_INPUTS.contains(&name.as_str())
            && *source_name == format!("FERRY_{}", name.to_uppercase())
        {
            return Error::InvalidSetting {
                name: name.clone(),
                source_name: format!("{source_name}, or the component input `{name}`"),
                problem: problem.clone(),
                hint: hint.clone(),
            }
            .to_string();
        }
        e.to_string()
    }
}

/// The `::error` workflow command for `message`: cleaned of control characters and escaped, so
/// it is one line that no text inside can end or turn into another command.
fn annotation(message: &str) -> String {
    let cleaned = sanitize::clean(
        message,
        Clean {
            keep_color: false,
            keep_newlines: true,
        },
    );
    let shown = crate::net::shorten(&cleaned, super::inert::TEXT_MAX);
    format!(
        "::error title={}::{}",
        escape_property("ferry"),
        escape_data(&shown)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(ci: Ci, e: &Error, ended: Ended, cwd: &Path) -> String {
        let env = Env::new();
        let redactor = Redactor::default();
        let early = EarlyError {
            ci,
            env: &env,
            cwd,
            ended,
            redactor: &redactor,
        };
        let mut out = Vec::new();
        early.show(e, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn bad_environment() -> Error {
        Error::InvalidSetting {
            name: "environment".into(),
            source_name: "FERRY_ENVIRONMENT".into(),
            problem: "\"a b\" has a space\n::set-output name=x::y".into(),
            hint: "use letters".into(),
        }
    }

    #[test]
    fn github_gets_one_annotation_line_that_runs_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let text = shown(Ci::Github, &bad_environment(), Ended::Other, dir.path());
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("::error title=ferry::invalid setting `environment`"));
        assert!(text.contains("%0A::set-output"), "{text}");
    }

    #[test]
    fn gitlab_names_the_component_input_and_local_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let text = shown(Ci::Gitlab, &bad_environment(), Ended::Other, dir.path());
        assert!(
            text.starts_with(
                "error: invalid setting `environment` (FERRY_ENVIRONMENT, or the component input `environment`)"
            ),
            "{text}"
        );
        let local = shown(Ci::Local, &bad_environment(), Ended::Other, dir.path());
        assert!(
            local.starts_with("error: invalid setting `environment` (FERRY_ENVIRONMENT):"),
            "{local}"
        );
    }

    #[test]
    fn a_command_line_error_writes_the_dotenv_report_of_a_run_in_gitlab() {
        let env = Env::new();
        let redactor = Redactor::default();
        let rendered = "error: unexpected argument '--bogus' found\n\nUsage: ferry deploy [OPTIONS]\n\nFor more information, try '--help'.\n";
        for (ended, written) in [
            (Ended::Run(crate::platform::Command::Deploy), true),
            (Ended::Check, false),
            (Ended::Unknown, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let early = EarlyError {
                ci: Ci::Gitlab,
                env: &env,
                cwd: dir.path(),
                ended,
                redactor: &redactor,
            };
            let mut out = Vec::new();
            early.show_command_line(rendered, None, &mut out);
            // clap's own text, as on a terminal.
            assert_eq!(String::from_utf8(out).unwrap(), rendered);
            let dotenv = std::fs::read_to_string(dir.path().join("ferry.env"));
            assert_eq!(dotenv.is_ok(), written, "{ended:?}");
            if let Ok(text) = dotenv {
                assert!(text.starts_with("FERRY_STATUS=errored\n"), "{text}");
                assert!(text.contains("FERRY_COMMAND=deploy\n"), "{text}");
                assert!(text.contains("FERRY_EXIT_CODE=2\n"), "{text}");
            }
        }
    }
}
