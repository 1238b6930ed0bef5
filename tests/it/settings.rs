//! Settings: precedence across flags, `FERRY_*`, `INPUT_*` and `ferry.toml`, and a clear message
//! with the usage exit code for every invalid value — before anything is triggered.

use crate::support::{Run, SIMULATOR_TOML, Workdir, run};

fn check(work: &Workdir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = work.ferry();
    cmd.args(["check", "--json"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn environment(r: &Run) -> String {
    r.assert_code(0);
    r.json()["environment"].as_str().unwrap().to_string()
}

fn with_file_environment() -> Workdir {
    Workdir::with_config(&format!("environment = \"from-file\"\n{SIMULATOR_TOML}"))
}

#[test]
fn flags_beat_env_beat_inputs_beat_the_file() {
    let work = with_file_environment();
    let gha = [("GITHUB_ACTIONS", "true")];
    assert_eq!(environment(&check(&work, &[], &[])), "from-file");
    let input = [gha[0], ("INPUT_ENVIRONMENT", "from-input")];
    assert_eq!(environment(&check(&work, &[], &input)), "from-input");
    let env = [input[0], input[1], ("FERRY_ENVIRONMENT", "from-env")];
    assert_eq!(environment(&check(&work, &[], &env)), "from-env");
    assert_eq!(
        environment(&check(&work, &["--environment", "from-flag"], &env)),
        "from-flag"
    );
}

#[test]
fn empty_values_mean_unset() {
    let work = with_file_environment();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("INPUT_ENVIRONMENT", ""),
        ("FERRY_ENVIRONMENT", ""),
    ];
    assert_eq!(environment(&check(&work, &[], &env)), "from-file");
}

#[test]
fn inputs_are_read_only_inside_a_github_action() {
    let work = with_file_environment();
    assert_eq!(
        environment(&check(&work, &[], &[("INPUT_ENVIRONMENT", "x")])),
        "from-file"
    );
}

#[test]
fn config_selects_the_file() {
    let work = Workdir::new();
    work.write(
        "other.toml",
        &format!("environment = \"other\"\n{SIMULATOR_TOML}"),
    );
    assert_eq!(
        environment(&check(&work, &["--config", "other.toml"], &[])),
        "other"
    );
    assert_eq!(
        environment(&check(&work, &[], &[("FERRY_CONFIG", "other.toml")])),
        "other"
    );
}

#[test]
fn platform_url_overrides_the_file() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = check(
        &work,
        &[
            "--platform-url",
            "https://paas.example.com/api",
            "--environment",
            "x",
        ],
        &[],
    );
    r.assert_code(0);
    assert_eq!(r.json()["platform_url"], "https://paas.example.com/api");
}

/// Runs `check` and expects a usage error whose message holds every `parts`.
fn rejected(work: &Workdir, args: &[&str], env: &[(&str, &str)], parts: &[&str]) {
    let r = check(work, args, env);
    r.assert_says(2, parts);
}

#[test]
fn each_invalid_setting_names_itself_its_source_and_the_fix() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let e = ["--environment", "x"];
    rejected(
        &work,
        &e,
        &[("FERRY_TIMEOUT", "ten minutes")],
        &[
            "`timeout`",
            "FERRY_TIMEOUT",
            "not a duration",
            "fix: use a positive duration",
        ],
    );
    rejected(
        &work,
        &["--environment", "x", "--timeout", "0s"],
        &[],
        &["`timeout`", "--timeout"],
    );
    rejected(
        &work,
        &e,
        &[("FERRY_COMMENT", "sometimes")],
        &["`comment`", "FERRY_COMMENT", "update", "new", "off"],
    );
    rejected(
        &work,
        &e,
        &[("FERRY_PR_NUMBER", "abc")],
        &["`pr_number`", "not a pull/merge request number"],
    );
    rejected(
        &work,
        &e,
        &[("FERRY_SHA", "main")],
        &["`sha`", "not a commit SHA"],
    );
    rejected(
        &work,
        &e,
        &[("FERRY_DETACH", "maybe")],
        &["`detach`", "not a boolean", "true or false"],
    );
    rejected(
        &work,
        &e,
        &[("FERRY_FAIL_ON_REPORT_ERROR", "y")],
        &["`fail_on_report_error`"],
    );
    rejected(
        &work,
        &["--environment", "x", "--platform-url", "not a url"],
        &[],
        &["`platform_url`", "--platform-url", "not a URL"],
    );
    rejected(
        &work,
        &["--environment", "x", "--platform-url", "ftp://h"],
        &[],
        &["`platform_url`", "http(s)"],
    );
    rejected(
        &work,
        &["--environment", "x", "--platform-url", "https://u:p@h"],
        &[],
        &["credentials"],
    );
    rejected(
        &work,
        &["--environment", "bad|name"],
        &[],
        &["`environment`", "--environment"],
    );
    rejected(
        &work,
        &["--environment", "x", "--platform-token-file", "missing.txt"],
        &[],
        &["`platform_token_file`", "missing.txt"],
    );
    rejected(
        &work,
        &[
            "--environment",
            "x",
            "--platform-url",
            "http://paas.example.com",
        ],
        &[("FERRY_PLATFORM_TOKEN", "tok-abcdef")],
        &["`platform_url`", "unencrypted", "https"],
    );
}

#[test]
fn the_settings_file_is_checked_too() {
    let unknown = Workdir::with_config(&format!("enviroment = \"x\"\n{SIMULATOR_TOML}"));
    rejected(&unknown, &[], &[], &["ferry.toml", "enviroment"]);
    let bad_toml = Workdir::with_config("[platform\nurl = 1");
    rejected(&bad_toml, &[], &[], &["ferry.toml"]);
    let secret = Workdir::with_config(&format!("token = \"ghp_supersecret\"\n{SIMULATOR_TOML}"));
    let r = check(&secret, &[], &[]);
    r.assert_code(2);
    assert!(
        r.stderr.contains("FERRY_TOKEN") && !r.stderr.contains("ghp_supersecret"),
        "{}",
        r.stderr
    );
    let bad_status = Workdir::with_config(&SIMULATOR_TOML.replace(
        "field = \"/status\"\nrunning = [\"queued\"",
        "running = [\"queued\"",
    ));
    rejected(
        &bad_status,
        &["--environment", "x"],
        &[],
        &["[build.status]", "field"],
    );
    let bad_source =
        Workdir::with_config(&SIMULATOR_TOML.replacen("id = \"/id\"", "id = \"id\"", 1));
    rejected(
        &bad_source,
        &["--environment", "x"],
        &[],
        &["[build.trigger]", "not a value source"],
    );
    let bad_poll =
        Workdir::with_config(&SIMULATOR_TOML.replace("initial = \"100ms\"", "initial = \"soon\""));
    rejected(
        &bad_poll,
        &["--environment", "x"],
        &[],
        &["[platform.poll]", "initial"],
    );
}

#[test]
fn missing_pieces_are_named() {
    let none = Workdir::new();
    rejected(&none, &[], &[], &["`config`", "ferry.toml"]);
    rejected(
        &none,
        &["--config", "nope.toml"],
        &[],
        &["nope.toml", "cannot read"],
    );
    let work = Workdir::with_config(SIMULATOR_TOML);
    rejected(&work, &[], &[], &["`environment`", "FERRY_ENVIRONMENT"]);
    let bearer =
        Workdir::with_config(&SIMULATOR_TOML.replace("# auth = \"bearer\"", "auth = \"bearer\""));
    rejected(
        &bearer,
        &["--environment", "x"],
        &[],
        &["`platform_token`", "FERRY_PLATFORM_TOKEN"],
    );
}

#[test]
fn a_pull_request_defaults_the_environment_to_a_review_app() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    assert_eq!(
        environment(&check(&work, &["--pr-number", "42"], &[])),
        "review-42"
    );
}

#[test]
fn unknown_flags_are_usage_errors() {
    let work = Workdir::new();
    let r = run(work.ferry().args(["deploy", "--no-such-flag"]));
    r.assert_code(2);
    let r = run(work.ferry().arg("--version"));
    r.assert_code(0);
    assert!(r.stdout.starts_with("ferry "), "{}", r.stdout);
}

#[test]
fn an_explicit_pr_number_wins_everywhere_over_the_detected_one() {
    // A GitLab merge-request pipeline for !7, told to report on !5.
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mr = [
        ("GITLAB_CI", "true"),
        ("CI_PROJECT_PATH", "acme/shop"),
        ("CI_COMMIT_SHA", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"),
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "7"),
    ];
    let detected = check(&work, &[], &mr);
    assert_eq!(environment(&detected), "review-7");
    assert_eq!(detected.json()["vars"]["pr_number"], "7");
    let mut told = mr.to_vec();
    told.push(("FERRY_PR_NUMBER", "5"));
    let explicit = check(&work, &[], &told);
    assert_eq!(environment(&explicit), "review-5");
    assert_eq!(explicit.json()["vars"]["pr_number"], "5");
}

/// A ferry.toml, the environment, and the source the message must name.
type Case<'a> = (String, Vec<(&'a str, String)>, &'a str);

#[test]
fn credentials_in_any_url_are_refused_and_never_printed() {
    const PASSWORD: &str = "s3cr3t-in-url";
    let in_file = SIMULATOR_TOML.replacen(
        "url = \"http://127.0.0.1:8080\"",
        &format!("url = \"https://alice:{PASSWORD}@paas.example.com\""),
        1,
    );
    let named = "[platforms.ci]\nkind = \"jenkins\"\nurl_env = \"JENKINS_URL_X\"\n\n[build]\nplatform = \"ci\"\njob = \"app\"\n\n[deploy]\nplatform = \"ci\"\njob = \"deploy\"\n"
        .to_string();
    let cases: [Case<'_>; 3] = [
        (in_file, vec![], "url in [platform]"),
        (
            SIMULATOR_TOML.to_string(),
            vec![(
                "FERRY_PLATFORM_URL",
                format!("https://alice:{PASSWORD}@paas.example.com"),
            )],
            "FERRY_PLATFORM_URL",
        ),
        (
            named,
            vec![(
                "JENKINS_URL_X",
                format!("https://bob:{PASSWORD}@jenkins.example.com"),
            )],
            "JENKINS_URL_X",
        ),
    ];
    for (toml, env, source) in cases {
        let work = Workdir::with_config(&toml);
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.push(("FERRY_ENVIRONMENT", "staging"));
        let r = check(&work, &[], &env);
        r.assert_code(2);
        assert!(r.stderr.contains("carries credentials"), "{}", r.stderr);
        assert!(r.stderr.contains(source), "{source}: {}", r.stderr);
        assert!(!r.stderr.contains(PASSWORD) && !r.stdout.contains(PASSWORD));
    }
}
