//! The command line: commands and flags. Settings flags map one to one onto setting names
//! (`--platform-url` is `platform_url`); see the README's settings reference.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Layer;

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
