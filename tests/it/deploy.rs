//! The real binary against the simulated platform, described by `examples/simulator.toml`:
//! success, failures, time limits, faults survived without duplicate triggers, cancellation on a
//! signal, and every log line delivered once, in order.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Fault, Outcome, Route, Script, expected_log};

use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run, signal, spawn};

/// `ferry deploy --json` to staging on the simulator, for a test to add to.
fn deploy_command(sim: &Sim, work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging");
    cmd
}

fn deploy(sim: &Sim, work: &Workdir, extra: &[&str]) -> Run {
    run(deploy_command(sim, work).args(extra))
}

/// The body of the deploy trigger the simulator received.
fn deploy_body(sim: &Sim) -> serde_json::Value {
    let deploy_post = sim
        .requests()
        .into_iter()
        .find(|r| r.route == Some(Route::Trigger) && r.path.contains("/deployments"))
        .unwrap();
    serde_json::from_str(&deploy_post.body).unwrap()
}

fn triggers(sim: &Sim, what: &str) -> usize {
    sim.count_route(Route::Trigger, what)
}

#[test]
fn deploy_builds_then_deploys_and_hands_the_artifact_over() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["schema"], "ferry.result/v1");
    assert_eq!(out["status"], "succeeded");
    assert_eq!(out["environment"], "staging");
    let url = out["url"].as_str().unwrap();
    assert!(url.ends_with("/apps/demo-app/staging"), "{url}");
    assert_eq!(out["phases"][0]["phase"], "build");
    assert_eq!(out["phases"][1]["phase"], "deploy");
    let artifact = out["phases"][0]["outputs"]["artifact"].as_str().unwrap();
    let body = deploy_body(&sim);
    assert_eq!(body["artifact"], artifact);
    assert_eq!(body["environment"], "staging");
    assert_eq!(triggers(&sim, "/builds"), 1);
    assert_eq!(triggers(&sim, "/deployments"), 1);
    // The environment URL is really served by the simulated platform.
    assert!(r.stderr.contains(url), "{}", r.stderr);
}

#[test]
fn a_failed_build_stops_before_deploying_and_shows_the_log_tail() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(1);
    let out = r.json();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["phases"].as_array().unwrap().len(), 1);
    let tail = out["phases"][0]["log_tail"].as_array().unwrap();
    assert!(
        tail.iter()
            .any(|l| l.as_str().unwrap().contains("error: step failed")),
        "{tail:?}"
    );
    assert_eq!(triggers(&sim, "/deployments"), 0);
}

#[test]
fn a_failed_deploy_exits_with_the_failure_code() {
    let mut script = Script::fast();
    script.deploy.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(1);
    let out = r.json();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["phases"][0]["status"], "succeeded");
    assert_eq!(out["phases"][1]["status"], "failed");
    assert!(out["url"].is_null());
}

#[test]
fn running_out_of_time_cancels_the_remote_build() {
    let mut script = Script::fast();
    script.build.duration = Duration::from_secs(30);
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &["--timeout", "1s"]);
    r.assert_code(4);
    assert_eq!(r.json()["status"], "timed_out");
    assert_eq!(sim.count_route(Route::Cancel, "/v1/builds/b-1/cancel"), 1);
    assert!(r.stderr.contains("ran out of time"), "{}", r.stderr);
}

#[test]
fn bursts_of_5xx_and_a_429_are_survived_with_one_trigger_each() {
    let mut script = Script::fast();
    script.faults = vec![
        Fault {
            on: Route::Status,
            after: 1,
            count: 3,
            status: 503,
            ..Fault::default()
        },
        Fault {
            on: Route::Log,
            after: 1,
            count: 1,
            status: 429,
            retry_after: Some(1),
            ..Fault::default()
        },
        Fault {
            on: Route::Status,
            after: 6,
            count: 1,
            status: 429,
            retry_after: Some(1),
            ..Fault::default()
        },
    ];
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(0);
    assert_eq!(triggers(&sim, "/builds"), 1);
    assert_eq!(triggers(&sim, "/deployments"), 1);
    // One short line per retry, with its budget; a rate limit's wait does not use it.
    assert!(
        r.stderr.contains("build: HTTP 503; retry 1/8 in "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("as asked (retry "), "{}", r.stderr);
    // Retry-After was honoured: the request after each 429 came at least a second later.
    let reqs = sim.requests();
    let waited_after = |route: Route, refused: usize| {
        let times: Vec<u64> = reqs
            .iter()
            .filter(|r| r.route == Some(route))
            .map(|r| r.at_ms)
            .collect();
        times[refused + 1] - times[refused]
    };
    let waited = waited_after(Route::Status, 6);
    assert!(
        waited >= 1000,
        "the status read after the 429 came {waited} ms later"
    );
}

#[test]
fn a_lost_trigger_response_is_retried_safely_with_the_idempotency_key() {
    let mut script = Script::fast();
    script.faults = vec![Fault {
        on: Route::Trigger,
        count: 2,
        status: 502,
        apply_first: true,
        ..Fault::default()
    }];
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(0);
    let out = r.json();
    // Three POSTs for the build, one build: the platform recognised the key.
    assert_eq!(triggers(&sim, "/builds"), 3);
    assert_eq!(out["phases"][0]["id"], "b-1");
    let keys: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Trigger) && r.path.contains("/builds"))
        .map(|r| r.header("idempotency-key").unwrap().to_string())
        .collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
}

#[test]
fn a_trigger_without_an_idempotency_key_is_never_repeated() {
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 503,
            apply_first: true,
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let config = SIMULATOR_TOML.replace(
        "headers = { Idempotency-Key = \"{{ idempotency_key }}\" }\n",
        "",
    );
    let work = Workdir::with_config(&config);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(3);
    assert_eq!(triggers(&sim, "/builds"), 1);
    assert!(r.stderr.contains("not retried"), "{}", r.stderr);
    assert!(r.stderr.contains("idempotency_key"), "{}", r.stderr);
}

#[test]
fn sigint_during_the_build_cancels_it_and_exits_cancelled() {
    let mut script = Script::fast();
    script.build.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let child = spawn(
        work.ferry()
            .args(["deploy", "--json"])
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    sim.wait_for("the build to be polled", |reqs| {
        reqs.iter()
            .filter(|r| r.route == Some(Route::Status))
            .count()
            >= 2
    });
    signal(&child, "INT");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(sim.count_route(Route::Cancel, "/v1/builds/b-1/cancel"), 1);
    assert_eq!(triggers(&sim, "/deployments"), 0);
}

#[test]
fn sigterm_cancels_too() {
    let mut script = Script::fast();
    script.deploy.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let child = spawn(
        work.ferry()
            .args([
                "deploy",
                "--no-build",
                "--var",
                "build.artifact=registry.sim.local/demo-app:b-0",
            ])
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    sim.wait_for("the deploy to be polled", |reqs| {
        reqs.iter()
            .any(|r| r.route == Some(Route::Status) && r.path.contains("/deployments/"))
    });
    signal(&child, "TERM");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(sim.count_route(Route::Cancel, "/cancel"), 1);
}

#[test]
fn every_log_line_arrives_once_in_order_including_the_tail() {
    let mut script = Script::fast();
    script.build.log_lines = 500;
    script.build.tail_lines = 7;
    script.build.tail_delay = Duration::from_millis(300);
    script.max_chunk_bytes = 4096;
    let sim = Sim::start(script.clone());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&sim, &work, &["--events", "events.ndjson"]);
    r.assert_code(0);
    let events = work.read("events.ndjson");
    let got: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "log" && e["phase"] == "build")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = expected_log(Phase::Build, "b-1", &script.build)
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}

#[test]
fn detach_triggers_and_returns_without_waiting() {
    let mut script = Script::fast();
    script.build.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["build", "--detach", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["status"], "detached");
    assert_eq!(out["phases"][0]["id"], "b-1");
    assert_eq!(sim.count_route(Route::Status, "/v1/builds"), 0);
}

#[test]
fn stop_tears_the_environment_down() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["stop", "--json", "--environment", "review-7"])
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(0);
    assert_eq!(r.json()["phases"][0]["status"], "succeeded");
    assert_eq!(triggers(&sim, "/environments/review-7"), 1);
}

#[test]
fn a_quiet_wait_still_shows_a_heartbeat() {
    let mut script = Script::fast();
    script.build.log_lines = 0;
    script.build.tail_lines = 0;
    script.build.duration = Duration::from_millis(1500);
    let sim = Sim::start(script);
    let config = SIMULATOR_TOML.replace("factor = 1.5", "factor = 1.5\nheartbeat = \"300ms\"");
    let work = Workdir::with_config(&config);
    let r = run(work
        .ferry()
        .args(["build", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(0);
    let beats = work
        .read("events.ndjson")
        .lines()
        .filter(|l| l.contains("\"type\":\"heartbeat\""))
        .count();
    assert!(
        beats >= 2,
        "{beats} heartbeats\n{}",
        work.read("events.ndjson")
    );
    assert!(r.stderr.contains("still"), "{}", r.stderr);
}

#[test]
fn a_429_on_the_trigger_is_retried_even_without_a_key() {
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 429,
            retry_after: Some(1),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let config = SIMULATOR_TOML.replace(
        "headers = { Idempotency-Key = \"{{ idempotency_key }}\" }\n",
        "",
    );
    let work = Workdir::with_config(&config);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(0);
    // 429 means the platform did nothing, so sending it again is safe.
    assert_eq!(triggers(&sim, "/builds"), 2);
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|q| q.route == Some(Route::Trigger))
        .collect();
    assert!(posts.len() >= 2);
}

#[test]
fn a_phase_has_its_own_time_limit() {
    let mut script = Script::fast();
    script.deploy.duration = Duration::from_secs(30);
    let sim = Sim::start(script);
    let config = SIMULATOR_TOML.replace(
        "[deploy.trigger]",
        "[deploy]\ntimeout = \"1s\"\n\n[deploy.trigger]",
    );
    let work = Workdir::with_config(&config);
    let r = deploy(&sim, &work, &[]);
    r.assert_code(4);
    let out = r.json();
    assert_eq!(out["phases"][0]["status"], "succeeded");
    assert_eq!(out["phases"][1]["status"], "timed_out");
    assert_eq!(
        sim.count_route(Route::Cancel, "/v1/deployments/d-1/cancel"),
        1
    );
}

#[test]
fn the_ci_log_wraps_platform_lines_so_they_cannot_run_workflow_commands() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .arg("deploy")
        .env("GITHUB_ACTIONS", "true")
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(0);
    assert!(r.stderr.contains("::group::"), "{}", r.stderr);
    let token_line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("::stop-commands::"))
        .unwrap();
    let token = token_line.trim_start_matches("::stop-commands::");
    assert!(token.len() >= 16, "{token}");
    assert!(r.stderr.contains(&format!("::{token}::")), "{}", r.stderr);
}

#[test]
fn gitlab_gets_collapsible_sections() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .arg("deploy")
        .env("GITLAB_CI", "true")
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(0);
    assert!(r.stderr.contains("\u{1b}[0Ksection_start:"), "{}", r.stderr);
    assert!(r.stderr.contains("\u{1b}[0Ksection_end:"), "{}", r.stderr);
}

/// Deploy only, as a job after the one that built: `no_build` from the environment, the file or
/// the action's input, the build's outputs from `FERRY_BUILD_<NAME>`.
#[test]
fn no_build_deploys_an_earlier_jobs_artifact_from_every_place_it_can_be_set() {
    let artifact = "registry.sim.local/demo-app:b-41";
    let ways: [(&str, &[(&str, &str)]); 3] = [
        ("", &[("FERRY_NO_BUILD", "true")]),
        ("no_build = true\n", &[]),
        (
            "",
            &[("GITHUB_ACTIONS", "true"), ("INPUT_NO_BUILD", "true")],
        ),
    ];
    for (file_line, env) in ways {
        let sim = Sim::start(Script::fast());
        let work = Workdir::with_config(&format!("{file_line}{SIMULATOR_TOML}"));
        let mut cmd = deploy_command(&sim, &work);
        cmd.env("FERRY_BUILD_ARTIFACT", artifact);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let r = run(&mut cmd);
        r.assert_code(0);
        assert_eq!(triggers(&sim, "/builds"), 0, "{file_line}{env:?}");
        assert_eq!(
            deploy_body(&sim)["artifact"],
            artifact,
            "{file_line}{env:?}"
        );
        assert_eq!(r.json()["phases"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn no_build_is_refused_by_ferry_build_before_anything_is_sent() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .arg("build")
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_NO_BUILD", "true"));
    r.assert_says(2, &["`ferry build` with no_build", "drop no_build"]);
    assert!(sim.requests().is_empty());
}
