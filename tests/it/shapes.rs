//! The `http` backend describing differently shaped APIs from `ferry.toml` alone (no code per
//! API): a queue that becomes an executable, success that needs two fields at once, and a log
//! that is re-read whole every time.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Outcome, Route, Script, expected_log};

use crate::support::{Run, Sim, Workdir, run};

const POLL: &str = r#"
[vars]
app = "shop"

[platform]
url = "http://replaced-by-platform-url.invalid"

[platform.poll]
initial = "20ms"
max = "200ms"
"#;

/// Jenkins-shaped: 201 + Location to a queue item, wait until it has an executable, then poll
/// the executable; the log is read by offset from a size header, more data flagged by a header.
const QUEUE: &str = r#"
[build.trigger]
path = "/queue/job/shop/build"
expect = [201]
id = "header:Location"

[build.resolve]
path = "{{ id | raw }}api/json"
until = "/executable/url"
capture = { build_url = "/executable/url", number = "/executable/number" }
failure = [{ "/cancelled" = [true] }]

[build.status]
path = "{{ build_url | raw }}api/json"
running = [{ "/building" = [true] }]
success = [{ "/building" = [false], "/result" = ["SUCCESS"] }]
failure = [{ "/building" = [false], "/result" = ["FAILURE", "ABORTED", "UNSTABLE", "NOT_BUILT"] }]

[build.logs]
mode = "offset"
path = "{{ build_url | raw }}logText/progressiveText?start={{ offset }}"
next_offset = "header:X-Text-Size"
more = "header:X-More-Data"

[build.cancel]
path = "{{ build_url | raw }}stop"

[build.outputs]
number = "{{ number }}"
url = "{{ build_url }}"
"#;

/// GitOps-shaped: done only when synced *and* healthy.
const TWO_FIELDS: &str = r#"
[deploy.trigger]
path = "/gitops/apps/{{ vars.app }}/sync"
body = { revision = "{{ sha }}", environment = "{{ environment }}" }
id = "/name"

[deploy.status]
path = "/gitops/apps/{{ id }}"
success = [{ "/sync" = ["Synced"], "/health" = ["Healthy"] }]
failure = [{ "/health" = ["Degraded"] }]
running = [{ "/sync" = ["OutOfSync", "Synced"] }]

[deploy.cancel]
method = "DELETE"
path = "/gitops/apps/{{ id }}/operation"

[deploy.outputs]
url = "/url"
revision = "/revision"
"#;

/// GitLab-pipeline-shaped: the trace is the whole log every time.
const FULL_LOG: &str = r#"
[build.trigger]
path = "/ci/pipelines"
body = { ref = "{{ ref_name }}" }
id = "/id"
capture = { web = "/web_url" }

[build.status]
path = "/ci/pipelines/{{ id }}"
field = "/status"
running = ["created", "pending", "running"]
success = ["success"]
failure = ["failed", "canceled"]

[build.logs]
mode = "full"
path = "/ci/pipelines/{{ id }}/trace"

[build.cancel]
path = "/ci/pipelines/{{ id }}/cancel"

[build]
web_url = "{{ web | raw }}"
"#;

fn config(body: &str) -> String {
    format!("{POLL}\n{body}")
}

fn go(sim: &Sim, work: &Workdir, args: &[&str]) -> Run {
    run(work
        .ferry()
        .args(args)
        .args(["--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567"))
}

fn events(work: &Workdir) -> Vec<serde_json::Value> {
    work.read("events.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn log_lines(work: &Workdir, phase: &str) -> Vec<String> {
    events(work)
        .into_iter()
        .filter(|e| e["type"] == "log" && e["phase"] == phase)
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect()
}

fn expected(phase: Phase, label: &str, script: &ferry::sim::OpScript) -> Vec<String> {
    expected_log(phase, label, script)
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect()
}

#[test]
fn a_queue_item_becomes_a_build_whose_log_is_read_by_offset() {
    let mut script = Script::fast();
    script.build.queue = Duration::from_millis(150);
    script.build.log_lines = 120;
    script.max_chunk_bytes = 2048;
    let sim = Sim::start(script.clone());
    let work = Workdir::with_config(&config(QUEUE));
    let r = go(&sim, &work, &["build"]);
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["phases"][0]["outputs"]["number"], "1");
    assert!(
        out["phases"][0]["id"]
            .as_str()
            .unwrap()
            .contains("/queue/item/")
    );
    // While queued, the platform's reason was shown as the state.
    assert!(
        events(&work).iter().any(|e| e["type"] == "state_changed"
            && e["state"].as_str().unwrap_or("").contains("Waiting"))
    );
    assert_eq!(
        log_lines(&work, "build"),
        expected(Phase::Build, "shop#1", &script.build)
    );
    assert_eq!(sim.count_route(Route::Trigger, "/queue/job/shop/build"), 1);
}

#[test]
fn a_failed_queue_build_reports_both_fields() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(QUEUE));
    let r = go(&sim, &work, &["build"]);
    r.assert_code(1);
    assert_eq!(
        r.json()["phases"][0]["state"],
        "building=false result=FAILURE"
    );
}

#[test]
fn success_needs_both_fields_at_once() {
    let mut script = Script::fast();
    script.deploy.duration = Duration::from_millis(400);
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(TWO_FIELDS));
    let r = go(&sim, &work, &["deploy"]);
    r.assert_code(0);
    let out = r.json();
    assert_eq!(
        out["phases"].as_array().unwrap().len(),
        1,
        "no [build]: deploy only"
    );
    assert_eq!(
        out["phases"][0]["outputs"]["revision"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert!(out["url"].as_str().unwrap().contains("staging"));
    // Synced while still progressing was seen and was not taken for success.
    let states: Vec<_> = events(&work)
        .into_iter()
        .filter(|e| e["type"] == "state_changed")
        .map(|e| {
            (
                e["state"].as_str().unwrap().to_string(),
                e["class"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&("health=Progressing sync=Synced".into(), "running".into())),
        "{states:?}"
    );
    assert_eq!(
        states.last().unwrap(),
        &(
            "health=Healthy sync=Synced".to_string(),
            "success".to_string()
        )
    );
}

#[test]
fn degraded_is_a_failure_even_when_synced() {
    let mut script = Script::fast();
    script.deploy.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&config(TWO_FIELDS));
    let r = go(&sim, &work, &["deploy"]);
    r.assert_code(1);
    assert_eq!(
        r.json()["phases"][0]["state"],
        "health=Degraded sync=Synced"
    );
}

#[test]
fn a_log_re_read_whole_is_shown_once() {
    let mut script = Script::fast();
    script.build.log_lines = 80;
    script.build.duration = Duration::from_millis(400);
    let sim = Sim::start(script.clone());
    let work = Workdir::with_config(&config(FULL_LOG));
    let r = go(&sim, &work, &["build"]);
    r.assert_code(0);
    assert_eq!(
        log_lines(&work, "build"),
        expected(Phase::Build, "#1", &script.build)
    );
    assert!(
        sim.count_route(Route::Log, "/trace") >= 2,
        "the whole trace was read more than once"
    );
    let triggered = events(&work)
        .into_iter()
        .find(|e| e["type"] == "triggered")
        .unwrap();
    assert!(
        triggered["url"]
            .as_str()
            .unwrap()
            .ends_with("/ci/pipelines/1")
    );
}

/// A cursor-paged log: a small API of its own (the simulator has no such dialect), served here.
mod cursor {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::{Query, State};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::{Value, json};

    use crate::support::{Workdir, run};

    /// 25 lines, served 10 per page; the job is done after a few status reads.
    const LINES: usize = 25;

    #[derive(Default)]
    struct Api {
        status_reads: AtomicUsize,
    }

    async fn status(State(api): State<Arc<Api>>) -> Json<Value> {
        let n = api.status_reads.fetch_add(1, Ordering::SeqCst);
        Json(json!({ "state": if n < 3 { "running" } else { "done" } }))
    }

    async fn logs(Query(q): Query<std::collections::HashMap<String, String>>) -> Json<Value> {
        let from: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let to = (from + 10).min(LINES);
        let lines: Vec<String> = (from..to).map(|i| format!("line {i}")).collect();
        Json(json!({ "lines": lines, "next": to.to_string(), "finished": to == LINES }))
    }

    const CONFIG: &str = r#"
[platform]
url = "http://127.0.0.1:1"
[platform.poll]
initial = "20ms"
max = "100ms"

[build.trigger]
path = "/jobs"
id = "/id"

[build.status]
path = "/jobs/{{ id }}"
field = "/state"
running = ["running"]
success = ["done"]

[build.logs]
mode = "cursor"
path = "/jobs/{{ id }}/logs?cursor={{ cursor }}"
lines = "/lines"
cursor = "/next"
complete = "/finished"
"#;

    #[test]
    fn a_cursor_paged_log_is_read_page_by_page_once() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/jobs", post(|| async { Json(json!({ "id": "j1" })) }))
            .route("/jobs/j1", get(status))
            .route("/jobs/j1/logs", get(logs))
            .with_state(Arc::new(Api::default()));
        rt.spawn(async move { axum::serve(listener, app).await });

        let work = Workdir::with_config(CONFIG);
        let r = run(work.ferry().args([
            "build",
            "--json",
            "--events",
            "events.ndjson",
            "--platform-url",
            &url,
        ]));
        r.assert_code(0);
        let got: Vec<String> = work
            .read("events.ndjson")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["type"] == "log")
            .map(|e| e["line"].as_str().unwrap().to_string())
            .collect();
        let want: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
        assert_eq!(got, want);
    }
}
