//! Every shape of `[<phase>.logs]`, driven through the real binary against scriptable fakes:
//! JSON entries and lines paged with a cursor (each line once, no page read again in a loop), a
//! log whose URL comes with the status answer, a stream read while the status is polled (resumed
//! with `Range` after a drop, ended by `416`), Server-Sent Events resumed with `Last-Event-ID`,
//! a WebSocket of JSON frames, archived logs read after the end, and the headers a log on
//! another origin gets (its own only: never `[platform] headers`, never the credential).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::fake_http::{Answer, FakeHttp, Seen};
use crate::support::fake_ws::FakeWs;
use crate::support::{Run, Workdir, run};

const TOKEN: &str = "plat-L0gs-T0ken-5b1e93";

/// A deploy of the fake at `url` with a bearer token and a `[platform]` header, and `logs` as
/// its `[deploy.logs]` table.
fn description(url: &str, logs: &str) -> String {
    format!(
        r#"
[platform]
url = "{url}"
auth = "bearer"
headers = {{ X-Platform = "platform-only" }}

[platform.poll]
initial = "30ms"
max = "100ms"

[deploy.trigger]
path = "/deploy"
id = "/id"

[deploy.status]
path = "/deploy/{{{{ id }}}}"
field = "/status"
running = ["running"]
success = ["done"]
failure = ["failed"]

[deploy.logs]
{logs}
"#
    )
}

fn deploy(work: &Workdir) -> Run {
    run(work
        .ferry()
        .args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", TOKEN))
}

fn log_lines(work: &Workdir) -> Vec<String> {
    work.read("events.ndjson")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "log")
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect()
}

/// The platform's status answers: `running` for the first `running` reads (with `extra`
/// fields), then `done`; `logs` answers every other GET.
fn platform(
    running: u32,
    extra: serde_json::Value,
    logs: impl Fn(&Seen, u32) -> Answer + Send + Sync + 'static,
) -> FakeHttp {
    let reads = Arc::new(AtomicU32::new(0));
    FakeHttp::start(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
            ("GET", "/deploy/d-1") => {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                let mut body = extra.clone();
                body["status"] = json!(if n <= running { "running" } else { "done" });
                Answer::json(200, &body)
            }
            ("GET", _) => logs(seen, reads.load(Ordering::SeqCst)),
            _ => Answer::json(404, &json!({"error": "no such thing"})),
        },
    )
}

fn count(fake: &FakeHttp, part: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|s| s.target.contains(part))
        .count()
}

fn status_reads(fake: &FakeHttp) -> Vec<Seen> {
    fake.requests()
        .into_iter()
        .filter(|s| s.method == "GET" && s.target == "/deploy/d-1")
        .collect()
}

#[track_caller]
fn assert_ok(r: &Run) {
    r.assert_code(0);
    assert!(
        !r.stderr.contains("stopped reading"),
        "the log was given up on:\n{}",
        r.stderr
    );
}

// ---- pages with a cursor ----

/// Entries paged with a cursor: `s0` (the `start` seed) → `c1` → `c2`, the last page growing
/// while the deploy runs and never naming a new cursor.
fn entries_page(seen: &Seen, reads: u32) -> Answer {
    let entry = |n: u32| json!({"id": n, "message": format!("line {n}")});
    match seen.target.as_str() {
        "/deploy/d-1/logs?cursor=s0" => Answer::json(
            200,
            &json!({"logs": [{"id": 1, "message": "line 1", "level": "info"}, entry(2)], "next": "c1"}),
        ),
        "/deploy/d-1/logs?cursor=c1" => {
            Answer::json(200, &json!({"logs": [entry(3)], "next": "c2"}))
        }
        "/deploy/d-1/logs?cursor=c2" => {
            let last = 3 + reads.min(4);
            let logs: Vec<_> = (4..=last).map(entry).collect();
            Answer::json(200, &json!({"logs": logs, "next": null}))
        }
        _ => Answer::json(404, &json!({})),
    }
}

#[test]
fn entries_with_a_cursor_show_every_line_once_and_no_page_is_read_in_a_loop() {
    let fake = platform(6, json!({}), entries_page);
    let work = Workdir::with_config(&description(
        &fake.url(),
        r#"mode = "entries"
path = "/deploy/{{ id }}/logs?cursor={{ cursor }}"
start = "s0"
items = "/logs"
text = "/message"
level = "/level"
cursor = "/next"
"#,
    ));
    let r = deploy(&work);
    assert_ok(&r);
    assert_eq!(
        log_lines(&work),
        [
            "info line 1",
            "line 2",
            "line 3",
            "line 4",
            "line 5",
            "line 6",
            "line 7"
        ]
    );
    // The first two pages once each; the last one once per poll and a few times in the drain.
    assert_eq!(count(&fake, "cursor=s0"), 1);
    assert_eq!(count(&fake, "cursor=c1"), 1);
    let last = count(&fake, "cursor=c2");
    let polls = status_reads(&fake).len();
    assert!(
        last <= polls + 6,
        "{last} reads of the last page for {polls} polls"
    );
}

#[test]
fn cursor_lines_with_a_key_and_a_cursor_that_does_not_move_are_not_read_in_a_loop() {
    let fake = platform(5, json!({}), |seen, reads| match seen.target.as_str() {
        "/deploy/d-1/log?after=" => Answer::json(200, &json!({"lines": ["a", "b"], "next": "2"})),
        // The same cursor back: nothing more for now.
        "/deploy/d-1/log?after=2" => {
            let lines: Vec<String> = (0..reads.min(3)).map(|n| format!("c{n}")).collect();
            Answer::json(200, &json!({"lines": lines, "next": "2"}))
        }
        _ => Answer::json(404, &json!({})),
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"cursor\"\npath = \"/deploy/{{ id }}/log?after={{ cursor }}\"\nlines = \"/lines\"\ncursor = \"/next\"",
    ));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["a", "b", "c0", "c1", "c2"]);
    let again = count(&fake, "after=2");
    let polls = status_reads(&fake).len();
    assert!(again <= polls + 6, "{again} reads for {polls} polls");
}

#[test]
fn entries_that_do_not_fit_are_a_warning_naming_the_key_not_a_loop() {
    let fake = platform(3, json!({}), |_, _| {
        Answer::json(200, &json!({"logs": {"message": "not a list"}}))
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"entries\"\npath = \"/deploy/{{ id }}/logs\"\nitems = \"/logs\"\ntext = \"/message\"",
    ));
    let r = deploy(&work);
    r.assert_code(0);
    assert!(
        r.stderr.contains("stopped reading the deploy log")
            && r.stderr.contains("[deploy.logs] items")
            && r.stderr.contains("fix:"),
        "{}",
        r.stderr
    );
    assert_eq!(count(&fake, "/logs"), 1);
}

#[test]
fn a_whole_array_read_again_shows_each_entry_once_and_warns_once_about_an_entry_without_text() {
    // No cursor and no key: the whole list every time, growing while the deploy runs, with
    // one entry that has no message.
    let fake = platform(4, json!({}), |_, reads| {
        let mut logs = vec![json!({"message": "first"}), json!({"msg": "odd"})];
        logs.extend((1..=reads.min(4)).map(|n| json!({"message": format!("step {n}")})));
        Answer::json(200, &json!(logs))
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"entries\"\npath = \"/deploy/{{ id }}/logs\"\ntext = \"/message\"",
    ));
    let r = deploy(&work);
    assert_ok(&r);
    assert_eq!(
        log_lines(&work),
        ["first", "step 1", "step 2", "step 3", "step 4"]
    );
    assert_eq!(
        r.stderr.matches("[deploy.logs] text").count(),
        1,
        "{}",
        r.stderr
    );
}

// ---- a URL from the status answer ----

#[test]
fn a_log_url_missing_from_the_status_answer_is_read_once_it_is_there() {
    let reads = Arc::new(AtomicU32::new(0));
    let seen_reads = Arc::clone(&reads);
    let fake = FakeHttp::start(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
            ("GET", "/deploy/d-1") => {
                let n = seen_reads.fetch_add(1, Ordering::SeqCst) + 1;
                let mut body = json!({"status": if n < 6 { "running" } else { "done" }});
                if n >= 3 {
                    body["log_url"] = json!("/deploy/d-1/log");
                }
                Answer::json(200, &body)
            }
            ("GET", "/deploy/d-1/log") => Answer::text(200, "a\nb\n"),
            _ => Answer::json(404, &json!({})),
        },
    );
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"full\"\nurl = \"/log_url\"",
    ));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["a", "b"]);
    let requests = fake.requests();
    let first_log = requests
        .iter()
        .position(|s| s.target == "/deploy/d-1/log")
        .unwrap();
    let statuses_before = requests[..first_log]
        .iter()
        .filter(|s| s.target == "/deploy/d-1")
        .count();
    assert_eq!(statuses_before, 3, "{requests:#?}");
}

// ---- a stream read while the status is polled ----

#[test]
fn a_stream_is_read_while_the_status_is_polled_and_resumes_with_range_after_a_drop() {
    let started: Arc<Mutex<Option<Instant>>> = Arc::default();
    let first = Arc::clone(&started);
    let fake = FakeHttp::start(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
            ("GET", "/deploy/d-1") => {
                // Running until the stream has had time to end.
                let since = first.lock().unwrap().map(|t| t.elapsed());
                let done = since.is_some_and(|d| d > Duration::from_millis(2500));
                let status = if done { "done" } else { "running" };
                Answer::json(
                    200,
                    &json!({"status": status, "stream_url": "/deploy/d-1/stream"}),
                )
            }
            ("GET", "/deploy/d-1/stream") => {
                first.lock().unwrap().get_or_insert_with(Instant::now);
                let every = Duration::from_millis(150);
                match seen.header("range") {
                    None => Answer::streamed(200, every, &["l1\nl2\n", "l3\nl"]).cut(),
                    Some("bytes=10-") => {
                        Answer::streamed(206, every, &["4\nl5\n", "l6\n", "l7\n", "l8\n"])
                            .header("content-range", "bytes 10-23/24")
                    }
                    Some(_) => Answer::text(500, "unexpected range"),
                }
            }
            _ => Answer::json(404, &json!({})),
        },
    );
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"stream\"\nurl = \"/stream_url\"",
    ));
    let r = deploy(&work);
    assert_ok(&r);
    assert_eq!(
        log_lines(&work),
        ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"]
    );
    let streams: Vec<Seen> = fake
        .requests()
        .into_iter()
        .filter(|s| s.target == "/deploy/d-1/stream")
        .collect();
    assert_eq!(streams.len(), 2, "{streams:#?}");
    assert_eq!(streams[0].header("range"), None);
    assert_eq!(streams[1].header("range"), Some("bytes=10-"));
    // A stream that ends when the log does is the signal: the status is not read while it
    // flows (once when it dropped, as a stream's end may be the operation's), and at once
    // when it has ended.
    let (from, to) = (streams[0].at, streams[1].at + Duration::from_millis(600));
    let reads = status_reads(&fake);
    let during = reads.iter().filter(|s| s.at > from && s.at < to).count();
    assert!(during <= 1, "{during} status reads during the stream");
    // The status says done 2.5 s after the first stream opened: seen within a poll interval.
    let done_at = started.lock().unwrap().unwrap() + Duration::from_millis(2500);
    let last = reads.last().unwrap().at;
    assert!(
        last < done_at + Duration::from_millis(500),
        "the end was read {:?} after it came",
        last.saturating_duration_since(done_at)
    );
}

#[test]
fn range_not_satisfiable_ends_the_stream_and_the_run_does_not_wait() {
    let fake = platform(3, json!({}), |seen, _| match seen.header("range") {
        None => Answer::streamed(200, Duration::from_millis(50), &["a\nb\n"]).cut(),
        Some("bytes=4-") => Answer::text(416, ""),
        Some(_) => Answer::text(500, "unexpected range"),
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"stream\"\npath = \"/deploy/{{ id }}/stream\"",
    ));
    let began = Instant::now();
    assert_ok(&deploy(&work));
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(log_lines(&work), ["a", "b"]);
    assert_eq!(count(&fake, "/stream"), 2);
}

#[test]
fn server_sent_events_show_their_data_and_resume_with_last_event_id() {
    let fake = platform(8, json!({}), |seen, _| {
        let every = Duration::from_millis(50);
        match seen.header("last-event-id") {
            None => Answer::streamed(
                200,
                every,
                &[
                    "id: 1\ndata: one\n\n",
                    ": ping\n\nid: 2\ndata: two\n\nid: 3\ndata: thr",
                ],
            )
            .cut(),
            Some("2") => {
                Answer::streamed(200, every, &["id: 3\ndata: three\n\n", "data: four\n\n"])
            }
            Some(_) => Answer::text(500, "unexpected id"),
        }
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"stream\"\npath = \"/deploy/{{ id }}/events\"\nformat = \"sse\"",
    ));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["one", "two", "three", "four"]);
    let streams: Vec<Seen> = fake
        .requests()
        .into_iter()
        .filter(|s| s.target.ends_with("/events"))
        .collect();
    assert_eq!(streams.len(), 2);
    assert_eq!(streams[1].header("last-event-id"), Some("2"));
    assert_eq!(streams[1].header("range"), None);
}

// ---- a WebSocket ----

#[test]
fn websocket_frames_are_lines_from_their_json_field_with_only_the_logs_headers() {
    let frames = vec![
        json!({"message": "ws one", "level": "info"}).to_string(),
        "not json".to_string(),
        json!({"message": "ws two\nws three"}).to_string(),
    ];
    let ws = FakeWs::start(frames, Duration::from_millis(50));
    let live = format!("{}/live?app=shop", ws.url());
    let fake = platform(10, json!({"live_url": live}), |_, _| {
        Answer::json(404, &json!({}))
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"websocket\"\nurl = \"/live_url\"\ntext = \"/message\"\nauth = \"platform\"\nheaders = { X-Log = \"log-only\" }",
    ));
    let r = deploy(&work);
    assert_ok(&r);
    assert_eq!(log_lines(&work), ["ws one", "ws two", "ws three"]);
    assert!(
        r.stderr.contains("[deploy.logs] text") && r.stderr.contains("not JSON"),
        "{}",
        r.stderr
    );
    let opened = ws.requests();
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert_eq!(opened[0].target, "/live?app=shop");
    assert_eq!(
        opened[0].headers.get("x-log").map(String::as_str),
        Some("log-only")
    );
    // Another origin: no platform header, no credential, even with auth = "platform".
    assert!(!opened[0].headers.contains_key("x-platform"), "{opened:#?}");
    assert!(
        !opened[0].headers.contains_key("authorization"),
        "{opened:#?}"
    );
    assert!(!format!("{opened:?}").contains(TOKEN));
}

// ---- archived logs ----

#[test]
fn archived_logs_are_read_once_in_order_after_the_end_with_only_their_own_headers() {
    let store = FakeHttp::start(|seen| match seen.target.as_str() {
        "/archive/1.log" => Answer::text(200, "old 1\nold 2\n"),
        "/archive/2.log" => Answer::text(200, "old 3"),
        _ => Answer::text(404, "gone"),
    });
    let urls = json!([
        format!("{}/archive/1.log", store.url()),
        format!("{}/archive/2.log", store.url())
    ]);
    let fake = platform(3, json!({"historic_urls": urls}), |_, _| {
        Answer::json(404, &json!({}))
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "archived = \"/historic_urls\"\nheaders = { X-Log = \"log-only\" }",
    ));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["old 1", "old 2", "old 3"]);
    let read = store.requests();
    let targets: Vec<&str> = read.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(targets, ["/archive/1.log", "/archive/2.log"]);
    let ended = status_reads(&fake).last().unwrap().at;
    for seen in &read {
        assert!(seen.at > ended, "read before the end: {seen:?}");
        assert_eq!(seen.header("x-log"), Some("log-only"));
        assert_eq!(seen.header("x-platform"), None);
        assert!(!seen.all_headers().contains(TOKEN), "{seen:?}");
    }
}

// ---- headers on and off the platform's origin ----

#[test]
fn a_log_on_another_origin_gets_only_its_own_headers_and_one_on_the_platform_gets_all() {
    let elsewhere = FakeHttp::start(|_| Answer::text(200, "far\n"));
    let far = format!("{}/far.log", elsewhere.url());
    let fake = platform(3, json!({"log": far}), |_, _| Answer::text(200, "near\n"));
    let logs = "mode = \"full\"\nurl = \"/log\"\nheaders = { X-Log = \"log-only\" }";
    let work = Workdir::with_config(&description(&fake.url(), logs));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["far"]);
    for seen in elsewhere.requests() {
        assert_eq!(seen.header("x-log"), Some("log-only"));
        assert_eq!(seen.header("x-platform"), None, "{seen:?}");
        assert!(!seen.all_headers().contains(TOKEN), "{seen:?}");
    }
    // On the platform's own origin, a log gets the platform's headers and credential too.
    let fake = platform(3, json!({}), |_, _| Answer::text(200, "near\n"));
    let logs =
        "mode = \"full\"\npath = \"/deploy/{{ id }}/log\"\nheaders = { X-Log = \"log-only\" }";
    let work = Workdir::with_config(&description(&fake.url(), logs));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["near"]);
    let log = fake
        .requests()
        .into_iter()
        .find(|s| s.target == "/deploy/d-1/log")
        .unwrap();
    assert_eq!(log.header("x-log"), Some("log-only"));
    assert_eq!(log.header("x-platform"), Some("platform-only"));
    assert_eq!(
        log.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

// ---- checked before anything is sent ----

#[test]
fn ferry_check_refuses_a_log_without_what_its_mode_needs() {
    for (logs, needles) in [
        (
            "mode = \"stream\"",
            &["[deploy.logs]", "mode = \"stream\"", "url"][..],
        ),
        (
            "mode = \"entries\"\npath = \"/l\"",
            &["[deploy.logs]", "`text`"][..],
        ),
        (
            "mode = \"full\"\npath = \"/l\"\nurl = \"/u\"",
            &["both `path` and `url`"][..],
        ),
        (
            "mode = \"websocket\"\nurl = \"live\"",
            &["`url`", "not a value source"][..],
        ),
    ] {
        let work = Workdir::with_config(&description("http://127.0.0.1:9", logs));
        let r = run(work
            .ferry()
            .arg("check")
            .env("FERRY_ENVIRONMENT", "staging")
            .env("FERRY_PLATFORM_TOKEN", TOKEN));
        r.assert_code(2);
        for needle in needles {
            assert!(
                r.stderr.contains(needle),
                "{needle:?} not in:\n{}",
                r.stderr
            );
        }
        assert!(r.stderr.contains("fix:"), "{}", r.stderr);
    }
}

#[test]
fn every_log_example_of_the_readme_passes_ferry_check() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("**Logs of every shape.**")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the README's log examples");
    let examples: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect();
    assert!(examples.len() >= 5, "{examples:?}");
    for example in examples {
        // Each example is one phase's table: the rest of the description is the test's own.
        let logs = example.split_once('\n').map_or("", |(_, rest)| rest);
        let config = description("http://127.0.0.1:9", logs).replace(
            "[deploy.trigger]\npath = \"/deploy\"",
            "[deploy.trigger]\npath = \"/deploy\"\ncapture = { created_at = \"/created_at\" }",
        );
        let work = Workdir::with_config(&config);
        let r = run(work
            .ferry()
            .arg("check")
            .env("FERRY_ENVIRONMENT", "staging")
            .env("FERRY_PLATFORM_TOKEN", TOKEN));
        assert_eq!(r.code, 0, "{example}\n{}", r.stderr);
    }
}

// ---- a log found by a request of its own ----

#[test]
fn a_locate_request_is_asked_until_it_names_the_log_then_never_again() {
    let asked = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&asked);
    let fake = platform(6, json!({}), move |seen, _| match seen.target.as_str() {
        "/deploy/d-1/where" => {
            // Not there for the first two asks, then a path on the platform.
            if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                Answer::json(200, &json!({}))
            } else {
                Answer::json(200, &json!({"log_url": "/deploy/d-1/log"}))
            }
        }
        "/deploy/d-1/log" => Answer::text(200, "one\ntwo\n"),
        _ => Answer::json(404, &json!({})),
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"full\"\nurl = \"/log_url\"\narchived = \"/old\"\n[deploy.logs.locate]\npath = \"/deploy/{{ id }}/where\"",
    ));
    assert_ok(&deploy(&work));
    assert_eq!(log_lines(&work), ["one", "two"]);
    assert_eq!(asked.load(Ordering::SeqCst), 3, "{:#?}", fake.requests());
    for seen in fake
        .requests()
        .iter()
        .filter(|s| s.target.ends_with("/where"))
    {
        // A platform request: the platform's headers and credential.
        assert_eq!(seen.header("x-platform"), Some("platform-only"));
        assert!(seen.all_headers().contains(TOKEN), "{seen:?}");
    }
}

#[test]
fn a_locate_request_is_asked_again_after_the_end_for_the_archived_logs() {
    let store = FakeHttp::start(|seen| match seen.target.as_str() {
        "/archive/1.log?sig=abc123secret" => Answer::text(200, "kept 1\nkept 2\n"),
        _ => Answer::text(403, "bad signature"),
    });
    let archive = format!("{}/archive/1.log?sig=abc123secret", store.url());
    let asked = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&asked);
    let fake = platform(2, json!({}), move |seen, _| match seen.target.as_str() {
        "/deploy/d-1/where" => {
            // The live log on the first ask (while the deploy runs), archived after the end.
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Answer::json(200, &json!({"live": "wss://logs.invalid/x"}))
            } else {
                Answer::json(200, &json!({"historic": [archive]}))
            }
        }
        _ => Answer::json(404, &json!({})),
    });
    let work = Workdir::with_config(&description(
        &fake.url(),
        "mode = \"websocket\"\nurl = \"/live\"\narchived = \"/historic\"\nauth = \"none\"\n[deploy.logs.locate]\npath = \"/deploy/{{ id }}/where\"",
    ));
    // The WebSocket the first answer names cannot be reached; the log is read from the archive
    // the answer after the end names, without the credential (`auth = "none"`).
    let out = deploy(&work);
    out.assert_code(0);
    assert_eq!(log_lines(&work), ["kept 1", "kept 2"]);
    assert!(asked.load(Ordering::SeqCst) >= 2);
    assert!(!out.stderr.contains("abc123secret"), "{}", out.stderr);
    for seen in store.requests() {
        assert!(!seen.all_headers().contains(TOKEN), "{seen:?}");
    }
}
