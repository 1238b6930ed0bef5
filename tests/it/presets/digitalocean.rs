//! The `digitalocean` preset, end to end: the real binary with `[platform] preset =
//! "digitalocean"` against the simulator's DigitalOcean dialect, every request ferry sent to the
//! API checked against DigitalOcean's own description (`openapi3::digitalocean()`).

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Fault, OpScript, Outcome, RecordedRequest, Route, Script, expected_log};
use serde_json::Value;

use crate::support::openapi3;
use crate::support::{Run, Sim, Workdir, run, signal, spawn};

const APP: &str = "5a1d0c3e-0000-4000-8000-000000000001";
const TOKEN: &str = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn op(lines: u64, outcome: Outcome) -> OpScript {
    OpScript {
        queue: Duration::from_millis(100),
        duration: Duration::from_millis(600),
        log_lines: lines,
        tail_lines: 1,
        tail_delay: Duration::from_millis(30),
        outcome,
    }
}

fn script(build: Outcome, deploy: Outcome) -> Script {
    Script {
        require_token: Some(TOKEN.into()),
        build: op(8, build),
        deploy: op(4, deploy),
        ..Script::fast()
    }
}

/// What a user writes: the preset, the app's id; the platform URL pointed at the simulator.
fn workdir(sim: &Sim) -> Workdir {
    Workdir::with_config(&format!(
        r#"
[platform]
preset = "digitalocean"
url = "{}/digitalocean"

[platform.poll]
initial = "50ms"
max = "200ms"

[vars]
app_id = "{APP}"
"#,
        sim.url()
    ))
}

fn ferry(work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

/// Every request ferry sent to the API is one DigitalOcean's description allows, with the
/// token; every log URL got no credential.
fn assert_requests_follow_the_description(sim: &Sim) {
    let requests = sim.requests();
    let api: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path.starts_with("/digitalocean/v2/"))
        .collect();
    assert!(!api.is_empty(), "no request reached the API");
    for r in api {
        let problems = openapi3::digitalocean().check_recorded("/digitalocean", r);
        assert!(
            problems.is_empty(),
            "{} {}: {problems:#?}",
            r.method,
            r.path
        );
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            r.method,
            r.path
        );
    }
    for r in requests.iter().filter(|r| {
        r.path.starts_with("/digitalocean/live/") || r.path.starts_with("/digitalocean/archive/")
    }) {
        assert_eq!(r.header("authorization"), None, "{}", r.path);
    }
}

/// The secrets in the log URLs the dialect gave (`token=`, `signature=`).
fn log_secrets(sim: &Sim) -> Vec<String> {
    sim.requests()
        .iter()
        .filter_map(|r| {
            let (_, query) = r.path.split_once('?')?;
            query
                .split('&')
                .find_map(|p| p.strip_prefix("token=").or(p.strip_prefix("signature=")))
                .map(str::to_owned)
        })
        .collect()
}

/// Neither the platform token nor a log URL's own token appears in any output.
fn assert_no_secret_shown(sim: &Sim, work: &Workdir, out: &Run) {
    let events = work.read("events.ndjson");
    let mut secrets = log_secrets(sim);
    secrets.push(TOKEN.to_owned());
    for secret in secrets {
        for (name, text) in [
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
            ("events", &events),
        ] {
            assert!(!text.contains(&secret), "{name} shows {secret}:\n{text}");
        }
    }
}

/// The log lines ferry showed that came from the dialect (`web <time> <line>`), prefix removed.
fn shown_log(out: &Run) -> Vec<String> {
    out.stderr
        .lines()
        .filter_map(|line| {
            let at = line.find("web ")?;
            let mut parts = line[at..].splitn(3, ' ');
            parts.next();
            let time = parts.next()?;
            (time.ends_with('Z') && time.contains('T'))
                .then(|| parts.next().unwrap_or("").to_owned())
        })
        .collect()
}

fn expected(phase: Phase, script: &OpScript) -> Vec<String> {
    expected_log(phase, "#1", script)
        .map(|l| l.trim_end().to_owned())
        .collect()
}

fn phase<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["phases"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["phase"] == name))
        .unwrap_or_else(|| panic!("no {name} phase in {json:#}"))
}

fn count(sim: &Sim, method: &str, part: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == method && r.path.contains(part))
        .count()
}

#[test]
fn digitalocean_preset_builds_deploys_and_reports_the_live_url() {
    let script = script(Outcome::Success, Outcome::Success);
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    // Diagnostics too must not show a log URL's token.
    let out = run(ferry(&work).env("FERRY_LOG", "debug"));
    out.assert_code(0);
    assert!(out.stderr.contains("log stream request"), "{}", out.stderr);
    let json = out.json();
    let url = json["url"].as_str().unwrap_or_default();
    assert_eq!(phase(&json, "deploy")["outputs"]["url"], url);
    assert_eq!(
        url,
        format!("{}/apps/{APP}/digitalocean", sim.url()),
        "{json:#}"
    );
    let mut log = expected(Phase::Build, &script.build);
    log.extend(expected(Phase::Deploy, &script.deploy));
    assert_eq!(shown_log(&out), log, "stderr:\n{}", out.stderr);
    assert_eq!(count(&sim, "POST", "/deployments"), 1);
    assert_eq!(count(&sim, "POST", "/cancel"), 0);
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

/// A failed phase: its platform message in the failure line and `--json`, no URL reported.
fn assert_failed(out: &Run, failed: &str, message: &str) {
    assert_ne!(out.code, 0, "stderr:\n{}", out.stderr);
    let json = out.json();
    assert_eq!(json["status"], "failed", "{json:#}");
    assert_eq!(phase(&json, failed)["status"], "failed", "{json:#}");
    let said = phase(&json, failed)["message"].as_str().unwrap_or_default();
    assert!(said.contains(message), "{json:#}");
    assert!(out.stderr.contains(message), "stderr:\n{}", out.stderr);
    assert!(json["url"].is_null(), "{json:#}");
    assert!(!out.stdout.contains("/apps/"), "a URL in {}", out.stdout);
}

#[test]
fn digitalocean_preset_reports_a_failed_build_with_its_reason() {
    let script = script(Outcome::Failure, Outcome::Success);
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let out = run(&mut ferry(&work));
    assert_failed(&out, "build", "returned a non-zero exit code");
    assert_eq!(shown_log(&out), expected(Phase::Build, &script.build));
    // The deploy phase followed nothing and the app was never read.
    assert_eq!(count(&sim, "GET", "type=DEPLOY"), 0);
    assert_eq!(count(&sim, "GET", &format!("/v2/apps/{APP}?")), 0);
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

#[test]
fn digitalocean_preset_reports_a_failed_deploy_with_its_reason() {
    let script = script(Outcome::Success, Outcome::Failure);
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let out = run(&mut ferry(&work));
    assert_failed(&out, "deploy", "container failed health checks");
    assert_eq!(phase(&out.json(), "build")["status"], "succeeded");
    let mut log = expected(Phase::Build, &script.build);
    log.extend(expected(Phase::Deploy, &script.deploy));
    assert_eq!(shown_log(&out), log, "stderr:\n{}", out.stderr);
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

#[test]
fn digitalocean_preset_cancels_the_deployment_on_sigterm() {
    let mut script = script(Outcome::Success, Outcome::Success);
    script.build.duration = Duration::from_secs(60);
    script.build.log_lines = 600;
    let sim = Sim::start(script);
    let work = workdir(&sim);
    let child = spawn(&mut ferry(&work));
    sim.wait_for("the live build log", |reqs| {
        reqs.iter()
            .any(|r| r.path.starts_with("/digitalocean/live/"))
    });
    signal(&child, "TERM");
    let out = Run::of(&child.wait_with_output().unwrap());
    assert_ne!(out.code, 0, "stderr:\n{}", out.stderr);
    let cancels: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Cancel))
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:#?}");
    assert_eq!(
        cancels[0].path,
        format!(
            "/digitalocean/v2/apps/{APP}/deployments/d0c0ffee-0000-4000-8000-000000000001/cancel"
        )
    );
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

#[test]
fn digitalocean_preset_waits_out_a_429_until_its_ratelimit_reset() {
    let mut script = script(Outcome::Success, Outcome::Success);
    script.faults = vec![Fault {
        on: Route::Status,
        after: 2,
        count: 1,
        status: 429,
        retry_after: Some(2),
        ..Fault::default()
    }];
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let out = run(&mut ferry(&work));
    out.assert_code(0);
    let status: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Status))
        .collect();
    // The third status read was answered 429 with `ratelimit-reset` two seconds on (a Unix
    // time, so at least one second): the next one waited for it.
    let waited = status[3].at_ms - status[2].at_ms;
    assert!(
        waited >= 900,
        "the read after the 429 came {waited} ms later"
    );
    let mut log = expected(Phase::Build, &script.build);
    log.extend(expected(Phase::Deploy, &script.deploy));
    assert_eq!(shown_log(&out), log, "stderr:\n{}", out.stderr);
    assert_requests_follow_the_description(&sim);
}

#[test]
fn digitalocean_preset_reads_the_archived_log_of_a_step_that_ended_before_ferry_looked() {
    let mut script = script(Outcome::Success, Outcome::Success);
    script.build.queue = Duration::ZERO;
    script.build.duration = Duration::from_millis(1);
    script.build.tail_delay = Duration::ZERO;
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    // The first status read waits a second: the build is over by then.
    let config = work
        .read("ferry.toml")
        .replace("initial = \"50ms\"", "initial = \"1s\"");
    work.write("ferry.toml", &config);
    let out = run(&mut ferry(&work));
    out.assert_code(0);
    let mut log = expected(Phase::Build, &script.build);
    log.extend(expected(Phase::Deploy, &script.deploy));
    assert_eq!(shown_log(&out), log, "stderr:\n{}", out.stderr);
    assert_eq!(
        count(&sim, "GET", "/digitalocean/archive/"),
        1,
        "{:#?}",
        sim.requests()
    );
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

#[test]
fn digitalocean_preset_names_a_refused_log_websocket_without_its_token() {
    let mut script = script(Outcome::Success, Outcome::Success);
    // The first log request (the locate) is answered; the WebSocket it names is refused once.
    script.faults = vec![Fault {
        on: Route::Log,
        after: 1,
        count: 1,
        status: 403,
        ..Fault::default()
    }];
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let out = run(&mut ferry(&work));
    out.assert_code(0);
    assert!(
        out.stderr.contains("/digitalocean/live/") && out.stderr.contains("token=…"),
        "the refused WebSocket is named, its token hidden:\n{}",
        out.stderr
    );
    // A refusal is not transient: the build log stops there (with that warning), the phase and
    // the deploy log go on.
    assert!(
        out.stderr.contains("stopped reading the build log"),
        "{}",
        out.stderr
    );
    assert_eq!(shown_log(&out), expected(Phase::Deploy, &script.deploy));
    assert_requests_follow_the_description(&sim);
    assert_no_secret_shown(&sim, &work, &out);
}

#[test]
fn ferry_check_refuses_a_log_path_beside_the_presets_locate() {
    let sim = Sim::start(script(Outcome::Success, Outcome::Success));
    let work = workdir(&sim);
    let config =
        work.read("ferry.toml") + "\n[build.logs]\npath = \"/v2/apps/{{ vars.app_id }}/log\"\n";
    work.write("ferry.toml", &config);
    let out = run(work
        .ferry()
        .arg("check")
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA));
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    for needle in ["[build.logs]", "[build.logs.locate]", "remove `path`"] {
        assert!(
            out.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            out.stderr
        );
    }
    assert!(
        sim.requests().is_empty(),
        "check sent {:#?}",
        sim.requests()
    );
}
