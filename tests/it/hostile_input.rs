//! Hostile input: files that never end or never open, values of a megabyte, durations past the end
//! of the clock, credentials an HTTP header cannot carry. Each gets the usage exit code (2) and a
//! short message naming the setting, the problem and the fix — never a panic, a hang, unbounded
//! memory or the secret itself — and nothing is sent to the platform.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry::sim::Script;

use crate::argocd::ARGO_TOKEN;
use crate::jenkins::TOKEN;
use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir};

/// The jenkins + argocd example, as shipped.
const PLATFORMS_TOML: &str = include_str!("../../examples/jenkins-argocd.toml");

/// The most stderr a bad value may cause, however large the value.
const SHORT: usize = 2048;

/// Runs `cmd`, failing the test if it takes longer than 30 s (a hang) instead of waiting forever.
fn run_within(cmd: &mut Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            pipe.read_to_end(&mut text).unwrap();
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ferry hung: killed after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `ferry <args>` in `work` with `env` on top of a platform URL and an environment.
fn ferry(work: &Workdir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = work.ferry();
    cmd.args(args)
        .env("FERRY_PLATFORM_URL", "http://127.0.0.1:9")
        .env("FERRY_ENVIRONMENT", "staging");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_within(&mut cmd)
}

/// Exit code 2, every part in stderr, no panic, and a short message.
#[track_caller]
fn refused(r: &Run, parts: &[&str]) {
    r.assert_says(2, parts);
    assert!(
        r.stderr.len() < SHORT,
        "{} bytes of stderr:\n{}",
        r.stderr.len(),
        &r.stderr[..r.stderr.len().min(4096)]
    );
}

/// `ferry deploy <args>` with the jenkins + argocd example's variables, and `env` on top.
fn named_deploy(sim: &Sim, work: &Workdir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = work.ferry();
    cmd.arg("deploy")
        .args(args)
        .env("JENKINS_URL", sim.url())
        .env("JENKINS_TOKEN", TOKEN)
        .env("ARGOCD_URL", sim.url())
        .env("ARGOCD_TOKEN", ARGO_TOKEN)
        .env("FERRY_ENVIRONMENT", "production");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_within(&mut cmd)
}

/// A FIFO no one writes to: opening it for reading blocks until a writer comes.
fn fifo(work: &Workdir, name: &str) -> PathBuf {
    let path = work.path().join(name);
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

/// A sparse file of `len` bytes (no disk used).
fn sized(work: &Workdir, name: &str, len: u64) -> PathBuf {
    let path = work.path().join(name);
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    path
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

// ---- 1. files that never end, never open, or are too large ----

#[test]
fn a_settings_file_that_is_not_a_regular_file_is_refused() {
    let work = Workdir::new();
    let pipe = fifo(&work, "ferry.fifo");
    for (args, env, kind) in [
        (
            vec!["check", "--config", "/dev/zero"],
            vec![],
            "a character device",
        ),
        (vec!["check"], vec![("FERRY_CONFIG", text(&pipe))], "a FIFO"),
        (vec!["check", "--config", "."], vec![], "a directory"),
    ] {
        let r = ferry(&work, &args, &env);
        refused(
            &r,
            &[
                "`config` (--config / FERRY_CONFIG)",
                "is not a regular file",
                kind,
                "fix:",
            ],
        );
    }
}

#[test]
fn a_settings_file_over_1_mib_is_refused() {
    let work = Workdir::new();
    let big = sized(&work, "big.toml", 1024 * 1024 + 1);
    let r = ferry(&work, &["check", "--config", text(&big)], &[]);
    refused(&r, &["`config`", "larger than the limit of 1 MiB", "fix:"]);
    let work = Workdir::with_config(&format!(
        "{SIMULATOR_TOML}\n{}\n",
        "#".repeat(1024 * 1024 - SIMULATOR_TOML.len() - 2)
    ));
    ferry(&work, &["check"], &[]).assert_code(0);
}

#[test]
fn token_files_that_are_not_regular_files_or_too_large_are_refused() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let pipe = fifo(&work, "token.fifo");
    let big = sized(&work, "token.big", 64 * 1024 + 1);
    for (var, path, problem) in [
        (
            "FERRY_PLATFORM_TOKEN_FILE",
            "/dev/zero",
            "is not a regular file",
        ),
        (
            "FERRY_PLATFORM_TOKEN_FILE",
            text(&pipe),
            "is not a regular file",
        ),
        ("FERRY_TOKEN_FILE", "/dev/zero", "is not a regular file"),
        ("FERRY_TOKEN_FILE", text(&pipe), "a FIFO"),
        (
            "FERRY_TOKEN_FILE",
            text(&big),
            "larger than the limit of 64 KiB",
        ),
    ] {
        let name = var.trim_start_matches("FERRY_").to_ascii_lowercase();
        let r = ferry(&work, &["check"], &[(var, path)]);
        refused(&r, &[&format!("`{name}` ({var})"), problem, "fix:"]);
    }
}

#[test]
fn a_named_platform_s_token_file_that_never_ends_is_refused() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::new();
    let pipe = fifo(&work, "argocd.fifo");
    for path in ["/dev/zero", text(&pipe)] {
        work.write(
            "ferry.toml",
            &PLATFORMS_TOML.replace(
                "token_env = \"ARGOCD_TOKEN\"",
                &format!("token_file = {path:?}"),
            ),
        );
        let r = named_deploy(&sim, &work, &[], &[]);
        refused(
            &r,
            &["`token_file` ([platforms.argocd])", "is not a regular file"],
        );
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn an_event_payload_that_never_ends_or_is_too_large_becomes_a_note() {
    let work = Workdir::new();
    let pipe = fifo(&work, "event.fifo");
    let big = sized(&work, "event.json", 25 * 1024 * 1024 + 1);
    for (path, problem) in [
        (
            "/dev/zero",
            "is not a regular file (it is a character device)",
        ),
        (text(&pipe), "is not a regular file (it is a FIFO)"),
        (text(&big), "is larger than the limit of 25 MiB"),
    ] {
        let r = ferry(
            &work,
            &["context"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_EVENT_PATH", path),
                ("GITHUB_REPOSITORY", "o/r"),
                ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ],
        );
        r.assert_code(0);
        assert!(r.stdout.contains("GITHUB_EVENT_PATH"), "{}", r.stdout);
        assert!(r.stdout.contains(problem), "{problem}: {}", r.stdout);
        assert!(
            r.stdout.contains("from the variables alone"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn a_simulator_script_that_never_ends_is_refused() {
    let work = Workdir::new();
    let pipe = fifo(&work, "script.fifo");
    for path in ["/dev/zero", text(&pipe)] {
        let r = run_within(
            work.ferry()
                .args(["sim", "--listen", "127.0.0.1:0", "--script", path]),
        );
        refused(&r, &["`script` (--script)", "is not a regular file"]);
    }
    let big = sized(&work, "script.toml", 1024 * 1024 + 1);
    let r =
        run_within(
            work.ferry()
                .args(["sim", "--listen", "127.0.0.1:0", "--script", text(&big)]),
        );
    refused(&r, &["`script`", "larger than the limit of 1 MiB"]);
}

// ---- 2. values of a megabyte make short messages ----

/// A value of 100 000 characters: about the most Linux lets one argument or variable be
/// (`MAX_ARG_STRLEN`, 128 KiB).
const HUGE: usize = 100_000;

#[test]
fn huge_values_make_short_messages() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let huge = "a".repeat(HUGE);
    let total = format!("({HUGE} characters)");
    let r = ferry(&work, &["check"], &[("FERRY_ENVIRONMENT", &huge)]);
    refused(&r, &["`environment` (FERRY_ENVIRONMENT)", &total, "fix:"]);
    let r = ferry(&work, &["check"], &[("FERRY_TIMEOUT", &huge)]);
    refused(
        &r,
        &["`timeout` (FERRY_TIMEOUT)", "is not a duration", &total],
    );
    let r = ferry(&work, &["deploy", "--var", &huge], &[]);
    refused(&r, &["`var` (--var)", "has no `=`", &total]);
    let r = ferry(
        &work,
        &["deploy", "--dry-run", "--var", &format!("{huge}.x=1")],
        &[],
    );
    let dotted = format!("({} characters)", HUGE + 2);
    refused(&r, &["`var` (--var)", "is not a variable name", &dotted]);
    let r = ferry(&work, &["check"], &[("FERRY_PR_NUMBER", &huge)]);
    refused(&r, &["`pr_number` (FERRY_PR_NUMBER)", &total]);
    let r = ferry(&work, &["check"], &[("FERRY_PLATFORM_URL", &huge)]);
    refused(&r, &["`platform_url` (FERRY_PLATFORM_URL)", &total]);
    let r = run_within(work.ferry().args(["sim", "--listen", &huge]));
    refused(&r, &["`listen` (--listen)", &total]);
}

#[test]
fn a_megabyte_line_in_the_settings_file_makes_a_short_message() {
    let line = "x".repeat(1024 * 1024 - 100);
    // A syntax error: toml quotes the offending line.
    let work = Workdir::with_config(&format!("timeout = {line}\n"));
    refused(&ferry(&work, &["check"], &[]), &["ferry.toml", "fix:"]);
    // A wrong type: serde quotes the value.
    let work = Workdir::with_config(&format!(
        "[vars]\napp = 1\n[platform.poll]\nfactor = \"{line}\"\n"
    ));
    refused(&ferry(&work, &["check"], &[]), &["ferry.toml", "fix:"]);
    // A valid file with a bad value.
    let line = "x".repeat(512 * 1024);
    let work = Workdir::with_config(&format!("environment = \"{line}\"\n{SIMULATOR_TOML}"));
    let r = ferry(&work, &["check"], &[("FERRY_ENVIRONMENT", "")]);
    refused(
        &r,
        &["`environment` (environment in ferry.toml)", "characters)"],
    );
}

// ---- 3. durations past the end of the clock ----

/// `u64::MAX` seconds: parses, and panics when added to a clock.
const FOREVER: &str = "18446744073709551615s";

/// Every duration key of `[platform]` and the settings, set to `value`.
fn http_durations(value: &str) -> Vec<(String, &'static str)> {
    let poll = |key: &str| {
        SIMULATOR_TOML.replace(
            "[platform.poll]\n",
            &format!("[platform.poll]\n{key} = \"{value}\"\n"),
        )
    };
    let initial = SIMULATOR_TOML.replace("initial = \"100ms\"", &format!("initial = \"{value}\""));
    let max = SIMULATOR_TOML.replace("max = \"2s\"", &format!("max = \"{value}\""));
    let log_pace =
        SIMULATOR_TOML.replace("log_pace = \"20ms\"", &format!("log_pace = \"{value}\""));
    assert_ne!(initial, SIMULATOR_TOML);
    assert_ne!(max, SIMULATOR_TOML);
    assert_ne!(log_pace, SIMULATOR_TOML);
    vec![
        (
            SIMULATOR_TOML.replace("timeout = \"10m\"", &format!("timeout = \"{value}\"")),
            "`timeout` (timeout in ferry.toml)",
        ),
        (initial, "[platform.poll] initial"),
        (max, "[platform.poll] max"),
        (poll("heartbeat"), "[platform.poll] heartbeat"),
        (log_pace, "[platform.poll] log_pace"),
        (
            format!("{SIMULATOR_TOML}\n[build]\ntimeout = \"{value}\"\n"),
            "[build]: timeout",
        ),
    ]
}

/// The same for the named platforms of the jenkins + argocd example.
fn named_durations(value: &str) -> Vec<(String, &'static str)> {
    vec![
        (
            PLATFORMS_TOML.replace(
                "platform = \"jenkins\"\n",
                &format!("platform = \"jenkins\"\ntimeout = \"{value}\"\n"),
            ),
            "[build]: timeout",
        ),
        (
            PLATFORMS_TOML.replace(
                "platform = \"argocd\"\n",
                &format!("platform = \"argocd\"\ntimeout = \"{value}\"\n"),
            ),
            "[deploy]: timeout",
        ),
        (
            PLATFORMS_TOML.replace(
                "[platforms.argocd]\n",
                &format!("[platforms.argocd.poll]\nmax = \"{value}\"\n\n[platforms.argocd]\n"),
            ),
            "[platforms.argocd.poll] max",
        ),
    ]
}

#[test]
fn durations_past_31_days_are_refused_before_anything_is_sent() {
    let sim = Sim::start(Script::fast());
    for value in [FOREVER, "32days"] {
        let work = Workdir::with_config(SIMULATOR_TOML);
        let r = ferry(&work, &["check"], &[("FERRY_TIMEOUT", value)]);
        refused(
            &r,
            &["`timeout` (FERRY_TIMEOUT)", "at most 31 days", "fix:"],
        );
        let r = ferry(
            &work,
            &["deploy"],
            &[("FERRY_TIMEOUT", value), ("FERRY_PLATFORM_URL", &sim.url())],
        );
        refused(&r, &["`timeout` (FERRY_TIMEOUT)", "at most 31 days"]);
        for (config, key) in http_durations(value) {
            let work = Workdir::with_config(&config);
            // The heartbeat's own limit is 30s.
            refused(&ferry(&work, &["check"], &[]), &[key, "at most", "fix:"]);
            let r = ferry(&work, &["deploy"], &[("FERRY_PLATFORM_URL", &sim.url())]);
            refused(&r, &[key, "at most"]);
        }
        for (config, key) in named_durations(value) {
            let work = Workdir::with_config(&config);
            refused(
                &named_deploy(&sim, &work, &["--dry-run"], &[]),
                &[key, "at most 31 days"],
            );
            refused(
                &named_deploy(&sim, &work, &[], &[]),
                &[key, "at most 31 days"],
            );
        }
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_simulator_script_duration_past_31_days_is_refused() {
    let work = Workdir::new();
    let script = work.write(
        "script.toml",
        &format!("[build]\nduration = \"{FOREVER}\"\n"),
    );
    let r = run_within(work.ferry().args([
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--script",
        text(&script),
    ]));
    refused(&r, &["script.toml", "at most 31 days"]);
}

// ---- 4. credentials an HTTP header cannot carry ----

const SECRET_PARTS: [&str; 2] = ["s3cr3t-head", "s3cr3t-tail"];

/// Neither part of the token in any output.
#[track_caller]
fn not_shown(r: &Run) {
    for part in SECRET_PARTS {
        assert!(!r.stdout.contains(part), "{part} in stdout:\n{}", r.stdout);
        assert!(!r.stderr.contains(part), "{part} in stderr:\n{}", r.stderr);
    }
}

/// Tokens that look fine in the plan and cannot be sent.
fn unsendable() -> Vec<(String, &'static str)> {
    let [head, tail] = SECRET_PARTS;
    vec![
        (format!("{head}\n{tail}"), "has a line break inside"),
        (format!("{head}\r\n{tail}"), "has a line break inside"),
        (format!("{head}\t{tail}"), "has a control character"),
        (format!("{head}\u{1b}{tail}"), "has a control character"),
        (format!("{head}é{tail}"), "has a non-ASCII character inside"),
        (
            format!("{head}\u{a0}{tail}"),
            "has a non-ASCII character inside",
        ),
    ]
}

#[test]
fn a_platform_token_a_header_cannot_carry_is_refused_unseen() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    for (token, problem) in unsendable() {
        for (var, name) in [
            ("FERRY_PLATFORM_TOKEN", "platform_token"),
            ("FERRY_TOKEN", "token"),
        ] {
            let shown = format!("`{name}` ({var})");
            let r = ferry(&work, &["check"], &[(var, &token)]);
            refused(
                &r,
                &[&shown, problem, "an HTTP header cannot carry it", "fix:"],
            );
            not_shown(&r);
            let r = ferry(
                &work,
                &["deploy"],
                &[(var, &token), ("FERRY_PLATFORM_URL", &sim.url())],
            );
            refused(&r, &[&shown, problem]);
            not_shown(&r);
        }
        // Surrounding whitespace is trimmed, inner characters are not; NUL only fits in a file.
        let file = work.write("token.txt", &format!("\n  {token}\n"));
        let r = ferry(
            &work,
            &["check"],
            &[("FERRY_PLATFORM_TOKEN_FILE", text(&file))],
        );
        refused(
            &r,
            &["`platform_token_file` (FERRY_PLATFORM_TOKEN_FILE)", problem],
        );
        not_shown(&r);
    }
    let file = work.write("token.txt", &SECRET_PARTS.join("\0"));
    let r = ferry(&work, &["check"], &[("FERRY_TOKEN_FILE", text(&file))]);
    refused(
        &r,
        &["`token_file` (FERRY_TOKEN_FILE)", "has a control character"],
    );
    not_shown(&r);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // Surrounding whitespace alone is fine.
    let file = work.write("token.txt", "\n  plain-token-123  \n");
    ferry(
        &work,
        &["check"],
        &[("FERRY_PLATFORM_TOKEN_FILE", text(&file))],
    )
    .assert_code(0);
}

#[test]
fn a_named_platform_credential_a_header_cannot_carry_is_refused_unseen() {
    let sim = Sim::start(Script::fast());
    let with_user_env = PLATFORMS_TOML.replace("user = \"ci-bot\"", "user_env = \"JENKINS_USER\"");
    assert_ne!(with_user_env, PLATFORMS_TOML);
    for (token, problem) in unsendable() {
        let work = Workdir::with_config(PLATFORMS_TOML);
        for (var, source) in [
            ("JENKINS_TOKEN", "token_env of [platforms.jenkins]"),
            ("ARGOCD_TOKEN", "token_env of [platforms.argocd]"),
        ] {
            for args in [&["--dry-run"][..], &[]] {
                let r = named_deploy(&sim, &work, args, &[(var, &token)]);
                refused(&r, &[&format!("`{var}` ({source})"), problem, "fix:"]);
                not_shown(&r);
            }
        }
        let file = work.write("argocd.token", &token);
        work.write(
            "ferry.toml",
            &PLATFORMS_TOML.replace(
                "token_env = \"ARGOCD_TOKEN\"",
                &format!("token_file = {:?}", text(&file)),
            ),
        );
        let r = named_deploy(&sim, &work, &[], &[]);
        refused(&r, &["`token_file` ([platforms.argocd])", problem]);
        not_shown(&r);
        work.write("ferry.toml", &with_user_env);
        let r = named_deploy(&sim, &work, &[], &[("JENKINS_USER", &token)]);
        refused(
            &r,
            &["`JENKINS_USER` (user_env of [platforms.jenkins])", problem],
        );
        not_shown(&r);
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}
