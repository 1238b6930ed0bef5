//! `ferry check` as a user reads it, and `ferry check --probe` (the doctor), through the real
//! binary: the readable plan names each request's method and URL and what is waited for; `--json`
//! parses; the probe proves a platform (a preset against its sim dialect), names a refused token,
//! an unknown app, a GitLab job token without the `api` scope and a GitHub token refused — and in
//! every case the platform receives no trigger (or no request at all).

use std::path::Path;
use std::process::Command;

use ferry::sim::{Route, Script};
use serde_json::Value;

use crate::support::fake_github::{FakeGithub, REPO};
use crate::support::fake_gitlab::FakeGitlab;
use crate::support::{SIMULATOR_TOML, Sim, Workdir, run};

const HEROKU_TOKEN: &str = "heroku-oauth-token-0123456789abcdef";

/// `ferry check` against the simulator's description, with the sim's URL.
fn check(sim: &Sim, work: &Workdir, args: &[&str]) -> Command {
    let mut cmd = work.ferry();
    cmd.arg("check")
        .args(args)
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging");
    cmd
}

/// No request reached the platform that starts or stops anything.
fn nothing_triggered(sim: &Sim) {
    let triggers: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| matches!(r.route, Some(Route::Trigger | Route::Cancel)))
        .collect();
    assert!(triggers.is_empty(), "triggered: {triggers:#?}");
}

#[test]
fn check_prints_each_phase_s_requests_in_order_and_what_it_waits_for() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(&mut check(&sim, &work, &[]));
    r.assert_code(0);
    let url = sim.url();
    let url = url.trim_end_matches('/');
    let out = &r.stdout;
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{out}"))
    };
    // Build, then deploy; in each, trigger → status → logs → cancel, method and resolved URL.
    let build = at("build on platform (simulator, http at ");
    let trigger = at(&format!("trigger  POST   {url}/v1/apps/demo-app/builds"));
    let status = at(&format!("status   GET    {url}/v1/builds/{{{{ id }}}}"));
    let logs = at(&format!(
        "logs     GET    {url}/v1/builds/{{{{ id }}}}/log?offset={{{{ offset }}}}"
    ));
    let cancel = at(&format!(
        "cancel   POST   {url}/v1/builds/{{{{ id }}}}/cancel"
    ));
    let waits = at(
        "waits for: /status in the status answer: success succeeded; failure failed, cancelled; running queued, running; anything else fails",
    );
    let deploy = at("deploy on platform");
    let deploy_trigger = at(&format!(
        "trigger  POST   {url}/v1/apps/demo-app/deployments"
    ));
    assert!(build < trigger && trigger < status && status < logs && logs < cancel);
    assert!(
        cancel < waits && waits < deploy && deploy < deploy_trigger,
        "{out}"
    );
    assert!(
        out.contains("waits for: /status in the status answer: success live;"),
        "{out}"
    );
    assert!(out.contains("time limit 10m"), "{out}");
    // Outside CI nothing is reported anywhere but the console, and the plan says so.
    assert!(
        out.contains("reports:\n  nothing besides this console"),
        "{out}"
    );
    assert!(r.stderr.contains("settings are valid"), "{}", r.stderr);
    assert!(sim.requests().is_empty(), "{:#?}", sim.requests());
}

#[test]
fn check_and_dry_run_print_json_for_machines_with_the_requests_of_each_phase() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(&mut check(&sim, &work, &["--json"]));
    r.assert_code(0);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let phases = plan["phase_requests"].as_array().unwrap();
    assert_eq!(phases.len(), 2, "{plan:#}");
    assert_eq!(phases[0]["phase"], "build");
    let first = &phases[0]["requests"][0];
    assert_eq!(first["step"], "trigger");
    assert_eq!(first["method"], "POST");
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .ends_with("/v1/apps/demo-app/builds"),
        "{first}"
    );
    assert!(
        phases[1]["waits_for"]
            .as_str()
            .unwrap()
            .contains("success live"),
        "{plan:#}"
    );
    assert_eq!(plan["reports"], serde_json::json!([]));
    // `--dry-run`: the same plan, in words by default and as JSON with --json.
    let mut dry = work.ferry();
    dry.args(["deploy", "--dry-run", "--environment", "staging"])
        .env("FERRY_PLATFORM_URL", sim.url());
    let text = run(&mut dry);
    text.assert_code(0);
    assert!(
        text.stdout.starts_with("ferry deploy to staging: 2 phases"),
        "{}",
        text.stdout
    );
    assert!(serde_json::from_str::<Value>(&text.stdout).is_err());
    let json = run(dry.arg("--json"));
    json.assert_code(0);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["phase_requests"][1]["requests"][0]["method"], "POST");
    assert!(sim.requests().is_empty(), "{:#?}", sim.requests());
}

#[test]
fn check_plans_every_job_the_file_describes_the_stop_in_its_own() {
    let sim = Sim::start(Script::fast());
    // The shipped description: a deploy (with its build) and a stop, each planned.
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(&mut check(&sim, &work, &[]));
    r.assert_code(0);
    assert!(
        r.stdout.starts_with("ferry deploy to staging: 2 phases"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\nferry stop to staging: 1 phase"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("trigger  DELETE /v1/apps/demo-app/environments/staging")
            || r.stdout.contains("trigger  DELETE http"),
        "{}",
        r.stdout
    );
    let json = run(&mut check(&sim, &work, &["--json"]));
    json.assert_code(0);
    let v = json.json();
    assert_eq!(v["command"], "deploy");
    assert_eq!(v["stop"]["command"], "stop");
    assert_eq!(v["stop"]["phases"], serde_json::json!(["stop"]));
    // A stop runs in a job of its own: the build's outputs are not there.
    let stop_reads_build = SIMULATOR_TOML.replacen(
        "path = \"/v1/stops/{{ id }}\"",
        "path = \"/v1/stops/{{ id }}?artifact={{ build.artifact }}\"",
        1,
    );
    assert_ne!(stop_reads_build, SIMULATOR_TOML);
    let work = Workdir::with_config(&stop_reads_build);
    let r = run(&mut check(&sim, &work, &[]));
    r.assert_code(2);
    assert!(r.stderr.contains("[stop.status] path"), "{}", r.stderr);
    assert!(r.stderr.contains("`build.artifact`"), "{}", r.stderr);
    // A file that only builds is checked as `ferry build`.
    let build_only: String = SIMULATOR_TOML
        .split("\n[deploy")
        .next()
        .unwrap()
        .to_string();
    let work = Workdir::with_config(&build_only);
    let r = run(&mut check(&sim, &work, &[]));
    r.assert_code(0);
    assert!(r.stdout.starts_with("ferry build"), "{}", r.stdout);
    assert!(sim.requests().is_empty(), "{:#?}", sim.requests());
}

#[test]
fn probe_without_a_probe_request_cannot_tell_and_says_how_to_add_one() {
    let sim = Sim::start(Script::fast());
    let without: String = SIMULATOR_TOML
        .lines()
        .filter(|l| !l.starts_with("probe = "))
        .collect::<Vec<_>>()
        .join("\n");
    let work = Workdir::with_config(&without);
    let r = run(&mut check(&sim, &work, &["--probe"]));
    r.assert_code(0);
    assert!(
        r.stdout
            .starts_with("cannot tell simulator: reachable, credential accepted, app exists"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("fix: add probe = {"), "{}", r.stdout);
    assert!(sim.requests().is_empty(), "{:#?}", sim.requests());
}

#[test]
fn the_shipped_simulator_description_probes_its_app() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(&mut check(&sim, &work, &["--probe"]));
    r.assert_code(0);
    assert!(
        r.stdout.starts_with("ok          simulator"),
        "{}",
        r.stdout
    );
    let asked: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(asked, ["/v1/apps/demo-app"], "{asked:?}");
    nothing_triggered(&sim);
}

/// The Heroku preset with `app`, pointed at the sim's Heroku dialect.
fn heroku(sim: &Sim, app: &str, token: &str, args: &[&str]) -> (Workdir, Command) {
    let work = Workdir::with_config(&format!(
        "[platform]\npreset = \"heroku\"\n\n[vars]\napp = \"{app}\"\n"
    ));
    let mut cmd = work.ferry();
    cmd.args(["check", "--probe"])
        .args(args)
        .env("FERRY_PLATFORM_URL", format!("{}/heroku", sim.url()))
        .env("FERRY_PLATFORM_TOKEN", token)
        .env("FERRY_ENVIRONMENT", "production");
    (work, cmd)
}

fn heroku_sim() -> Sim {
    Sim::start(Script {
        require_token: Some(HEROKU_TOKEN.into()),
        ..Script::fast()
    })
}

#[test]
fn probe_proves_a_hosted_platform_with_one_read_only_request() {
    let sim = heroku_sim();
    let (_work, mut cmd) = heroku(&sim, "demo-app", HEROKU_TOKEN, &[]);
    let r = run(&mut cmd);
    r.assert_code(0);
    assert!(
        r.stdout
            .starts_with("ok          Heroku: reachable, credential accepted, app exists: GET "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("/heroku/apps/demo-app answered HTTP 200"),
        "{}",
        r.stdout
    );
    let requests = sim.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/heroku/apps/demo-app");
    assert!(!r.stdout.contains(HEROKU_TOKEN) && !r.stderr.contains(HEROKU_TOKEN));
    // The same for machines.
    let (_work, mut cmd) = heroku(&sim, "demo-app", HEROKU_TOKEN, &["--json"]);
    let r = run(&mut cmd);
    r.assert_code(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"][0]["verdict"], "ok", "{v:#}");
    assert_eq!(v["exit_code"], 0);
    nothing_triggered(&sim);
}

#[test]
fn probe_names_a_refused_platform_token_and_its_setting_with_exit_2() {
    let sim = heroku_sim();
    let (_work, mut cmd) = heroku(&sim, "demo-app", "a-stale-token", &[]);
    let r = run(&mut cmd);
    r.assert_code(2);
    assert!(r.stdout.starts_with("missing     Heroku"), "{}", r.stdout);
    assert!(r.stdout.contains("platform_token"), "{}", r.stdout);
    assert!(r.stdout.contains("HTTP 401"), "{}", r.stdout);
    assert!(
        r.stdout.contains("fix: check that the token") && r.stdout.contains("is current"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("a-stale-token") && !r.stderr.contains("a-stale-token"));
    nothing_triggered(&sim);
}

#[test]
fn probe_names_an_app_that_does_not_exist_with_exit_2() {
    let sim = heroku_sim();
    let (_work, mut cmd) = heroku(&sim, "no-such-app", HEROKU_TOKEN, &[]);
    let r = run(&mut cmd);
    r.assert_code(2);
    assert!(
        r.stdout
            .contains("/heroku/apps/no-such-app answered HTTP 404: the app does not exist"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("fix: check the values"), "{}", r.stdout);
    nothing_triggered(&sim);
}

#[test]
fn probe_of_an_unreachable_platform_exits_3() {
    let work = Workdir::with_config("[platform]\npreset = \"heroku\"\n\n[vars]\napp = \"shop\"\n");
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let r = run(work
        .ferry()
        .args(["check", "--probe"])
        .env(
            "FERRY_PLATFORM_URL",
            format!("http://127.0.0.1:{port}/heroku"),
        )
        .env("FERRY_PLATFORM_TOKEN", HEROKU_TOKEN)
        .env("FERRY_ENVIRONMENT", "production"));
    r.assert_code(3);
    assert!(r.stdout.starts_with("unreachable Heroku"), "{}", r.stdout);
    assert!(r.stdout.contains("cannot reach"), "{}", r.stdout);
}

/// A GitLab CI job's variables (a branch pipeline), with the simulator as the platform.
fn gitlab_job(cmd: &mut Command, api: &str, sim: &Sim) {
    cmd.env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("CI_API_V4_URL", api)
        .env("CI_SERVER_URL", "https://gitlab.example.com")
        .env("CI_PROJECT_ID", "42")
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("CI_COMMIT_REF_NAME", "main")
        .env("CI_PIPELINE_ID", "5001")
        .env("CI_JOB_NAME", "deploy")
        .env("CI_JOB_TOKEN", "glcbt-64_job-token-value")
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging");
}

#[test]
fn probe_in_gitlab_with_only_the_job_token_says_the_api_scope_token_is_missing() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGitlab::start();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut cmd = work.ferry();
    cmd.args(["check", "--probe"]);
    gitlab_job(&mut cmd, &fake.api_url(), &sim);
    let r = run(&mut cmd);
    r.assert_code(2);
    assert!(
        r.stdout.contains(
            "missing     GitLab token (api scope): missing: a project access token with the api scope in FERRY_TOKEN"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("fix: create a project access token"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("glcbt-64_job-token-value"));
    // The plan says the same, and where the dotenv report goes.
    let mut plan = work.ferry();
    plan.arg("check");
    gitlab_job(&mut plan, &fake.api_url(), &sim);
    let plan = run(&mut plan);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("  - GitLab: nothing (only CI_JOB_TOKEN is available"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("  - the dotenv report ferry.env (FERRY_URL, FERRY_STATUS, …)"),
        "{}",
        plan.stdout
    );
    // The job token is judged without a request.
    assert_eq!(fake.calls(), 0);
    nothing_triggered(&sim);
}

#[test]
fn probe_in_gitlab_reads_the_token_s_scopes() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGitlab::start();
    fake.user("glpat-with-api", 7, "ferry-bot")
        .user("glpat-read-only", 8, "reader")
        .scopes("glpat-read-only", &["read_api", "read_repository"]);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let probe = |token: &str| {
        let mut cmd = work.ferry();
        cmd.args(["check", "--probe"]).env("FERRY_TOKEN", token);
        gitlab_job(&mut cmd, &fake.api_url(), &sim);
        run(&mut cmd)
    };
    let ok = probe("glpat-with-api");
    ok.assert_code(0);
    assert!(
        ok.stdout
            .contains("ok          GitLab token (api scope): the token is accepted; scopes: api"),
        "{}",
        ok.stdout
    );
    let lacking = probe("glpat-read-only");
    lacking.assert_code(2);
    assert!(
        lacking
            .stdout
            .contains("the token lacks the api scope (scopes: read_api, read_repository)"),
        "{}",
        lacking.stdout
    );
    let refused = probe("glpat-revoked");
    refused.assert_code(2);
    assert!(
        refused.stdout.contains("GitLab refused the token"),
        "{}",
        refused.stdout
    );
    assert_eq!(fake.count("GET", "/personal_access_tokens/self"), 3);
    fake.assert_clean();
    nothing_triggered(&sim);
}

/// A GitHub Actions push job's variables, with the fake GitHub and the simulator.
fn github_job(cmd: &mut Command, fake: &FakeGithub, sim: &Sim, token: &str) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github");
    cmd.env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", fixtures.join("push-branch.json"))
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_SHA", "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
        .env("GITHUB_REF", "refs/heads/simple-tag")
        .env("GITHUB_REF_NAME", "simple-tag")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_API_URL", fake.api_url())
        .env("GITHUB_RUN_ID", "1658821493")
        .env("INPUT_TOKEN", token)
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging");
}

#[test]
fn probe_in_github_names_a_refused_token() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGithub::start();
    fake.refused_token("ghp_revokedrevokedrevokedrevokedrevoked");
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut cmd = work.ferry();
    cmd.args(["check", "--probe"]);
    github_job(
        &mut cmd,
        &fake,
        &sim,
        "ghp_revokedrevokedrevokedrevokedrevoked",
    );
    let r = run(&mut cmd);
    r.assert_code(2);
    assert!(
        r.stdout.contains(&format!(
            "missing     GitHub token: GitHub refused the token: GET /repos/{REPO} answered HTTP 401"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("fix: set a current token in FERRY_TOKEN"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("ghp_revoked"), "{}", r.stdout);
    assert!(fake.requests().iter().all(|q| q.method == "GET"));
    nothing_triggered(&sim);
}

#[test]
fn probe_in_github_tells_what_the_token_may_write() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGithub::start();
    fake.user_token("ghp_writerwriterwriterwriterwriterwrite", "octocat")
        .bot_token("ghs_botbotbotbotbotbotbotbotbotbotbotb")
        .classic_token(
            "ghp_classicclassicclassicclassicclassic",
            "octocat",
            "repo:status, read:org",
        );
    let work = Workdir::with_config(SIMULATOR_TOML);
    let probe = |token: &str| {
        let mut cmd = work.ferry();
        cmd.args(["check", "--probe"]);
        github_job(&mut cmd, &fake, &sim, token);
        run(&mut cmd)
    };
    let user = probe("ghp_writerwriterwriterwriterwriterwrite");
    user.assert_code(0);
    assert!(
        user.stdout.contains(&format!(
            "ok          GitHub token: GET /repos/{REPO}: the token is accepted and the repository is reachable"
        )),
        "{}",
        user.stdout
    );
    for need in [
        "statuses: write",
        "deployments: write",
        "pull-requests: write",
    ] {
        assert!(
            user.stdout.contains(&format!(
                "ok          GitHub {need}: the token's user may push"
            )),
            "{need}: {}",
            user.stdout
        );
    }
    // An installation token's permissions show only when a write is refused: said honestly.
    let bot = probe("ghs_botbotbotbotbotbotbotbotbotbotbotb");
    bot.assert_code(0);
    assert!(
        bot.stdout.contains("cannot tell GitHub statuses: write"),
        "{}",
        bot.stdout
    );
    assert!(
        bot.stdout
            .contains("fix: make sure the job lists `permissions:` statuses: write"),
        "{}",
        bot.stdout
    );
    // A classic token is bounded by its scopes, whatever its user may do.
    let classic = probe("ghp_classicclassicclassicclassicclassic");
    classic.assert_code(2);
    assert!(
        classic.stdout.contains(
            "ok          GitHub statuses: write: the classic token's scopes: repo:status, read:org"
        ),
        "{}",
        classic.stdout
    );
    assert!(
        classic.stdout.contains(
            "missing     GitHub pull-requests: write: the classic token's scopes (repo:status, read:org) do not include it"
        ),
        "{}",
        classic.stdout
    );
    assert!(
        classic.stdout.contains("fix: grant pull-requests: write"),
        "{}",
        classic.stdout
    );
    assert!(fake.requests().iter().all(|q| q.method == "GET"));
    fake.assert_clean();
    nothing_triggered(&sim);
}

/// `ferry check <args>` on the Jenkins of the Jenkins tests (job `team/shop`), with `token`.
fn jenkins_check(sim: &Sim, token: &str, args: &[&str]) -> crate::support::Run {
    let work = Workdir::with_config(&crate::jenkins::config(
        "team/shop",
        "[deploy]\nplatform = \"ci\"\njob = \"team/shop-deploy\"\n",
    ));
    run(work
        .ferry()
        .arg("check")
        .args(args)
        .env("JENKINS_URL", sim.url())
        .env("JENKINS_TOKEN", token)
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567"))
}

#[test]
fn jenkins_plan_and_probe_read_the_job_and_trigger_nothing() {
    let sim = Sim::start(crate::jenkins::script());
    let plan = jenkins_check(&sim, crate::jenkins::TOKEN, &[]);
    plan.assert_code(0);
    let url = sim.url();
    let url = url.trim_end_matches('/');
    assert!(
        plan.stdout.contains(&format!(
            "trigger  POST   {url}/job/team/job/shop/buildWithParameters?"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("status   GET    {{ build url }}api/json"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "waits for: the queue item to become a build, then building = false: success SUCCESS;"
        ),
        "{}",
        plan.stdout
    );
    assert!(sim.requests().is_empty(), "{:#?}", sim.requests());
    let ok = jenkins_check(&sim, crate::jenkins::TOKEN, &["--probe"]);
    ok.assert_code(0);
    assert!(
        ok.stdout.starts_with(&format!(
            "ok          jenkins (127.0.0.1): job for [build]: GET {url}/job/team/job/shop/api/json answered"
        )),
        "{}",
        ok.stdout
    );
    let refused = jenkins_check(&sim, "not-the-api-token", &["--probe"]);
    refused.assert_code(2);
    assert!(
        refused.stdout.starts_with("missing     jenkins"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("JENKINS_TOKEN"),
        "{}",
        refused.stdout
    );
    assert!(refused.stdout.contains("HTTP 401"), "{}", refused.stdout);
    assert!(!refused.stdout.contains("not-the-api-token"));
    assert!(
        ok.stdout.contains("job for [deploy]: GET ")
            && ok
                .stdout
                .contains("/job/team/job/shop-deploy/api/json answered"),
        "{}",
        ok.stdout
    );
    let requests = sim.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.path.ends_with("/api/json"))
    );
    nothing_triggered(&sim);
}

#[test]
fn argocd_probe_reads_the_application_and_names_one_that_does_not_exist() {
    let sim = Sim::start(crate::argocd::script());
    let probe = |application: &str| {
        let work = Workdir::with_config(&crate::argocd::config("").replace(
            "application = \"shop\"",
            &format!("application = \"{application}\""),
        ));
        run(work
            .ferry()
            .args(["check", "--probe"])
            .env("ARGOCD_URL", sim.url())
            .env("ARGOCD_TOKEN", crate::argocd::ARGO_TOKEN)
            .env("FERRY_ENVIRONMENT", "production")
            .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567"))
    };
    let ok = probe("shop");
    ok.assert_code(0);
    assert!(
        ok.stdout.contains("application for [deploy]: GET ")
            && ok.stdout.contains("/api/v1/applications/shop answered: the token is accepted and application \"shop\" exists"),
        "{}",
        ok.stdout
    );
    let unknown = probe("shopp");
    unknown.assert_code(2);
    assert!(
        unknown.stdout.starts_with("missing     argocd"),
        "{}",
        unknown.stdout
    );
    assert!(unknown.stdout.contains("fix:"), "{}", unknown.stdout);
    assert!(!unknown.stdout.contains(crate::argocd::ARGO_TOKEN));
    nothing_triggered(&sim);
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn check_in_a_github_job_says_what_is_reported_where() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGithub::start();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut cmd = work.ferry();
    cmd.arg("check")
        .env("GITHUB_STEP_SUMMARY", work.path().join("summary.md"))
        .env("GITHUB_OUTPUT", work.path().join("output.txt"));
    github_job(
        &mut cmd,
        &fake,
        &sim,
        "ghs_anytokenanytokenanytokenanytoken00",
    );
    let r = run(&mut cmd);
    r.assert_code(0);
    let reports = r.stdout.split("reports:\n").nth(1).unwrap_or_default();
    for line in [
        "  - GitHub: commit status `ferry/staging` on 6113728f27ae",
        "  - GitHub: a deployment to environment `staging`",
        "  - GitHub: the sticky pull-request comment, when the commit has a pull request",
        "  - GitHub Actions: the job summary (GITHUB_STEP_SUMMARY)",
        "  - GitHub Actions: step outputs url, status, … (GITHUB_OUTPUT)",
    ] {
        assert!(
            reports.contains(line),
            "{line:?} missing from:\n{}",
            r.stdout
        );
    }
    // Said, not done: no request to GitHub, no file written.
    assert_eq!(fake.calls(), 0);
    assert!(!work.path().join("summary.md").exists());
    assert!(sim.requests().is_empty());
}

/// One preset's probe: its name, where the sim serves its dialect, the id's `[vars]` key, the id
/// the sim knows, and the check of a request against the platform's official description.
struct Preset {
    name: &'static str,
    display: &'static str,
    mount: &'static str,
    key: &'static str,
    id: &'static str,
    follows: fn(&ferry::sim::RecordedRequest) -> Vec<String>,
}

fn presets() -> [Preset; 4] {
    use crate::support::hosted_api::{
        heroku_schema, hyper_schema_request, netlify_swagger, swagger2_request,
    };
    use crate::support::openapi3;
    [
        Preset {
            name: "heroku",
            display: "Heroku",
            mount: "/heroku",
            key: "app",
            id: "demo-app",
            follows: |r| {
                hyper_schema_request(heroku_schema(), r, "/heroku")
                    .err()
                    .into_iter()
                    .collect()
            },
        },
        Preset {
            name: "render",
            display: "Render",
            mount: "/render/v1",
            key: "service",
            id: "srv-sim00000000000000001",
            follows: |r| openapi3::render().check_recorded("/render", r),
        },
        Preset {
            name: "netlify",
            display: "Netlify",
            mount: "/netlify/api/v1",
            key: "site",
            id: "demo-site",
            follows: |r| {
                swagger2_request(netlify_swagger(), r, "/netlify")
                    .err()
                    .into_iter()
                    .collect()
            },
        },
        Preset {
            name: "digitalocean",
            display: "DigitalOcean App Platform",
            mount: "/digitalocean",
            key: "app_id",
            id: "5a1d0c3e-0000-4000-8000-000000000001",
            follows: |r| openapi3::digitalocean().check_recorded("/digitalocean", r),
        },
    ]
}

#[test]
fn each_preset_s_probe_is_its_platform_s_read_request_as_described_officially() {
    let sim = heroku_sim();
    for p in presets() {
        let probe = |id: &str, token: &str| {
            let work = Workdir::with_config(&format!(
                "[platform]\npreset = \"{}\"\n\n[vars]\n{} = \"{id}\"\n",
                p.name, p.key
            ));
            run(work
                .ferry()
                .args(["check", "--probe"])
                .env("FERRY_PLATFORM_URL", format!("{}{}", sim.url(), p.mount))
                .env("FERRY_PLATFORM_TOKEN", token)
                .env("FERRY_ENVIRONMENT", "production"))
        };
        let ok = probe(p.id, HEROKU_TOKEN);
        assert_eq!(ok.code, 0, "{}: {}{}", p.name, ok.stdout, ok.stderr);
        assert!(
            ok.stdout.starts_with(&format!(
                "ok          {}: reachable, credential accepted, app exists: GET ",
                p.display
            )),
            "{}: {}",
            p.name,
            ok.stdout
        );
        let unknown = probe("no-such-id", HEROKU_TOKEN);
        assert_eq!(unknown.code, 2, "{}: {}", p.name, unknown.stdout);
        assert!(
            unknown
                .stdout
                .contains("answered HTTP 404: the app does not exist"),
            "{}: {}",
            p.name,
            unknown.stdout
        );
        let refused = probe(p.id, "a-stale-token");
        assert_eq!(refused.code, 2, "{}: {}", p.name, refused.stdout);
        assert!(
            refused.stdout.contains("platform_token") && refused.stdout.contains("HTTP 401"),
            "{}: {}",
            p.name,
            refused.stdout
        );
    }
    let requests = sim.requests();
    assert_eq!(requests.len(), 12, "{requests:#?}");
    for r in &requests {
        assert_eq!(r.method, "GET", "{r:#?}");
        let preset = presets()
            .into_iter()
            .find(|p| {
                r.path.starts_with(
                    p.mount
                        .split('/')
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("/")
                        .as_str(),
                )
            })
            .unwrap();
        let problems = (preset.follows)(r);
        assert!(problems.is_empty(), "{} {}: {problems:?}", r.method, r.path);
    }
    nothing_triggered(&sim);
}
