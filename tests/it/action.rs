//! The GitHub runner's container-action contract (see `support/runner.rs`): ferry started as the
//! runner starts the action, from `action.yml` itself. If `action.yml` and ferry drift, this
//! breaks. Every exit leaves an annotation and the step outputs, whatever ended it.

use std::collections::BTreeMap;

use ferry::sim::Script;
use serde_json::json;

use crate::support::fake_github::FakeGithub;
use crate::support::runner::{Job, Step, StepRun, action, fixture_payload, fixture_vars};
use crate::support::{SIMULATOR_TOML, Sim};

const TOKEN: &str = "ghs_c0ntainerContractT0ken000000000000";
const PLATFORM_TOKEN: &str = "plat_s3cretPlatformT0ken0000000000";
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

#[test]
fn the_action_is_a_prebuilt_container_with_every_input_a_setting() {
    let action = action();
    assert!(action.image.starts_with("docker://"), "{}", action.image);
    // Every input but `command` and `args` (words of the command line) is a setting with the
    // same name, and every setting a GitHub user can need is an input (files are for other CIs;
    // dotenv is GitLab's).
    let settings: Vec<String> = serde_json::to_value(ferry::testing::Layer::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for input in action.inputs.keys() {
        assert!(
            ["command", "args"].contains(&input.as_str()) || settings.contains(input),
            "input {input} is not a ferry setting"
        );
        assert!(
            !input.contains('-'),
            "input {input} has a hyphen; use snake_case"
        );
    }
    let not_inputs = ["token_file", "platform_token_file", "dotenv"];
    for setting in &settings {
        assert!(
            action.inputs.contains_key(setting) || not_inputs.contains(&setting.as_str()),
            "setting {setting} is not an input of action.yml"
        );
    }
    for output in ["url", "status", "build_id", "deployment_id", "environment"] {
        assert!(
            action.outputs.iter().any(|o| o == output),
            "output {output} is not declared"
        );
    }
}

/// A step on `pull_request` opened (#2, from the same repository) with `with` (the simulator's
/// URL added), and `PLATFORM_TOKEN` given as the platform's secret.
fn on_pull_request(fake: &FakeGithub, sim: &Sim, with: &[(&str, &str)]) -> Step {
    let mut inputs: BTreeMap<String, String> = with
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    inputs.insert("platform_url".into(), sim.url());
    inputs
        .entry("platform_token".into())
        .or_insert_with(|| PLATFORM_TOKEN.into());
    Step {
        with: inputs,
        vars: fixture_vars("pull_request-opened"),
        payload: fixture_payload("pull_request-opened"),
        api_url: fake.api_url().to_string(),
        github_token: TOKEN.into(),
        ..Step::default()
    }
}

/// The step ended with `code`, one `::error title=ferry::` annotation saying each of `parts`,
/// `status=errored` with every other output empty, and no token anywhere.
#[track_caller]
fn assert_errored(step: &StepRun, code: i32, parts: &[&str]) {
    step.run.assert_code(code);
    let annotations: Vec<&str> = step
        .run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 1, "{}", step.run.stderr);
    assert!(
        annotations[0].starts_with("::error title=ferry::"),
        "{}",
        annotations[0]
    );
    for part in parts {
        assert!(
            annotations[0].contains(part),
            "{part:?} in {}",
            annotations[0]
        );
    }
    assert_eq!(step.outputs["status"], "errored", "{}", step.output_file);
    for name in action().outputs.iter().filter(|o| *o != "status") {
        assert_eq!(step.outputs[name], "", "{name}: {}", step.output_file);
    }
    assert!(
        step.summary.contains(&format!("(exit code {code})")),
        "{}",
        step.summary
    );
    assert_no_token(step);
}

#[track_caller]
fn assert_no_token(step: &StepRun) {
    step.assert_none_of(&[TOKEN, PLATFORM_TOKEN]);
}

#[test]
fn the_runner_starts_ferry_with_inputs_and_file_commands() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[("environment", "review-2"), ("timeout", "5m")],
    ));
    step.run.assert_code(0);

    // Every declared output was written, with the values of the run.
    for name in &action().outputs {
        assert!(
            step.outputs.contains_key(name),
            "output {name} missing:\n{}",
            step.output_file
        );
    }
    assert_eq!(step.outputs["environment"], "review-2");
    assert_eq!(step.outputs["status"], "succeeded");
    assert!(step.summary.contains("review-2"), "{}", step.summary);
    // The reports reached GitHub on the pull request's head commit.
    assert_eq!(
        fake.status_states(PR_HEAD, "ferry/review-2"),
        ["pending", "success"],
        "{}",
        step.run.stderr
    );
    assert_eq!(fake.comments(2).len(), 1);
    // The default `token: ${{ github.token }}` was used and never shown.
    assert_no_token(&step);
}

#[test]
fn the_args_input_adds_flags_split_as_a_shell_splits_words() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    // `--var app=…` replaces `[vars] app`, which the simulator's paths name; the quotes keep
    // the space in one word, as a shell would.
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[
            ("environment", "review-2"),
            ("args", "--var 'app=shop app' --comment off"),
        ],
    ));
    step.run.assert_code(0);
    let paths: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/v1/apps/shop%20app/builds")),
        "{paths:?}"
    );
    assert!(fake.comments(2).is_empty(), "--comment off came through");
    assert_eq!(step.outputs["status"], "succeeded");
}

#[test]
fn an_unbalanced_quote_in_args_is_a_usage_error_with_outputs() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[("environment", "review-2"), ("args", "--var 'app=shop")],
    ));
    assert_errored(
        &step,
        2,
        &[
            "invalid command line: the action input `args` has a quote that is never closed",
            "fix: write `args` as words for a shell",
        ],
    );
    assert!(
        step.summary
            .contains("### 🚢 ferry deploy: command-line error"),
        "{}",
        step.summary
    );
    assert!(sim.requests().is_empty(), "nothing is sent");
    assert_eq!(fake.calls(), 0);
}

#[test]
fn a_command_line_error_from_the_inputs_is_annotated_with_outputs() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    // A mistyped command: clap's message and tip, and which input to correct.
    let step = job.run_action(&on_pull_request(&fake, &sim, &[("command", "deplyo")]));
    assert_errored(
        &step,
        2,
        &[
            "unrecognized subcommand 'deplyo'",
            "tip: some similar subcommands exist: 'demo', 'deploy'",
            "fix: correct the action input `command` (deploy, build, stop or check)",
            "`ferry deplyo`",
        ],
    );
    assert!(
        step.summary
            .contains("### 🚢 ferry: command-line error\n\nNothing was triggered: ferry could not tell what to run (exit code 2)."),
        "{}",
        step.summary
    );
    // A flag ferry does not know, from `args`: the run's own command is named in the summary.
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[("environment", "review-2"), ("args", "--var a=1 --bogus")],
    ));
    assert_errored(
        &step,
        2,
        &[
            "unexpected argument '--bogus' found",
            "`args` (its words follow the command)",
            "`ferry deploy --var a=1 --bogus`",
        ],
    );
    assert!(
        step.summary
            .contains("### 🚢 ferry deploy: command-line error"),
        "{}",
        step.summary
    );
    assert!(sim.requests().is_empty(), "nothing is sent");
    assert_eq!(fake.calls(), 0);
}

#[test]
fn a_settings_error_and_an_unwritable_events_file_leave_annotation_and_outputs() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    let step = job.run_action(&on_pull_request(&fake, &sim, &[("timeout", "soon")]));
    assert_errored(
        &step,
        2,
        &["invalid setting `timeout` (action input `timeout`)"],
    );
    assert!(
        step.summary.contains("### 🚢 ferry deploy: settings error"),
        "{}",
        step.summary
    );
    // Exit code 3 (a file ferry cannot write) is annotated and reported the same way.
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[
            ("environment", "review-2"),
            ("args", "--events no-such-folder/events.ndjson"),
        ],
    ));
    assert_errored(&step, 3, &["no-such-folder/events.ndjson"]);
    assert!(
        step.summary.contains("### 🚢 ferry deploy: error"),
        "{}",
        step.summary
    );
}

#[test]
fn command_check_sets_checked_or_errored() {
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    // A pull request that validates ferry.toml: `checked`, the environment a deploy would use.
    let step = job.run_action(&on_pull_request(&fake, &sim, &[("command", "check")]));
    step.run.assert_code(0);
    assert!(
        step.run.stderr.contains("settings are valid"),
        "{}",
        step.run.stderr
    );
    assert_eq!(step.outputs["status"], "checked", "{}", step.output_file);
    assert_eq!(step.outputs["environment"], "review-2");
    assert_eq!(step.outputs["url"], "");
    assert!(sim.requests().is_empty(), "check sends nothing");
    assert_no_token(&step);
    // The deploy's `args` serve the check too; `--probe` asks the platform, read-only.
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[("command", "check"), ("args", "--var app=shop --probe")],
    ));
    step.run.assert_code(0);
    assert_eq!(step.outputs["status"], "checked", "{}", step.output_file);
    let probed: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(probed, ["/v1/apps/shop"]);
    assert_no_token(&step);
    // Bad settings: annotated, `errored`.
    let step = job.run_action(&on_pull_request(
        &fake,
        &sim,
        &[("command", "check"), ("comment", "sometimes")],
    ));
    assert_errored(
        &step,
        2,
        &["invalid setting `comment` (action input `comment`)"],
    );
    assert!(
        step.summary.contains("### 🚢 ferry check: settings error"),
        "{}",
        step.summary
    );
}

#[test]
fn a_fork_pull_request_without_the_platform_secret_is_refused_before_anything_is_sent() {
    let fake = FakeGithub::start();
    fake.read_only_token(TOKEN);
    let sim = Sim::start(Script::fast());
    let mut job = Job::new(SIMULATOR_TOML);
    // GitHub gives a fork's pull request no secrets: `secrets.PLATFORM_TOKEN` is empty.
    let mut step = on_pull_request(
        &fake,
        &sim,
        &[("environment", "review-2"), ("platform_token", "")],
    );
    step.payload["pull_request"]["head"]["repo"]["full_name"] = json!("forker/Hello-World");
    let run = job.run_action(&step);
    assert_errored(
        &run,
        2,
        &[
            "missing setting `platform_token`",
            "GitHub passes no secrets to workflows that pull requests from forks trigger",
            "github.event.pull_request.head.repo.full_name == github.repository",
        ],
    );
    assert!(
        sim.requests().is_empty(),
        "nothing is sent without the credential"
    );
    // The same pull request from the repository itself is no fork: the platform is asked.
    let mut step = on_pull_request(
        &fake,
        &sim,
        &[
            ("environment", "review-2"),
            ("platform_token", ""),
            ("comment", "off"),
        ],
    );
    step.payload["pull_request"]["head"]["repo"]["full_name"] = json!("Codertocat/Hello-World");
    fake.bot_token(TOKEN);
    job.run_action(&step).run.assert_code(0);
    assert!(!sim.requests().is_empty());
}
