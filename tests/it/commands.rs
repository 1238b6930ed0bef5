//! The commands around the main job: `ferry demo`, `ferry sim`, `ferry context`, `ferry check`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{Run, SIMULATOR_TOML, Workdir, run, signal};

#[test]
fn demo_runs_build_and_deploy_and_writes_the_preview() {
    let work = Workdir::new();
    let r = run(work.ferry().args(["demo", "--json"]));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["status"], "succeeded");
    let url = out["url"].as_str().unwrap();
    assert!(url.contains("/apps/demo-app/demo"), "{url}");
    assert!(r.stderr.contains(url), "{}", r.stderr);
    assert!(r.stderr.contains("ferry-demo"), "{}", r.stderr);
    let comment = work.read("ferry-demo/comment.md");
    assert!(comment.contains("<!-- ferry:v1 -->"), "{comment}");
    assert!(comment.contains("demo"), "{comment}");
    assert!(work.read("ferry-demo/summary.md").contains("b-1"));
}

#[test]
fn demo_can_show_a_failure() {
    let work = Workdir::new();
    let r = run(work
        .ferry()
        .args(["demo", "--fail", "deploy", "--out", "out"]));
    r.assert_code(1);
    let comment = work.read("out/comment.md");
    assert!(comment.contains("error: step failed"), "{comment}");
}

#[test]
fn sim_serves_until_signalled_and_the_example_describes_it() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut child = work
        .ferry()
        .args(["sim", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let r = run(work.ferry().args([
        "deploy",
        "--json",
        "--environment",
        "e2e",
        "--platform-url",
        &url,
    ]));
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    r.assert_code(0);
    assert!(r.json()["url"].as_str().unwrap().starts_with(&url));
    assert!(status.success());
}

#[test]
fn sim_rejects_a_bad_script() {
    let work = Workdir::new();
    work.write("script.toml", "[build]\noutcome = \"maybe\"\n");
    let r = run(work.ferry().args(["sim", "--script", "script.toml"]));
    r.assert_code(2);
    assert!(r.stderr.contains("script.toml"), "{}", r.stderr);
}

fn context(env: &[(&str, &str)], json: bool) -> Run {
    let work = Workdir::new();
    let mut cmd = work.ferry();
    cmd.arg("context");
    if json {
        cmd.arg("--json");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn context_prints_exactly_the_public_fields() {
    let env = [
        ("GITLAB_CI", "true"),
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_PROJECT_PATH", "group/app"),
        ("CI_MERGE_REQUEST_PROJECT_PATH", "group/app"),
        ("CI_MERGE_REQUEST_IID", "7"),
        ("CI_MERGE_REQUEST_ID", "90210"),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feat/x"),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
        ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "1"),
        ("CI_MERGE_REQUEST_PROJECT_ID", "1"),
        ("CI_COMMIT_SHA", "1111111111111111111111111111111111111111"),
        ("CI_API_V4_URL", "https://gitlab.example.com/gitlab/api/v4"),
        (
            "CI_JOB_URL",
            "https://gitlab.example.com/gitlab/group/app/-/jobs/5",
        ),
        (
            "CI_REPOSITORY_URL",
            "https://gitlab-ci-token:secret-job-token@gitlab.example.com/group/app.git",
        ),
    ];
    let r = context(&env, true);
    r.assert_code(0);
    let v = r.json();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "api_url",
            "change_request",
            "ci",
            "forge",
            "is_tag",
            "job_url",
            "ref_name",
            "repository",
            "sha"
        ]
    );
    assert_eq!(v["change_request"]["number"], 7);
    assert_eq!(v["api_url"], "https://gitlab.example.com/gitlab/api/v4");
    assert!(!r.stdout.contains("secret-job-token"));
    let human = context(&env, false);
    human.assert_code(0);
    assert!(human.stdout.contains("feat/x"), "{}", human.stdout);
    assert!(!human.stdout.contains("secret-job-token"));
}

#[test]
fn context_outside_ci_is_local_with_nulls() {
    let r = context(&[], true);
    r.assert_code(0);
    let v = r.json();
    assert_eq!(v["ci"], "local");
    assert!(v["sha"].is_null() && v["change_request"].is_null() && v["job_url"].is_null());
}

#[test]
fn dry_run_prints_the_plan_without_sending_anything() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    // A closed port: a request would fail.
    let r = run(work.ferry().args([
        "deploy",
        "--dry-run",
        "--json",
        "--environment",
        "staging",
        "--platform-url",
        "http://127.0.0.1:9",
    ]));
    r.assert_code(0);
    let plan = r.json();
    assert_eq!(plan["phases"], serde_json::json!(["build", "deploy"]));
    assert_eq!(plan["vars"]["vars.app"], "demo-app");
    assert_eq!(plan["auth"], "none");
    // FERRY_VAR_* and --var override [vars]; the flag wins.
    let r = run(work
        .ferry()
        .args([
            "deploy",
            "--dry-run",
            "--json",
            "--environment",
            "staging",
            "--var",
            "region=eu",
        ])
        .env("FERRY_VAR_APP", "shop")
        .env("FERRY_VAR_REGION", "us"));
    r.assert_code(0);
    let plan = r.json();
    assert_eq!(plan["vars"]["vars.app"], "shop");
    assert_eq!(plan["vars"]["vars.region"], "eu");
    let r = run(work
        .ferry()
        .args(["deploy", "--dry-run", "--environment", "s", "--var", "oops"]));
    r.assert_code(2);
    assert!(r.stderr.contains("--var NAME=VALUE"), "{}", r.stderr);
}

/// A command that sends nothing builds no HTTP client, so it needs no CA store (building one
/// loads the whole system store); the first real request is where a missing store is told.
#[test]
fn dry_run_and_check_need_no_ca_store_and_a_request_says_it_is_missing() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    work.write("empty.pem", "");
    let no_store = |cmd: &mut std::process::Command| {
        cmd.env("SSL_CERT_FILE", work.path().join("empty.pem"))
            .env("SSL_CERT_DIR", work.path())
            .env("FERRY_ENVIRONMENT", "staging")
            .env("FERRY_PLATFORM_URL", "https://paas.example.com");
    };
    let mut dry = work.ferry();
    dry.args(["deploy", "--dry-run"]);
    no_store(&mut dry);
    let r = run(&mut dry);
    r.assert_code(0);
    assert!(
        r.stdout.starts_with("ferry deploy to staging"),
        "{}",
        r.stdout
    );
    let mut check = work.ferry();
    check.arg("check");
    no_store(&mut check);
    run(&mut check).assert_code(0);
    // A real request needs the store, and says what to do.
    let mut deploy = work.ferry();
    deploy.arg("deploy");
    no_store(&mut deploy);
    let r = run(&mut deploy);
    r.assert_code(2);
    assert!(r.stderr.contains("SSL_CERT_FILE"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
