//! No token in any output, at the most verbose log level, including summaries and event files.

use ferry::sim::{Fault, Route, Script};

use crate::support::{SIMULATOR_TOML, Sim, Workdir, run};

const PLATFORM_TOKEN: &str = "plat-tok-7f3a9c2e";
const FORGE_TOKEN: &str = "forge-tok-b81d44e0";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(PLATFORM_TOKEN),
        "platform token in {what}:\n{text}"
    );
    assert!(
        !text.contains(FORGE_TOKEN),
        "forge token in {what}:\n{text}"
    );
}

#[test]
fn tokens_never_reach_any_output() {
    let sim = Sim::start(Script {
        require_token: Some(PLATFORM_TOKEN.into()),
        ..Script::fast()
    });
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["-vvv", "deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", PLATFORM_TOKEN)
        .env("FERRY_TOKEN", FORGE_TOKEN)
        .env("RUST_LOG", "trace"));
    r.assert_code(0);
    // The token was really used: the platform requires it.
    assert!(sim.requests().iter().all(|q| !q.path.starts_with("/v1")
        || q.header("authorization") == Some(&format!("Bearer {PLATFORM_TOKEN}"))));
    assert_clean("stdout", &r.stdout);
    assert_clean("stderr", &r.stderr);
    assert_clean("events", &work.read("events.ndjson"));
    assert!(
        r.stderr.contains("TRACE") || r.stderr.contains("DEBUG"),
        "verbose output expected"
    );
}

#[test]
fn a_platform_echoing_the_token_is_redacted() {
    let sim = Sim::start(Script {
        require_token: Some(PLATFORM_TOKEN.into()),
        faults: vec![Fault {
            on: Route::Status,
            count: 20,
            status: 403,
            body: Some(format!(
                "{{\"error\":\"token {PLATFORM_TOKEN} is not allowed\"}}"
            )),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["-vv", "deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", PLATFORM_TOKEN));
    // A 403 is the platform refusing the credential: a setting to fix, exit 2.
    r.assert_code(2);
    assert!(r.stderr.contains("is not allowed"), "{}", r.stderr);
    assert_clean("stdout", &r.stdout);
    assert_clean("stderr", &r.stderr);
    assert_clean("events", &work.read("events.ndjson"));
}

#[test]
fn the_ci_job_token_is_redacted_too() {
    const JOB_TOKEN: &str = "glcbt-64_jobTokenValue0001";
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 400,
            body: Some(format!(
                "{{\"error\":\"bad header JOB-TOKEN {JOB_TOKEN}\"}}"
            )),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("CI_JOB_TOKEN", JOB_TOKEN));
    r.assert_code(3);
    assert!(
        r.stderr.contains("bad header JOB-TOKEN ***"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(JOB_TOKEN) && !r.stdout.contains(JOB_TOKEN));
}
