//! The GitHub runner's container-action contract, derived from `action.yml` itself: every
//! declared input exported as `INPUT_<NAME>` (defaults applied, unset ones empty, hyphens kept),
//! the `GITHUB_*` variables, the event file, and the `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` file
//! commands, fresh for each step; the entrypoint run with the action's `args`. Shared by the
//! action's own tests (`action.rs`) and the example workflows' (`github_examples.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::{Run, Workdir, run};

/// What `action.yml` declares.
pub(crate) struct Action {
    /// Input name → default (`None` when there is none).
    pub(crate) inputs: BTreeMap<String, Option<String>>,
    pub(crate) outputs: Vec<String>,
    pub(crate) image: String,
    pub(crate) args: Vec<String>,
}

/// `action.yml`, read.
pub(crate) fn action() -> Action {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let mut inputs = BTreeMap::new();
    for (name, spec) in doc["inputs"].as_hash().unwrap() {
        let default = match &spec["default"] {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Boolean(b) => Some(b.to_string()),
            Yaml::Integer(i) => Some(i.to_string()),
            _ => None,
        };
        inputs.insert(name.as_str().unwrap().to_string(), default);
    }
    let outputs = doc["outputs"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let args = doc["runs"]["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    Action {
        inputs,
        outputs,
        image: doc["runs"]["image"].as_str().unwrap().to_string(),
        args,
    }
}

/// The variables of a GitHub-hosted job for one event: `base.env` and the case's own file from
/// `tests/fixtures/github/` (`pull_request-opened` → `pull_request-opened.env`).
pub(crate) fn fixture_vars(case: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for file in ["base", case] {
        let text = std::fs::read_to_string(fixtures().join(format!("{file}.env"))).unwrap();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (k, v) = line.split_once('=').unwrap();
            vars.push((k.to_string(), v.to_string()));
        }
    }
    vars
}

/// An event payload from `tests/fixtures/github/` (`pull_request-opened` → its `.json`).
pub(crate) fn fixture_payload(case: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{case}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github")
}

/// A job's container as the runner mounts it: `/github/workspace` (holding `ferry.toml`),
/// `/github/workflow/event.json`, `/github/file_commands/`.
pub(crate) struct Job {
    root: Workdir,
    steps: usize,
}

/// One `uses:` step of the action: its `with:` and `env:`, the job's variables and payload.
#[derive(Default)]
pub(crate) struct Step {
    pub(crate) with: BTreeMap<String, String>,
    pub(crate) env: BTreeMap<String, String>,
    /// The job's `GITHUB_*` variables (see [`fixture_vars`]); `GITHUB_API_URL` is overridden.
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) payload: serde_json::Value,
    /// `GITHUB_API_URL`: the fake GitHub.
    pub(crate) api_url: String,
    /// What `${{ github.token }}` is.
    pub(crate) github_token: String,
}

/// What a step left: its streams and exit code, and its file commands.
pub(crate) struct StepRun {
    pub(crate) run: Run,
    /// `$GITHUB_OUTPUT` as written.
    pub(crate) output_file: String,
    /// The outputs it set, as the runner reads the file.
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) summary: String,
}

impl StepRun {
    /// Asserts that none of `secrets` is in anything the step printed or wrote.
    #[track_caller]
    pub(crate) fn assert_none_of(&self, secrets: &[&str]) {
        for text in [
            &self.run.stdout,
            &self.run.stderr,
            &self.output_file,
            &self.summary,
        ] {
            for secret in secrets {
                assert!(!text.contains(secret), "a secret leaked:\n{text}");
            }
        }
    }
}

impl Job {
    /// A job whose checkout holds `ferry.toml` with this content.
    pub(crate) fn new(ferry_toml: &str) -> Self {
        let root = Workdir::new();
        for dir in ["workspace", "file_commands", "workflow", "home"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        std::fs::write(root.path().join("workspace/ferry.toml"), ferry_toml).unwrap();
        Self { root, steps: 0 }
    }

    /// Runs the action as the runner does for a step with `step`'s `with:` and `env:`.
    pub(crate) fn run_action(&mut self, step: &Step) -> StepRun {
        self.steps += 1;
        let action = action();
        let file_commands = self.root.path().join("file_commands");
        let output = file_commands.join(format!("set_output_{}", self.steps));
        let summary = file_commands.join(format!("step_summary_{}", self.steps));
        std::fs::write(&output, "").unwrap();
        std::fs::write(&summary, "").unwrap();
        let event = self.root.path().join("workflow/event.json");
        std::fs::write(&event, step.payload.to_string()).unwrap();

        let mut inputs = BTreeMap::new();
        for (name, default) in &action.inputs {
            let value = step
                .with
                .get(name.as_str())
                .cloned()
                .or_else(|| default.clone())
                .unwrap_or_default();
            inputs.insert(name.clone(), value);
        }
        let evaluate = |text: &str, inputs: &BTreeMap<String, String>| {
            let mut out = text.replace("${{ github.token }}", &step.github_token);
            for (name, value) in inputs {
                out = out.replace(&format!("${{{{ inputs.{name} }}}}"), value);
            }
            assert!(
                !out.contains("${{"),
                "an expression the runner harness cannot evaluate: {out}"
            );
            out
        };
        let inputs: BTreeMap<String, String> = inputs
            .iter()
            .map(|(k, v)| (k.clone(), evaluate(v, &inputs)))
            .collect();
        let args: Vec<String> = action.args.iter().map(|a| evaluate(a, &inputs)).collect();

        let workspace = self.root.path().join("workspace");
        let mut cmd = self.root.ferry();
        cmd.current_dir(&workspace).args(&args);
        for (name, value) in &inputs {
            // The runner: INPUT_ + upper case, spaces to underscores, hyphens kept; unset = "".
            cmd.env(
                format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
                value,
            );
        }
        for (k, v) in &step.vars {
            cmd.env(k, v);
        }
        for (k, v) in &step.env {
            cmd.env(k, v);
        }
        cmd.env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_API_URL", &step.api_url)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_WORKSPACE", &workspace)
            .env("HOME", self.root.path().join("home"))
            .env("CI", "true");
        let run = run(&mut cmd);
        let output_file = std::fs::read_to_string(&output).unwrap();
        StepRun {
            run,
            outputs: read_outputs(&output_file),
            output_file,
            summary: std::fs::read_to_string(&summary).unwrap(),
        }
    }
}

/// `$GITHUB_OUTPUT` as the runner reads it: `name<<DELIMITER` … `DELIMITER` heredocs and
/// `name=value` lines; a later value wins.
pub(crate) fn read_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}
