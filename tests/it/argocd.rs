//! The `argocd` platform: the real binary against the simulator's Argo CD dialect, and every
//! request ferry sent checked against Argo CD's own API description (`argocd-swagger.json`,
//! strict: a body field the description does not name is an error).

use std::sync::LazyLock;
use std::time::Duration;

use ferry::sim::{ArgoScript, RecordedRequest, Route, Script};
use serde_json::{Value, json};

use crate::support::{Run, Sim, Workdir, run, signal, spawn};

pub(crate) const ARGO_TOKEN: &str = "argocd-account-token-0123456789";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// An Argo CD platform and a deploy of application `shop`; `extra` goes into `[deploy]`.
pub(crate) fn config(extra: &str) -> String {
    format!(
        r#"
[platforms.cd]
kind = "argocd"
url_env = "ARGOCD_URL"
token_env = "ARGOCD_TOKEN"

[platforms.cd.poll]
initial = "20ms"
max = "300ms"

[deploy]
platform = "cd"
application = "shop"
{extra}
"#
    )
}

pub(crate) fn script() -> Script {
    Script {
        require_token: Some(ARGO_TOKEN.into()),
        argocd: ArgoScript {
            apps: vec!["shop".into()],
            ..ArgoScript::default()
        },
        ..Script::fast()
    }
}

fn ferry(sim: &Sim, work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json", "--events", "events.ndjson"])
        .env("ARGOCD_URL", sim.url())
        .env("ARGOCD_TOKEN", ARGO_TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

fn events(work: &Workdir) -> Vec<Value> {
    work.read("events.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

static SWAGGER: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/argocd/swagger.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut spec: Value = serde_json::from_str(&text).unwrap();
    strict(&mut spec["definitions"]);
    spec
});

/// Every object schema that lists its properties allows no others: a misspelt field in a
/// request is then an error, not silently ignored by both ferry and the simulator.
fn strict(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), json!(false));
            }
            for child in map.values_mut() {
                strict(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// Why `req` is not a request Argo CD's API description allows, if it is not.
pub(crate) fn swagger_problem(req: &RecordedRequest) -> Option<String> {
    let spec = &*SWAGGER;
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.to_ascii_lowercase();
    let mut best: Option<(&str, usize)> = None;
    for template in spec["paths"].as_object().unwrap().keys() {
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        if t.len() != segs.len() || spec["paths"][template].get(&method).is_none() {
            continue;
        }
        let mut literal = 0;
        let fits = t.iter().zip(&segs).all(|(a, b)| {
            if a.starts_with('{') {
                true
            } else {
                literal += usize::from(a == b);
                a == b
            }
        });
        if fits && best.is_none_or(|(_, n)| literal > n) {
            best = Some((template, literal));
        }
    }
    let Some((template, _)) = best else {
        return Some(format!("no {method} of the description matches {path}"));
    };
    let Some(op) = spec["paths"][template].get(&method) else {
        return Some(format!("{template} has no {method}"));
    };
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let Some(p) = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_ref())
        else {
            return Some(format!("{method} {template}: no query parameter {name}"));
        };
        let ok = match p["type"].as_str() {
            Some("boolean") => matches!(value.as_ref(), "true" | "false"),
            Some("integer") => value.parse::<i64>().is_ok(),
            _ => true,
        };
        if !ok {
            return Some(format!(
                "{method} {template}: {name}={value} is not a {}",
                p["type"]
            ));
        }
    }
    match params.iter().find(|p| p["in"] == "body") {
        Some(p) => {
            if !req
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
            {
                return Some(format!(
                    "{method} {template}: the body is not application/json"
                ));
            }
            let body: Value = match serde_json::from_str(&req.body) {
                Ok(b) => b,
                Err(e) => return Some(format!("{method} {template}: body is not JSON: {e}")),
            };
            let schema = json!({ "definitions": spec["definitions"], "allOf": [p["schema"]] });
            let validator = jsonschema::draft4::new(&schema).unwrap();
            if let Err(e) = validator.validate(&body) {
                return Some(format!("{method} {template}: body {body}: {e}"));
            }
        }
        None if !req.body.trim().is_empty() => {
            return Some(format!("{method} {template} takes no body"));
        }
        None => {}
    }
    None
}

/// Fails the test on any request to the Argo CD API that its description rejects.
pub(crate) fn assert_requests_follow_the_swagger(sim: &Sim) {
    let reqs = sim.requests();
    let argo: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .collect();
    assert!(!argo.is_empty(), "no Argo CD request was sent");
    for r in argo {
        if let Some(problem) = swagger_problem(r) {
            panic!(
                "{} {} breaks argocd-swagger.json: {problem}",
                r.method, r.path
            );
        }
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {ARGO_TOKEN}").as_str())
        );
    }
}

fn syncs(sim: &Sim) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.route == Some(Route::Trigger) && r.path.ends_with("/sync"))
        .collect()
}

#[test]
fn the_contract_check_rejects_what_the_description_does() {
    let req = |method: &str, path: &str, body: &str| RecordedRequest {
        method: method.into(),
        path: path.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
        route: None,
        at_ms: 0,
    };
    assert_eq!(
        swagger_problem(&req(
            "POST",
            "/api/v1/applications/a/sync",
            r#"{"revision":"x","prune":true}"#
        )),
        None
    );
    assert!(
        swagger_problem(&req(
            "POST",
            "/api/v1/applications/a/sync",
            r#"{"revison":"x"}"#
        ))
        .is_some()
    );
    assert!(
        swagger_problem(&req(
            "POST",
            "/api/v1/applications/a/sync",
            r#"{"prune":"yes"}"#
        ))
        .is_some()
    );
    assert!(swagger_problem(&req("PUT", "/api/v1/applications/a/operation", "")).is_some());
    assert!(swagger_problem(&req("GET", "/api/v1/applications/a?bogus=1", "")).is_some());
    assert_eq!(
        swagger_problem(&req(
            "GET",
            "/api/v1/stream/applications?name=a&resourceVersion=3",
            ""
        )),
        None
    );
}

#[test]
fn argocd_syncs_to_the_commit_and_waits_for_synced_and_healthy() {
    let mut script = script();
    script.deploy.duration = Duration::from_millis(600);
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["status"], "succeeded");
    let outputs = &out["phases"][0]["outputs"];
    assert_eq!(outputs["revision"], SHA);
    assert_eq!(outputs["health"], "Healthy");
    assert_eq!(
        outputs["app_url"],
        format!("{}/applications/shop", sim.url())
    );
    let url = out["url"].as_str().unwrap();
    assert!(url.ends_with("/apps/shop/shop"), "{url}");
    let sync = &syncs(&sim)[0];
    let body: Value = serde_json::from_str(&sync.body).unwrap();
    assert_eq!(body["revision"], SHA);
    // It watched the stream after one first read, and showed resource health as log lines.
    assert!(sim.count_route(Route::Status, "/api/v1/stream/applications?name=shop") >= 1);
    let lines: Vec<String> = events(&work)
        .into_iter()
        .filter(|e| e["type"] == "log")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l == "Deployment shop/web: Progressing → Healthy"),
        "{lines:?}"
    );
    assert_requests_follow_the_swagger(&sim);
    assert!(!r.stderr.contains(ARGO_TOKEN));
}

#[test]
fn argocd_degraded_fails_the_deploy() {
    let mut script = script();
    script.deploy.outcome = ferry::sim::Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(1);
    let out = r.json();
    assert!(
        out["phases"][0]["state"]
            .as_str()
            .unwrap()
            .contains("health=Degraded"),
        "{out}"
    );
    assert!(
        out["phases"][0]["log_tail"]
            .to_string()
            .contains("exceeded its progress deadline")
    );
    assert_requests_follow_the_swagger(&sim);
}

#[test]
fn argocd_waits_for_an_operation_already_in_progress_then_syncs() {
    let mut script = script();
    script.argocd.busy_for = Duration::from_millis(700);
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("revision = \"v1.2.3\""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    assert!(syncs(&sim).len() >= 2, "the refused sync was sent again");
    assert!(
        events(&work).iter().any(|e| e["type"] == "state_changed"
            && e["state"]
                .as_str()
                .unwrap_or("")
                .contains("another operation")),
        "the wait was shown"
    );
    assert_eq!(r.json()["phases"][0]["outputs"]["revision"], "v1.2.3");
    assert_requests_follow_the_swagger(&sim);
}

#[test]
fn argocd_recovers_when_the_watch_stream_drops() {
    let mut script = script();
    script.deploy.duration = Duration::from_millis(900);
    script.argocd.drop_streams = 2;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    assert!(sim.count_route(Route::Status, "/api/v1/stream/applications") >= 3);
    assert!(
        events(&work).iter().any(|e| e["type"] == "notice"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("watch stream broke")),
        "the drop was shown"
    );
    assert_requests_follow_the_swagger(&sim);
}

#[test]
fn argocd_sigint_terminates_the_operation() {
    let mut script = script();
    script.deploy.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(""));
    let child = spawn(&mut ferry(&sim, &work));
    sim.wait_for("the watch", |reqs| {
        reqs.iter()
            .any(|q| q.path.starts_with("/api/v1/stream/applications"))
    });
    signal(&child, "INT");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(
        sim.count_route(Route::Cancel, "/api/v1/applications/shop/operation"),
        1
    );
    assert_requests_follow_the_swagger(&sim);
}

#[test]
fn argocd_suspended_follows_the_setting() {
    let mut script = script();
    script.argocd.health = Some("Suspended".into());
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("suspended = \"success\""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(0);
    assert_eq!(r.json()["phases"][0]["outputs"]["health"], "Suspended");
    let work = Workdir::with_config(&config("suspended = \"failure\""));
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(1);
}

#[test]
fn argocd_bad_token_names_the_setting() {
    let sim = Sim::start(script());
    let work = Workdir::with_config(&config(""));
    let r = run(ferry(&sim, &work).env("ARGOCD_TOKEN", "expired-token-value"));
    // A refused credential is a setting to fix: exit 2.
    r.assert_code(2);
    assert!(r.stderr.contains("ARGOCD_TOKEN"), "{}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(!r.stderr.contains("expired-token-value"), "{}", r.stderr);
    // An application the token cannot see: 403, and the message says what to check.
    let work = Workdir::with_config(
        &config("").replace("application = \"shop\"", "application = \"other\""),
    );
    let r = run(&mut ferry(&sim, &work));
    r.assert_code(2);
    assert!(r.stderr.contains("403"), "{}", r.stderr);
    assert!(r.stderr.contains("ARGOCD_TOKEN"), "{}", r.stderr);
    assert!(r.stderr.contains("project"), "{}", r.stderr);
}

#[test]
fn argocd_application_names_keep_their_unreserved_characters() {
    let mut script = script();
    script.argocd.apps = vec!["shop-review_1.x".into()];
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config("").replace(
        "application = \"shop\"",
        "application = \"shop-review_1.x\"",
    ));
    run(&mut ferry(&sim, &work)).assert_code(0);
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/api/v1/applications/shop-review_1.x/sync")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .all(|p| !p.contains("%2D") && !p.contains("%2E")),
        "{paths:?}"
    );
}
