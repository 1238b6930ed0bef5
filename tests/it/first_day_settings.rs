//! First-day settings mistakes, through the real binary: a typo in `ferry.toml` said at its own
//! line and table with a "did you mean", misspelt `FERRY_*` / `INPUT_*` names warned about, a
//! missing platform credential refused by `ferry check`, and an `http` platform refusing the
//! credential said as a settings error (exit 2) naming `platform_token`. Every mistake `check`
//! catches is also shown to stop a real run before anything reaches the platform.

use ferry::sim::{Fault, Route, Script};

use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run};

#[track_caller]
fn says(r: &Run, code: i32, parts: &[&str]) {
    r.assert_says(code, parts);
}

/// `ferry check` on `config` with `env`: exit 2 and `parts` said; then a real `ferry deploy`
/// pointed at a simulator fails the same way before sending it anything.
#[track_caller]
fn refused_before_anything_is_sent(config: &str, env: &[(&str, &str)], parts: &[&str]) {
    let work = Workdir::with_config(config);
    let mut check = work.ferry();
    check.arg("check").env("FERRY_ENVIRONMENT", "staging");
    check.envs(env.iter().copied());
    says(&run(&mut check), 2, parts);
    let sim = Sim::start(Script::fast());
    let mut deploy = work.ferry();
    deploy
        .args(["deploy", "--json"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_URL", sim.url());
    deploy.envs(env.iter().copied());
    says(&run(&mut deploy), 2, parts);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

/// `text` without its opening comment, with comment lines put before it so that the line
/// holding `marker` is line `line`.
fn with_marker_at(text: &str, marker: &str, line: usize) -> String {
    let text: String = text
        .lines()
        .skip_while(|l| l.is_empty() || l.starts_with('#'))
        .flat_map(|l| [l, "\n"])
        .collect();
    let at = text
        .lines()
        .position(|l| l.starts_with(marker))
        .expect("the marker is in the text")
        + 1;
    assert!(at <= line, "the marker is already on line {at}");
    let mut out = "# padding\n".repeat(line - at);
    out.push_str(&text);
    out
}

const STATUS_TYPO: &str = "sucess = [\"succeeded\"]";

#[test]
fn a_typo_in_build_status_is_named_at_its_own_line() {
    let config = with_marker_at(
        &SIMULATOR_TOML.replacen("success = [\"succeeded\"]", STATUS_TYPO, 1),
        STATUS_TYPO,
        39,
    );
    refused_before_anything_is_sent(
        &config,
        &[],
        &[
            "ferry.toml:39: [build.status]: unknown key `sucess`; did you mean `success`?",
            "  39 | sucess = [\"succeeded\"]",
            "  fix: rename it `success`",
        ],
    );
}

#[test]
fn a_wrong_value_and_broken_toml_are_named_at_their_line() {
    refused_before_anything_is_sent(
        &SIMULATOR_TOML.replacen("field = \"/status\"", "field = 3", 1),
        &[],
        &[
            "[build.status]: `field`: invalid type: integer `3`, expected a string",
            " | field = 3\n  fix: correct the value",
        ],
    );
    refused_before_anything_is_sent(
        &format!("# settings\ntimeout = \"10m\n{SIMULATOR_TOML}"),
        &[],
        &[
            "ferry.toml:2: ",
            "  2 | timeout = \"10m\n  fix: correct the TOML on that line",
        ],
    );
}

#[test]
fn a_misspelt_condition_operator_is_named_at_its_line() {
    let config = with_marker_at(
        &SIMULATOR_TOML.replacen(
            "success = [\"succeeded\"]",
            "success = [{ presnt = \"/finished_at\" }]",
            1,
        ),
        "success = [{ presnt",
        45,
    );
    refused_before_anything_is_sent(
        &config,
        &[],
        &[
            "ferry.toml:45: [build.status]: `success`: a condition tests \"presnt\", which is neither a JSON Pointer nor an operator (present, absent, null); did you mean `present`?",
            "  45 | success = [{ presnt = \"/finished_at\" }]",
            "fix: write `present`",
        ],
    );
    // A key that is neither a pointer nor close to an operator: said at its line too.
    let config = with_marker_at(
        &SIMULATOR_TOML.replacen(
            "success = [\"succeeded\"]",
            "success = [{ status = [\"succeeded\"] }]",
            1,
        ),
        "success = [{ status",
        45,
    );
    refused_before_anything_is_sent(
        &config,
        &[],
        &[
            "ferry.toml:45: [build.status]: `success`: a condition tests \"status\", which is neither a JSON Pointer nor an operator (present, absent, null)",
            "fix: write a JSON Pointer with a leading slash, or one of the operators",
        ],
    );
}

#[test]
fn a_typo_under_a_preset_is_named_at_the_user_s_line() {
    // The preset's description goes under the file, through a table that keeps no positions.
    let config = "[platform]\npreset = \"heroku\"\n\n[vars]\napp = \"shop\"\n\n[build.status]\nrunnig = [\"pending\", \"building\"]\n";
    refused_before_anything_is_sent(
        config,
        &[("FERRY_PLATFORM_TOKEN", "T0ken-for-the-check")],
        &[
            "ferry.toml:8: [build.status]: unknown key `runnig`; did you mean `running`?",
            "  8 | runnig = [\"pending\", \"building\"]",
        ],
    );
}

#[test]
fn an_unknown_top_level_key_is_named_with_the_setting_meant() {
    refused_before_anything_is_sent(
        &format!("# settings\nenviroment = \"staging\"\n{SIMULATOR_TOML}"),
        &[],
        &[
            "ferry.toml:2: unknown key `enviroment`; did you mean `environment`?",
            "  2 | enviroment = \"staging\"",
            "fix: rename it `environment`",
        ],
    );
}

#[test]
fn a_key_a_named_platform_does_not_take_is_named_with_the_key_meant() {
    refused_before_anything_is_sent(
        "[platforms.cd]\nkind = \"argocd\"\nurl = \"https://argocd.example.com\"\ntoken_evn = \"ARGOCD_TOKEN\"\n\n[deploy]\nplatform = \"cd\"\napplication = \"shop\"\n",
        &[],
        &[
            "ferry.toml:4: [platforms.cd]: `token_evn` means nothing for kind = \"argocd\"; did you mean `token_env`?",
            "  4 | token_evn = \"ARGOCD_TOKEN\"",
        ],
    );
}

#[test]
fn a_misspelt_ferry_variable_is_warned_about_once_and_the_run_goes_on() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["deploy"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_ENVIROMENT", "staging"));
    says(
        &r,
        0,
        &[
            "warning: `FERRY_ENVIROMENT` is set, but ferry reads no such variable and ignores it; did you mean `FERRY_ENVIRONMENT`?",
        ],
    );
    assert_eq!(
        r.stderr.matches("FERRY_ENVIROMENT").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(sim.count_route(Route::Trigger, "/deployments") > 0);
}

#[test]
fn an_unknown_action_input_is_warned_about_inside_github_actions_only() {
    let work = Workdir::with_config(SIMULATOR_TOML);
    let check = |github: bool| {
        let mut cmd = work.ferry();
        cmd.arg("check")
            .env("INPUT_ENVIRONMENT", "staging")
            .env("INPUT_PLATFORM_URLL", "https://paas.example.com")
            .env("FERRY_ENVIRONMENT", "staging");
        if github {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        run(&mut cmd)
    };
    let r = check(true);
    says(
        &r,
        0,
        &[
            "::warning title=ferry::the step's input `platform_urll` (INPUT_PLATFORM_URLL) is not an input of ferry's action and is ignored; did you mean `platform_url`?",
        ],
    );
    assert!(!r.stderr.contains("INPUT_ENVIRONMENT"), "{}", r.stderr);
    let r = check(false);
    r.assert_code(0);
    assert!(!r.stderr.contains("INPUT_PLATFORM_URLL"), "{}", r.stderr);
}

/// A later GitLab job sees the dotenv report's `FERRY_*` variables: they are ferry's own names.
#[test]
fn the_dotenv_report_s_variables_are_not_warned_about() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["deploy"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_DOTENV", "ferry.env"));
    r.assert_code(0);
    let report = work.read("ferry.env");
    let vars: Vec<(&str, &str)> = report
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, if v.is_empty() { "x" } else { v }))
        .collect();
    assert!(vars.len() >= 8, "{report}");
    let r = run(work.ferry().arg("check").envs(vars));
    r.assert_code(0);
    // (Outside CI, the only warnings are about template values this run sends empty.)
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.starts_with("warning:") && l.contains("FERRY_")),
        "{}",
        r.stderr
    );
}

#[test]
fn check_refuses_a_description_that_needs_a_token_when_none_is_set() {
    // The http platform asking for a bearer token.
    refused_before_anything_is_sent(
        &SIMULATOR_TOML.replacen(
            "url = \"http://127.0.0.1:8080\"",
            "url = \"http://127.0.0.1:8080\"\nauth = \"bearer\"",
            1,
        ),
        &[],
        &[
            "missing setting `platform_token`",
            "FERRY_PLATFORM_TOKEN",
            "the action's `platform_token` input",
            "platform_token_file",
        ],
    );
    // A preset.
    refused_before_anything_is_sent(
        "[platform]\npreset = \"render\"\n[vars]\nservice = \"srv-1\"\n",
        &[],
        &[
            "`platform_token`",
            "FERRY_PLATFORM_TOKEN",
            "`platform_token` input",
        ],
    );
    // Named Argo CD platforms: no token_env at all, and token_env naming an unset variable.
    let argo = "[platforms.cd]\nkind = \"argocd\"\nurl = \"https://argocd.example.com\"\n{}\n[deploy]\nplatform = \"cd\"\napplication = \"shop\"\n";
    refused_before_anything_is_sent(
        &argo.replace("{}", ""),
        &[],
        &[
            "`token_env of [platforms.cd]`",
            "token_env = \"ARGOCD_TOKEN\"",
        ],
    );
    refused_before_anything_is_sent(
        &argo.replace("{}", "token_env = \"ARGOCD_TOKEN\""),
        &[],
        &[
            "missing setting `ARGOCD_TOKEN`",
            "token_env = \"ARGOCD_TOKEN\"",
        ],
    );
    // Named Jenkins platforms: a user without a token, and token_env naming an unset variable.
    let jenkins = "[platforms.ci]\nkind = \"jenkins\"\nurl = \"https://jenkins.example.com\"\n{}\n[build]\nplatform = \"ci\"\njob = \"shop\"\n[deploy]\nplatform = \"ci\"\njob = \"shop-deploy\"\n";
    refused_before_anything_is_sent(
        &jenkins.replace("{}", "user = \"bot\""),
        &[],
        &[
            "`token_env of [platforms.ci]`",
            "Jenkins needs that user's API token",
        ],
    );
    refused_before_anything_is_sent(
        &jenkins.replace("{}", "token_env = \"JENKINS_TOKEN\""),
        &[],
        &["missing setting `JENKINS_TOKEN`"],
    );
}

/// The `http` platform answering 401 or 403 to the trigger: a settings error (exit 2) naming
/// `platform_token` and whether one was set, never the token itself.
#[test]
fn an_http_platform_refusing_the_credential_names_platform_token() {
    const TOKEN: &str = "s3cret-T0ken-value";
    for (status, token, given) in [
        (401, None, "(none was set)"),
        (403, None, "(none was set)"),
        (401, Some(TOKEN), "(the one set was refused)"),
        (403, Some(TOKEN), "(the one set was refused)"),
    ] {
        let sim = Sim::start(Script {
            faults: vec![Fault {
                on: Route::Trigger,
                count: 1,
                status,
                body: Some("{\"error\":\"not allowed\"}".into()),
                ..Fault::default()
            }],
            ..Script::fast()
        });
        let work = Workdir::with_config(SIMULATOR_TOML);
        let mut cmd = work.ferry();
        cmd.args(["deploy", "--json"])
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging");
        if let Some(token) = token {
            cmd.env("FERRY_PLATFORM_TOKEN", token);
        }
        let r = run(&mut cmd);
        let fix = if token.is_some() {
            "fix: check that the token in FERRY_PLATFORM_TOKEN"
        } else {
            "fix: this platform wants a credential: set FERRY_PLATFORM_TOKEN"
        };
        says(
            &r,
            2,
            &[
                "invalid setting `platform_token`",
                given,
                &format!("answered HTTP {status}"),
                "not allowed",
                fix,
            ],
        );
        assert!(!r.stderr.contains(TOKEN) && !r.stdout.contains(TOKEN));
        assert_eq!(r.json()["status"], "errored", "{}", r.stdout);
        // Nothing was started: the one request sent was refused.
        assert_eq!(sim.count_route(Route::Trigger, "/builds"), 1);
    }
}
