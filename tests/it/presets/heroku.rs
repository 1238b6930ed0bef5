//! The `heroku` preset (`examples/platforms/heroku.toml`) run by the real binary as a user runs
//! it — `[platform] preset = "heroku"`, the app in `[vars]`, the token in FERRY_PLATFORM_TOKEN —
//! against the simulator's Heroku dialect (`[platform] url` overridden to point at it), and every
//! request ferry sent to the Platform API checked against Heroku's JSON Hyper-Schema
//! (`heroku-schema.json`). The object store and the output streams are another origin, as on
//! Heroku: they must get neither the token nor the API's `Accept`.

use std::time::{Duration, Instant};

use ferry::platform::Phase;
use ferry::sim::{Fault, OpScript, Outcome, RecordedRequest, Route, Script, expected_log};
use serde_json::Value;

use crate::support::hosted_api::{heroku_schema, hyper_schema_request};
use crate::support::{Run, Sim, Workdir, run, signal, spawn};

const TOKEN: &str = "heroku-oauth-token-0123456789abcdef";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
/// The archive's bytes: binary, as `git archive --format=tar.gz` writes it.
const ARCHIVE: &[u8] = b"\x1f\x8b\x08\x00\x00\xff\xfe\r\n\x00source\x80\x81";

/// All a user writes, plus a faster poll than the preset's (a user override too).
fn config(app: &str) -> String {
    format!(
        r#"
[platform]
preset = "heroku"

[platform.poll]
initial = "20ms"
max = "100ms"

[vars]
app = "{app}"
"#
    )
}

/// A build and a release phase slow enough to be read while they run.
fn script() -> Script {
    Script {
        require_token: Some(TOKEN.into()),
        build: OpScript {
            queue: Duration::from_millis(50),
            duration: Duration::from_millis(400),
            log_lines: 12,
            tail_lines: 2,
            tail_delay: Duration::from_millis(100),
            ..OpScript::fast()
        },
        deploy: OpScript {
            queue: Duration::from_millis(30),
            duration: Duration::from_millis(250),
            log_lines: 5,
            tail_lines: 1,
            ..OpScript::fast()
        },
        ..Script::fast()
    }
}

fn workdir(app: &str) -> Workdir {
    let work = Workdir::with_config(&config(app));
    std::fs::write(work.path().join("source.tar.gz"), ARCHIVE).unwrap();
    work
}

fn ferry(sim: &Sim, work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", format!("{}/heroku", sim.url()))
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

fn deploy(sim: &Sim, work: &Workdir) -> Run {
    run(&mut ferry(sim, work))
}

fn api(sim: &Sim) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/heroku/"))
        .collect()
}

/// Every request to the Platform API is one Heroku's description allows, with the token and
/// Heroku's media type; the other hosts got neither, and the token is in no output.
#[track_caller]
fn assert_requests_follow_the_description(sim: &Sim, out: &Run) {
    let requests = sim.requests();
    assert!(!api(sim).is_empty(), "no Heroku request was sent");
    for r in &requests {
        if r.path.starts_with("/heroku/") {
            if let Err(problem) = hyper_schema_request(heroku_schema(), r, "/heroku") {
                panic!(
                    "{} {} breaks heroku-schema.json: {problem}",
                    r.method, r.path
                );
            }
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str())
            );
            assert_eq!(
                r.header("accept"),
                Some("application/vnd.heroku+json; version=3")
            );
        } else {
            assert_eq!(r.header("authorization"), None, "{} {}", r.method, r.path);
            assert!(
                !r.header("accept").unwrap_or_default().contains("heroku"),
                "{} {} got the API's Accept",
                r.method,
                r.path
            );
        }
    }
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
}

/// The log lines ferry showed (`  | …` on stderr).
fn shown(out: &Run) -> Vec<String> {
    out.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .map(str::to_owned)
        .collect()
}

fn expected(phase: Phase, label: &str, op: &OpScript) -> Vec<String> {
    expected_log(phase, label, op)
        .map(|l| l.trim_end_matches('\n').to_owned())
        .collect()
}

fn phase<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == name)
        .unwrap_or_else(|| panic!("no {name} phase in {result}"))
}

fn build_id(result: &Value) -> String {
    phase(result, "build")["id"].as_str().unwrap().to_owned()
}

#[test]
fn heroku_preset_uploads_builds_releases_and_reports_the_apps_url() {
    let script = script();
    let sim = Sim::start(script.clone());
    let work = workdir("demo-app");
    let out = deploy(&sim, &work);
    out.assert_code(0);
    let result = out.json();
    let url = result["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://demo-app-") && url.ends_with(".herokuapp.com/"),
        "{url}"
    );
    let deploy = phase(&result, "deploy");
    assert_eq!(deploy["outputs"]["url"], url);
    assert_eq!(deploy["outputs"]["version"], "2");
    assert!(deploy["outputs"]["release"].is_null());
    let build = phase(&result, "build");
    assert_eq!(deploy["id"], build["outputs"]["release"]);
    assert!(build["outputs"]["slug"].is_string());

    // The archive went as is to put_url, and the build was made from get_url at this commit.
    let reqs = sim.requests();
    let put = reqs.iter().find(|r| r.method == "PUT").unwrap();
    assert!(put.path.starts_with("/s3/heroku-sources/"), "{}", put.path);
    assert_eq!(put.header("content-type"), None);
    let trigger = reqs
        .iter()
        .find(|r| r.route == Some(Route::Trigger))
        .unwrap();
    let body: Value = serde_json::from_str(&trigger.body).unwrap();
    assert_eq!(body["source_blob"]["version"], SHA);
    assert!(
        body["source_blob"]["url"]
            .as_str()
            .unwrap()
            .contains("/s3/heroku-sources/")
    );
    // Nothing is cancelled after a success.
    assert_eq!(sim.count_route(Route::Cancel, "/heroku/"), 0);
    assert_requests_follow_the_description(&sim, &out);
    // The check is strict: the same build with a misspelt field of its body would fail it.
    let mut typo = trigger.clone();
    typo.body = typo.body.replace("\"version\"", "\"verison\"");
    assert!(hyper_schema_request(heroku_schema(), &typo, "/heroku").is_err());
}

#[test]
fn heroku_preset_shows_the_build_and_release_logs_line_for_line_once() {
    let mut script = script();
    // The first stream is cut after its first chunk: ferry resumes it with Range.
    script.heroku.drop_streams = 1;
    script.build.log_lines = 30;
    let sim = Sim::start(script.clone());
    let work = workdir("demo-app");
    let out = deploy(&sim, &work);
    out.assert_code(0);
    let id = build_id(&out.json());
    let mut want = expected(Phase::Build, &id[..8], &script.build);
    want.extend(expected(Phase::Deploy, "v2", &script.deploy));
    assert_eq!(shown(&out), want, "stderr:\n{}", out.stderr);
    let resumed = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Log) && r.header("range").is_some())
        .count();
    assert!(resumed >= 1, "the cut stream was not resumed with Range");
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_without_a_release_phase_ends_the_deploy_log_at_once() {
    let mut script = script();
    script.heroku.release_phase = false;
    let sim = Sim::start(script.clone());
    let work = workdir("demo-app");
    let started = Instant::now();
    let out = deploy(&sim, &work);
    out.assert_code(0);
    // No output_stream_url on the release: no log, no warning, no wait for one.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        !out.stderr.to_lowercase().contains("warning"),
        "{}",
        out.stderr
    );
    let result = out.json();
    // The release is final at its first read: the phase ends without the drain's quiet second.
    let took = phase(&result, "deploy")["duration_ms"].as_u64().unwrap();
    assert!(took < 1000, "the deploy took {took} ms");
    let id = build_id(&result);
    assert_eq!(shown(&out), expected(Phase::Build, &id[..8], &script.build));
    assert!(result["url"].as_str().unwrap().contains(".herokuapp.com"));
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_build_failure_makes_no_release_and_no_url() {
    let mut script = script();
    script.build = script.build.with_outcome(Outcome::Failure);
    let sim = Sim::start(script.clone());
    let work = workdir("demo-app");
    let out = deploy(&sim, &work);
    assert_ne!(out.code, 0, "{}", out.stderr);
    let result = out.json();
    assert_eq!(phase(&result, "build")["status"], "failed");
    assert!(result["url"].is_null(), "{result}");
    assert!(
        result["phases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["phase"] != "deploy" || p["status"] != "succeeded")
    );
    // The log says why (Heroku's build has no failure field: the output is the message).
    let id = build_id(&result);
    assert_eq!(shown(&out), expected(Phase::Build, &id[..8], &script.build));
    assert!(out.stderr.contains("error: step failed"));
    assert!(!sim.requests().iter().any(|r| r.path.contains("/releases/")));
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_release_phase_failure_reports_no_live_url() {
    let mut script = script();
    script.deploy = script.deploy.with_outcome(Outcome::Failure);
    let sim = Sim::start(script.clone());
    let work = workdir("demo-app");
    let out = deploy(&sim, &work);
    assert_ne!(out.code, 0, "{}", out.stderr);
    let result = out.json();
    assert_eq!(phase(&result, "build")["status"], "succeeded");
    let deploy = phase(&result, "deploy");
    assert_eq!(deploy["status"], "failed");
    assert!(result["url"].is_null(), "{result}");
    assert!(deploy["outputs"]["url"].is_null(), "{deploy}");
    let id = build_id(&result);
    let mut want = expected(Phase::Build, &id[..8], &script.build);
    want.extend(expected(Phase::Deploy, "v2", &script.deploy));
    assert_eq!(shown(&out), want);
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_shows_herokus_message_for_an_unknown_app() {
    let sim = Sim::start(script());
    let work = workdir("no-such-app");
    let out = deploy(&sim, &work);
    assert_ne!(out.code, 0);
    let result = out.json();
    let message = phase(&result, "build")["message"].as_str().unwrap();
    assert!(message.contains("Couldn't find that app."), "{message}");
    assert!(out.stderr.contains("Couldn't find that app."));
    assert!(result["url"].is_null());
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_cancels_the_build_on_sigterm() {
    let mut script = script();
    script.build = OpScript {
        queue: Duration::ZERO,
        duration: Duration::from_secs(60),
        log_lines: 600,
        ..OpScript::fast()
    };
    let sim = Sim::start(script);
    let work = workdir("demo-app");
    let child = spawn(&mut ferry(&sim, &work));
    sim.wait_for("the build's log to be read", |reqs| {
        reqs.iter().any(|r| r.route == Some(Route::Log))
    });
    signal(&child, "TERM");
    let out = Run::of(&child.wait_with_output().unwrap());
    assert_ne!(out.code, 0);
    let cancels: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Cancel))
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:#?}");
    assert_eq!(cancels[0].method, "DELETE");
    assert!(
        cancels[0].path.starts_with("/heroku/apps/demo-app/builds/"),
        "{}",
        cancels[0].path
    );
    assert!(out.json()["url"].is_null());
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_waits_out_a_429_as_heroku_sends_it() {
    let mut script = script();
    // Heroku's 429: `rate_limit`, `RateLimit-Remaining: 0` and no reset header or Retry-After.
    script.faults = vec![
        Fault {
            on: Route::Trigger,
            count: 2,
            status: 429,
            ..Fault::default()
        },
        Fault {
            on: Route::Status,
            after: 1,
            count: 2,
            status: 429,
            ..Fault::default()
        },
    ];
    let sim = Sim::start(script);
    let work = workdir("demo-app");
    let out = deploy(&sim, &work);
    out.assert_code(0);
    assert_eq!(sim.count_route(Route::Trigger, "/builds"), 3);
    assert!(
        out.json()["url"]
            .as_str()
            .unwrap()
            .contains(".herokuapp.com")
    );
    assert_requests_follow_the_description(&sim, &out);
}

#[test]
fn heroku_preset_leaves_a_release_phase_it_cannot_cancel_on_sigterm() {
    let mut script = script();
    script.deploy = OpScript {
        queue: Duration::ZERO,
        duration: Duration::from_secs(60),
        log_lines: 600,
        ..OpScript::fast()
    };
    let sim = Sim::start(script);
    let work = workdir("demo-app");
    let child = spawn(&mut ferry(&sim, &work));
    sim.wait_for("the release phase's log to be read", |reqs| {
        let release = reqs.iter().position(|r| r.path.contains("/releases/"));
        release.is_some_and(|at| reqs[at..].iter().any(|r| r.route == Some(Route::Log)))
    });
    signal(&child, "TERM");
    let out = Run::of(&child.wait_with_output().unwrap());
    assert_ne!(out.code, 0);
    // Heroku has no request that stops a release phase: nothing is sent, nothing is claimed.
    assert_eq!(sim.count_route(Route::Cancel, "/"), 0);
    let result = out.json();
    assert_eq!(phase(&result, "build")["status"], "succeeded");
    assert_ne!(phase(&result, "deploy")["status"], "succeeded");
    assert!(result["url"].is_null());
    // Said plainly: the release phase may run on; ferry does not claim it asked to stop it.
    let message = phase(&result, "deploy")["message"].as_str().unwrap();
    assert_eq!(message, "the deploy was cancelled by a signal");
    assert!(
        out.stderr
            .contains("follows an operation ferry did not start"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("it may still be running on the platform")
    );
    assert_requests_follow_the_description(&sim, &out);
}
