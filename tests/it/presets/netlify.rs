//! The `netlify` preset end to end: the real binary with `[platform] preset = "netlify"`, the
//! platform URL and the log socket pointed at the simulator's Netlify dialect, and every request
//! ferry sent to the API validated against Netlify's own description (`netlify-swagger.yml`).

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{
    Fault, NetlifyScript, OpScript, Outcome, RecordedRequest, Route, Script, expected_log,
};
use serde_json::Value;

use crate::support::fake_http::{Answer, FakeHttp};
use crate::support::hosted_api::{netlify_swagger, swagger2_request};
use crate::support::{Run, Sim, Workdir, run, run_timed, signal, spawn};

const TOKEN: &str = "nfp_netlify-preset-token-0123456789";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const SITE: &str = "demo-site";

/// A build slow enough that its log is read while it runs.
fn build() -> OpScript {
    OpScript {
        queue: Duration::from_millis(100),
        duration: Duration::from_millis(600),
        log_lines: 12,
        outcome: Outcome::Success,
        tail_lines: 2,
        tail_delay: Duration::from_millis(100),
    }
}

fn script() -> Script {
    Script {
        require_token: Some(TOKEN.into()),
        build: build(),
        deploy: OpScript {
            queue: Duration::from_millis(50),
            duration: Duration::from_millis(300),
            log_lines: 4,
            tail_lines: 1,
            ..OpScript::fast()
        },
        netlify: NetlifyScript {
            sites: vec![SITE.into()],
            ..NetlifyScript::default()
        },
        ..Script::fast()
    }
}

/// What a user writes, plus the overrides that point the preset at the simulator: the API URL,
/// the log socket and the one origin the token may go to in its first frame.
fn config(sim: &Sim) -> String {
    let url = sim.url();
    let origin = url.trim_end_matches('/').replacen("http://", "ws://", 1);
    format!(
        r#"
[platform]
preset = "netlify"
url = "{url}/netlify/api/v1"

[platform.poll]
initial = "20ms"
max = "100ms"

[vars]
site = "{SITE}"

[build.logs]
path = "{origin}/netlify-socketeer/build/logs"
auth = {{ frame = {{ origin = "{origin}" }} }}
"#
    )
}

/// A working directory with the preset's ferry.toml and a source zip.
fn workdir(sim: &Sim) -> Workdir {
    let work = Workdir::with_config(&config(sim));
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0; 26]);
    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0; 18]);
    std::fs::write(work.path().join("source.zip"), zip).unwrap();
    work
}

fn ferry(work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

/// Every request ferry sent to the API, each validated against Netlify's description; the
/// token never in any output.
fn api_requests(sim: &Sim, run: &Run) -> Vec<RecordedRequest> {
    let api: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/netlify/api/v1/"))
        .collect();
    assert!(!api.is_empty());
    for r in &api {
        if let Err(problem) = swagger2_request(netlify_swagger(), r, "/netlify") {
            panic!(
                "ferry sent {} {}, which breaks netlify-swagger.yml: {problem}",
                r.method, r.path
            );
        }
    }
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    api
}

fn shapes(api: &[RecordedRequest]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in api {
        let path = r.path.split('?').next().unwrap_or_default();
        let segs: Vec<&str> = path.split('/').collect();
        let shape = match segs.as_slice() {
            [.., "deploys", _] => format!("{} /deploys/{{id}}", r.method),
            [.., "deploys", _, "cancel"] => format!("{} /deploys/{{id}}/cancel", r.method),
            _ => format!(
                "{} {}",
                r.method,
                path.trim_start_matches("/netlify/api/v1")
            ),
        };
        if out.last() != Some(&shape) {
            out.push(shape);
        }
    }
    out
}

fn log_lines(work: &Workdir) -> Vec<(String, String)> {
    work.read("events.ndjson")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "log")
        .map(|e| {
            (
                e["phase"].as_str().unwrap_or_default().to_string(),
                e["line"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn phase<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == name)
        .unwrap_or_else(|| panic!("no {name} phase in {json}"))
}

/// The build's log as the simulator wrote it, then netlify-cli's last `report` frame.
fn assert_build_log(work: &Workdir, json: &Value, script: &OpScript, report: &str) {
    let build_id = phase(json, "build")["outputs"]["build_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown: Vec<String> = log_lines(work)
        .into_iter()
        .filter(|(p, _)| p == "build")
        .map(|(_, l)| l)
        .collect();
    let expected: Vec<String> = expected_log(Phase::Build, &build_id[..8], script)
        .map(|l| l.trim_end().to_string())
        .collect();
    assert_eq!(shown.len(), expected.len() + 1, "{shown:#?}");
    assert_eq!(shown[..expected.len()], expected[..]);
    assert!(shown[expected.len()].starts_with(report), "{shown:#?}");
}

#[test]
fn netlify_builds_publishes_and_reports_the_site_url() {
    let script = script();
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let r = run(&mut ferry(&work));
    r.assert_code(0);
    let json = r.json();
    let api = api_requests(&sim, &r);
    assert_eq!(
        shapes(&api),
        [
            format!("POST /sites/{SITE}/builds"),
            "GET /deploys/{id}".into()
        ]
    );
    let trigger = &api[0];
    assert!(
        trigger.path.ends_with(&format!("?title={SHA}")),
        "{}",
        trigger.path
    );
    assert!(
        trigger
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/zip")
    );
    // The build and the deploy phase follow one deploy; the deploy's URLs are the outputs.
    let deploy_id = phase(&json, "build")["id"].as_str().unwrap().to_owned();
    assert_eq!(phase(&json, "deploy")["id"], deploy_id.as_str());
    assert_eq!(phase(&json, "deploy")["state"], "ready");
    assert_eq!(json["url"], format!("https://{SITE}.netlify.app"));
    assert_eq!(
        phase(&json, "deploy")["outputs"]["permalink"],
        format!("https://{deploy_id}--{SITE}.netlify.app")
    );
    // The log came from the socket (it accepted the subscription only with the token in it),
    // line for line, nothing twice.
    assert_build_log(
        &work,
        &json,
        &script.build,
        "Finished processing build request",
    );
}

#[test]
fn netlify_a_failed_build_shows_netlifys_message_and_no_url() {
    let script = Script {
        build: build().with_outcome(Outcome::Failure),
        ..script()
    };
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let r = run(&mut ferry(&work));
    assert_ne!(r.code, 0);
    let json = r.json();
    api_requests(&sim, &r);
    let build = phase(&json, "build");
    assert_eq!(build["status"], "failed");
    assert_eq!(build["state"], "error");
    let message = "Build script returned non-zero exit code: 2";
    assert!(
        build["message"].as_str().unwrap().ends_with(message),
        "{build}"
    );
    assert!(r.stderr.contains(message), "{}", r.stderr);
    assert!(json.get("url").is_none_or(Value::is_null), "{json}");
    assert_build_log(
        &work,
        &json,
        &script.build,
        "Failed during stage 'building'",
    );
}

#[test]
fn netlify_a_failed_deploy_shows_netlifys_message_and_no_url() {
    let script = Script {
        deploy: script().deploy.with_outcome(Outcome::Failure),
        ..script()
    };
    let sim = Sim::start(script);
    let work = workdir(&sim);
    let r = run(&mut ferry(&work));
    assert_ne!(r.code, 0);
    let json = r.json();
    api_requests(&sim, &r);
    assert_eq!(phase(&json, "build")["status"], "succeeded");
    let deploy = phase(&json, "deploy");
    assert_eq!(deploy["status"], "failed");
    let message = "Failed during stage 'deploying site': Deploy did not succeed";
    assert!(
        deploy["message"].as_str().unwrap().ends_with(message),
        "{deploy}"
    );
    assert!(r.stderr.contains(message), "{}", r.stderr);
    assert!(json.get("url").is_none_or(Value::is_null), "{json}");
    assert!(deploy["outputs"].get("url").is_none(), "{deploy}");
}

#[test]
fn netlify_a_signal_cancels_the_deploy() {
    let script = Script {
        build: OpScript {
            queue: Duration::ZERO,
            duration: Duration::from_secs(60),
            log_lines: 600,
            ..OpScript::fast()
        },
        ..script()
    };
    let sim = Sim::start(script);
    let work = workdir(&sim);
    let child = spawn(&mut ferry(&work));
    sim.wait_for("the build to be polled", |reqs| {
        reqs.iter()
            .filter(|r| r.method == "GET" && r.path.contains("/deploys/"))
            .count()
            >= 2
    });
    signal(&child, "TERM");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(r.json()["status"], "cancelled");
    let api = api_requests(&sim, &r);
    let deploy_id = r.json()["phases"][0]["id"].as_str().unwrap().to_owned();
    let cancels: Vec<&RecordedRequest> = api
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/cancel"))
        .collect();
    assert_eq!(cancels.len(), 1, "{api:#?}");
    assert_eq!(
        cancels[0].path,
        format!("/netlify/api/v1/deploys/{deploy_id}/cancel")
    );
}

#[test]
fn netlify_a_429_is_waited_out_until_its_reset() {
    let script = Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 429,
            retry_after: Some(2),
            ..Fault::default()
        }],
        ..script()
    };
    let sim = Sim::start(script);
    let work = workdir(&sim);
    let (r, _) = run_timed(&mut ferry(&work));
    r.assert_code(0);
    let api = api_requests(&sim, &r);
    let triggers: Vec<&RecordedRequest> =
        api.iter().filter(|r| r.path.contains("/builds")).collect();
    assert_eq!(triggers.len(), 2, "{api:#?}");
    // Netlify sends no Retry-After: only X-RateLimit-Reset (a Unix time, whole seconds).
    let waited = triggers[1].at_ms - triggers[0].at_ms;
    assert!(waited >= 1000, "retried after {waited} ms");
    assert_eq!(r.json()["url"], format!("https://{SITE}.netlify.app"));
}

#[test]
fn netlify_the_token_goes_to_no_socket_but_the_named_origin() {
    let script = script();
    let sim = Sim::start(script);
    // The log socket moved, the origin the token may go to did not (the preset's own).
    let text = config(&sim).replace("auth = {", "# auth = {");
    let work = workdir(&sim);
    work.write("ferry.toml", &text);
    let r = run(&mut ferry(&work));
    assert!(
        r.stderr.contains("auth.frame.origin"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    api_requests(&sim, &r);
    assert!(log_lines(&work).iter().all(|(p, _)| p != "build"));
    // The log is lost, not the deploy.
    r.assert_code(0);
}

#[test]
fn netlify_a_dropped_socket_is_opened_again_and_nothing_shown_twice() {
    let mut script = script();
    script.netlify.drop_sockets = 1;
    let sim = Sim::start(script.clone());
    let work = workdir(&sim);
    let r = run(&mut ferry(&work));
    r.assert_code(0);
    assert_build_log(
        &work,
        &r.json(),
        &script.build,
        "Finished processing build request",
    );
}

#[test]
fn netlify_what_a_user_writes_is_enough() {
    let work =
        Workdir::with_config("[platform]\npreset = \"netlify\"\n[vars]\nsite = \"demo-site\"\n");
    let r = run(work
        .ferry()
        .arg("check")
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production"));
    r.assert_code(0);
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
}

#[test]
fn netlify_a_socket_that_redirects_elsewhere_gets_no_token() {
    let script = script();
    let sim = Sim::start(script);
    let socket = format!(
        "{}/netlify-socketeer/build/logs",
        sim.url().trim_end_matches('/')
    );
    let hop = FakeHttp::start(move |_| Answer::redirect(307, &socket));
    let origin = hop
        .url()
        .trim_end_matches('/')
        .replacen("http://", "ws://", 1);
    let text = format!(
        "{}\n[build.logs]\npath = \"{origin}/build/logs\"\nauth = {{ frame = {{ origin = \"{origin}\" }} }}\n",
        config(&sim).split("[build.logs]").next().unwrap()
    );
    let work = workdir(&sim);
    work.write("ferry.toml", &text);
    let r = run(&mut ferry(&work));
    r.assert_code(0);
    assert_eq!(hop.requests().len(), 1);
    assert!(r.stderr.contains("answered at"), "{}", r.stderr);
    // The simulator's socket shows the log only to a subscription with the token: none came.
    assert!(log_lines(&work).iter().all(|(p, _)| p != "build"));
    api_requests(&sim, &r);
}
