//! The command line: commands and flags. Settings flags map one to one onto setting names
//! (`--platform-url` is `platform_url`); see the README's settings reference.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Layer;
use crate::env::Env;
use crate::error::{Error, Result};

/// The command line with, inside GitHub Actions, the words of the action's `args` input
/// (`INPUT_ARGS`) appended: the flags that have no input of their own, chiefly `--var
/// NAME=VALUE`. The runner passes each `runs.args` entry as one word, so `${{ inputs.args }}`
/// there would arrive whole; ferry splits it as a POSIX shell splits words (quotes and
/// backslashes, no `$`, glob or `~` expansion) and puts the words after the command's own.
pub(crate) fn with_action_args(env: &Env, mut args: Vec<OsString>) -> Result<Vec<OsString>> {
    if !env.is_true("GITHUB_ACTIONS") {
        return Ok(args);
    }
    let Some(text) = env.get("INPUT_ARGS") else {
        return Ok(args);
    };
    let words = shlex::split(text).ok_or_else(|| Error::CommandLine {
        problem: "the action input `args` has a quote that is never closed (or ends with a lone backslash)".into(),
        hint: "write `args` as words for a shell: close each quote, e.g. args: --var 'GREETING=hello world', and write a literal quote inside double quotes (\"it's\") or after a backslash".into(),
    })?;
    args.extend(words.into_iter().map(OsString::from));
    Ok(args)
}

/// The command a command line names (`deploy` in `ferry -v deploy --bogus`), when clap could not
/// read the rest of it: its first word that is not a flag.
pub(crate) fn named_command(args: &[OsString]) -> Option<&str> {
    args.iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| !a.starts_with('-'))
}

/// Build and deploy through your platform's API from CI, and report where people look.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
    /// More diagnostics on stderr (-v debug, -vv trace); FERRY_LOG / RUST_LOG also work.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Build (unless --no-build or there is no [build]), deploy, and report. The main job.
    Deploy {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Build only, and report the build.
    Build {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Tear down an environment (review apps).
    Stop {
        #[command(flatten)]
        run: RunArgs,
    },
    /// Print what ferry detected about this CI run.
    Context {
        /// Print JSON for machines.
        #[arg(long)]
        json: bool,
    },
    /// Validate settings and print the plan (what each phase sends and waits for, what is
    /// reported where); trigger nothing.
    Check {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Print the plan (or the probe's checklist) as JSON for machines.
        #[arg(long)]
        json: bool,
        /// Also prove, with read-only requests, that each platform is reachable, its credential
        /// accepted and the app exists, and what the forge token may write.
        #[arg(long)]
        probe: bool,
        /// A template value, as `ferry deploy --var` takes it, so the plan checked is the run's
        /// (the action's `args` can be shared by `deploy` and `check`). Repeatable.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
    /// The whole experience against the embedded simulated platform: no account, no network.
    Demo {
        /// Folder for the preview of what would be reported.
        #[arg(long, default_value = "ferry-demo")]
        out: PathBuf,
        /// Make a phase fail, to see how failures look.
        #[arg(long, value_enum)]
        fail: Option<DemoFail>,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Write the event stream as NDJSON to this file.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
    },
    /// Serve the simulated platform over HTTP (for tests and trying configurations).
    Sim {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// A script (TOML) of durations, log volume, outcomes and faults.
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
    },
}

/// Which demo phase fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DemoFail {
    Build,
    Deploy,
}

/// Options of the commands that run phases.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the event stream as NDJSON (schema ferry.events/v1) to this file.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Print the plan (what each phase sends and waits for; JSON with --json) and stop before
    /// triggering anything.
    #[arg(long)]
    pub dry_run: bool,
    /// A template value: `NAME=VALUE` sets `{{ vars.NAME }}`; `build.NAME=VALUE` stands in for an
    /// output of a build that is not run (`--no-build`). Repeatable. (Env: `FERRY_VAR_<NAME>`.)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

/// The settings as flags. Secrets have no flag (a command line is visible to other processes):
/// use the environment or a `*_file` flag.
#[derive(Debug, Default, Args)]
pub(crate) struct SettingsArgs {
    /// Settings file [default: ferry.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<String>,
    /// Target environment, e.g. staging or review-42.
    #[arg(long)]
    pub environment: Option<String>,
    /// File holding the forge token (GitHub/GitLab).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<String>,
    /// Platform base URL (overrides [platform] url).
    #[arg(long, value_name = "URL")]
    pub platform_url: Option<String>,
    /// File holding the platform token.
    #[arg(long, value_name = "PATH")]
    pub platform_token_file: Option<String>,
    /// Pull/merge request number to report on.
    #[arg(long, value_name = "N")]
    pub pr_number: Option<String>,
    /// Commit to report on.
    #[arg(long)]
    pub sha: Option<String>,
    /// Overall time limit, e.g. 30m.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Trigger and report; do not wait.
    #[arg(long)]
    pub detach: bool,
    /// Deploy only: skip the build phase (an earlier job built; give its outputs with --var).
    #[arg(long)]
    pub no_build: bool,
    /// Pull/merge request comment: update, new or off.
    #[arg(long, value_name = "MODE")]
    pub comment: Option<String>,
    /// A failed report fails the step.
    #[arg(long)]
    pub fail_on_report_error: bool,
    /// Commit status context (GitHub) / name (GitLab) (default: ferry/ENVIRONMENT).
    #[arg(long, value_name = "NAME")]
    pub status_context: Option<String>,
    /// GitHub deployments: create (default), or off to leave them to the job's `environment:`.
    #[arg(long, value_name = "MODE")]
    pub deployments: Option<String>,
    /// Mark the GitHub deployment as production (true) or not (false) [default: GitHub's rule].
    #[arg(long, value_name = "BOOL")]
    pub production: Option<String>,
    /// Let a successful GitHub deployment mark older ones inactive (true, the default, or false).
    #[arg(long, value_name = "BOOL")]
    pub auto_inactive: Option<String>,
    /// GitLab dotenv report file (FERRY_URL, FERRY_STATUS, …) [default: ferry.env in GitLab CI].
    #[arg(long, value_name = "PATH")]
    pub dotenv: Option<String>,
}

impl SettingsArgs {
    /// The flags as a settings layer.
    pub(crate) fn layer(&self) -> Layer {
        let flag = |on: bool| on.then(|| "true".to_string());
        Layer {
            config: self.config.clone(),
            environment: self.environment.clone(),
            token: None,
            token_file: self.token_file.clone(),
            platform_url: self.platform_url.clone(),
            platform_token: None,
            platform_token_file: self.platform_token_file.clone(),
            pr_number: self.pr_number.clone(),
            sha: self.sha.clone(),
            timeout: self.timeout.clone(),
            detach: flag(self.detach),
            no_build: flag(self.no_build),
            comment: self.comment.clone(),
            fail_on_report_error: flag(self.fail_on_report_error),
            status_context: self.status_context.clone(),
            deployments: self.deployments.clone(),
            production: self.production.clone(),
            auto_inactive: self.auto_inactive.clone(),
            dotenv: self.dotenv.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(env: &Env) -> Result<Vec<String>> {
        let args = vec![OsString::from("ferry"), OsString::from("deploy")];
        Ok(with_action_args(env, args)?
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect())
    }

    #[test]
    fn the_args_input_is_split_as_a_shell_would_in_github_actions_only() {
        let actions = Env::new().with("GITHUB_ACTIONS", "true").with(
            "INPUT_ARGS",
            "--var 'GREETING=hello world' --var \"Q=it's\" --var A=$HOME\\ x ~ *",
        );
        assert_eq!(
            words(&actions).unwrap(),
            [
                "ferry",
                "deploy",
                "--var",
                "GREETING=hello world",
                "--var",
                "Q=it's",
                "--var",
                "A=$HOME x",
                "~",
                "*"
            ]
        );
        let elsewhere = Env::new().with("INPUT_ARGS", "--var A=1");
        assert_eq!(words(&elsewhere).unwrap(), ["ferry", "deploy"]);
        let empty = Env::new()
            .with("GITHUB_ACTIONS", "true")
            .with("INPUT_ARGS", "");
        assert_eq!(words(&empty).unwrap(), ["ferry", "deploy"]);
    }

    #[test]
    fn an_unbalanced_quote_is_a_usage_error_naming_the_input() {
        for bad in ["--var 'A=1", "--var \"A=1", "--var A=1\\"] {
            let env = Env::new()
                .with("GITHUB_ACTIONS", "true")
                .with("INPUT_ARGS", bad);
            let e = words(&env).unwrap_err();
            assert_eq!(e.exit_code(), crate::exit::ExitCode::Usage);
            let text = e.to_string();
            assert!(text.contains("action input `args`"), "{text}");
            assert!(text.contains("fix: write `args` as words"), "{text}");
        }
    }

    #[test]
    fn the_named_command_is_the_first_word_that_is_not_a_flag() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            named_command(&args(&["ferry", "-v", "deploy", "--x"])),
            Some("deploy")
        );
        assert_eq!(named_command(&args(&["ferry", "--bogus"])), None);
    }
}
