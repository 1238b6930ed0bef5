//! Each example workflow in `examples/github/` run as shipped, for the events it handles: the
//! jobs' and steps' `if:` and every `${{ … }}` in `with:`, `env:`, `environment:`, `outputs:`
//! and `concurrency:` evaluated from the table of what the examples read ([`Run::value`]; an
//! expression it does not know fails the test), each `uses: ferry-dev/ferry@…` step run as the
//! runner runs the action (`support/runner.rs`) against the simulator and the fake GitHub.
//! `actions/checkout` is taken as done (the job's workspace holds `ferry.toml`); no other `run:`
//! step runs, but the `::notice` one echoes is read as the runner would show it.

use std::collections::BTreeMap;
use std::path::Path;

use ferry::sim::Script;
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::fake_github::FakeGithub;
use crate::support::runner::{Job, Step, StepRun, fixture_payload, fixture_vars};
use crate::support::{SIMULATOR_TOML, Sim};

/// Every example workflow, each run by a test below.
const EXAMPLES: [&str; 3] = ["deploy-only.yml", "release.yml", "review-app.yml"];

const TOKEN: &str = "ghs_exampleWorkflowT0ken00000000000000";
const PLATFORM_TOKEN: &str = "plat_exampleWorkflowS3cret000000000";
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const PUSHED: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

/// The fake GitHub and the simulated platform a workflow's jobs share.
struct World {
    fake: FakeGithub,
    sim: Sim,
}

impl World {
    fn new() -> Self {
        let fake = FakeGithub::start();
        fake.bot_token(TOKEN);
        Self {
            fake,
            sim: Sim::start(Script::fast()),
        }
    }

    /// The checkout's `ferry.toml`: the simulator's description, at this simulator.
    fn ferry_toml(&self) -> String {
        let shipped = "url = \"http://127.0.0.1:8080\"";
        assert!(SIMULATOR_TOML.contains(shipped));
        SIMULATOR_TOML.replace(shipped, &format!("url = \"{}\"", self.sim.url()))
    }
}

/// What triggers a run: the event's name, the job's `GITHUB_*` variables and the payload.
#[derive(Clone)]
struct Event {
    name: &'static str,
    vars: Vec<(String, String)>,
    payload: Value,
    /// A pull request from a fork: GitHub passes it no secrets.
    fork: bool,
}

impl Event {
    /// `pull_request` (`opened` or `closed`) on #2, from this repository or a fork.
    fn pull_request(action: &str, fork: bool) -> Self {
        let case = format!("pull_request-{action}");
        let mut payload = fixture_payload(&case);
        if fork {
            payload["pull_request"]["head"]["repo"]["full_name"] = json!("forker/Hello-World");
        }
        Self {
            name: "pull_request",
            vars: fixture_vars(&case),
            payload,
            fork,
        }
    }

    /// `push` of a tag or a branch (`refs/tags/v1.2.3`, `refs/heads/main`).
    fn push(git_ref: &str) -> Self {
        let tag = git_ref.starts_with("refs/tags/");
        let case = if tag { "push-tag" } else { "push-branch" };
        let mut payload = fixture_payload(case);
        payload["ref"] = json!(git_ref);
        let mut vars = fixture_vars(case);
        let name = git_ref.rsplit('/').next().unwrap_or_default().to_string();
        for (k, v) in &mut vars {
            match k.as_str() {
                "GITHUB_REF" => *v = git_ref.to_string(),
                "GITHUB_REF_NAME" => v.clone_from(&name),
                _ => {}
            }
        }
        Self {
            name: "push",
            vars,
            payload,
            fork: false,
        }
    }

    fn var(&self, name: &str) -> String {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// An example workflow, parsed.
struct Workflow {
    file: &'static str,
    doc: Yaml,
}

impl Workflow {
    fn load(file: &'static str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/github")
            .join(file);
        let text = std::fs::read_to_string(path).unwrap();
        Self {
            file,
            doc: YamlLoader::load_from_str(&text).unwrap().remove(0),
        }
    }

    /// Whether `on:` starts this workflow for `event` (the filters the examples use: activity
    /// `types`, `branches` and `tags` as `*` globs).
    fn handles(&self, event: &Event) -> bool {
        let on = &self.doc["on"][event.name];
        if on.is_badvalue() {
            return false;
        }
        if let Some(types) = on["types"].as_vec() {
            let action = event.payload["action"].as_str().unwrap_or_default();
            if !types.iter().any(|t| t.as_str() == Some(action)) {
                return false;
            }
        }
        let git_ref = event.var("GITHUB_REF");
        for (key, prefix) in [("branches", "refs/heads/"), ("tags", "refs/tags/")] {
            if let Some(patterns) = on[key].as_vec() {
                let Some(name) = git_ref.strip_prefix(prefix) else {
                    return false;
                };
                if !patterns.iter().any(|p| glob(p.as_str().unwrap(), name)) {
                    return false;
                }
            }
        }
        true
    }

    fn jobs(&self) -> Vec<(String, &Yaml)> {
        self.doc["jobs"]
            .as_hash()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
            .collect()
    }

    /// Runs every job whose `if:` holds, in order (the examples list a job after those it
    /// needs), as the runner would for `event`.
    fn run(&self, world: &World, event: &Event) -> Ran {
        assert!(
            self.handles(event),
            "{} is not run on this event",
            self.file
        );
        let mut ran = Ran::default();
        let concurrency = &self.doc["concurrency"];
        if !concurrency.is_badvalue() {
            let group = Run::of(event, &ran).concurrency(concurrency);
            ran.concurrency = Some(group);
        }
        for (id, job) in self.jobs() {
            let needs: Vec<&str> = match &job["needs"] {
                Yaml::String(s) => vec![s.as_str()],
                Yaml::Array(list) => list.iter().filter_map(Yaml::as_str).collect(),
                _ => Vec::new(),
            };
            if needs.iter().any(|n| !ran.jobs.contains_key(*n)) {
                continue; // a job whose needs were skipped is skipped
            }
            let mut run = Run::of(event, &ran);
            if !run.condition(&job["if"]) {
                continue;
            }
            let done = run.job(world, job);
            ran.order.push(id.clone());
            ran.jobs.insert(id, done);
        }
        ran
    }
}

/// A `*` glob, as `on.push.tags` / `branches` use it (no `**`, `?` or ranges in the examples).
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    rest.is_empty()
}

/// What a workflow run did.
#[derive(Default)]
struct Ran {
    /// The jobs that ran, in order.
    order: Vec<String>,
    jobs: BTreeMap<String, JobRan>,
    /// The workflow's `concurrency`: group, cancel-in-progress.
    concurrency: Option<(String, bool)>,
}

impl Ran {
    fn job(&self, id: &str) -> &JobRan {
        self.jobs
            .get(id)
            .unwrap_or_else(|| panic!("job {id} did not run: {:?}", self.order))
    }
}

/// What one job did.
#[derive(Default)]
struct JobRan {
    /// The ferry steps, in order.
    ferry: Vec<StepRun>,
    /// Each `run:` step's `env:`, evaluated.
    run_env: Vec<BTreeMap<String, String>>,
    /// `::notice` lines the `run:` steps echo.
    notices: Vec<String>,
    /// `environment:` name and url, evaluated after the steps (as GitHub does).
    environment: Option<(String, String)>,
    concurrency: Option<(String, bool)>,
    outputs: BTreeMap<String, String>,
}

impl JobRan {
    fn ferry(&self) -> &StepRun {
        assert_eq!(self.ferry.len(), 1, "one ferry step");
        &self.ferry[0]
    }
}

/// One job's expression context: the event, the steps run so far, the jobs it needs.
struct Run<'a> {
    event: &'a Event,
    ran: &'a Ran,
    /// `steps.<id>.outputs`, of the steps run so far (and of those that cannot run here, see
    /// [`Run::value`]).
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

impl<'a> Run<'a> {
    fn of(event: &'a Event, ran: &'a Ran) -> Self {
        Self {
            event,
            ran,
            steps: BTreeMap::new(),
        }
    }

    /// The table of what the examples read, and its value in this run. Anything else fails:
    /// a changed example must not go untested.
    fn value(&self, expression: &str) -> String {
        let payload = &self.event.payload;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match expression {
            "github.event.action" => text(&payload["action"]),
            "github.event.pull_request.number" => text(&payload["pull_request"]["number"]),
            "github.event.pull_request.head.repo.full_name" => {
                text(&payload["pull_request"]["head"]["repo"]["full_name"])
            }
            "github.repository" => self.event.var("GITHUB_REPOSITORY"),
            // GitHub passes no secrets to a fork's pull request.
            "secrets.PLATFORM_TOKEN" if self.event.fork => String::new(),
            "secrets.PLATFORM_TOKEN" => PLATFORM_TOKEN.into(),
            // deploy-only.yml's own build step (a `run:`, not run here) names the image so.
            "steps.image.outputs.image" => {
                format!("registry.example.com/shop:{}", self.event.var("GITHUB_SHA"))
            }
            other => {
                let parts: Vec<&str> = other.split('.').collect();
                match parts.as_slice() {
                    ["steps", id, "outputs", name] if self.steps.contains_key(*id) => {
                        self.steps[*id].get(*name).cloned().unwrap_or_default()
                    }
                    ["needs", job, "outputs", name] if self.ran.jobs.contains_key(*job) => {
                        self.ran.jobs[*job]
                            .outputs
                            .get(*name)
                            .cloned()
                            .unwrap_or_default()
                    }
                    _ => panic!(
                        "an example reads `{other}`, which tests/it/github_examples.rs cannot evaluate: add it to `Run::value` with what the runner would give it"
                    ),
                }
            }
        }
    }

    /// `text` with every `${{ … }}` replaced by its value.
    fn interpolate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("an unclosed ${{") + start;
            out.push_str(&self.value(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:` (absent: true), as the examples write them: `a == b`, `a != b`, joined by `&&`,
    /// each side a context path or a '…' literal.
    fn condition(&self, condition: &Yaml) -> bool {
        let Some(text) = condition.as_str() else {
            assert!(
                condition.is_badvalue(),
                "an `if:` that is not text: {condition:?}"
            );
            return true;
        };
        let text = text.trim();
        let text = text
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
            .unwrap_or(text);
        text.split("&&").all(|clause| {
            let operand = |s: &str| {
                let s = s.trim();
                match s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    Some(literal) => literal.to_string(),
                    None => self.value(s),
                }
            };
            if let Some((a, b)) = clause.split_once("!=") {
                operand(a) != operand(b)
            } else if let Some((a, b)) = clause.split_once("==") {
                operand(a) == operand(b)
            } else {
                panic!("an `if:` clause this test cannot evaluate: {clause:?}; add it to `Run::condition`")
            }
        })
    }

    /// A `with:` / `env:` / `outputs:` map, evaluated.
    fn map(&self, yaml: &Yaml) -> BTreeMap<String, String> {
        let Some(hash) = yaml.as_hash() else {
            return BTreeMap::new();
        };
        hash.iter()
            .map(|(k, v)| {
                let value = match v {
                    Yaml::String(s) => self.interpolate(s),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Integer(i) => i.to_string(),
                    other => panic!("a value this test cannot read: {other:?}"),
                };
                (k.as_str().unwrap().to_string(), value)
            })
            .collect()
    }

    fn concurrency(&self, yaml: &Yaml) -> (String, bool) {
        let group = yaml["group"].as_str().expect("concurrency.group");
        (
            self.interpolate(group),
            yaml["cancel-in-progress"].as_bool().unwrap_or(false),
        )
    }

    /// Runs the job's steps, then evaluates its `environment:` and `outputs:`.
    fn job(&mut self, world: &World, job: &Yaml) -> JobRan {
        let mut done = JobRan::default();
        if !job["concurrency"].is_badvalue() {
            done.concurrency = Some(self.concurrency(&job["concurrency"]));
        }
        let mut container = Job::new(&world.ferry_toml());
        for step in job["steps"].as_vec().unwrap() {
            if !self.condition(&step["if"]) {
                continue;
            }
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses.starts_with("actions/checkout@") {
                continue; // the container's workspace is the checkout
            }
            let env = self.map(&step["env"]);
            if uses.starts_with("ferry-dev/ferry@") {
                let mut vars = self.event.vars.clone();
                vars.push(("GITHUB_EVENT_NAME".into(), self.event.name.into()));
                let run = container.run_action(&Step {
                    with: self.map(&step["with"]),
                    env,
                    vars,
                    payload: self.event.payload.clone(),
                    api_url: world.fake.api_url().to_string(),
                    github_token: TOKEN.into(),
                });
                if let Some(id) = step["id"].as_str() {
                    self.steps.insert(id.to_string(), run.outputs.clone());
                }
                done.ferry.push(run);
            } else if let Some(script) = step["run"].as_str() {
                assert!(uses.is_empty(), "a step this test cannot run: {uses}");
                done.notices.extend(notices(script));
                done.run_env.push(env);
            } else {
                panic!("a step this test cannot run: {step:?}");
            }
        }
        done.environment = match &job["environment"] {
            Yaml::String(name) => Some((self.interpolate(name), String::new())),
            Yaml::Hash(_) => Some((
                self.interpolate(job["environment"]["name"].as_str().unwrap()),
                self.interpolate(job["environment"]["url"].as_str().unwrap_or_default()),
            )),
            _ => None,
        };
        done.outputs = self.map(&job["outputs"]);
        done
    }
}

/// The `::notice` workflow commands an `echo "…"` line writes, as the runner reads them.
fn notices(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|line| line.trim().strip_prefix("echo \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|text| text.starts_with("::notice"))
        .map(str::to_string)
        .collect()
}

/// No token in anything a step printed or wrote.
#[track_caller]
fn assert_no_token(ran: &Ran) {
    for job in ran.jobs.values() {
        for step in &job.ferry {
            step.assert_none_of(&[TOKEN, PLATFORM_TOKEN]);
        }
    }
}

#[test]
fn every_example_is_run_here_and_every_expression_is_known() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, EXAMPLES, "an example workflow without a test here");
    // Every expression and `if:`, in every job, whether a test's events run it or not.
    for file in EXAMPLES {
        let workflow = Workflow::load(file);
        let event = Event::pull_request("opened", false);
        let mut ran = Ran::default();
        for (id, _) in workflow.jobs() {
            ran.jobs.insert(id, JobRan::default());
        }
        let mut run = Run::of(&event, &ran);
        let mut texts = Vec::new();
        collect(&workflow.doc, &mut texts);
        for (id, job) in workflow.jobs() {
            for step in job["steps"].as_vec().unwrap() {
                if let Some(id) = step["id"].as_str() {
                    run.steps.insert(id.to_string(), BTreeMap::new());
                }
            }
            run.condition(&job["if"]);
            for step in job["steps"].as_vec().unwrap() {
                run.condition(&step["if"]);
            }
            assert!(!id.is_empty());
        }
        for text in texts {
            run.interpolate(&text);
        }
    }
}

/// Every string holding `${{` in `yaml`, `run:` scripts included.
fn collect(yaml: &Yaml, out: &mut Vec<String>) {
    match yaml {
        Yaml::String(s) if s.contains("${{") => out.push(s.clone()),
        Yaml::Array(list) => list.iter().for_each(|y| collect(y, out)),
        Yaml::Hash(hash) => hash.values().for_each(|y| collect(y, out)),
        _ => {}
    }
}

#[test]
fn review_app_deploys_a_pull_request_from_this_repository() {
    let world = World::new();
    let workflow = Workflow::load("review-app.yml");
    let ran = workflow.run(&world, &Event::pull_request("opened", false));
    assert_eq!(ran.order, ["deploy"]);
    // One deploy per pull request at a time, never cancelled midway.
    assert_eq!(ran.concurrency, Some(("review-2".to_string(), false)));
    let deploy = ran.job("deploy");
    let ferry = deploy.ferry();
    ferry.run.assert_code(0);
    assert_eq!(ferry.outputs["status"], "succeeded");
    let url = &ferry.outputs["url"];
    assert!(url.starts_with("http"), "{}", ferry.output_file);
    // The next step reads the URL from the step's output.
    assert_eq!(deploy.run_env[0]["URL"], *url);
    // ferry created the deployment (no job-level environment): transient, on the head commit,
    // with the URL.
    assert!(deploy.environment.is_none());
    let deployments = world.fake.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.body["environment"], "review-2");
    assert_eq!(d.body["ref"], PR_HEAD);
    assert_eq!(d.body["transient_environment"], true);
    let last = d.statuses.last().unwrap();
    assert_eq!(last["state"], "success");
    assert_eq!(last["environment_url"], *url);
    assert_eq!(ferry.outputs["github_deployment_id"], d.id.to_string());
    assert_eq!(
        world.fake.status_states(PR_HEAD, "ferry/review-2"),
        ["pending", "success"]
    );
    assert_eq!(world.fake.comments(2).len(), 1);
    assert!(ferry.summary.contains("review-2"), "{}", ferry.summary);
    assert_no_token(&ran);
}

#[test]
fn review_app_skips_a_fork_pull_request_with_a_notice() {
    let world = World::new();
    let workflow = Workflow::load("review-app.yml");
    let ran = workflow.run(&world, &Event::pull_request("opened", true));
    // No ferry run at all: the platform token would be empty.
    assert_eq!(ran.order, ["fork"]);
    let notices = &ran.job("fork").notices;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("::notice title=No review app::GitHub gives workflows run for pull requests from forks no secrets"),
        "{}",
        notices[0]
    );
    assert!(notices[0].contains("push the branch to this repository"));
    assert!(world.sim.requests().is_empty());
    assert_eq!(world.fake.calls(), 0);
    // Its closing stops nothing either (there is no review app, and no token to stop one).
    let ran = workflow.run(&world, &Event::pull_request("closed", true));
    assert!(ran.order.is_empty(), "{:?}", ran.order);
}

#[test]
fn review_app_stops_when_the_pull_request_closes() {
    let world = World::new();
    let workflow = Workflow::load("review-app.yml");
    let opened = workflow.run(&world, &Event::pull_request("opened", false));
    opened.job("deploy").ferry().run.assert_code(0);
    let closed = workflow.run(&world, &Event::pull_request("closed", false));
    assert_eq!(closed.order, ["stop"]);
    let stop = closed.job("stop").ferry();
    stop.run.assert_code(0);
    assert_eq!(stop.outputs["status"], "succeeded");
    // The platform tore the environment down, and ferry's deployment is inactive.
    assert!(
        world
            .sim
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.ends_with("/environments/review-2")),
        "{:#?}",
        world.sim.requests()
    );
    let deployments = world.fake.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].statuses.last().unwrap()["state"], "inactive");
    // The comment's row was updated in place: still one comment.
    assert_eq!(world.fake.comments(2).len(), 1);
    assert_no_token(&closed);
}

#[test]
fn release_deploys_a_version_tag_through_the_jobs_environment() {
    let world = World::new();
    let workflow = Workflow::load("release.yml");
    assert!(!workflow.handles(&Event::push("refs/tags/simple-tag")));
    assert!(!workflow.handles(&Event::push("refs/heads/main")));
    let ran = workflow.run(&world, &Event::push("refs/tags/v1.2.3"));
    assert_eq!(ran.order, ["production"]);
    let job = ran.job("production");
    assert_eq!(job.concurrency, Some(("production".to_string(), false)));
    let ferry = job.ferry();
    ferry.run.assert_code(0);
    let url = &ferry.outputs["url"];
    assert!(url.starts_with("http"), "{}", ferry.output_file);
    // The job's environment creates the deployment, with ferry's URL; ferry creates none.
    assert_eq!(
        job.environment,
        Some(("production".to_string(), url.clone()))
    );
    assert!(world.fake.deployments().is_empty());
    assert_eq!(ferry.outputs["github_deployment_id"], "");
    assert_eq!(
        world.fake.status_states(PUSHED, "ferry/production"),
        ["pending", "success"]
    );
    assert_no_token(&ran);
}

#[test]
fn deploy_only_deploys_the_image_an_earlier_job_built() {
    let world = World::new();
    let workflow = Workflow::load("deploy-only.yml");
    assert!(!workflow.handles(&Event::push("refs/heads/feature")));
    let ran = workflow.run(&world, &Event::push("refs/heads/main"));
    assert_eq!(ran.order, ["image", "staging"]);
    let image = format!("registry.example.com/shop:{PUSHED}");
    assert_eq!(ran.job("image").outputs["image"], image);
    let job = ran.job("staging");
    assert_eq!(job.concurrency, Some(("staging".to_string(), false)));
    let ferry = job.ferry();
    ferry.run.assert_code(0);
    // No build: the deploy got the image, for the app `args` named.
    let requests = world.sim.requests();
    assert!(
        !requests.iter().any(|r| r.path.contains("/builds")),
        "{requests:#?}"
    );
    let deploy = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "/v1/apps/shop/deployments")
        .unwrap_or_else(|| panic!("{requests:#?}"));
    let body: Value = serde_json::from_str(&deploy.body).unwrap();
    assert_eq!(body["artifact"], image);
    let url = &ferry.outputs["url"];
    assert!(url.starts_with("http"), "{}", ferry.output_file);
    assert_eq!(job.environment, Some(("staging".to_string(), url.clone())));
    assert!(world.fake.deployments().is_empty());
    assert_eq!(
        world.fake.status_states(PUSHED, "ferry/staging"),
        ["pending", "success"]
    );
    assert_no_token(&ran);
}
