//! The `jenkins` platform: the real binary against the simulator's Jenkins dialect (queue items,
//! executables, stapler's progressive text, API-token basic auth), configured as a named
//! platform in `ferry.toml`.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{JenkinsScript, OpScript, Outcome, Route, Script, expected_log};

use crate::support::{Run, Sim, Workdir, run, signal, spawn};

pub(crate) const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
pub(crate) const USER: &str = "ci-bot";
pub(crate) const TOKEN: &str = "11d7c0ffee5eed5a1ad5eed5a1ad5eed5a";

/// A Jenkins platform and a build job; `extra` goes into `[build]`.
pub(crate) fn config(job: &str, extra: &str) -> String {
    format!(
        r#"
[platforms.ci]
kind = "jenkins"
url_env = "JENKINS_URL"
user = "{USER}"
token_env = "JENKINS_TOKEN"

[platforms.ci.poll]
initial = "20ms"
max = "200ms"

[build]
platform = "ci"
job = "{job}"
parameters = {{ GIT_COMMIT = "{{{{ sha }}}}", TARGET = "{{{{ environment }}}}" }}
{extra}
"#
    )
}

/// The simulator with one Jenkins user.
pub(crate) fn script() -> Script {
    Script {
        jenkins: JenkinsScript {
            users: [(USER.to_string(), TOKEN.to_string())].into(),
            ..JenkinsScript::default()
        },
        ..Script::fast()
    }
}

fn ferry(sim: &Sim, work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["build", "--json", "--events", "events.ndjson"])
        .env("JENKINS_URL", sim.url())
        .env("JENKINS_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", SHA);
    cmd
}

pub(crate) fn events(work: &Workdir) -> Vec<serde_json::Value> {
    work.read("events.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn log_lines(work: &Workdir, phase: &str) -> Vec<String> {
    events(work)
        .into_iter()
        .filter(|e| e["type"] == "log" && e["phase"] == phase)
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect()
}

fn expected(label: &str, script: &OpScript) -> Vec<String> {
    expected_log(Phase::Build, label, script)
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect()
}

#[test]
fn jenkins_build_streams_a_long_log_every_byte_once_in_order() {
    let mut script = script();
    script.build.queue = Duration::from_millis(100);
    script.build.duration = Duration::from_millis(1500);
    script.build.log_lines = 3000;
    script.build.tail_lines = 5;
    script.build.tail_delay = Duration::from_millis(300);
    script.max_chunk_bytes = 8192;
    let sim = Sim::start(script.clone());
    let work = Workdir::with_config(&config("shop", ""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["status"], "succeeded");
    let outputs = &out["phases"][0]["outputs"];
    assert_eq!(outputs["number"], "1");
    assert_eq!(outputs["url"], format!("{}/job/shop/1/", sim.url()));
    assert_eq!(outputs["result"], "SUCCESS");
    // Every byte once, in order, including the tail written after the build ended.
    let got = log_lines(&work, "build");
    let want = expected("shop#1", &script.build);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the log differs from what Jenkins wrote");
    let reqs = sim.requests();
    let trigger = reqs
        .iter()
        .find(|q| q.route == Some(Route::Trigger))
        .unwrap();
    assert!(
        trigger.path.starts_with("/job/shop/buildWithParameters?"),
        "{}",
        trigger.path
    );
    assert!(trigger.path.contains(&format!("GIT_COMMIT={SHA}")));
    assert!(trigger.path.contains("TARGET=staging"));
    // The log was read progressively, resuming at X-Text-Size each time.
    let logs: Vec<_> = reqs
        .iter()
        .filter(|q| q.route == Some(Route::Log))
        .collect();
    assert!(logs.len() > 5, "{} log reads", logs.len());
    for q in &reqs {
        assert_ne!(
            q.header("accept"),
            Some("multipart/form-data"),
            "{} {}",
            q.method,
            q.path
        );
        assert!(
            q.header("authorization")
                .is_some_and(|a| a.starts_with("Basic ")),
            "{} {} without basic auth",
            q.method,
            q.path
        );
    }
    assert!(!r.stderr.contains(TOKEN));
    assert!(!work.read("events.ndjson").contains(TOKEN));
}

#[test]
fn jenkins_merges_an_identical_queued_request_into_one_build() {
    let mut script = script();
    script.build.queue = Duration::from_millis(1500);
    let sim = Sim::start(script);
    let first_dir = Workdir::with_config(&config("shop", ""));
    let second_dir = Workdir::with_config(&config("shop", ""));
    let first = spawn(&mut ferry(&sim, &first_dir));
    sim.wait_for("the first trigger", |reqs| {
        reqs.iter().any(|q| q.route == Some(Route::Trigger))
    });
    let second = run(&mut ferry(&sim, &second_dir));
    let first = Run::of(&first.wait_with_output().unwrap());
    first.assert_code(0);
    second.assert_code(0);
    // Two triggers, one queue item, one build: Jenkins answered the second with 303.
    assert_eq!(sim.count_route(Route::Trigger, "/job/shop/"), 2);
    let a = first.json();
    let b = second.json();
    assert_eq!(a["phases"][0]["id"], b["phases"][0]["id"]);
    assert_eq!(b["phases"][0]["outputs"]["number"], "1");
    assert_eq!(b["phases"][0]["outputs"]["merged"], "true");
    assert!(
        events(&second_dir)
            .iter()
            .any(|e| e["type"] == "state_changed"
                && e["state"].as_str().unwrap_or("").contains("merged")),
        "the merge is shown"
    );
    assert_eq!(sim.count_route(Route::Status, "/job/shop/2/"), 0);
}

#[test]
fn jenkins_sigint_while_queued_cancels_the_queue_item() {
    let mut script = script();
    script.build.queue = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("shop", ""));
    let child = spawn(&mut ferry(&sim, &work));
    sim.wait_for("the queue item to be polled", |reqs| {
        reqs.iter()
            .filter(|q| q.path.starts_with("/queue/item/1/api/json"))
            .count()
            >= 2
    });
    signal(&child, "INT");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(sim.count_route(Route::Cancel, "/queue/cancelItem?id=1"), 1);
    assert_eq!(sim.count_route(Route::Cancel, "/stop"), 0);
}

#[test]
fn jenkins_sigint_while_running_stops_the_build() {
    let mut script = script();
    script.build.duration = Duration::from_secs(60);
    script.build.log_lines = 600;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("shop", ""));
    let child = spawn(&mut ferry(&sim, &work));
    sim.wait_for("the build to be polled", |reqs| {
        reqs.iter()
            .filter(|q| q.path.starts_with("/job/shop/1/api/json"))
            .count()
            >= 2
    });
    signal(&child, "INT");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(sim.count_route(Route::Cancel, "/job/shop/1/stop"), 1);
    assert_eq!(sim.count_route(Route::Cancel, "/queue/cancelItem"), 0);
}

#[test]
fn jenkins_unstable_fails_by_default_and_passes_when_allowed() {
    let mut script = script();
    script.jenkins.result = Some("UNSTABLE".into());
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("shop", ""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(1);
    assert_eq!(r.json()["phases"][0]["state"], "UNSTABLE");
    let work = Workdir::with_config(&config("shop", "unstable = \"success\""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    assert_eq!(r.json()["phases"][0]["outputs"]["result"], "UNSTABLE");
}

#[test]
fn jenkins_not_built_is_a_failure() {
    let mut script = script();
    script.jenkins.result = Some("NOT_BUILT".into());
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("shop", ""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(1);
    assert_eq!(r.json()["phases"][0]["state"], "NOT_BUILT");
}

#[test]
fn jenkins_job_in_a_folder_and_a_multibranch_branch() {
    let sim = Sim::start(script());
    let work = Workdir::with_config(&config(
        "team/shop",
        "branch = \"feature/x\"\n[build.outputs]\ncommit = \"parameter:GIT_COMMIT\"\n",
    ));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    let trigger = sim
        .requests()
        .into_iter()
        .find(|q| q.route == Some(Route::Trigger))
        .unwrap();
    assert!(
        trigger
            .path
            .starts_with("/job/team/job/shop/job/feature%252Fx/buildWithParameters?"),
        "{}",
        trigger.path
    );
    let out = r.json();
    assert_eq!(
        out["phases"][0]["outputs"]["url"],
        format!("{}/job/team/job/shop/job/feature%252Fx/1/", sim.url())
    );
    assert_eq!(out["phases"][0]["outputs"]["commit"], SHA);
}

#[test]
fn jenkins_without_parameters_calls_build() {
    let sim = Sim::start(script());
    let config = config("shop", "").replace(
        "parameters = { GIT_COMMIT = \"{{ sha }}\", TARGET = \"{{ environment }}\" }\n",
        "",
    );
    let work = Workdir::with_config(&config);
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    assert_eq!(sim.count_route(Route::Trigger, "/job/shop/build"), 1);
}

#[test]
fn jenkins_bad_credentials_name_the_setting() {
    let sim = Sim::start(script());
    let work = Workdir::with_config(&config("shop", ""));
    // A wrong token: 401.
    let r = run(ferry(&sim, &work).env("JENKINS_TOKEN", "not-the-token"));
    // A refused credential is a setting to fix: exit 2.
    r.assert_code(2);
    assert!(r.stderr.contains("JENKINS_TOKEN"), "{}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(r.stderr.contains("API token"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-token"), "{}", r.stderr);
    // No credential at all: anonymous gets 403.
    let anonymous = config("shop", "")
        .replace(&format!("user = \"{USER}\"\n"), "")
        .replace("token_env = \"JENKINS_TOKEN\"\n", "");
    let work = Workdir::with_config(&anonymous);
    let r = run(ferry(&sim, &work).env_remove("JENKINS_TOKEN"));
    r.assert_code(2);
    assert!(r.stderr.contains("403"), "{}", r.stderr);
    assert!(r.stderr.contains("token_env"), "{}", r.stderr);
    // token_env names a variable that is not set: stopped before anything is sent.
    let before = sim.requests().len();
    let work = Workdir::with_config(&config("shop", ""));
    let r = run(ferry(&sim, &work).env_remove("JENKINS_TOKEN"));
    r.assert_code(2);
    assert!(r.stderr.contains("JENKINS_TOKEN"), "{}", r.stderr);
    assert_eq!(sim.requests().len(), before);
}
