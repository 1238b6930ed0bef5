//! The reports a CI job keeps in files, independent of any forge's API: GitHub Actions' step
//! outputs (`$GITHUB_OUTPUT`) and job summary (`$GITHUB_STEP_SUMMARY`), and GitLab's dotenv
//! report. Each is a sink of its own, written at the end of every run, failed or not, with or
//! without a token; they read what the forge reporters learnt (the commit reported on, the
//! GitHub deployment id, what was skipped) from the run's [`Findings`].
//!
//! | module | file | when |
//! |---|---|---|
//! | `step_outputs` | `$GITHUB_OUTPUT` | in GitHub Actions, when the runner names the file |
//! | `job_summary` | `$GITHUB_STEP_SUMMARY` | in GitHub Actions, when the runner names the file |
//! | `dotenv` | `dotenv`, `ferry.env` by default in GitLab CI | in GitLab CI, or wherever `dotenv` is set |
//! | `early` | all three, `status=errored` | when ferry stops on an error before any sink exists (any exit code); `status=checked` for a `ferry check` that passed |
//!
//! They must not call an API: what they show comes from the outcome and the findings.

mod dotenv;
mod early;
mod job_summary;
mod step_outputs;

pub(crate) use self::early::{Early, Ended, write as write_early, write_checked};

use std::path::{Path, PathBuf};

use crate::ci::Ci;
use crate::error::{Error, Result};

use self::dotenv::{DEFAULT_DOTENV, Dotenv};
use self::job_summary::JobSummary;
use self::step_outputs::StepOutputs;
use super::findings::Findings;
use super::forge::ReportRequest;
use super::{Sink, gitlab};

/// The file sinks for this run, from the CI and the settings.
///
/// Fails, before anything is triggered, only on a `dotenv` file ferry could not write: in a
/// folder that does not exist, or a folder itself.
pub(crate) fn sinks(
    request: &ReportRequest<'_>,
    findings: &Findings,
) -> Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if request.context.ci == Ci::Github {
        let file = |name: &str| request.env.get(name).map(PathBuf::from);
        if let Some(path) = file("GITHUB_STEP_SUMMARY") {
            sinks.push(Box::new(JobSummary::new(path, findings.clone())));
        }
        if let Some(path) = file("GITHUB_OUTPUT") {
            sinks.push(Box::new(StepOutputs::new(path, findings.clone())));
        }
    }
    let dotenv = request
        .settings
        .dotenv
        .clone()
        .or_else(|| (request.context.ci == Ci::Gitlab).then(|| PathBuf::from(DEFAULT_DOTENV)));
    if let Some(path) = dotenv {
        check_dotenv_folder(&path)?;
        // CI_JOB_TOKEN too: a platform value echoing it must not reach the artifact.
        let redactor = gitlab::redactor(request.settings, request.env);
        sinks.push(Box::new(Dotenv::new(path, redactor)));
    }
    Ok(sinks)
}

/// The dotenv file's folder must exist: checked before the deploy, so a typo does not cost the
/// report of a finished deploy.
fn check_dotenv_folder(path: &Path) -> Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    match folder {
        Some(dir) if !dir.is_dir() => Err(Error::InvalidSetting {
            name: "dotenv".into(),
            source_name: "dotenv".into(),
            problem: format!("the folder of {} does not exist", path.display()),
            hint: "name a file in an existing folder (relative to the job's directory), e.g. ferry.env".into(),
        }),
        _ if path.is_dir() => Err(Error::InvalidSetting {
            name: "dotenv".into(),
            source_name: "dotenv".into(),
            problem: format!("{} is a folder", path.display()),
            hint: "name a file, e.g. ferry.env".into(),
        }),
        _ => Ok(()),
    }
}

/// Appends `text` to the runner's file at `path` (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`):
/// other steps append to the same file, so it is never truncated. `variable` names it in errors.
fn append(path: &Path, variable: &str, text: &str) -> Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| Error::Io {
            path: format!("{variable} ({})", path.display()),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RawSettings, Settings};
    use crate::env::Env;
    use crate::plan::Subject;
    use crate::platform::Command;
    use crate::report::fixture;
    use crate::secret::Redactor;
    use crate::stream::Stream;

    /// The names of the file sinks chosen in `ci` with `env` and `dotenv`, without any token.
    fn chosen(ci: Ci, env: &Env, dotenv: Option<&Path>) -> Vec<&'static str> {
        let mut settings =
            Settings::validate(&RawSettings::default(), PathBuf::from("ferry.toml")).unwrap();
        settings.dotenv = dotenv.map(Path::to_path_buf);
        assert!(settings.token.is_none());
        let mut context = fixture::context();
        context.ci = ci;
        let subject = Subject::decide(&settings, &context);
        let request = ReportRequest {
            context: &context,
            settings: &settings,
            subject: &subject,
            env,
            command: Command::Deploy,
            environment: Some("staging"),
            redactor: Redactor::default(),
            log: Stream::new(std::io::sink()),
        };
        sinks(&request, &Findings::default())
            .unwrap()
            .iter()
            .map(|s| s.name())
            .collect()
    }

    #[test]
    fn the_ci_and_the_settings_choose_the_files_no_token_needed() {
        let dir = tempfile::tempdir().unwrap();
        let actions = Env::new()
            .with("GITHUB_STEP_SUMMARY", "summary.md")
            .with("GITHUB_OUTPUT", "output.txt");
        assert_eq!(
            chosen(Ci::Github, &actions, None),
            ["job summary", "step outputs"]
        );
        assert_eq!(
            chosen(Ci::Github, &Env::new().with("GITHUB_OUTPUT", "o"), None),
            ["step outputs"]
        );
        assert_eq!(chosen(Ci::Gitlab, &Env::new(), None), ["dotenv report"]);
        assert!(chosen(Ci::Local, &actions, None).is_empty());
        let file = dir.path().join("deploy.env");
        assert_eq!(
            chosen(Ci::Local, &Env::new(), Some(&file)),
            ["dotenv report"]
        );
        assert_eq!(
            chosen(Ci::Github, &actions, Some(&file)),
            ["job summary", "step outputs", "dotenv report"]
        );
    }
}
