//! The GitHub reporter end to end: the real binary, the simulated platform, and a stateful fake
//! GitHub that checks every request against GitHub's OpenAPI description.

use serde_json::json;

use crate::support::fake_github::openapi;

#[test]
fn github_openapi_check_refuses_what_the_description_refuses() {
    let ok = openapi::check(
        "POST",
        "/repos/o/r/statuses/abc",
        &[],
        Some("application/json"),
        json!({"state": "pending", "context": "ferry/x", "description": "d", "target_url": null})
            .to_string()
            .as_bytes(),
    );
    assert!(ok.is_empty(), "{ok:?}");
    let bad_state = openapi::check(
        "POST",
        "/repos/o/r/statuses/abc",
        &[],
        Some("application/json"),
        json!({"state": "in_progress"}).to_string().as_bytes(),
    );
    assert_eq!(bad_state.len(), 1, "{bad_state:?}");
    let typo = openapi::check(
        "POST",
        "/repos/o/r/deployments",
        &[],
        Some("application/json"),
        json!({"ref": "abc", "auto_marge": false})
            .to_string()
            .as_bytes(),
    );
    assert!(typo.iter().any(|p| p.contains("auto_marge")), "{typo:?}");
    let query = openapi::check(
        "GET",
        "/repos/o/r/issues/2/comments",
        &[("per_page".into(), "many".into())],
        None,
        b"",
    );
    assert!(query.iter().any(|p| p.contains("per_page")), "{query:?}");
    let unknown = openapi::check("GET", "/repos/o/r/hooks", &[], None, b"");
    assert_eq!(unknown.len(), 1);
    // The fake's answers are checked too: an invented shape is refused.
    let template = "/repos/{owner}/{repo}/issues/comments/{comment_id}";
    let mut answer = openapi::example("GET", template, 200);
    assert!(openapi::check_response("GET", template, 200, &answer).is_empty());
    answer["id"] = json!("not a number");
    answer["user"] = json!({"login": "x"});
    assert!(openapi::check_response("GET", template, 200, &answer).len() >= 2);
}

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::sim::{Outcome, Script};
use serde_json::Value;

use crate::support::fake_github::{FakeGithub, REPO};
use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run, run_timed};

/// The head of pull request #2 in the webhook examples (`pull_request-opened.json`).
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
/// `GITHUB_SHA` of the `push-branch` example.
const PUSH_SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const BOT_TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const USER_TOKEN: &str = "ghp_R4nd0mP3rs0n4lT0k3nV4lu3xxxxxxxxxxxx";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github")
}

/// `github/base.env` + `github/<case>.env`, the event path made absolute.
fn actions_env(case: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for file in ["base.env", &format!("{case}.env")] {
        let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
        for line in text.lines().map(str::trim_end) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once('=').unwrap();
            let v = if k == "GITHUB_EVENT_PATH" {
                fixtures().join(v).to_string_lossy().into_owned()
            } else {
                v.to_owned()
            };
            vars.push((k.to_owned(), v));
        }
    }
    vars
}

/// One GitHub Actions job: the fake GitHub, the simulated platform, a working directory with
/// the simulator's `ferry.toml`, and the job's environment.
struct Job {
    fake: FakeGithub,
    sim: Sim,
    work: Workdir,
    env: Vec<(String, String)>,
}

impl Job {
    fn new(case: &str) -> Self {
        Self::with(case, FakeGithub::start(), Script::fast())
    }

    fn with(case: &str, fake: FakeGithub, script: Script) -> Self {
        fake.bot_token(BOT_TOKEN);
        Self {
            fake,
            sim: Sim::start(script),
            work: Workdir::with_config(SIMULATOR_TOML),
            env: actions_env(case),
        }
    }

    /// Replaces the event payload with a real one after a small edit (a case no example covers).
    fn edit_event(&mut self, edit: impl FnOnce(&mut Value)) {
        let path = &self
            .env
            .iter()
            .find(|(k, _)| k == "GITHUB_EVENT_PATH")
            .unwrap()
            .1;
        let mut payload: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        edit(&mut payload);
        let out = self.work.write("event.json", &payload.to_string());
        self.set("GITHUB_EVENT_PATH", out.to_str().unwrap());
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// `ferry <args> --json` in the job, deploying to `environment` with `token`.
    fn command(&self, args: &[&str], environment: &str, token: Option<&str>) -> Command {
        let mut cmd = self.work.ferry();
        cmd.args(args)
            .arg("--json")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("GITHUB_API_URL", self.fake.api_url())
            .env("GITHUB_STEP_SUMMARY", self.work.path().join("summary.md"))
            .env("GITHUB_OUTPUT", self.work.path().join("output.txt"))
            .env("FERRY_PLATFORM_URL", self.sim.url())
            .env("FERRY_ENVIRONMENT", environment);
        if let Some(token) = token {
            cmd.env("INPUT_TOKEN", token);
        }
        cmd
    }

    fn deploy(&self, environment: &str) -> Run {
        run(&mut self.command(&["deploy"], environment, Some(BOT_TOKEN)))
    }

    fn summary(&self) -> String {
        self.work.read("summary.md")
    }

    /// `$GITHUB_OUTPUT` parsed (heredoc values).
    fn outputs(&self) -> Vec<(String, String)> {
        let text = self.work.read("output.txt");
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (name, delim) = line.split_once("<<").unwrap();
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
            out.push((name.to_owned(), value.join("\n")));
        }
        out
    }

    fn output(&self, name: &str) -> String {
        self.outputs()
            .into_iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
}

#[test]
fn github_pr_deploy_reports_everything_within_8_calls() {
    let job = Job::new("pull_request-opened");
    let r = job.deploy("review-2");
    r.assert_code(0);
    let url = r.json()["url"].as_str().unwrap().to_owned();

    // Commit status on the head (never the merge commit), pending then success, linking the app.
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/review-2"),
        ["pending", "success"]
    );
    let last = job.fake.last_status(PR_HEAD);
    assert_eq!(last["target_url"], url.as_str());
    assert!(
        last["description"]
            .as_str()
            .unwrap()
            .starts_with("Deployed to review-2 in ")
    );
    // One deployment of the head, transient, no auto-merge, no required contexts.
    let deployments = job.fake.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.body["ref"], PR_HEAD);
    assert_eq!(d.body["environment"], "review-2");
    assert_eq!(d.body["auto_merge"], false);
    assert_eq!(d.body["required_contexts"], json!([]));
    assert_eq!(d.body["transient_environment"], true);
    let states: Vec<&str> = d
        .statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(d.statuses[1]["environment_url"], url.as_str());
    assert!(
        d.statuses[1]["log_url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    // One comment, by the bot, with the marker and the row.
    let comments = job.fake.comments(2);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].login, "github-actions[bot]");
    assert!(comments[0].body.starts_with("<!-- ferry:v1 -->"));
    assert!(
        comments[0].body.contains("| **review&#45;2** |")
            || comments[0].body.contains("| **review-2** |")
    );
    // Summary and outputs.
    assert!(
        job.summary().contains("### 🚢 ferry deploy: review-2"),
        "{}",
        job.summary()
    );
    assert_eq!(job.output("url"), url);
    assert_eq!(job.output("status"), "succeeded");
    assert_eq!(job.output("environment"), "review-2");
    assert_eq!(
        job.output("build_id"),
        r.json()["phases"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        job.output("deployment_id"),
        r.json()["phases"][1]["id"].as_str().unwrap()
    );
    assert_eq!(job.output("github_deployment_id"), d.id.to_string());
    // The budget: status, deployment + status, deployment status, status, list, write, read back.
    assert!(
        job.fake.calls() <= 8,
        "{} calls: {:#?}",
        job.fake.calls(),
        job.fake.lines()
    );
    // The token went only in the Authorization header, and nowhere else.
    for req in job.fake.requests() {
        let auth: Vec<&(String, String)> = req
            .headers
            .iter()
            .filter(|(_, v)| v.contains(BOT_TOKEN))
            .collect();
        assert_eq!(auth.len(), 1, "{auth:?}");
        assert_eq!(auth[0].0, "authorization");
        assert!(
            !req.body.contains(BOT_TOKEN)
                && !req.query.contains(BOT_TOKEN)
                && !req.path.contains(BOT_TOKEN)
        );
    }
    for text in [
        &r.stdout,
        &r.stderr,
        &job.summary(),
        &job.work.read("output.txt"),
        &comments[0].body,
    ] {
        assert!(!text.contains(BOT_TOKEN), "token leaked:\n{text}");
    }
}

/// The rows stored in a ferry comment, as (environment, status).
fn rows(body: &str) -> Vec<(String, String)> {
    let state = ferry::testing::CommentBody::parse(body).unwrap_or_default();
    state
        .rows
        .iter()
        .map(|r| (r.environment.clone(), format!("{:?}", r.status)))
        .collect()
}

#[test]
fn github_failed_deploy_reports_failure_with_the_log_tail() {
    let mut script = Script::fast();
    script.deploy.outcome = Outcome::Failure;
    let job = Job::with("pull_request-opened", FakeGithub::start(), script);
    let r = job.deploy("staging");
    r.assert_code(1);
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "failure"]
    );
    let d = &job.fake.deployments()[0];
    assert_eq!(d.body["transient_environment"], false);
    assert_eq!(d.statuses.last().unwrap()["state"], "failure");
    let body = &job.fake.comments(2)[0].body;
    assert_eq!(rows(body), [("staging".to_owned(), "Failed".to_owned())]);
    assert!(
        body.contains("<details><summary>❌ <b>staging</b>"),
        "{body}"
    );
    assert!(body.contains("```text\n"), "{body}");
    assert!(body.contains("error: step failed"), "{body}");
    assert!(body.len() <= 65_536);
    // Outputs are written for a failed run too.
    assert_eq!(job.output("status"), "failed");
    assert_eq!(job.output("url"), "");
    assert!(job.summary().contains("❌"), "{}", job.summary());
    // The log has the failure annotation (the console's) and the summary says it.
    assert!(
        r.stderr.contains("::error title=ferry deploy failed::"),
        "{}",
        r.stderr
    );
}

#[test]
fn github_fork_pull_request_with_a_read_only_token_degrades_to_summary_and_outputs() {
    let mut job = Job::new("pull_request-opened");
    // No example is a fork: the same payload, its head repository renamed.
    job.edit_event(|p| {
        p["pull_request"]["head"]["repo"]["full_name"] = json!("forker/Hello-World");
    });
    job.fake
        .read_only_token("ghs_readonly0000000000000000000000000000");
    // A fork's run gets no secrets: this platform takes no credential, and says so (without
    // `auth = "none"` ferry refuses to send without one; `action.rs` checks that refusal).
    job.work.write(
        "ferry.toml",
        &SIMULATOR_TOML.replace("# auth = \"bearer\"", "auth = \"none\" #"),
    );
    let r = run(&mut job.command(
        &["deploy"],
        "review-2",
        Some("ghs_readonly0000000000000000000000000000"),
    ));
    r.assert_code(0);
    // One refused write, then nothing more was tried.
    let writes: Vec<String> = job
        .fake
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("GET"))
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(job.fake.comments(2).is_empty());
    // One clear notice naming the permissions, and the summary and outputs are there.
    let notices: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("read-only"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", r.stderr);
    for permission in [
        "statuses: write",
        "deployments: write",
        "pull-requests: write",
    ] {
        assert!(notices[0].contains(permission), "{}", notices[0]);
    }
    assert!(job.summary().contains("### 🚢 ferry deploy: review-2"));
    assert!(
        job.summary()
            .contains("Not everything was reported to GitHub")
    );
    assert_eq!(job.output("status"), "succeeded");
    // With fail_on_report_error, the same run fails with the report exit code.
    let r = run(&mut job.command(
        &["deploy", "--fail-on-report-error"],
        "review-2",
        Some("ghs_readonly0000000000000000000000000000"),
    ));
    r.assert_code(5);
}

#[test]
fn github_a_slow_github_never_holds_the_console_or_the_engine() {
    // Each GitHub answer takes LATENCY: `pending` is posted when the build starts, `success` at
    // the end. The platform's whole run and the console's last line must not wait for either.
    const LATENCY: std::time::Duration = std::time::Duration::from_secs(2);
    let job = Job::new("pull_request-opened");
    job.fake.latency(LATENCY);
    let mut cmd = job.command(
        &["deploy", "--deployments", "off", "--comment", "off"],
        "staging",
        Some(BOT_TOKEN),
    );
    let started = std::time::Instant::now();
    let (r, lines) = run_timed(&mut cmd);
    let took = started.elapsed();
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    let at = |text: &str| {
        lines.iter().find(|(_, l)| l.contains(text)).map_or_else(
            || panic!("no line with {text:?}:\n{}", r.stderr),
            |(t, _)| *t,
        )
    };
    for text in ["routing traffic", "staging deployed to"] {
        assert!(at(text) < LATENCY, "{text:?} waited for GitHub: {lines:#?}");
    }
    assert!(took >= 2 * LATENCY, "{took:?}");
    assert!(took < 4 * LATENCY, "{took:?}");
    // The files do not wait for a token or an answer either; they are written at the end.
    assert_eq!(job.output("status"), "succeeded");
}

#[test]
fn github_without_a_token_writes_summary_and_outputs_and_says_so_once() {
    let job = Job::new("pull_request-opened");
    let r = run(&mut job.command(&["deploy"], "staging", None));
    r.assert_code(0);
    assert_eq!(job.fake.calls(), 0);
    let notices: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("missing setting `token`"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", r.stderr);
    assert!(notices[0].contains("github.token"), "{}", notices[0]);
    assert!(job.summary().contains("ferry deploy: staging"));
    assert_eq!(job.output("status"), "succeeded");
}

#[test]
fn github_without_a_token_is_a_notice_and_the_files_need_no_api() {
    let job = Job::new("pull_request-opened");
    // Nothing could be tried, so nothing failed: the exit code stays the deploy's.
    let r = run(&mut job.command(&["deploy", "--fail-on-report-error"], "staging", None));
    r.assert_code(0);
    assert_eq!(job.fake.calls(), 0);
    let notice = r
        .stderr
        .lines()
        .find(|l| l.starts_with("::notice title=ferry::GitHub: no token was given"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(
        notice.contains(
            "so ferry skipped the commit status, the deployment and the pull-request comment; fix: "
        ),
        "{notice}"
    );
    assert!(!r.stderr.contains("::warning title=ferry"), "{}", r.stderr);
    assert_eq!(job.output("status"), "succeeded");
    assert_eq!(job.output("github_deployment_id"), "");
    assert!(
        job.summary()
            .contains("Not everything was reported to GitHub: see the notice in the job log."),
        "{}",
        job.summary()
    );
}

#[test]
fn github_comment_on_page_3_is_found_and_a_look_alike_on_page_1_is_left_alone() {
    let job = Job::new("pull_request-opened");
    job.fake.user_token(USER_TOKEN, "octocat");
    let look_alike = "<!-- ferry:v1 -->\n### 🚢 Deployments\nI copied the marker";
    let foreign = job.fake.comment_by(2, "mallory", look_alike);
    for i in 0..150 {
        job.fake.comment_by(2, "someone", &format!("comment {i}"));
    }
    job.fake.comment_by(
        2,
        "github-actions[bot]",
        "<!-- ferry:v1 -->\nanother bot's old table",
    );
    for i in 0..55 {
        job.fake.comment_by(2, "someone", &format!("more {i}"));
    }
    // ferry's own comment (octocat), from an earlier run for another environment, on page 3.
    let earlier = Job::new("pull_request-opened");
    earlier.fake.user_token(USER_TOKEN, "octocat");
    run(&mut earlier.command(&["deploy"], "staging", Some(USER_TOKEN))).assert_code(0);
    let own_body = earlier.fake.comments(2)[0].body.clone();
    let own = job.fake.comment_by(2, "octocat", &own_body);
    for i in 0..3 {
        job.fake.comment_by(2, "someone", &format!("last {i}"));
    }
    let before = job.fake.comments(2);

    let r = run(&mut job.command(&["deploy"], "review-2", Some(USER_TOKEN)));
    r.assert_code(0);
    let after = job.fake.comments(2);
    assert_eq!(after.len(), before.len(), "no comment added or removed");
    for (b, a) in before.iter().zip(&after) {
        if a.id != own {
            assert_eq!(
                a.body, b.body,
                "comment {} by {} was touched",
                a.id, a.login
            );
        }
    }
    assert_eq!(job.fake.comment(foreign).unwrap().body, look_alike);
    let mine = job.fake.comment(own).unwrap();
    assert_eq!(
        rows(&mine.body),
        [
            ("staging".to_owned(), "Ready".to_owned()),
            ("review-2".to_owned(), "Ready".to_owned())
        ]
    );
    // All three pages were read, and only ferry's comment was written.
    let pages: Vec<String> = job
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/issues/2/comments"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        pages,
        [
            "per_page=100&page=1",
            "per_page=100&page=2",
            "per_page=100&page=3"
        ]
    );
    let writes: Vec<String> = job
        .fake
        .lines()
        .into_iter()
        .filter(|l| l.contains("/issues/comments/"))
        .filter(|l| !l.starts_with("GET"))
        .collect();
    assert_eq!(
        writes,
        [format!("PATCH /repos/{REPO}/issues/comments/{own}")]
    );
}

#[test]
fn github_five_environments_deployed_at_once_share_one_comment_with_five_rows() {
    let job = Job::new("pull_request-opened");
    job.fake
        .slow_comment_writes(std::time::Duration::from_millis(50));
    let deploy_all = |envs: &[&str]| {
        let children: Vec<_> = envs
            .iter()
            .map(|env| {
                let mut cmd = job.command(&["deploy"], env, Some(BOT_TOKEN));
                cmd.env(
                    "GITHUB_STEP_SUMMARY",
                    job.work.path().join(format!("summary-{env}.md")),
                )
                .env(
                    "GITHUB_OUTPUT",
                    job.work.path().join(format!("output-{env}.txt")),
                );
                crate::support::spawn(&mut cmd)
            })
            .collect();
        for child in children {
            Run::of(&child.wait_with_output().unwrap()).assert_code(0);
        }
        let comments = job.fake.comments(2);
        assert_eq!(comments.len(), 1, "{comments:#?}");
        let mut got: Vec<String> = rows(&comments[0].body)
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        got.sort();
        got
    };
    // All five create the comment at once: one survives, with every row.
    let first = ["review-2", "staging", "qa", "preview-docs", "perf"];
    assert_eq!(
        deploy_all(&first),
        ["perf", "preview-docs", "qa", "review-2", "staging"]
    );
    // Five more update it at once: no row is lost.
    let second = ["e1", "e2", "e3", "e4", "e5"];
    let got = deploy_all(&second);
    assert_eq!(got.len(), 10, "{got:?}");
}

#[test]
fn github_secondary_rate_limit_mid_run_is_waited_out() {
    let job = Job::new("pull_request-opened");
    // The final commit status (the second POST on /statuses/) is refused once, retry after 1 s.
    job.fake.secondary_rate_limit("POST", "/statuses/", 2, 1);
    let started = std::time::Instant::now();
    let r = job.deploy("staging");
    r.assert_code(0);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    assert!(
        !r.stderr.contains("::warning title=ferry::github"),
        "{}",
        r.stderr
    );
    // Sent again once, and only that one.
    let posts = job
        .fake
        .lines()
        .iter()
        .filter(|l| l.contains("/statuses/ec26"))
        .count();
    assert_eq!(posts, 3);
}

#[test]
fn github_primary_rate_limit_gives_up_with_a_warning_and_keeps_the_exit_code() {
    let job = Job::new("pull_request-opened");
    job.fake.primary_rate_limit("GET", "/comments", 1);
    let started = std::time::Instant::now();
    let r = job.deploy("staging");
    r.assert_code(0);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(
        r.stderr.contains("::warning title=ferry::github failed"),
        "{}",
        r.stderr
    );
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("::warning title=ferry::github"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains("primary rate limit"),
        "{}",
        warnings[0]
    );
    assert!(!warnings[0].contains("permission"), "{}", warnings[0]);
    // No second try of the refused list.
    let lists = job
        .fake
        .lines()
        .iter()
        .filter(|l| l.ends_with("/issues/2/comments") && l.starts_with("GET"))
        .count();
    assert_eq!(lists, 1);
    assert!(job.summary().contains("ferry deploy: staging"));
}

#[test]
fn github_enterprise_server_base_url_is_used_as_given() {
    let job = Job::with(
        "pull_request-opened",
        FakeGithub::start_ghes(),
        Script::fast(),
    );
    assert!(job.fake.api_url().ends_with("/api/v3"));
    let r = job.deploy("staging");
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(2).len(), 1);
}

#[test]
fn github_push_to_a_branch_with_an_open_pull_request_comments_on_it() {
    let job = Job::new("push-branch");
    job.fake.open_pull(7, PUSH_SHA, "master");
    let r = job.deploy("staging");
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PUSH_SHA, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.deployments()[0].body["ref"], PUSH_SHA);
    assert_eq!(job.fake.comments(7).len(), 1);
    assert!(
        job.fake
            .lines()
            .contains(&format!("GET /repos/{REPO}/commits/{PUSH_SHA}/pulls"))
    );
    // One lookup on top of a pull-request deploy's calls.
    assert!(job.fake.calls() <= 9, "{:#?}", job.fake.lines());
}

#[test]
fn github_push_without_a_pull_request_skips_the_comment_and_says_so_once() {
    let job = Job::new("push-branch");
    let r = job.deploy("staging");
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PUSH_SHA, "ferry/staging"),
        ["pending", "success"]
    );
    assert!(!job.fake.lines().iter().any(|l| l.contains("/comments")));
    assert_eq!(
        r.stderr.matches("No pull request is associated").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("::warning title=ferry::github"),
        "{}",
        r.stderr
    );
}

#[test]
fn github_issue_comment_on_a_pull_request_reports_on_its_head() {
    let mut job = Job::new("issue_comment-created");
    // The example comments on an issue; on a pull request the issue has a `pull_request` key.
    job.edit_event(|p| {
        p["issue"]["pull_request"] =
            json!({"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"});
    });
    let number = {
        let path = &job
            .env
            .iter()
            .find(|(k, _)| k == "GITHUB_EVENT_PATH")
            .unwrap()
            .1;
        let p: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        p["issue"]["number"].as_u64().unwrap()
    };
    job.fake.open_pull(number, PR_HEAD, "changes");
    let r = job.deploy("staging");
    r.assert_code(0);
    assert!(
        job.fake
            .lines()
            .contains(&format!("GET /repos/{REPO}/pulls/{number}"))
    );
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(number).len(), 1);
}

#[test]
fn github_pr_number_and_sha_settings_win() {
    let job = Job::new("push-branch");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let r = run(&mut job.command(
        &["deploy", "--pr-number", "5", "--sha", sha],
        "staging",
        Some(BOT_TOKEN),
    ));
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(sha, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(5).len(), 1);
    assert!(
        !job.fake.lines().iter().any(|l| l.contains("/pulls")),
        "no lookup needed"
    );
}

#[test]
fn github_deployments_off_and_a_custom_status_context() {
    let job = Job::new("pull_request-opened");
    let r = run(&mut job.command(
        &[
            "deploy",
            "--deployments",
            "off",
            "--status-context",
            "deploy/shop",
        ],
        "staging",
        Some(BOT_TOKEN),
    ));
    r.assert_code(0);
    assert!(job.fake.deployments().is_empty());
    assert_eq!(
        job.fake.status_states(PR_HEAD, "deploy/shop"),
        ["pending", "success"]
    );
}

#[test]
fn github_stop_marks_the_environments_deployments_inactive() {
    let job = Job::new("pull_request-opened");
    job.deploy("review-2").assert_code(0);
    let r = run(&mut job.command(&["stop"], "review-2", Some(BOT_TOKEN)));
    r.assert_code(0);
    let d = &job.fake.deployments()[0];
    assert_eq!(d.statuses.last().unwrap()["state"], "inactive");
    let body = &job.fake.comments(2)[0].body;
    assert_eq!(rows(body), [("review-2".to_owned(), "Stopped".to_owned())]);
}

#[test]
fn github_personal_token_and_bot_token_without_statuses_find_their_identity() {
    // A personal token: GET /user works, but the status creator already told ferry who it is.
    let job = Job::new("pull_request-opened");
    job.fake.user_token(USER_TOKEN, "octocat");
    job.fake.comment_by(
        2,
        "github-actions[bot]",
        "<!-- ferry:v1 -->\nthe bot's table",
    );
    run(&mut job.command(&["deploy"], "staging", Some(USER_TOKEN))).assert_code(0);
    let comments = job.fake.comments(2);
    assert_eq!(comments.len(), 2, "the bot's comment is not octocat's");
    assert_eq!(comments[1].login, "octocat");
    assert!(!job.fake.lines().contains(&"GET /user".to_owned()));

    // GITHUB_TOKEN without `statuses: write`: no creator to learn from, GET /user is refused,
    // and the Actions convention finds the bot's own comment.
    let job = Job::new("pull_request-opened");
    job.fake.html_error("POST", "/statuses/", 403);
    let own = job
        .fake
        .comment_by(2, "github-actions[bot]", "<!-- ferry:v1 -->\nold");
    let r = job.deploy("staging");
    r.assert_code(0);
    assert!(job.fake.lines().contains(&"GET /user".to_owned()));
    assert_eq!(job.fake.comments(2).len(), 1);
    assert_eq!(rows(&job.fake.comment(own).unwrap().body).len(), 1);
    assert!(r.stderr.contains("statuses: write"), "{}", r.stderr);
}

#[test]
fn github_error_body_that_is_not_json_is_reported_clearly() {
    let job = Job::new("pull_request-opened");
    job.fake.html_error("POST", "/deployments", 502);
    let r = job.deploy("staging");
    r.assert_code(0);
    let warning = r
        .stderr
        .lines()
        .find(|l| l.contains("::warning title=ferry::github failed"))
        .unwrap_or_default();
    assert!(warning.contains("HTTP 502"), "{}", r.stderr);
    assert!(warning.contains("(not JSON)"), "{warning}");
    assert!(warning.contains("not sent again"), "{warning}");
    // The deployment was not created twice, and the rest was still reported.
    assert_eq!(
        job.fake
            .lines()
            .iter()
            .filter(|l| l.ends_with("/deployments"))
            .count(),
        1
    );
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(2).len(), 1);
}

#[test]
fn github_malformed_event_payload_still_reports_through_the_pull_request() {
    let job = Job::new("pull_request-opened");
    let broken = job.work.write("broken.json", "{\"pull_request\": ");
    let mut cmd = job.command(&["deploy"], "staging", Some(BOT_TOKEN));
    cmd.env("GITHUB_EVENT_PATH", &broken);
    job.fake.open_pull(2, PR_HEAD, "changes");
    let r = run(&mut cmd);
    r.assert_code(0);
    // The number comes from refs/pull/2/merge; the head from the API.
    assert!(
        job.fake
            .lines()
            .contains(&format!("GET /repos/{REPO}/pulls/2"))
    );
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
}

#[test]
fn github_unknown_event_reports_on_the_commit_without_a_comment() {
    let job = Job::new("push-branch");
    let mut cmd = job.command(&["deploy"], "staging", Some(BOT_TOKEN));
    cmd.env("GITHUB_EVENT_NAME", "brand_new_event");
    let r = run(&mut cmd);
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PUSH_SHA, "ferry/staging"),
        ["pending", "success"]
    );
    assert!(job.fake.comments(7).is_empty());
}

#[test]
fn github_invalid_pr_number_and_sha_are_usage_errors() {
    let job = Job::new("push-branch");
    for (flag, value) in [("--pr-number", "forty-two"), ("--sha", "not-a-sha")] {
        let r = run(&mut job.command(&["deploy", flag, value], "staging", Some(BOT_TOKEN)));
        r.assert_code(2);
        assert!(
            r.stderr.contains(&flag[2..].replace('-', "_")),
            "{}",
            r.stderr
        );
    }
    assert_eq!(job.fake.calls(), 0);
}

#[test]
fn github_merge_group_reports_on_the_group_commit_and_the_queued_pull_request() {
    let mut job = Job::new("merge_group-checks_requested");
    job.set("GITHUB_REPOSITORY", REPO);
    job.deploy("staging").assert_code(0);
    let sha = "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d";
    assert_eq!(
        job.fake.status_states(sha, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(104).len(), 1);
}

#[test]
fn github_workflow_run_of_a_fork_finds_the_pull_request_by_its_head() {
    let mut job = Job::new("workflow_run-completed");
    job.set("GITHUB_REPOSITORY", REPO);
    let sha = "3484a3fb816e0859fd6e1cea078d76385ff50625";
    // A fork's run: GitHub leaves `pull_requests` empty (actions/runner#3444).
    job.edit_event(|p| {
        p["workflow_run"]["event"] = json!("pull_request");
        p["workflow_run"]["pull_requests"] = json!([]);
        p["workflow_run"]["head_repository"]["full_name"] = json!("forker/octo-repo");
    });
    job.fake.open_pull(2, sha, "feature");
    job.deploy("review-2").assert_code(0);
    assert!(
        job.fake
            .lines()
            .contains(&format!("GET /repos/{REPO}/commits/{sha}/pulls"))
    );
    assert_eq!(
        job.fake.status_states(sha, "ferry/review-2"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(2).len(), 1);
}

#[test]
fn github_a_token_read_from_a_file_is_masked_before_anything_else() {
    let job = Job::new("pull_request-opened");
    let file = job.work.write("token", &format!("{BOT_TOKEN}\n"));
    let mut cmd = job.command(&["deploy"], "staging", None);
    cmd.env("FERRY_TOKEN_FILE", &file);
    let r = run(&mut cmd);
    r.assert_code(0);
    assert_eq!(
        r.stderr.lines().next(),
        Some(format!("::add-mask::{BOT_TOKEN}").as_str())
    );
    // Nowhere else.
    assert_eq!(r.stderr.matches(BOT_TOKEN).count(), 1, "{}", r.stderr);
    assert_eq!(job.fake.comments(2).len(), 1);
    // A token the workflow passed in (`github.token`, `secrets.*`) is already masked by GitHub;
    // and no diagnostics level prints it.
    let r = run(&mut job.command(&["-vv", "deploy"], "staging", Some(BOT_TOKEN)));
    r.assert_code(0);
    assert!(!r.stderr.contains("::add-mask::"), "{}", r.stderr);
    assert!(
        r.stderr.contains("GitHub request"),
        "diagnostics are on: {}",
        r.stderr
    );
    assert!(!r.stderr.contains(BOT_TOKEN) && !r.stdout.contains(BOT_TOKEN));
}

/// Run-specific parts (times, durations, ports, the encoded state) replaced, for snapshots.
const FILTERS: [(&str, &str); 6] = [
    (
        r"<!-- ferry:state [A-Za-z0-9_-]+ -->",
        "<!-- ferry:state [state] -->",
    ),
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "[time]"),
    (r"\b\d+m \d{2}s\b|\b\d+(\.\d)?s\b", "[duration]"),
    (r"127\.0\.0\.1:\d+", "[sim]"),
    (r"/actions/runs/\d+", "/actions/runs/[run]"),
    (r"/(builds|deployments)/[bd]-\d+/", "/$1/[id]/"),
];

/// A pull request's comment after two environments, one ready and one failed; and the failed
/// one's job summary.
fn two_environments() -> (String, String) {
    let job = Job::new("pull_request-opened");
    job.deploy("review-2").assert_code(0);
    let mut script = Script::fast();
    script.deploy.outcome = Outcome::Failure;
    let failing = Sim::start(script);
    let mut cmd = job.command(&["deploy"], "staging", Some(BOT_TOKEN));
    cmd.env("FERRY_PLATFORM_URL", failing.url()).env(
        "GITHUB_STEP_SUMMARY",
        job.work.path().join("failed-summary.md"),
    );
    run(&mut cmd).assert_code(1);
    let comments = job.fake.comments(2);
    assert_eq!(comments.len(), 1);
    (comments[0].body.clone(), job.work.read("failed-summary.md"))
}

#[test]
fn github_snapshot_comment_and_summary() {
    let (comment, summary) = two_environments();
    insta::with_settings!({ filters => FILTERS.to_vec() }, {
        insta::assert_snapshot!("github_comment_two_environments", comment);
        insta::assert_snapshot!("github_summary_failed", summary);
    });
}

/// The comment as GitHub shows it: GitHub-flavoured Markdown rendered to HTML, read back as a
/// table of cells. The rendering must keep one row per environment with six cells each, links
/// where links belong, the failed log tail in a collapsed block, and no raw HTML from the log.
#[test]
fn github_comment_renders_as_one_table_with_a_row_per_environment() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
    let (comment, summary) = two_environments();
    for markdown in [&comment, &summary] {
        let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut cell: Option<String> = None;
        // Only the first table (the environments): parsing stops at its end.
        for event in parser {
            match event {
                Event::Start(Tag::TableRow | Tag::TableHead) => rows.push(Vec::new()),
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => {
                    if let (Some(c), Some(row)) = (cell.take(), rows.last_mut()) {
                        row.push(c);
                    }
                }
                Event::End(TagEnd::Table) => break,
                Event::Text(t) | Event::Code(t) => {
                    if let Some(c) = cell.as_mut() {
                        c.push_str(&t);
                    }
                }
                _ => {}
            }
        }
        assert_eq!(
            rows[0],
            [
                "Environment",
                "Status",
                "URL",
                "Commit",
                "Duration",
                "Updated"
            ]
        );
        assert!(rows.iter().all(|r| r.len() == 6), "{rows:#?}");
        let mut html_out = String::new();
        html::push_html(
            &mut html_out,
            Parser::new_ext(markdown, Options::ENABLE_TABLES),
        );
        assert!(html_out.contains("<table>"), "{html_out}");
        assert!(html_out.contains("<a href=\"https://github.com/Codertocat/Hello-World/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821\">"), "{html_out}");
        assert!(!html_out.contains("<script"), "{html_out}");
        if markdown == &comment {
            let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
            assert_eq!(names, ["review-2", "staging"]);
            assert!(rows[1][1].starts_with("✅ Ready"), "{:?}", rows[1]);
            assert!(rows[2][1].starts_with("❌ Failed"), "{:?}", rows[2]);
            assert!(
                html_out.contains("<details><summary>❌ <b>staging</b>"),
                "{html_out}"
            );
            assert!(
                html_out.contains("<pre><code class=\"language-text\">"),
                "{html_out}"
            );
            // The state is an HTML comment: invisible.
            assert!(html_out.contains("<!-- ferry:state "), "{html_out}");
        }
    }
    // A look at it in a browser: the HTML is written next to the test's target directory.
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:6px 13px}</style>",
    );
    html::push_html(&mut page, Parser::new_ext(&comment, Options::ENABLE_TABLES));
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("github-comment.html"),
        page,
    );
}

#[test]
fn github_workflow_dispatch_with_pr_number_reports_on_that_pull_requests_head() {
    let mut job = Job::new("workflow_dispatch");
    job.set("GITHUB_REPOSITORY", REPO);
    job.fake.open_pull(9, PR_HEAD, "feature");
    let r = run(&mut job.command(&["deploy", "--pr-number", "9"], "staging", Some(BOT_TOKEN)));
    r.assert_code(0);
    assert!(
        job.fake
            .lines()
            .contains(&format!("GET /repos/{REPO}/pulls/9"))
    );
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.comments(9).len(), 1);
}

#[test]
fn github_comment_modes_new_and_off() {
    let job = Job::new("pull_request-opened");
    for _ in 0..2 {
        run(&mut job.command(&["deploy", "--comment", "new"], "staging", Some(BOT_TOKEN)))
            .assert_code(0);
    }
    assert_eq!(job.fake.comments(2).len(), 2, "one comment per run");
    run(&mut job.command(&["deploy", "--comment", "off"], "staging", Some(BOT_TOKEN)))
        .assert_code(0);
    assert_eq!(job.fake.comments(2).len(), 2);
    assert_eq!(job.fake.status_states(PR_HEAD, "ferry/staging").len(), 6);
}

#[test]
fn github_outside_github_actions_without_a_token_is_quiet() {
    let job = Job::new("pull_request-opened");
    let mut cmd = job.command(&["deploy"], "staging", None);
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_NAME");
    for (k, _) in &job.env {
        if k.starts_with("GITHUB_") {
            cmd.env_remove(k);
        }
    }
    let r = run(&mut cmd);
    r.assert_code(0);
    assert!(!r.stderr.contains("github"), "{}", r.stderr);
    assert_eq!(job.fake.calls(), 0);
}

#[test]
fn github_rate_limit_at_the_start_stops_all_calls_with_one_warning() {
    let job = Job::new("pull_request-opened");
    job.fake.primary_rate_limit("POST", "/statuses/", 1);
    let r = job.deploy("staging");
    r.assert_code(0);
    assert_eq!(job.fake.calls(), 1, "{:#?}", job.fake.lines());
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("::warning title=ferry::github"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert_eq!(job.output("status"), "succeeded");
}

#[test]
fn github_pull_request_target_reports_on_the_head_not_the_base() {
    let job = Job::new("pull_request_target");
    job.deploy("review-2").assert_code(0);
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/review-2"),
        ["pending", "success"]
    );
    assert_eq!(job.fake.deployments()[0].body["ref"], PR_HEAD);
    assert_eq!(job.fake.comments(2).len(), 1);
}

#[test]
fn github_production_and_auto_inactive_settings_reach_the_deployment() {
    let job = Job::new("pull_request-opened");
    let mut cmd = job.command(&["deploy", "--production", "true"], "live", Some(BOT_TOKEN));
    cmd.env("INPUT_AUTO_INACTIVE", "false");
    run(&mut cmd).assert_code(0);
    let d = &job.fake.deployments()[0];
    assert_eq!(d.body["production_environment"], true);
    assert_eq!(d.body["transient_environment"], false);
    assert!(
        d.statuses.iter().all(|s| s["auto_inactive"] == false),
        "{:?}",
        d.statuses
    );
    // Bad values are refused before anything runs, naming the setting.
    for (flag, value) in [("--deployments", "sometimes"), ("--production", "maybe")] {
        let r = run(&mut job.command(&["deploy", flag, value], "live", Some(BOT_TOKEN)));
        r.assert_code(2);
        assert!(r.stderr.contains(&flag[2..]), "{}", r.stderr);
    }
}

#[test]
fn github_a_safe_request_is_retried_after_a_502_and_a_comment_is_never_posted_twice() {
    let job = Job::new("pull_request-opened");
    // The pending status hits a 502 once: posting a status again changes nothing, so it is.
    job.fake.bad_gateway_once("POST", "/statuses/", 1);
    // Creating the comment hits a 502: GitHub may have created it, so it is not sent again.
    job.fake.bad_gateway_once("POST", "/issues/2/comments", 1);
    let r = job.deploy("staging");
    r.assert_code(0);
    assert_eq!(
        job.fake.status_states(PR_HEAD, "ferry/staging"),
        ["pending", "success"]
    );
    let posts = job
        .fake
        .lines()
        .iter()
        .filter(|l| l.starts_with("POST") && l.ends_with("/issues/2/comments"))
        .count();
    assert_eq!(posts, 1);
    let warning = r
        .stderr
        .lines()
        .find(|l| l.contains("::warning title=ferry::github failed"))
        .unwrap_or_default();
    assert!(warning.contains("not sent again"), "{}", r.stderr);
}
