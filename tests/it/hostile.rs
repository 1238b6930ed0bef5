//! A hostile but fair platform, driven through the real binary: redirects to other origins,
//! credentials echoed back in derived forms, tokens inside ids and URLs and across the line
//! limit, a trigger that hangs while a signal comes, a log that never says it is complete, a gzip
//! bomb, and workflow commands hidden in platform strings. Each test asserts that nothing leaked,
//! nothing hung, and the documented exit code.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::fake_gitlab::FakeGitlab;
use crate::support::fake_http::{Answer, FakeHttp, Seen};
use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run, signal, spawn};

const TOKEN: &str = "plat-S3cr3t-9f2a7c41e0";

/// A deploy-only description of the fake at `url`; `auth` is the `[platform]` auth lines.
fn description(url: &str, auth: &str, extra: &str) -> String {
    format!(
        r#"
[platform]
url = "{url}"
{auth}

[platform.poll]
initial = "50ms"
max = "200ms"

[deploy.trigger]
path = "/deploy"
id = "/id"

[deploy.status]
path = "/deploy/{{{{ id }}}}"
field = "/status"
running = ["running"]
success = ["done"]
failure = ["failed"]

[deploy.cancel]
path = "/deploy/{{{{ id }}}}/cancel"
{extra}
"#
    )
}

fn deploy(work: &Workdir, extra: &[&str]) -> Run {
    run(work
        .ferry()
        .args(["deploy", "--json", "--events", "events.ndjson"])
        .args(extra)
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", TOKEN))
}

/// Every window of 8 characters of `secret` is absent from `text` (no half of it either).
#[track_caller]
fn assert_no_part_of(secret: &str, what: &str, text: &str) {
    for start in 0..=secret.len().saturating_sub(8) {
        let part = &secret[start..start + 8];
        assert!(
            !text.contains(part),
            "{part:?} (part of a secret) in {what}:\n{}",
            &text[..text.len().min(4000)]
        );
    }
}

#[track_caller]
fn assert_clean(r: &Run, work: &Workdir, secret: &str) {
    assert_no_part_of(secret, "stdout", &r.stdout);
    assert_no_part_of(secret, "stderr", &r.stderr);
    assert_no_part_of(secret, "the events file", &work.read("events.ndjson"));
}

/// A platform whose deploy succeeds at once: `POST /deploy` → `d-1`, status `done`.
fn happy(seen: &Seen) -> Answer {
    match (seen.method.as_str(), seen.target.as_str()) {
        ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
        ("GET", "/deploy/d-1") => Answer::json(200, &json!({"status": "done"})),
        _ => Answer::json(404, &json!({"error": "no such thing"})),
    }
}

// ---- credentials never follow a redirect to another origin ----

#[test]
fn a_custom_auth_header_never_follows_a_redirect_to_another_origin() {
    let elsewhere = FakeHttp::start(happy);
    let target = format!("{}/steal", elsewhere.url());
    let platform = FakeHttp::start(move |_| Answer::redirect(307, &target));
    let work = Workdir::with_config(&description(
        &platform.url(),
        "auth = \"header\"\nauth_header = \"X-Api-Key\"",
        "",
    ));
    let r = deploy(&work, &[]);
    r.assert_code(3);
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was reached: {:?}",
        elsewhere.requests()
    );
    assert_eq!(
        platform.requests()[0].header("x-api-key"),
        Some(TOKEN),
        "the platform itself gets the credential"
    );
    assert!(
        r.stderr
            .contains(&format!("redirects to {}/steal", elsewhere.url())),
        "the error names where the redirect led:\n{}",
        r.stderr
    );
    assert_clean(&r, &work, TOKEN);
}

#[test]
fn a_bearer_token_never_reaches_another_origin_however_many_hops() {
    let third = FakeHttp::start(happy);
    let hop = format!("{}/hop", third.url());
    let second = FakeHttp::start(move |_| Answer::redirect(302, &hop));
    let first_hop = format!("{}/again", second.url());
    let platform = FakeHttp::start(move |_| Answer::redirect(302, &first_hop));
    let work = Workdir::with_config(&description(&platform.url(), "auth = \"bearer\"", ""));
    let r = deploy(&work, &[]);
    r.assert_code(3);
    for fake in [&second, &third] {
        for seen in fake.requests() {
            assert_no_part_of(TOKEN, "a request to another origin", &seen.all_headers());
        }
    }
    assert!(second.requests().is_empty() && third.requests().is_empty());
}

#[test]
fn a_redirect_within_the_origin_still_works_and_keeps_the_credential() {
    let platform = FakeHttp::start(|seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("POST", "/deploy") => Answer::redirect(307, "/v2/deploy"),
        ("POST", "/v2/deploy") => Answer::json(201, &json!({"id": "d-1"})),
        ("GET", "/deploy/d-1") => Answer::redirect(308, "/v2/deploy/d-1"),
        ("GET", "/v2/deploy/d-1") => Answer::json(200, &json!({"status": "done"})),
        _ => Answer::json(404, &json!({})),
    });
    let work = Workdir::with_config(&description(
        &platform.url(),
        "auth = \"header\"\nauth_header = \"X-Api-Key\"",
        "",
    ));
    let r = deploy(&work, &[]);
    r.assert_code(0);
    let followed: Vec<Seen> = platform
        .requests()
        .into_iter()
        .filter(|s| s.target.starts_with("/v2/"))
        .collect();
    assert!(followed.len() >= 2, "{followed:?}");
    assert!(
        followed
            .iter()
            .all(|s| s.header("x-api-key") == Some(TOKEN))
    );
}

#[test]
fn the_gitlab_token_never_follows_a_redirect_to_another_origin() {
    const GITLAB_TOKEN: &str = "glpat-Redirect-T0ken-77";
    let elsewhere = FakeHttp::start(|_| Answer::json(201, &json!({"id": 1})));
    let gitlab = FakeGitlab::start();
    gitlab
        .user(GITLAB_TOKEN, 7, "ferry-bot")
        .pipeline(5001, SHA);
    let to = format!("{}/api/v4/projects/42/statuses/{SHA}", elsewhere.url());
    gitlab.fail_next_with("POST", "/statuses", 20, 307, "", &[("Location", &to)]);
    let sim = Sim::start(ferry::sim::Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", gitlab.api_url())
        .env("CI_SERVER_URL", gitlab.server_url())
        .env("CI_PROJECT_ID", "42")
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_COMMIT_SHA", SHA)
        .env("CI_COMMIT_REF_NAME", "main")
        .env("CI_PIPELINE_ID", "5001")
        .env("CI_PIPELINE_SOURCE", "push")
        .env(
            "CI_JOB_URL",
            format!("{}/acme/shop/-/jobs/1", gitlab.server_url()),
        )
        .env("FERRY_TOKEN", GITLAB_TOKEN)
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    // A report that fails is a warning; the deploy stands.
    r.assert_code(0);
    assert!(
        elsewhere.requests().is_empty(),
        "PRIVATE-TOKEN went to another origin: {:?}",
        elsewhere.requests()
    );
    assert!(
        r.stderr.contains("another origin"),
        "the warning says why:\n{}",
        r.stderr
    );
    assert_no_part_of(GITLAB_TOKEN, "stderr", &r.stderr);
}

const SHA: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

// ---- redaction of derived forms ----

#[test]
fn basic_credentials_echoed_back_in_base64_are_redacted() {
    let platform = FakeHttp::start(|seen| {
        let auth = seen.header("authorization").unwrap_or_default().to_string();
        match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
            ("GET", "/deploy/d-1") => Answer::json(200, &json!({"status": "running"})),
            ("GET", t) if t.starts_with("/deploy/d-1/log") => {
                Answer::text(200, &format!("debug: request had {auth}\n"))
                    .header("x-complete", "true")
            }
            _ => Answer::json(403, &json!({"error": format!("bad {auth}")})),
        }
    });
    let work = Workdir::with_config(&description(
        &platform.url(),
        "auth = \"basic\"\nauth_user = \"deployer\"",
        "[deploy.logs]\nmode = \"full\"\npath = \"/deploy/{{ id }}/log\"\ncomplete = \"header:X-Complete\"\n",
    ));
    let r = run(work
        .ferry()
        .args(["-vv", "deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_TIMEOUT", "3s"));
    let basic = base64_of(&format!("deployer:{TOKEN}"));
    assert!(
        platform
            .requests()
            .iter()
            .any(|s| s.header("authorization") == Some(&format!("Basic {basic}"))),
        "the credential was really sent"
    );
    assert!(
        r.stderr.contains("debug: request had Basic ***"),
        "{}",
        r.stderr
    );
    assert_clean(&r, &work, &basic);
    assert_clean(&r, &work, TOKEN);
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn a_token_inside_an_id_or_a_url_reaches_no_output() {
    let id = format!("op-{TOKEN}");
    let platform = {
        let id = id.clone();
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": id})),
                ("GET", _) => Answer::json(
                    200,
                    &json!({
                        "status": "done",
                        "url": format!("https://deploy:{TOKEN}@app.example/?t={TOKEN}&pw=x"),
                        "log": "https://viewer:unlisted-pass-1@logs.example/d"
                    }),
                ),
                _ => Answer::json(404, &json!({})),
            },
        )
    };
    let work = Workdir::with_config(&description(
        &platform.url(),
        "",
        "[deploy.outputs]\nurl = \"/url\"\nlog_url = \"/log\"\n",
    ));
    let summary = work.path().join("summary.md");
    let output = work.path().join("output.txt");
    let r = run(work
        .ferry()
        .args(["-vv", "deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output));
    r.assert_code(0);
    // The id was really used (templates get the real value).
    assert!(
        platform
            .requests()
            .iter()
            .any(|s| s.target.contains("op-plat-S3cr3t")),
        "{:?}",
        platform.requests()
    );
    assert_clean(&r, &work, TOKEN);
    assert_no_part_of(TOKEN, "the job summary", &work.read("summary.md"));
    assert_no_part_of(TOKEN, "GITHUB_OUTPUT", &work.read("output.txt"));
    for text in [&r.stdout, &r.stderr, &work.read("output.txt")] {
        assert!(!text.contains("unlisted-pass-1"), "{text}");
    }
    let out = r.json();
    assert_eq!(out["phases"][0]["id"], "op-***");
    assert!(
        out["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://deploy:***@app.example/")),
        "{out}"
    );
}

#[test]
fn a_token_split_at_the_line_limit_is_not_printed_in_halves() {
    let mut log = "x".repeat(64 * 1024 - 5);
    log.push_str(TOKEN);
    log.push_str(" end\nnext line\n");
    let platform =
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
                ("GET", "/deploy/d-1") => Answer::json(200, &json!({"status": "done"})),
                ("GET", "/deploy/d-1/log") => Answer::text(200, &log).header("x-complete", "true"),
                _ => Answer::json(404, &json!({})),
            },
        );
    let work = Workdir::with_config(&description(
        &platform.url(),
        "",
        "[deploy.logs]\nmode = \"full\"\npath = \"/deploy/{{ id }}/log\"\ncomplete = \"header:X-Complete\"\n",
    ));
    let r = deploy(&work, &[]);
    r.assert_code(0);
    assert!(r.stderr.contains("*** end"), "the token is masked whole");
    assert!(r.stderr.contains("next line"));
    assert_clean(&r, &work, TOKEN);
}

// ---- a signal while the trigger is in flight ----

/// A platform whose first trigger hangs for 20 s; with the same idempotency key, a second one
/// answers at once with the operation the first started.
fn slow_trigger(cancels: Arc<AtomicU32>) -> FakeHttp {
    let triggers = Arc::new(AtomicU32::new(0));
    FakeHttp::start(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/deploy") => {
                let n = triggers.fetch_add(1, Ordering::SeqCst);
                let answer = Answer::json(201, &json!({"id": "d-1"}));
                if n == 0 {
                    answer.after(Duration::from_secs(20))
                } else {
                    answer
                }
            }
            ("POST", "/deploy/d-1/cancel") => {
                cancels.fetch_add(1, Ordering::SeqCst);
                Answer::json(200, &json!({}))
            }
            _ => Answer::json(200, &json!({"status": "running"})),
        },
    )
}

#[test]
fn a_signal_during_a_slow_trigger_exits_at_once_and_cancels_what_it_started() {
    let cancels = Arc::new(AtomicU32::new(0));
    let platform = slow_trigger(Arc::clone(&cancels));
    let idempotent = description(&platform.url(), "", "").replace(
        "path = \"/deploy\"\nid",
        "path = \"/deploy\"\nheaders = { Idempotency-Key = \"{{ idempotency_key }}\" }\nid",
    );
    let work = Workdir::with_config(&idempotent);
    let mut child = spawn(
        work.ferry()
            .args(["deploy", "--json"])
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    wait_until(|| !platform.requests().is_empty());
    signal(&child, "INT");
    let signalled = Instant::now();
    let r = wait_exit(&mut child, Duration::from_secs(15));
    let took = signalled.elapsed();
    r.assert_code(130);
    assert!(
        took < Duration::from_millis(7500),
        "exited {took:?} after SIGINT"
    );
    assert_eq!(
        cancels.load(Ordering::SeqCst),
        1,
        "{:?}",
        platform.requests()
    );
    let keys: Vec<String> = platform
        .requests()
        .iter()
        .filter(|s| s.method == "POST" && s.target == "/deploy")
        .filter_map(|s| s.header("idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the search repeats the same key");
    assert!(
        r.stderr.contains("found deploy d-1"),
        "it says what it cancelled:\n{}",
        r.stderr
    );
    assert_eq!(r.json()["status"], "cancelled");
}

#[test]
fn a_signal_during_a_slow_trigger_that_cannot_be_found_says_so() {
    let cancels = Arc::new(AtomicU32::new(0));
    let platform = slow_trigger(Arc::clone(&cancels));
    let work = Workdir::with_config(&description(&platform.url(), "", ""));
    let mut child = spawn(
        work.ferry()
            .args(["deploy", "--json"])
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    wait_until(|| !platform.requests().is_empty());
    signal(&child, "TERM");
    let signalled = Instant::now();
    let r = wait_exit(&mut child, Duration::from_secs(15));
    r.assert_code(130);
    assert!(signalled.elapsed() < Duration::from_millis(7500));
    assert_eq!(cancels.load(Ordering::SeqCst), 0);
    assert_eq!(
        platform.requests().len(),
        1,
        "nothing is sent again blindly"
    );
    assert!(
        r.stderr
            .contains("cannot tell whether the platform started it"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_second_signal_ends_the_process_at_once() {
    // The cancel request hangs: only the second signal ends the wait.
    let platform = FakeHttp::start(|seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
        ("POST", "/deploy/d-1/cancel") => {
            Answer::json(200, &json!({})).after(Duration::from_secs(30))
        }
        _ => Answer::json(200, &json!({"status": "running"})),
    });
    let work = Workdir::with_config(&description(&platform.url(), "", ""));
    let mut child = spawn(
        work.ferry()
            .args(["deploy"])
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    wait_until(|| platform.requests().len() >= 2);
    signal(&child, "INT");
    wait_until(|| {
        platform
            .requests()
            .iter()
            .any(|s| s.target.ends_with("/cancel"))
    });
    signal(&child, "TERM");
    let r = wait_exit(&mut child, Duration::from_secs(3));
    r.assert_code(130);
    assert!(r.stderr.contains("second signal"), "{}", r.stderr);
}

fn wait_until(ready: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(15);
    while !ready() {
        assert!(Instant::now() < until, "timed out waiting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for the child to exit (killing it after `limit`), and collects its output.
fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Run {
    let until = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > until {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = std::mem::replace(child, std::process::Command::new("true").spawn().unwrap())
        .wait_with_output()
        .unwrap();
    Run::of(&output)
}

// ---- a finished operation is never cancelled ----

#[test]
fn a_log_that_never_says_it_is_complete_does_not_cancel_a_finished_deploy() {
    let reads = Arc::new(AtomicU32::new(0));
    let cancels = Arc::new(AtomicU32::new(0));
    let platform = {
        let reads = Arc::clone(&reads);
        let cancels = Arc::clone(&cancels);
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
                ("GET", "/deploy/d-1") => Answer::json(200, &json!({"status": "done"})),
                ("GET", t) if t.starts_with("/deploy/d-1/log") => {
                    // A new line on every read, forever, and never a word about completeness.
                    let n = reads.fetch_add(1, Ordering::SeqCst);
                    Answer::text(200, &format!("line {n}\n"))
                }
                ("POST", "/deploy/d-1/cancel") => {
                    cancels.fetch_add(1, Ordering::SeqCst);
                    Answer::json(200, &json!({}))
                }
                _ => Answer::json(404, &json!({})),
            },
        )
    };
    let work = Workdir::with_config(&description(
        &platform.url(),
        "",
        "[deploy.logs]\nmode = \"offset\"\npath = \"/deploy/{{ id }}/log?offset={{ offset }}\"\n",
    ));
    let started = Instant::now();
    let r = deploy(&work, &["--timeout", "4s"]);
    r.assert_code(0);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(r.json()["status"], "succeeded");
    assert_eq!(
        cancels.load(Ordering::SeqCst),
        0,
        "a finished deploy was cancelled"
    );
    assert!(reads.load(Ordering::SeqCst) > 3);
    assert!(
        r.stderr
            .contains("stopped reading the deploy log at the run's time limit"),
        "{}",
        r.stderr
    );
}

// ---- unbounded answers ----

#[test]
fn a_gzip_bomb_is_refused_at_the_body_limit() {
    // 100 MiB of zeros, about 100 KiB on the wire.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b'0'; 1024 * 1024];
    for _ in 0..100 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    let platform =
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
                _ => Answer {
                    status: 200,
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("content-encoding".into(), "gzip".into()),
                    ],
                    body: bomb.clone(),
                    delay: Duration::ZERO,
                    chunks: Vec::new(),
                    cut: false,
                },
            },
        );
    let work = Workdir::with_config(&description(&platform.url(), "", ""));
    let r = deploy(&work, &[]);
    r.assert_code(3);
    assert!(
        r.stderr.contains("larger than 32 MiB"),
        "the limit is named:\n{}",
        r.stderr
    );
}

// ---- injection: everything written inside a runner is inert ----

/// The workflow commands a GitHub runner would run from this output (v2 `::cmd::` at a line
/// start, legacy `##[cmd]` anywhere; nothing between `::stop-commands::T` and `::T::`).
fn runner_commands(text: &str) -> Vec<String> {
    let mut run = Vec::new();
    let mut stop: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let v2 = trimmed
            .strip_prefix("::")
            .and_then(|rest| rest.find("::").map(|end| rest[..end].to_owned()));
        let v1 = line.find("##[").and_then(|i| {
            let rest = &line[i + 3..];
            rest.find(']').map(|end| rest[..end].to_owned())
        });
        // The first syntax that parses decides the line.
        if let Some(info) = v2.or(v1) {
            let name = info.split(' ').next().unwrap_or_default().to_owned();
            if let Some(token) = &stop {
                if name.eq_ignore_ascii_case(token) {
                    stop = None;
                }
                continue;
            }
            if name == "stop-commands" {
                stop = trimmed.split("::").nth(2).map(str::to_owned);
            }
            run.push(line.trim().to_owned());
        }
    }
    run
}

/// Every command the runner would run from `stderr` is one of ferry's own.
#[track_caller]
fn assert_only_ferrys_commands(stderr: &str) {
    for cmd in runner_commands(stderr) {
        let resume = cmd.len() == 36 && cmd.starts_with("::") && cmd.ends_with("::");
        assert!(
            resume
                || cmd.starts_with("::stop-commands::")
                || cmd.starts_with("::group::")
                || cmd == "::endgroup::"
                || cmd.starts_with("::error title=ferry")
                || cmd.starts_with("::warning title=ferry::")
                || cmd.starts_with("::notice title=ferry::")
                || cmd.starts_with("::warning::"),
            "stderr would run {cmd:?}:\n{stderr}"
        );
        assert!(!cmd.contains("##["), "a legacy command inside {cmd:?}");
    }
}

#[test]
fn nothing_written_inside_a_runner_can_run_a_workflow_command() {
    let evil = "##[add-mask]deploy ::error::forged";
    let platform =
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": format!("d-1 {evil}")})),
                ("GET", _) => Answer::json(
                    200,
                    &json!({"status": "failed", "why": format!("{evil}\n::add-mask::x")}),
                ),
                _ => Answer::json(404, &json!({})),
            },
        );
    let work = Workdir::with_config(
        &description(&platform.url(), "", "[deploy.outputs]\nwhy = \"/why\"\n")
            .replace("path = \"/deploy/{{ id }}\"", "path = \"/deploy/x\""),
    );
    let r = run(work
        .ferry()
        .args(["-vv", "deploy", "--json"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_EVENT_NAME", "push"));
    r.assert_code(1);
    let out = r.json();
    assert!(
        out["phases"][0]["id"]
            .as_str()
            .is_some_and(|id| id.contains("##[add-mask]")),
        "the JSON keeps the platform's text: {out}"
    );
    assert!(!r.stdout.contains("##[") && !r.stdout.contains("::"));
    assert_eq!(runner_commands(&r.stdout), Vec::<String>::new());
    assert_only_ferrys_commands(&r.stderr);
}

#[test]
fn an_error_inside_a_runner_cannot_run_a_workflow_command() {
    let platform =
        FakeHttp::start(|_| Answer::text(422, "rejected ##[add-mask]deploy\n::error::forged"));
    let work = Workdir::with_config(&description(&platform.url(), "", ""));
    let r = run(work
        .ferry()
        .args(["deploy"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("GITHUB_ACTIONS", "true"));
    r.assert_code(3);
    assert!(r.stderr.contains("rejected"), "{}", r.stderr);
    assert_only_ferrys_commands(&r.stderr);
}

// ---- a slow forge after a signal ----

#[test]
fn a_slow_forge_cannot_keep_ferry_past_the_grace_period_after_a_signal() {
    const GITLAB_TOKEN: &str = "glpat-Slow-Forge-T0ken-1";
    let gitlab = FakeGitlab::start();
    gitlab
        .user(GITLAB_TOKEN, 7, "ferry-bot")
        .pipeline(5001, SHA)
        .latency(Duration::from_secs(25));
    let mut script = ferry::sim::Script::fast();
    script.build.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut child = spawn(
        work.ferry()
            .args(["deploy", "--json"])
            .env("GITLAB_CI", "true")
            .env("CI_API_V4_URL", gitlab.api_url())
            .env("CI_SERVER_URL", gitlab.server_url())
            .env("CI_PROJECT_ID", "42")
            .env("CI_PROJECT_PATH", "acme/shop")
            .env("CI_COMMIT_SHA", SHA)
            .env("CI_COMMIT_REF_NAME", "main")
            .env("CI_PIPELINE_ID", "5001")
            .env("CI_PIPELINE_SOURCE", "push")
            .env("FERRY_TOKEN", GITLAB_TOKEN)
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"),
    );
    sim.wait_for("the build to run", |reqs| {
        reqs.iter()
            .any(|r| r.route == Some(ferry::sim::Route::Status))
    });
    signal(&child, "INT");
    let signalled = Instant::now();
    let r = wait_exit(&mut child, Duration::from_secs(20));
    let took = signalled.elapsed();
    r.assert_code(130);
    assert!(
        took < Duration::from_millis(7500),
        "exited {took:?} after SIGINT"
    );
    assert_eq!(sim.count_route(ferry::sim::Route::Cancel, "/builds/"), 1);
    assert!(r.stderr.contains("cut short"), "{}", r.stderr);
}

// ---- log volume: the events file is bounded, the CI log is not ----

#[test]
fn the_events_file_stops_log_records_at_its_cap_and_says_so() {
    // 66 MiB of log in lines of 64 KiB.
    let line = format!("{}\n", "y".repeat(64 * 1024 - 1));
    let lines = 66 * 16;
    let log = line.repeat(lines);
    let platform =
        FakeHttp::start(
            move |seen| match (seen.method.as_str(), seen.target.as_str()) {
                ("POST", "/deploy") => Answer::json(201, &json!({"id": "d-1"})),
                ("GET", "/deploy/d-1") => Answer::json(200, &json!({"status": "done"})),
                ("GET", "/deploy/d-1/log") => Answer::text(200, &log).header("x-complete", "true"),
                _ => Answer::json(404, &json!({})),
            },
        );
    let work = Workdir::with_config(&description(
        &platform.url(),
        "",
        "[deploy.logs]\nmode = \"full\"\npath = \"/deploy/{{ id }}/log\"\ncomplete = \"header:X-Complete\"\n",
    ));
    let r = deploy(&work, &[]);
    r.assert_code(0);
    assert_eq!(
        r.stderr.matches("yyyy\n").count(),
        lines,
        "the CI log shows every line"
    );
    let events = work.read("events.ndjson");
    assert!(events.len() < 65 * 1024 * 1024, "{} bytes", events.len());
    let logs = events
        .lines()
        .filter(|l| l.contains("\"type\":\"log\""))
        .count();
    assert!(logs < lines && logs > 1000, "{logs} log records");
    assert!(
        events.contains("later lines are not written here"),
        "the cap is said in the file"
    );
    assert!(
        events
            .lines()
            .last()
            .is_some_and(|l| l.contains("run_finished"))
    );
}
