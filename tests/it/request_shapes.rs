//! The `http` backend's request shapes, from `ferry.toml` alone, driven through the real binary
//! against scripted platforms: requests sent before the trigger (a source, then an upload to a
//! pre-signed URL on another origin), a file as the trigger's body, a trigger answered without an
//! id and the `find` that follows, a phase that observes what another started, the platform's
//! failure text, presence operators in conditions, `fetch` for outputs, rate limits waited out,
//! and the descriptions `ferry check` refuses.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::json;

use crate::support::fake_http::{Answer, FakeHttp, Seen};
use crate::support::{Run, Workdir, run};

const TOKEN: &str = "plat-T0ken-7c41e09f2a";

/// An archive with bytes no text would hold (NUL, invalid UTF-8, CR LF).
const ARCHIVE: &[u8] = b"\x1f\x8b\x08\x00\x00\xff\xfe\r\n\x00binary\x80\x81";

fn deploy(work: &Workdir, url: &str) -> Run {
    run(work
        .ferry()
        .args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", url)
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567"))
}

fn check(work: &Workdir) -> Run {
    run(work
        .ferry()
        .arg("check")
        .env("FERRY_PLATFORM_URL", "http://127.0.0.1:9")
        .env("FERRY_ENVIRONMENT", "staging"))
}

fn targets(fake: &FakeHttp) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|s| format!("{} {}", s.method, s.target))
        .collect()
}

const POLL: &str = r#"
[platform]
url = "http://replaced.invalid"
headers = { "X-Platform-Version" = "3" }

[platform.poll]
initial = "20ms"
max = "100ms"
"#;

/// Heroku-shaped: a source (two pre-signed URLs), the archive PUT to the object store, a build
/// from the source's `get_url`; the release the build created is observed by the deploy, whose
/// environment URL is the app's, fetched after success.
const SOURCE_UPLOAD: &str = r#"
[vars]
app = "shop"

[[build.before]]
method = "POST"
path = "/apps/{{ vars.app }}/sources"
capture = { put_url = "/source_blob/put_url", get_url = "/source_blob/get_url" }

[[build.before]]
method = "PUT"
url = "{{ put_url | raw }}"
body_file = "app.tgz"

[build.trigger]
path = "/apps/{{ vars.app }}/builds"
body = { source_blob = { url = "{{ get_url }}", version = "{{ sha }}" } }
id = "/id"

[build.status]
path = "/apps/{{ vars.app }}/builds/{{ id }}"
field = "/status"
running = ["pending"]
success = ["succeeded"]
failure = ["failed"]

[build.outputs]
release = "/release/id"

[deploy.observe]
id = "{{ build.release }}"

[deploy.status]
path = "/apps/{{ vars.app }}/releases/{{ id }}"
success = [{ "/status" = ["succeeded"], present = "/current" }]
failure = [{ "/status" = ["failed"] }]
running = [{ "/status" = ["pending"] }, { absent = "/current" }]

[deploy.fetch.app]
path = "/apps/{{ vars.app }}"

[deploy.outputs]
url = "app:/web_url"
version = "/version"
"#;

#[test]
fn a_source_is_created_uploaded_to_another_origin_built_and_its_release_observed() {
    let store = FakeHttp::start(|_| Answer::text(200, ""));
    let put_url = format!(
        "{}/bucket/src.tgz?X-Amz-Signature=a%2Fb%3D&X-Amz-Expires=3600",
        store.url()
    );
    let get_url = format!("{}/bucket/src.tgz?sig=get%2F1", store.url());
    let polls = Arc::new(AtomicU32::new(0));
    let platform = FakeHttp::start(move |seen: &Seen| {
        match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/apps/shop/sources") => Answer::json(
                201,
                &json!({ "source_blob": { "put_url": put_url, "get_url": get_url } }),
            ),
            ("POST", "/apps/shop/builds") => {
                Answer::json(201, &json!({ "id": "b-1", "status": "pending" }))
            }
            ("GET", "/apps/shop/builds/b-1") => {
                if polls.fetch_add(1, Ordering::SeqCst) < 1 {
                    Answer::json(200, &json!({ "status": "pending", "release": null }))
                } else {
                    Answer::json(
                        200,
                        &json!({ "status": "succeeded", "release": { "id": "r-9" } }),
                    )
                }
            }
            // A release is `succeeded` before it is current: only `present` tells them apart.
            ("GET", "/apps/shop/releases/r-9") => Answer::json(
                200,
                &json!({ "status": "succeeded", "current": true, "version": 42 }),
            ),
            ("GET", "/apps/shop") => {
                Answer::json(200, &json!({ "web_url": "https://shop.example.com/" }))
            }
            _ => Answer::json(404, &json!({ "id": "not_found" })),
        }
    });
    let work = Workdir::with_config(&format!("{POLL}\n{SOURCE_UPLOAD}"));
    std::fs::write(work.path().join("app.tgz"), ARCHIVE).unwrap();
    let r = deploy(&work, &platform.url());
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["url"], "https://shop.example.com/");
    assert_eq!(out["phases"][1]["id"], "r-9");
    assert_eq!(out["phases"][1]["outputs"]["version"], "42");

    // The archive went to the pre-signed URL as it is, byte for byte, with its signature intact,
    // and nothing of the platform's (credential, headers) went with it.
    let put = store.requests();
    assert_eq!(put.len(), 1, "{put:?}");
    assert_eq!(put[0].method, "PUT");
    assert_eq!(
        put[0].target,
        "/bucket/src.tgz?X-Amz-Signature=a%2Fb%3D&X-Amz-Expires=3600"
    );
    assert_eq!(put[0].body, ARCHIVE);
    assert_eq!(
        put[0].header("content-length"),
        Some(ARCHIVE.len().to_string().as_str())
    );
    assert_eq!(put[0].header("content-type"), None);
    assert!(!put[0].all_headers().contains(TOKEN), "{put:?}");
    assert_eq!(put[0].header("x-platform-version"), None);
    assert_eq!(put[0].header("authorization"), None);

    // The platform got its headers, the build the source's get URL, and the deploy started
    // nothing: it observed the release the build created.
    let seen = targets(&platform);
    assert_eq!(seen[0], "POST /apps/shop/sources");
    assert_eq!(seen[1], "POST /apps/shop/builds");
    assert!(
        seen.contains(&"GET /apps/shop/releases/r-9".to_string()),
        "{seen:?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("GET /apps/shop"));
    assert_eq!(
        seen.iter().filter(|s| s.starts_with("POST")).count(),
        2,
        "{seen:?}"
    );
    for s in platform.requests() {
        assert_eq!(s.header("x-platform-version"), Some("3"), "{}", s.target);
        assert_eq!(
            s.header("authorization").map(|a| a.contains(TOKEN)),
            Some(true)
        );
    }
    let build = platform
        .requests()
        .into_iter()
        .find(|s| s.target == "/apps/shop/builds")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&build.body).unwrap();
    assert_eq!(
        body["source_blob"]["url"],
        format!("{}/bucket/src.tgz?sig=get%2F1", store.url())
    );
}

/// Netlify- and Render-shaped: a zip as the trigger's body, answered `202` without an id; the
/// deploy is found in the list (the one for this commit, created after the trigger).
const ZIP_AND_FIND: &str = r#"
[deploy.trigger]
path = "/sites/shop/deploys"
body_file = "{{ vars.zip }}"
content_type = "application/zip"
expect = [202]

[deploy.trigger.find]
path = "/sites/shop/deploys?limit=20"
items = ""
match = { "/deploy/commit" = ["{{ sha }}"] }
newest = "/deploy/createdAt"
id = "/deploy/id"
timeout = "20s"

[deploy.status]
path = "/deploys/{{ id }}"
field = "/state"
running = ["building", "uploading"]
success = ["ready"]
failure = ["error"]
message = "/error_message"

[deploy.outputs]
url = "/ssl_url"

[vars]
zip = "site.zip"
"#;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A platform that lists an old deploy of the same commit, and the new one only on the second
/// read of the list; the new one fails with `error`.
fn zip_platform() -> FakeHttp {
    let sent = Arc::new(Mutex::new(None::<SystemTime>));
    let lists = Arc::new(AtomicU32::new(0));
    FakeHttp::start(move |seen: &Seen| {
        let old = json!({ "deploy": { "id": "dep-old", "commit": SHA, "createdAt": "2020-01-01T00:00:00Z" } });
        match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/sites/shop/deploys") => {
                *sent.lock().unwrap() = Some(SystemTime::now());
                Answer::text(202, "")
            }
            ("GET", "/sites/shop/deploys?limit=20") => {
                let created = sent.lock().unwrap().unwrap_or_else(SystemTime::now);
                let new = json!({ "deploy": { "id": "dep-new", "commit": SHA,
                    "createdAt": humantime::format_rfc3339_millis(created).to_string() } });
                let other = json!({ "deploy": { "id": "dep-other", "commit": "ffff",
                    "createdAt": humantime::format_rfc3339_millis(SystemTime::now()).to_string() } });
                if lists.fetch_add(1, Ordering::SeqCst) == 0 {
                    Answer::json(200, &json!([other, old]))
                } else {
                    Answer::json(200, &json!([other, new, old]))
                }
            }
            ("GET", "/deploys/dep-new") => Answer::json(
                200,
                &json!({ "state": "error", "ssl_url": "https://dep-new--shop.example.app",
                         "error_message": "Build script returned non-zero exit code: 2" }),
            ),
            _ => Answer::json(404, &json!({ "code": 404, "message": "Not Found" })),
        }
    })
}

#[test]
fn a_zip_trigger_answered_without_an_id_is_found_and_its_failure_told_in_the_platforms_words() {
    let platform = zip_platform();
    let work = Workdir::with_config(&format!("{POLL}\n{ZIP_AND_FIND}"));
    std::fs::write(work.path().join("site.zip"), ARCHIVE).unwrap();
    let r = deploy(&work, &platform.url());
    r.assert_code(1);
    let out = r.json();
    let phase = &out["phases"][0];
    assert_eq!(phase["id"], "dep-new", "{out}");
    assert_eq!(phase["status"], "failed");
    let message = phase["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"error\": Build script returned non-zero exit code: 2"),
        "{message}"
    );
    assert!(
        r.stderr
            .contains("Build script returned non-zero exit code: 2"),
        "the failure line gives the platform's words:\n{}",
        r.stderr
    );
    // A failed deploy's URL is not the environment's.
    assert!(out["url"].is_null(), "{out}");
    assert!(phase["outputs"].get("url").is_none(), "{out}");

    let trigger = &platform.requests()[0];
    assert_eq!(trigger.target, "/sites/shop/deploys");
    assert_eq!(trigger.body, ARCHIVE);
    assert_eq!(trigger.header("content-type"), Some("application/zip"));
    let seen = targets(&platform);
    assert_eq!(
        seen.iter().filter(|s| s.contains("deploys?limit")).count(),
        2,
        "the list is read until the new deploy is in it: {seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|s| s.contains("dep-old") || s.contains("dep-other")),
        "{seen:?}"
    );
}

/// DigitalOcean-shaped: a push to the repository starts the deployment; ferry sends nothing
/// that starts one, and finds it in the list by its commit.
#[test]
fn an_observed_phase_finds_the_operation_in_a_list_and_starts_nothing() {
    let platform = FakeHttp::start(move |seen: &Seen| {
        match (seen.method.as_str(), seen.target.as_str()) {
            ("GET", "/v2/apps/a-1/deployments") => Answer::json(
                200,
                &json!({ "deployments": [
                    { "id": "dep-9", "spec_sha": "ffff", "created_at": "2026-01-02T00:00:00Z" },
                    { "id": "dep-8", "spec_sha": SHA, "created_at": "2026-01-01T10:00:00+02:00" },
                    { "id": "dep-7", "spec_sha": SHA, "created_at": "2025-12-31T00:00:00Z" }
                ] }),
            ),
            ("GET", "/v2/apps/a-1/deployments/dep-8") => Answer::json(
                200,
                &json!({ "deployment": { "phase": "ACTIVE", "live_url": "https://a-1.example.app" } }),
            ),
            _ => Answer::json(404, &json!({ "id": "not_found" })),
        }
    });
    let work = Workdir::with_config(&format!(
        "{POLL}\n{}",
        r#"
[deploy.observe]
path = "/v2/apps/a-1/deployments"
items = "/deployments"
match = { "/spec_sha" = ["{{ sha }}"] }
newest = "/created_at"
id = "/id"

[deploy.status]
path = "/v2/apps/a-1/deployments/{{ id }}"
field = "/deployment/phase"
running = ["PENDING_BUILD", "BUILDING", "DEPLOYING"]
success = ["ACTIVE"]
failure = ["ERROR", "CANCELED"]

[deploy.outputs]
url = "/deployment/live_url"
"#
    ));
    let r = deploy(&work, &platform.url());
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["phases"][0]["id"], "dep-8");
    assert_eq!(out["url"], "https://a-1.example.app");
    // Said as what it is: followed, not triggered.
    assert!(r.stderr.contains("deploy: following dep-8"), "{}", r.stderr);
    assert!(!r.stderr.contains("triggered"), "{}", r.stderr);
    assert!(
        platform.requests().iter().all(|s| s.method == "GET"),
        "{:?}",
        targets(&platform)
    );
}

/// A status that answers `429` with `Retry-After` or a reset header many more times than the
/// error budget allows: ferry waits as asked and follows the deploy to its end.
#[test]
fn rate_limits_are_waited_out_beyond_the_error_budget() {
    let reads = Arc::new(AtomicU32::new(0));
    let platform = FakeHttp::start(move |seen: &Seen| {
        match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => Answer::json(201, &json!({ "id": "d-1" })),
            ("GET", "/deploy/d-1") => {
                let n = reads.fetch_add(1, Ordering::SeqCst);
                let limited = Answer::json(429, &json!({ "message": "API rate limit exceeded" }));
                match n {
                    // More than the 8 errors in a row ferry tolerates, each with a wait.
                    0..=5 => limited.header("Retry-After", "0"),
                    6..=9 => limited.header("RateLimit-Reset", "0"),
                    10 => limited.header("X-RateLimit-Reset", "1700000000"),
                    _ => Answer::json(
                        200,
                        &json!({ "status": "done", "url": "https://s.example.com" }),
                    ),
                }
            }
            _ => Answer::json(404, &json!({})),
        }
    });
    let work = Workdir::with_config(&format!(
        "{POLL}\n{}",
        r#"
[deploy.trigger]
path = "/deploy"
id = "/id"

[deploy.status]
path = "/deploy/{{ id }}"
field = "/status"
running = ["running"]
success = ["done"]
failure = ["failed"]

[deploy.outputs]
url = "/url"
"#
    ));
    let r = deploy(&work, &platform.url());
    r.assert_code(0);
    assert_eq!(r.json()["url"], "https://s.example.com");
    assert_eq!(
        targets(&platform)
            .iter()
            .filter(|t| *t == "GET /deploy/d-1")
            .count(),
        12
    );
}

// ---- descriptions that cannot work fail in `ferry check`, naming the key and the fix ----

const STATUS: &str = r#"
[deploy.status]
path = "/d/{{ id }}"
field = "/status"
success = ["done"]
failure = ["failed"]
"#;

#[track_caller]
fn refused(body: &str, parts: &[&str]) {
    let work = Workdir::with_config(&format!("{POLL}\n{body}"));
    let r = check(&work);
    r.assert_says(2, parts);
    assert!(r.stderr.contains("fix:"), "{}", r.stderr);
}

#[test]
fn check_refuses_a_phase_with_both_trigger_and_observe_or_neither() {
    refused(
        &format!(
            "[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\n\n[deploy.observe]\nid = \"{{{{ build.release }}}}\"\n{STATUS}"
        ),
        &["[deploy]", "both [deploy.trigger] and [deploy.observe]"],
    );
    refused(
        STATUS,
        &["[deploy]", "neither [deploy.trigger] nor [deploy.observe]"],
    );
}

#[test]
fn check_refuses_a_find_that_cannot_pick_an_operation() {
    let trigger = "[deploy.trigger]\npath = \"/d\"\nexpect = [202]\n";
    refused(
        &format!(
            "{trigger}\n[deploy.trigger.find]\npath = \"/d\"\nnewest = \"/createdAt\"\n{STATUS}"
        ),
        &[
            "[deploy.trigger.find]",
            "what the operation's id is",
            "id = \"/id\"",
        ],
    );
    refused(
        &format!(
            "{trigger}\n[deploy.trigger.find]\npath = \"/d\"\nitems = \"\"\nid = \"/id\"\n{STATUS}"
        ),
        &["[deploy.trigger.find]", "`match`", "`newest`"],
    );
    refused(
        &format!(
            "{trigger}\n[deploy.trigger.find]\npath = \"/d\"\nid = \"/id\"\nnewest = \"/t\"\n{STATUS}"
        ),
        &["[deploy.trigger.find]", "`items`", "items = \"\""],
    );
    refused(
        &format!("[deploy.observe]\npath = \"/d\"\nid = \"/id\"\nnewest = \"/t\"\n{STATUS}"),
        &["[deploy.observe]", "`items`"],
    );
    refused(
        &format!("{trigger}\n[deploy.trigger.find]\nid = \"/id\"\nnewest = \"/t\"\n{STATUS}"),
        &["[deploy.trigger.find]", "no `path`"],
    );
    refused(
        &format!("{trigger}\n{STATUS}"),
        &[
            "[deploy.trigger]",
            "neither where the operation's id is",
            "find",
        ],
    );
}

#[test]
fn check_refuses_a_condition_that_tests_nothing() {
    let trigger = "[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\n";
    refused(
        &format!("{trigger}\n[deploy.status]\npath = \"/d\"\nsuccess = [{{}}]\n"),
        &["[deploy.status]", "`success`", "tests nothing"],
    );
    refused(
        &format!("{trigger}\n[deploy.status]\npath = \"/d\"\nsuccess = [{{ present = [] }}]\n"),
        &["[deploy.status]", "tests nothing"],
    );
    refused(
        &format!("{trigger}\n[deploy.status]\npath = \"/d\"\nsuccess = [{{ presnt = \"/x\" }}]\n"),
        &["[deploy.status]", "\"presnt\"", "present, absent, null"],
    );
}

#[test]
fn check_refuses_an_upload_whose_file_is_missing() {
    refused(
        &format!(
            "[[deploy.before]]\nmethod = \"PUT\"\nurl = \"https://store.example.com/x\"\nbody_file = \"dist/app.tgz\"\n\n[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\n{STATUS}"
        ),
        &[
            "[[deploy.before]] #1 body_file",
            "\"dist/app.tgz\" is not a file",
        ],
    );
    refused(
        &format!(
            "[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\nbody_file = \"site.zip\"\ncontent_type = \"application/zip\"\n{STATUS}"
        ),
        &["[deploy.trigger] body_file", "\"site.zip\" is not a file"],
    );
}

#[test]
fn check_refuses_an_output_reading_a_fetch_the_phase_does_not_describe() {
    refused(
        &format!(
            "[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\n{STATUS}\n[deploy.outputs]\nurl = \"app:/web_url\"\n"
        ),
        &[
            "[deploy.outputs]",
            "reads the fetch `app`",
            "[deploy.fetch.app]",
        ],
    );
}

// ---- a Google-style long-running operation API: examples/platforms/lro.toml ----

const LRO: &str = include_str!("../../examples/platforms/lro.toml");

/// The example, polling fast.
fn lro_work() -> Workdir {
    Workdir::with_config(&format!(
        "{LRO}\n[platform.poll]\ninitial = \"20ms\"\nmax = \"100ms\"\n"
    ))
}

const LRO_TRIGGER: &str = "/v1/projects/my-project/services/shop:deploy";

/// The operation's log: one entry more at every read of the operation (`lro_entry`).
const LRO_LOGS: &str = "/v1/operations/op-1/logs";

/// Entries a log page holds at most.
const LRO_PAGE: usize = 2;

/// The log entry number `n` (from 0), Cloud Logging-shaped.
fn lro_entry(n: usize) -> serde_json::Value {
    json!({
        "insertId": format!("e{n:04}"),
        "timestamp": format!("2024-05-01T12:00:{n:02}Z"),
        "severity": if n == 0 { "NOTICE" } else { "INFO" },
        "textPayload": format!("step {n} of the rollout"),
    })
}

/// A page of the log from `token` (an index) on: [`LRO_PAGE`] entries of the `written` so far,
/// with a `nextPageToken` only when more are written after them.
fn lro_page(target: &str, written: usize) -> serde_json::Value {
    let from: usize = target
        .split_once("pageToken=")
        .and_then(|(_, t)| t.parse().ok())
        .unwrap_or(0);
    let to = (from + LRO_PAGE).min(written);
    let entries: Vec<serde_json::Value> = (from.min(to)..to).map(lro_entry).collect();
    let mut page = json!({ "entries": entries });
    if to < written {
        page["nextPageToken"] = json!(to.to_string());
    }
    page
}

/// An operation that runs for `running` reads, then ends as `end` says; its log has one entry
/// per read of the operation, up to `running + 1`.
fn lro(running: u32, end: serde_json::Value) -> FakeHttp {
    let reads = Arc::new(AtomicU32::new(0));
    FakeHttp::start(move |seen: &Seen| {
        let written = (reads.load(Ordering::SeqCst).min(running.saturating_add(1))) as usize;
        match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", LRO_TRIGGER) => Answer::json(
                200,
                &json!({ "name": "operations/op-1", "metadata": { "@type": "type.googleapis.com/Deploy" } }),
            ),
            ("GET", "/v1/operations/op-1") => {
                let n = reads.fetch_add(1, Ordering::SeqCst);
                if n < running {
                    Answer::json(200, &json!({ "name": "operations/op-1", "done": false }))
                } else {
                    let mut op = end.clone();
                    op["name"] = json!("operations/op-1");
                    op["done"] = json!(true);
                    Answer::json(200, &op)
                }
            }
            ("GET", target) if target.starts_with(LRO_LOGS) => {
                Answer::json(200, &lro_page(target, written))
            }
            ("POST", "/v1/operations/op-1:cancel") => Answer::json(200, &json!({})),
            _ => Answer::json(
                404,
                &json!({ "error": { "code": 404, "message": "not found", "status": "NOT_FOUND" } }),
            ),
        }
    })
}

#[test]
fn lro_an_operation_that_succeeds_gives_its_response() {
    let platform = lro(
        2,
        json!({ "response": { "uri": "https://shop-x7.example.app", "revision": "shop-00042" } }),
    );
    let work = lro_work();
    let r = deploy(&work, &platform.url());
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["url"], "https://shop-x7.example.app");
    assert_eq!(out["phases"][0]["id"], "operations/op-1");
    assert_eq!(out["phases"][0]["outputs"]["revision"], "shop-00042");
    let trigger = &platform.requests()[0];
    let body: serde_json::Value = serde_json::from_slice(&trigger.body).unwrap();
    assert_eq!(body["revision"], SHA);
    assert!(
        body["requestId"].as_str().is_some_and(|k| !k.is_empty()),
        "{body}"
    );
    assert_eq!(
        targets(&platform)
            .iter()
            .filter(|t| *t == "GET /v1/operations/op-1")
            .count(),
        3
    );
}

/// The log is read page by page while the operation runs; a page without a next token is the
/// end for now, read again later from the last token: every entry shows once, in order.
#[test]
fn lro_logs_show_every_entry_once_in_order() {
    let running = 6;
    let platform = lro(
        running,
        json!({ "response": { "uri": "https://shop-x7.example.app" } }),
    );
    let work = lro_work();
    let r = deploy(&work, &platform.url());
    r.assert_code(0);
    let shown: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .collect();
    let expected: Vec<String> = (0..=running as usize)
        .map(|n| {
            let e = lro_entry(n);
            format!(
                "{} {} {}",
                e["timestamp"].as_str().unwrap(),
                e["severity"].as_str().unwrap(),
                e["textPayload"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(shown, expected, "{}", r.stderr);
    let pages: Vec<String> = targets(&platform)
        .into_iter()
        .filter(|t| t.contains("/logs?"))
        .collect();
    assert!(
        pages.iter().any(|t| t.ends_with("pageToken=2")),
        "the next page is asked for by its token: {pages:#?}"
    );
    assert!(
        platform
            .requests()
            .iter()
            .filter(|s| s.target.contains("/logs?"))
            .all(|s| s.all_headers().contains(TOKEN)),
        "the log is on the platform's origin: its credential goes with it"
    );
}

#[test]
fn lro_an_operation_that_fails_says_why_in_the_platforms_words() {
    let platform = lro(
        1,
        json!({ "error": { "code": 9, "message": "Revision shop-00042 failed its health check", "status": "FAILED_PRECONDITION" },
                "response": { "uri": "https://shop-x7.example.app" } }),
    );
    let work = lro_work();
    let r = deploy(&work, &platform.url());
    r.assert_code(1);
    let out = r.json();
    let message = out["phases"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with(": Revision shop-00042 failed its health check"),
        "{message}"
    );
    assert!(
        r.stderr
            .contains("Revision shop-00042 failed its health check"),
        "{}",
        r.stderr
    );
    assert!(
        out["url"].is_null(),
        "a failed deploy has no environment URL: {out}"
    );
    assert!(!targets(&platform).iter().any(|t| t.ends_with(":cancel")));
}

#[test]
fn lro_a_signal_cancels_the_operation() {
    let platform = lro(u32::MAX, json!({}));
    let work = lro_work();
    let child = crate::support::spawn(
        work.ferry()
            .args(["deploy", "--json"])
            .env("FERRY_PLATFORM_URL", platform.url())
            .env("FERRY_PLATFORM_TOKEN", TOKEN)
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while targets(&platform)
        .iter()
        .filter(|t| *t == "GET /v1/operations/op-1")
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < until,
            "the operation was never polled"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::support::signal(&child, "TERM");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    assert_eq!(r.json()["status"], "cancelled");
    let cancels: Vec<Seen> = platform
        .requests()
        .into_iter()
        .filter(|s| s.target == "/v1/operations/op-1:cancel")
        .collect();
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].method, "POST");
    assert!(cancels[0].all_headers().contains(TOKEN));
}

/// A file named through a template is known only when the run starts: it is looked for before
/// any request is sent, so a missing one starts nothing.
#[test]
fn a_templated_upload_whose_file_is_missing_sends_nothing() {
    let platform = FakeHttp::start(|_| Answer::json(201, &json!({ "id": "d-1" })));
    let work = Workdir::with_config(&format!(
        "{POLL}\n[vars]\nout = \"dist\"\n\n[[deploy.before]]\npath = \"/sources\"\n\n[[deploy.before]]\nmethod = \"PUT\"\npath = \"/upload\"\nbody_file = \"{{{{ vars.out }}}}/app.tgz\"\n\n[deploy.trigger]\npath = \"/d\"\nid = \"/id\"\n{STATUS}"
    ));
    let r = deploy(&work, &platform.url());
    assert_ne!(r.code, 0, "{}", r.stderr);
    for part in ["[[deploy.before]] #2 body_file", "\"dist/app.tgz\"", "fix:"] {
        assert!(
            r.stderr.contains(part),
            "missing {part:?} in:\n{}",
            r.stderr
        );
    }
    assert_eq!(targets(&platform), Vec::<String>::new());
}
