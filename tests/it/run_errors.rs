//! Errors while running, as a user meets them: an unreachable platform (one short line per retry,
//! the fix once), a failed build quoting its log's last error once, `sha` and `ref_name` from the
//! git checkout outside CI, settings errors where CI users look (GitHub annotation and outputs,
//! GitLab dotenv), and a failed phase's lines in an expanded GitLab section.

use std::path::Path;

use ferry::sim::{Outcome, Script};

use crate::support::{SIMULATOR_TOML, Sim, Workdir, run};

/// The simulator's description, polling (and retrying) fast.
fn fast_toml() -> String {
    SIMULATOR_TOML
        .replacen("initial = \"100ms\"", "initial = \"10ms\"", 1)
        .replacen("max = \"2s\"", "max = \"40ms\"", 1)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_unreachable_platform_gets_one_short_line_per_retry_and_the_fix_once() {
    let port = free_port();
    let work = Workdir::with_config(&fast_toml());
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", format!("http://127.0.0.1:{port}"))
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(3);
    let retries: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("; retry "))
        .collect();
    assert_eq!(retries.len(), 8, "{}", r.stderr);
    for (i, line) in retries.iter().enumerate() {
        let head = format!(
            "build: cannot reach 127.0.0.1:{port}: connection refused; retry {}/8 in ",
            i + 1
        );
        assert!(line.starts_with(&head), "{line:?} is not {head:?}…");
        assert!(line.len() < 90, "{line:?}");
    }
    // The full error and its fix once, at the end; nothing else repeats it (the other fixes are
    // the warnings about values this run sends empty, outside CI).
    assert_eq!(r.stderr.matches("fix: check").count(), 1, "{}", r.stderr);
    assert!(retries.iter().all(|l| !l.contains("fix")), "{}", r.stderr);
    assert_eq!(r.stderr.matches("platform_url").count(), 1, "{}", r.stderr);
    let last = r.stderr.lines().rev().take(2).collect::<Vec<_>>();
    assert!(
        last[0].contains("fix: check `platform_url`"),
        "{}",
        r.stderr
    );
    assert!(
        last[1].starts_with("error: build errored after"),
        "{}",
        r.stderr
    );
    // The URL once in the final error, not again inside the transport's words.
    let host = format!("127.0.0.1:{port}");
    assert_eq!(last[1].matches(&host).count(), 1, "{}", last[1]);
    assert!(!r.stderr.contains("panicked"));
    // Start, 8 retries, the phase's end, the error and its fix: nothing more (before the start,
    // only the warnings about values sent empty outside CI).
    let run = r
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("build: starting"));
    assert_eq!(run.count(), 12, "{}", r.stderr);
    assert_eq!(r.json()["status"], "errored");
}

#[test]
fn a_failed_build_quotes_its_logs_last_error_once() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&fast_toml());
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(1);
    let quoted = "the log's last error: build b-1 [6/6]";
    let json = r.json();
    let message = json["message"].as_str().unwrap();
    assert!(message.contains(quoted), "{message}");
    assert!(message.ends_with("error: step failed"), "{message}");
    assert_eq!(
        message.matches("error: step failed").count(),
        1,
        "{message}"
    );
    // On the console: the log line itself (in the log) and the failure line quoting it, once.
    assert_eq!(r.stderr.matches(quoted).count(), 1, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("the platform reported build state")
            .count(),
        1,
        "{}",
        r.stderr
    );
    // The phase's own line does not repeat the message.
    assert!(
        r.stderr
            .lines()
            .any(|l| l.starts_with("build failed after") && l.ends_with("(id b-1)")),
        "{}",
        r.stderr
    );
}

/// A git checkout written by hand: `HEAD` on a branch whose ref is packed.
fn checkout(dir: &Path, sha: &str) {
    std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/feature/login\n").unwrap();
    std::fs::write(
        dir.join(".git/packed-refs"),
        format!("# pack-refs with: peeled fully-peeled sorted\n{sha} refs/heads/feature/login\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join(".git/config"),
        "[remote \"origin\"]\n\turl = https://ci-bot:ghp_n0tL0gged@github.com/octo-org/shop.git\n",
    )
    .unwrap();
}

#[test]
fn outside_ci_sha_and_ref_name_come_from_the_git_checkout() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let work = Workdir::new();
    checkout(work.path(), sha);
    // ferry runs in a folder of the checkout, the config there.
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("ferry.toml"), fast_toml()).unwrap();
    let r = run(work
        .ferry()
        .current_dir(&app)
        .args(["deploy", "--dry-run", "--json"])
        .env("FERRY_PLATFORM_URL", "http://127.0.0.1:9")
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(0);
    let plan = r.json();
    let text = plan.to_string();
    assert!(text.contains(&format!("\"sha\":\"{sha}\"")), "{text}");
    assert!(text.contains("\"ref_name\":\"feature/login\""), "{text}");
    assert!(text.contains("\"repository\":\"octo-org/shop\""), "{text}");
    // Nothing the checkout gives is warned about as empty; the remote's credential is not kept.
    assert!(!r.stderr.contains("is empty for this run"), "{}", r.stderr);
    assert!(!r.stdout.contains("ghp_n0tL0gged") && !r.stderr.contains("ghp_n0tL0gged"));
    // Inside a CI, the CI's variables are the truth: nothing is read from the disk.
    let r = run(work
        .ferry()
        .current_dir(&app)
        .args(["context", "--json"])
        .env("CI", "true")
        .env("BUILDKITE", "true")
        .env("BUILDKITE_COMMIT", "f".repeat(40))
        .env("BUILDKITE_BRANCH", "main"));
    r.assert_code(0);
    assert_eq!(r.json()["sha"], "f".repeat(40));
    assert_eq!(r.json()["ref_name"], "main");
}

#[test]
fn a_bad_action_input_is_annotated_named_and_errored_in_the_outputs() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(&fast_toml());
    let output = work.write("github_output", "");
    let summary = work.write("step_summary", "");
    let r = run(work
        .ferry()
        .arg("deploy")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("INPUT_TIMEOUT", "soon")
        .env("INPUT_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(2);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].starts_with(
            "::error title=ferry::invalid setting `timeout` (action input `timeout`): \"soon\""
        ),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("%0A  fix: "), "{}", errors[0]);
    // Said once: the annotation is the error line.
    assert_eq!(r.stderr.matches("\"soon\"").count(), 1, "{}", r.stderr);
    let outputs = work.read("github_output");
    let status = outputs
        .split_once("status<<")
        .and_then(|(_, rest)| rest.lines().nth(1))
        .unwrap_or_default();
    assert_eq!(status, "errored", "{outputs}");
    for name in ["url<<", "build_id<<", "deployment_id<<", "environment<<"] {
        assert!(outputs.contains(name), "{name} in {outputs}");
    }
    assert!(work.read("step_summary").contains("settings error"));
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_settings_error_in_gitlab_writes_the_dotenv_report() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(&fast_toml());
    let r = run(work
        .ferry()
        .arg("deploy")
        .env("GITLAB_CI", "true")
        .env("FERRY_ENVIRONMENT", "review-42")
        .env("FERRY_TIMEOUT", "soon")
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(2);
    assert!(
        r.stderr
            .starts_with("error: invalid setting `timeout` (FERRY_TIMEOUT): \"soon\""),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("fix:").count(), 1, "{}", r.stderr);
    let dotenv = work.read("ferry.env");
    assert!(dotenv.starts_with("FERRY_STATUS=errored\n"), "{dotenv}");
    assert!(dotenv.contains("FERRY_EXIT_CODE=2\n"), "{dotenv}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_failed_phase_in_gitlab_ci_is_shown_in_an_expanded_section() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(&fast_toml());
    let r = run(work
        .ferry()
        .arg("deploy")
        .env("GITLAB_CI", "true")
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_URL", sim.url()));
    r.assert_code(1);
    // The log section was opened collapsed; the failure's lines follow, expanded.
    assert!(
        r.stderr.contains(":ferry_build_log[collapsed=true]\r"),
        "{}",
        r.stderr
    );
    let start = r
        .stderr
        .find(":ferry_build_failure\r\x1b[0Kbuild failed: the last ")
        .unwrap_or_else(|| panic!("no expanded failure section in:\n{}", r.stderr));
    let rest = &r.stderr[start..];
    let inside = &rest[..rest.find("section_end:").unwrap_or(rest.len())];
    assert!(inside.contains("error: step failed"), "{inside}");
    assert!(
        !r.stderr.contains("ferry_build_failure[collapsed"),
        "{}",
        r.stderr
    );
    // The failure is still a FERRY_STATUS in the dotenv report.
    assert!(work.read("ferry.env").starts_with("FERRY_STATUS=failed\n"));
}
