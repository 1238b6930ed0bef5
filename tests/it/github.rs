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
        json!({"state": "pending", "context": "ferry/x", "description": "d", "target_url": null}).to_string().as_bytes(),
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
        json!({"ref": "abc", "auto_marge": false}).to_string().as_bytes(),
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
use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run};

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
        let path = &self.env.iter().find(|(k, _)| k == "GITHUB_EVENT_PATH").unwrap().1;
        let mut payload: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
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
        self.outputs().into_iter().rev().find(|(n, _)| n == name).map(|(_, v)| v).unwrap_or_default()
    }
}

#[test]
fn github_pr_deploy_reports_everything_within_8_calls() {
    let job = Job::new("pull_request-opened");
    let r = job.deploy("review-2");
    r.assert_code(0);
    let url = r.json()["url"].as_str().unwrap().to_owned();

    // Commit status on the head (never the merge commit), pending then success, linking the app.
    assert_eq!(job.fake.status_states(PR_HEAD, "ferry/review-2"), ["pending", "success"]);
    let last = job.fake.last_status(PR_HEAD);
    assert_eq!(last["target_url"], url.as_str());
    assert!(last["description"].as_str().unwrap().starts_with("Deployed to review-2 in "));
    // One deployment of the head, transient, no auto-merge, no required contexts.
    let deployments = job.fake.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.body["ref"], PR_HEAD);
    assert_eq!(d.body["environment"], "review-2");
    assert_eq!(d.body["auto_merge"], false);
    assert_eq!(d.body["required_contexts"], json!([]));
    assert_eq!(d.body["transient_environment"], true);
    let states: Vec<&str> = d.statuses.iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(d.statuses[1]["environment_url"], url.as_str());
    assert!(d.statuses[1]["log_url"].as_str().unwrap().starts_with("http"));
    // One comment, by the bot, with the marker and the row.
    let comments = job.fake.comments(2);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].login, "github-actions[bot]");
    assert!(comments[0].body.starts_with("<!-- ferry:v1 -->"));
    assert!(comments[0].body.contains("| **review&#45;2** |") || comments[0].body.contains("| **review-2** |"));
    // Summary and outputs.
    assert!(job.summary().contains("### 🚢 ferry deploy: review-2"), "{}", job.summary());
    assert_eq!(job.output("url"), url);
    assert_eq!(job.output("status"), "succeeded");
    assert_eq!(job.output("environment"), "review-2");
    assert_eq!(job.output("build_id"), r.json()["phases"][0]["id"].as_str().unwrap());
    assert_eq!(job.output("deployment_id"), r.json()["phases"][1]["id"].as_str().unwrap());
    assert_eq!(job.output("github_deployment_id"), d.id.to_string());
    // The budget: status, deployment + status, deployment status, status, list, write, read back.
    assert!(job.fake.calls() <= 8, "{} calls: {:#?}", job.fake.calls(), job.fake.lines());
    // The token went only in the Authorization header, and nowhere else.
    for req in job.fake.requests() {
        assert!(!req.body.contains(BOT_TOKEN) && !req.query.contains(BOT_TOKEN) && !req.path.contains(BOT_TOKEN));
    }
    for text in [&r.stdout, &r.stderr, &job.summary(), &job.work.read("output.txt"), &comments[0].body] {
        assert!(!text.contains(BOT_TOKEN), "token leaked:\n{text}");
    }
}
