//! The draft `examples/platforms/render.toml` (the `digitalocean` preset runs end to end in
//! `tests/it/presets/digitalocean.rs`),
//! checked without ferry's backend (their keys are not all merged yet): every request they
//! describe must be one the platform's description allows, and played by hand against the
//! simulator's dialect, step by step as the design says ferry will, every pointer they read must
//! find what the dialect serves.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferry::sim::{OpScript, Outcome, Script};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{Api, eventually, start};
use crate::support::openapi3::{self, Description};

const RENDER_SERVICE: &str = "srv-sim00000000000000001";
const RENDER_OWNER: &str = "tea-sim00000000000000001";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn draft(name: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/platforms")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with every `{{ name }}` (and `{{ name | raw }}`) replaced by `values[name]`.
fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest[open..].find("}}").expect("an unclosed {{") + open;
        let inner = rest[open + 2..close].trim();
        let name = inner.split('|').next().unwrap().trim();
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("no value for {{{{ {name} }}}} in {text:?}"));
        out.push_str(value);
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A TOML body with its strings filled, as JSON.
fn body(table: &toml::Table, values: &BTreeMap<String, String>) -> Option<Value> {
    let body = table.get("body")?;
    let mut json = serde_json::to_value(body).unwrap();
    fill_strings(&mut json, values);
    Some(json)
}

fn fill_strings(value: &mut Value, values: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => *s = fill(s, values),
        Value::Array(items) => items.iter_mut().for_each(|v| fill_strings(v, values)),
        Value::Object(map) => map.values_mut().for_each(|v| fill_strings(v, values)),
        _ => {}
    }
}

fn text<'a>(table: &'a toml::Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(toml::Value::as_str)
}

fn sub<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Table> {
    table.get(key).and_then(toml::Value::as_table)
}

/// Every request a phase describes: (what, method, path template, table with the body).
fn requests(phase: &toml::Table) -> Vec<(String, &'static str, String, toml::Table)> {
    let mut out = Vec::new();
    let mut add = |what: String, default: &'static str, table: &toml::Table| {
        if let Some(path) = text(table, "path") {
            let method = match text(table, "method") {
                Some("POST") => "POST",
                Some("PUT") => "PUT",
                Some("DELETE") => "DELETE",
                Some("PATCH") => "PATCH",
                Some("GET") => "GET",
                Some(other) => panic!("{what}: method {other}"),
                None => default,
            };
            out.push((what, method, path.to_owned(), table.clone()));
        }
    };
    if let Some(trigger) = sub(phase, "trigger") {
        add("trigger".into(), "POST", trigger);
        if let Some(find) = sub(trigger, "find") {
            add("trigger.find".into(), "GET", find);
        }
    }
    for (name, default) in [
        ("observe", "GET"),
        ("resolve", "GET"),
        ("status", "GET"),
        ("logs", "GET"),
        ("cancel", "POST"),
    ] {
        if let Some(table) = sub(phase, name) {
            add(name.into(), default, table);
        }
    }
    for (name, table) in sub(phase, "fetch").into_iter().flatten() {
        add(format!("fetch.{name}"), "GET", table.as_table().unwrap());
    }
    out
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Every request of `file` (its templates filled with `values`), checked against `description`;
/// `prefix` is what the platform URL of the draft adds before the description's paths.
fn assert_drafted_requests_allowed(
    file: &str,
    description: &Description,
    prefix: &str,
    values: &BTreeMap<String, String>,
) {
    let draft = draft(file);
    let headers = [
        ("authorization".to_owned(), "Bearer t".to_owned()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    let mut checked = 0;
    for phase in ["build", "deploy", "stop"] {
        let Some(table) = sub(&draft, phase) else {
            continue;
        };
        for (what, method, path, table) in requests(table) {
            let path = format!("{prefix}{}", fill(&path, values));
            let body = body(&table, values)
                .map(|b| b.to_string())
                .unwrap_or_default();
            let problems = description.check_request(method, &path, &headers, body.as_bytes());
            assert!(
                problems.is_empty(),
                "{file} [{phase}.{what}] {method} {path}: {problems:#?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{file}: only {checked} requests");
}

#[test]
fn platform_drafts_send_only_what_the_descriptions_allow() {
    let time = "2026-11-30T12:00:00.000000Z";
    let render = values(&[
        ("vars.service", "srv-d0000000000000000001"),
        ("vars.owner", "tea-d0000000000000000001"),
        ("sha", SHA),
        ("id", "dep-d0000000000000000001"),
        ("cursor", time),
        ("created_at", time),
        ("build.built_at", time),
        ("build.deploy", "dep-d0000000000000000001"),
    ]);
    assert_drafted_requests_allowed("render.toml", openapi3::render(), "/v1", &render);
}

/// A value source of the design: `/pointer` into `doc`, or `<fetch>:/pointer` into `fetched`.
fn source<'a>(
    spec: &str,
    doc: &'a Value,
    fetched: &'a BTreeMap<String, Value>,
) -> Option<&'a Value> {
    match spec.split_once(":/") {
        Some((name, pointer)) if !name.is_empty() => {
            fetched.get(name)?.pointer(&format!("/{pointer}"))
        }
        _ => doc.pointer(spec),
    }
}

/// Whether a status condition list (`["live", …]` with `field`, or tables of pointer → values)
/// holds for `doc`.
fn holds(status: &toml::Table, key: &str, doc: &Value) -> bool {
    let Some(conditions) = status.get(key).and_then(toml::Value::as_array) else {
        return false;
    };
    conditions.iter().any(|condition| match condition {
        toml::Value::String(word) => {
            let field = text(status, "field").expect("a word condition needs field");
            doc.pointer(field).and_then(Value::as_str) == Some(word.as_str())
        }
        toml::Value::Table(table) => table.iter().all(|(pointer, accepted)| {
            let accepted = serde_json::to_value(accepted).unwrap();
            let accepted = accepted.as_array().expect("a list of accepted values");
            doc.pointer(pointer).is_some_and(|v| accepted.contains(v))
        }),
        other => panic!("condition {other}"),
    })
}

/// `prefix` + the table's `path`, filled.
fn request_path(prefix: &str, table: &toml::Table, values: &BTreeMap<String, String>) -> String {
    format!("{prefix}{}", fill(text(table, "path").unwrap(), values))
}

/// The table's `capture`s from `doc`, added to `values`.
fn capture(table: &toml::Table, doc: &Value, values: &mut BTreeMap<String, String>) {
    for (name, pointer) in sub(table, "capture").into_iter().flatten() {
        let pointer = pointer.as_str().unwrap();
        let value = doc.pointer(pointer).and_then(Value::as_str);
        let value = value.unwrap_or_else(|| panic!("capture {name} = {pointer} in {doc}"));
        values.insert(name.clone(), value.to_owned());
    }
}

/// Starts the phase's operation (`trigger`, with `find` when the answer has no id) or names it
/// (`observe`): sets `id`.
async fn start_operation(
    api: &Api<'_>,
    prefix: &str,
    phase: &toml::Table,
    values: &mut BTreeMap<String, String>,
) {
    let Some(trigger) = sub(phase, "trigger") else {
        let observe = sub(phase, "observe").unwrap();
        let id = fill(text(observe, "id").unwrap(), values);
        values.insert("id".into(), id);
        return;
    };
    let path = request_path(prefix, trigger, values);
    let answer = api
        .send(Method::POST, &path, body(trigger, values).as_ref())
        .await;
    assert!(answer.status < 300, "{}", answer.text);
    let id = text(trigger, "id").unwrap();
    if let Some(id) = answer.body.pointer(id).and_then(Value::as_str) {
        values.insert("id".into(), id.to_owned());
        capture(trigger, &answer.body, values);
        return;
    }
    let find = sub(trigger, "find").expect("an answer without id needs find");
    let list = api.get(&request_path(prefix, find, values)).await;
    let matches = |item: &&Value| {
        sub(find, "match")
            .into_iter()
            .flatten()
            .all(|(p, accepted)| {
                let accepted: Vec<String> = accepted
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| fill(v.as_str().unwrap(), values))
                    .collect();
                item.pointer(p)
                    .and_then(Value::as_str)
                    .is_some_and(|v| accepted.iter().any(|a| a == v))
            })
    };
    let newest = text(find, "newest").unwrap();
    let item = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(matches)
        .max_by_key(|item| item.pointer(newest).and_then(Value::as_str).unwrap_or(""))
        .unwrap_or_else(|| panic!("find matched nothing in {}", list.text))
        .clone();
    let id = item
        .pointer(text(find, "id").unwrap())
        .and_then(Value::as_str);
    values.insert("id".into(), id.unwrap().to_owned());
    capture(find, &item, values);
}

/// Plays one phase of a draft against a dialect; returns its outputs, or the failed status
/// answer (whose `message`, when the draft describes one, must be there).
async fn play(
    api: &Api<'_>,
    prefix: &str,
    phase: &toml::Table,
    values: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Value> {
    start_operation(api, prefix, phase, values).await;
    if let Some(resolve) = sub(phase, "resolve") {
        let until = text(resolve, "until").unwrap();
        let doc = eventually("the resolve step", async || {
            let answer = api.get(&request_path(prefix, resolve, values)).await;
            answer.body.pointer(until).is_some().then_some(answer.body)
        })
        .await;
        capture(resolve, &doc, values);
    }
    let logs = read_logs(api, prefix, phase, values).await;
    assert!(!logs.is_empty(), "no log lines");
    // Poll the status until it ends; every answer must be running, success or failure.
    let status = sub(phase, "status").unwrap();
    let (doc, succeeded) = eventually("the phase to end", async || {
        let answer = api.get(&request_path(prefix, status, values)).await;
        let doc = answer.body;
        let known = ["running", "success", "failure"].map(|k| holds(status, k, &doc));
        assert!(
            known.iter().any(|k| *k),
            "a status no condition knows: {doc}"
        );
        assert!(
            !(known[1] && known[2]),
            "success and failure at once: {doc}"
        );
        (known[1] || known[2]).then_some((doc, known[1]))
    })
    .await;
    if !succeeded {
        if let Some(pointer) = text(status, "message") {
            let message = doc.pointer(pointer).and_then(Value::as_str);
            assert!(
                message.is_some_and(|m| !m.is_empty()),
                "message = {pointer}: nothing in {doc}"
            );
        }
        return Err(doc);
    }
    let mut fetched = BTreeMap::new();
    for (name, table) in sub(phase, "fetch").into_iter().flatten() {
        let path = request_path(prefix, table.as_table().unwrap(), values);
        fetched.insert(name.clone(), api.get(&path).await.body);
    }
    let mut outputs = BTreeMap::new();
    for (name, spec) in sub(phase, "outputs").into_iter().flatten() {
        let spec = spec.as_str().unwrap();
        let value = source(spec, &doc, &fetched).and_then(Value::as_str);
        let value = value.unwrap_or_else(|| panic!("output {name} = {spec}: nothing in {doc}"));
        outputs.insert(name.clone(), value.to_owned());
    }
    Ok(outputs)
}

/// Reads the phase's log as its `[<phase>.logs]` says (the modes the drafts use), to its end.
async fn read_logs(
    api: &Api<'_>,
    prefix: &str,
    phase: &toml::Table,
    values: &BTreeMap<String, String>,
) -> Vec<String> {
    let logs = sub(phase, "logs").unwrap();
    let pointer = text(logs, "text").unwrap();
    let mut lines = Vec::new();
    match text(logs, "mode") {
        Some("websocket") => {
            let url = fill(text(logs, "url").unwrap(), values);
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .unwrap();
            while let Some(message) = ws.next().await {
                match message.unwrap() {
                    Message::Text(frame) => {
                        let frame: Value = serde_json::from_str(&frame).unwrap();
                        let line = frame.pointer(pointer).and_then(Value::as_str);
                        lines.push(
                            line.unwrap_or_else(|| panic!("{pointer} in {frame}"))
                                .into(),
                        );
                    }
                    Message::Close(_) => break,
                    other => panic!("unexpected frame {other:?}"),
                }
            }
        }
        Some("entries") => {
            // Pages until the log is written: each read starts at the cursor the last one gave.
            let mut values = values.clone();
            let start = fill(text(logs, "start").unwrap(), &values);
            values.insert("cursor".into(), start);
            let (items, cursor) = (text(logs, "items").unwrap(), text(logs, "cursor").unwrap());
            eventually("log entries", async || {
                let answer = api.get(&request_path(prefix, logs, &values)).await;
                for entry in answer
                    .body
                    .pointer(items)
                    .and_then(Value::as_array)
                    .unwrap()
                {
                    let line = entry.pointer(pointer).and_then(Value::as_str);
                    lines.push(
                        line.unwrap_or_else(|| panic!("{pointer} in {entry}"))
                            .into(),
                    );
                }
                let next = answer.body.pointer(cursor).and_then(Value::as_str).unwrap();
                values.insert("cursor".into(), next.to_owned());
                tokio::time::sleep(Duration::from_millis(20)).await;
                (!lines.is_empty()).then_some(())
            })
            .await;
        }
        other => panic!("log mode {other:?}"),
    }
    lines
}

/// Operations that end in `build` and `deploy`.
fn script_ending(build: Outcome, deploy: Outcome) -> Script {
    let op = |lines, outcome| OpScript {
        queue: Duration::from_millis(50),
        duration: Duration::from_millis(300),
        log_lines: lines,
        tail_lines: 0,
        tail_delay: Duration::ZERO,
        outcome,
    };
    Script {
        build: op(6, build),
        deploy: op(4, deploy),
        ..Script::fast()
    }
}

fn script() -> Script {
    script_ending(Outcome::Success, Outcome::Success)
}

/// Plays the draft's build and deploy phases; the outputs of the deploy, or which phase failed
/// (`build`, `deploy`).
async fn play_phases(
    api: &Api<'_>,
    file: &str,
    prefix: &str,
    mut values: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, &'static str> {
    let draft = draft(file);
    let built = play(api, prefix, sub(&draft, "build").unwrap(), &mut values).await;
    for (name, value) in built.map_err(|_| "build")? {
        values.insert(format!("build.{name}"), value);
    }
    let deployed = play(api, prefix, sub(&draft, "deploy").unwrap(), &mut values).await;
    api.assert_requests_follow_the_description();
    deployed.map_err(|_| "deploy")
}

async fn play_draft(api: &Api<'_>, file: &str, prefix: &str, values: BTreeMap<String, String>) {
    let deployed = play_phases(api, file, prefix, values).await.unwrap();
    let url = deployed.get("url").expect("the deploy phase's url output");
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
}

#[tokio::test]
async fn platform_drafts_fail_the_phase_that_failed_with_the_platforms_reason() {
    let render = || {
        values(&[
            ("vars.service", RENDER_SERVICE),
            ("vars.owner", RENDER_OWNER),
            ("sha", SHA),
        ])
    };
    for (build, deploy, failed) in [
        (Outcome::Failure, Outcome::Success, "build"),
        (Outcome::Success, Outcome::Failure, "deploy"),
    ] {
        let sim = start(script_ending(build, deploy)).await;
        let api = Api::render(&sim);
        let ended = play_phases(&api, "render.toml", "/v1", render()).await;
        assert_eq!(ended, Err(failed), "render");
    }
}

#[tokio::test]
async fn render_draft_reads_what_the_render_dialect_serves() {
    let sim = start(script()).await;
    let api = Api::render(&sim);
    let values = values(&[
        ("vars.service", RENDER_SERVICE),
        ("vars.owner", RENDER_OWNER),
        ("sha", SHA),
    ]);
    play_draft(&api, "render.toml", "/v1", values).await;
}

#[tokio::test]
async fn render_draft_finds_a_queued_deploy_in_the_list() {
    let mut script = script();
    script.render.queued = true;
    let sim = start(script).await;
    let api = Api::render(&sim);
    let values = values(&[
        ("vars.service", RENDER_SERVICE),
        ("vars.owner", RENDER_OWNER),
        ("sha", SHA),
    ]);
    play_draft(&api, "render.toml", "/v1", values).await;
}

/// Starts the draft's build, cancels it as `[build.cancel]` says, and expects the status to say
/// the build failed.
async fn cancel_build(
    api: &Api<'_>,
    file: &str,
    prefix: &str,
    mut values: BTreeMap<String, String>,
) {
    let draft = draft(file);
    let build = sub(&draft, "build").unwrap();
    start_operation(api, prefix, build, &mut values).await;
    let cancel = sub(build, "cancel").unwrap();
    let answer = api
        .send(Method::POST, &request_path(prefix, cancel, &values), None)
        .await;
    assert_eq!(answer.status, 200, "{file}: {}", answer.text);
    let status = sub(build, "status").unwrap();
    let answer = api.get(&request_path(prefix, status, &values)).await;
    assert!(
        holds(status, "failure", &answer.body),
        "{file}: {}",
        answer.text
    );
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn platform_drafts_cancel_the_build_they_started() {
    let sim = start(script()).await;
    let render = values(&[
        ("vars.service", RENDER_SERVICE),
        ("vars.owner", RENDER_OWNER),
        ("sha", SHA),
    ]);
    cancel_build(&Api::render(&sim), "render.toml", "/v1", render).await;
}
