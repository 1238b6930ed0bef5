//! The GitHub runner's container-action contract, derived from `action.yml` itself: every
//! declared input exported as `INPUT_<NAME>` (defaults applied, unset ones empty, hyphens kept),
//! the `GITHUB_*` variables, the event file, and the `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` file
//! commands; the entrypoint run with the action's `args`. If `action.yml` and ferry drift, this
//! breaks.

use std::collections::BTreeMap;
use std::path::Path;

use ferry::sim::Script;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::fake_github::FakeGithub;
use crate::support::{SIMULATOR_TOML, Sim, Workdir, run};

const TOKEN: &str = "ghs_c0ntainerContractT0ken000000000000";
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

struct Action {
    /// Input name → default (`None` when there is none).
    inputs: BTreeMap<String, Option<String>>,
    outputs: Vec<String>,
    image: String,
    args: Vec<String>,
}

fn action() -> Action {
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

/// What the runner does with `${{ … }}` in defaults and args, for the few expressions used.
fn evaluate(text: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    if out.contains("${{ github.token }}") {
        out = out.replace("${{ github.token }}", TOKEN);
    }
    for (name, value) in inputs {
        out = out.replace(&format!("${{{{ inputs.{name} }}}}"), value);
    }
    out
}

#[test]
fn the_action_is_a_prebuilt_container_with_every_input_a_setting() {
    let action = action();
    assert!(action.image.starts_with("docker://"), "{}", action.image);
    // Every input but `command` is a setting with the same name, and every setting a GitHub
    // user can need is an input (files are for other CIs; dotenv is GitLab's).
    let settings: Vec<String> = serde_json::to_value(ferry::testing::Layer::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for input in action.inputs.keys() {
        assert!(
            input == "command" || settings.contains(input),
            "input {input} is not a ferry setting"
        );
        assert!(
            !input.contains('-'),
            "input {input} has a hyphen; use snake_case"
        );
    }
    let not_inputs = ["token_file", "platform_token_file", "dotenv"];
    for setting in &settings {
        assert!(
            action.inputs.contains_key(setting) || not_inputs.contains(&setting.as_str()),
            "setting {setting} is not an input of action.yml"
        );
    }
    for output in ["url", "status", "build_id", "deployment_id", "environment"] {
        assert!(
            action.outputs.iter().any(|o| o == output),
            "output {output} is not declared"
        );
    }
}

#[test]
fn the_runner_starts_ferry_with_inputs_and_file_commands() {
    let action = action();
    let fake = FakeGithub::start();
    fake.bot_token(TOKEN);
    let sim = Sim::start(Script::fast());
    // /github/workspace, /github/workflow/event.json, /github/file_commands/* — as the runner
    // mounts them.
    let root = Workdir::new();
    let workspace = root.path().join("workspace");
    let file_commands = root.path().join("file_commands");
    let workflow = root.path().join("workflow");
    for dir in [&workspace, &file_commands, &workflow] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(workspace.join("ferry.toml"), SIMULATOR_TOML).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github");
    std::fs::copy(
        fixtures.join("pull_request-opened.json"),
        workflow.join("event.json"),
    )
    .unwrap();
    std::fs::write(file_commands.join("set_output_1"), "").unwrap();
    std::fs::write(file_commands.join("step_summary_1"), "").unwrap();

    // The workflow's `with:`.
    let with: BTreeMap<&str, String> = [
        ("environment", "review-2".to_string()),
        ("platform_url", sim.url()),
        ("timeout", "5m".to_string()),
    ]
    .into_iter()
    .collect();
    let mut inputs = BTreeMap::new();
    for (name, default) in &action.inputs {
        let value = with
            .get(name.as_str())
            .cloned()
            .or_else(|| default.clone())
            .unwrap_or_default();
        inputs.insert(name.clone(), value);
    }
    let inputs: BTreeMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (k.clone(), evaluate(v, &inputs)))
        .collect();
    let args: Vec<String> = action.args.iter().map(|a| evaluate(a, &inputs)).collect();

    let mut cmd = root.ferry();
    cmd.current_dir(&workspace).args(&args);
    for (name, value) in &inputs {
        // The runner: INPUT_ + upper case, spaces to underscores, hyphens kept; unset = "".
        cmd.env(
            format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
            value,
        );
    }
    for file in ["base.env", "pull_request-opened.env"] {
        let vars = std::fs::read_to_string(fixtures.join(file)).unwrap();
        for line in vars
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (k, v) = line.split_once('=').unwrap();
            cmd.env(k, v);
        }
    }
    cmd.env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", workflow.join("event.json"))
        .env("GITHUB_API_URL", fake.api_url())
        .env("GITHUB_OUTPUT", file_commands.join("set_output_1"))
        .env("GITHUB_STEP_SUMMARY", file_commands.join("step_summary_1"))
        .env("GITHUB_WORKSPACE", &workspace)
        .env("HOME", root.path().join("home"))
        .env("CI", "true");
    let r = run(&mut cmd);
    r.assert_code(0);

    // Every declared output was written, with the values of the run.
    let output = std::fs::read_to_string(file_commands.join("set_output_1")).unwrap();
    for name in &action.outputs {
        assert!(
            output.contains(&format!("{name}<<")),
            "output {name} missing:\n{output}"
        );
    }
    assert!(output.contains("review-2"), "{output}");
    assert!(output.contains("succeeded"), "{output}");
    let summary = std::fs::read_to_string(file_commands.join("step_summary_1")).unwrap();
    assert!(summary.contains("review-2"), "{summary}");
    // The reports reached GitHub on the pull request's head commit.
    assert_eq!(
        fake.status_states(PR_HEAD, "ferry/review-2"),
        ["pending", "success"],
        "{}",
        r.stderr
    );
    assert_eq!(fake.comments(2).len(), 1);
    // The default `token: ${{ github.token }}` was used and never shown.
    for text in [&r.stdout, &r.stderr, &output, &summary] {
        assert!(!text.contains(TOKEN), "token leaked:\n{text}");
    }
}
