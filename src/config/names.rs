//! Stage `config`: `FERRY_*` and `INPUT_*` names in the environment that ferry does not read
//! (`FERRY_ENVIROMENT`), each with the closest name it does read.
//!
//! A misspelt variable is silently ignored by the layers, so it is said here, as a warning: the
//! run goes on. This module only reads names (never values, which may be secrets), returns the
//! warnings for `lib` to print, and must not import `report`.

use std::collections::BTreeSet;

use super::Layer;
use super::file::FileConfig;
use crate::env::Env;
use crate::suggest::closest;

/// Prefixes whose every name is read: template values and template secrets.
const KNOWN_PREFIXES: [&str; 3] = ["FERRY_VAR_", "FERRY_SECRET_", "FERRY_BUILD_"];

/// `FERRY_*` names read outside the settings layer: the log filter (`lib`).
const OTHER_NAMES: [&str; 1] = ["FERRY_LOG"];

/// The names the GitLab dotenv report writes (`report::ci_files::dotenv`): later jobs of the
/// pipeline see them, and may run ferry again.
const REPORTED: [&str; 8] = [
    "FERRY_STATUS",
    "FERRY_URL",
    "FERRY_ENVIRONMENT",
    "FERRY_COMMAND",
    "FERRY_EXIT_CODE",
    "FERRY_BUILD_ID",
    "FERRY_DEPLOYMENT_ID",
    "FERRY_STOP_ID",
];

/// The action input that is not a setting: the command, passed as the container's argument.
const COMMAND_INPUT: &str = "command";

/// One warning per `FERRY_*` name (and, inside a GitHub Action, `INPUT_*` name) that nothing
/// reads, in name order. Names the file's named platforms read (`token_env = "FERRY_CD_TOKEN"`)
/// are known.
pub(crate) fn unknown(env: &Env, file: Option<&FileConfig>) -> Vec<String> {
    let settings = setting_names();
    let mut known: BTreeSet<String> = settings
        .iter()
        .map(|s| format!("FERRY_{}", s.to_uppercase()))
        .collect();
    known.extend(
        OTHER_NAMES
            .iter()
            .chain(&REPORTED)
            .map(|s| (*s).to_string()),
    );
    if let Some(file) = file {
        for platform in file.platforms.values() {
            let c = platform.common();
            known.extend(
                [c.url_env, c.token_env, c.user_env]
                    .into_iter()
                    .flatten()
                    .map(str::to_string),
            );
        }
    }
    let mut warnings = Vec::new();
    for (name, _) in env.with_prefix("FERRY_") {
        if known.contains(name) || KNOWN_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        // Compared without the shared prefix, which would make every name look alike.
        let tail = |n: &'_ str| n.strip_prefix("FERRY_").unwrap_or(n).to_string();
        let tails: Vec<String> = known.iter().map(|k| tail(k)).collect();
        let hint = closest(&tail(name), tails.iter().map(String::as_str))
            .map_or_else(String::new, |k| format!("; did you mean `FERRY_{k}`?"));
        warnings.push(format!(
            "`{name}` is set, but ferry reads no such variable and ignores it{hint}"
        ));
    }
    if env.is_true("GITHUB_ACTIONS") {
        let names: Vec<String> = settings
            .iter()
            .map(String::as_str)
            .chain([COMMAND_INPUT])
            .map(str::to_string)
            .collect();
        let inputs: BTreeSet<String> = names
            .iter()
            .map(|s| format!("INPUT_{}", s.to_uppercase()))
            .collect();
        for (name, _) in env.with_prefix("INPUT_") {
            if inputs.contains(name) {
                continue;
            }
            let input = |n: &str| n.strip_prefix("INPUT_").unwrap_or(n).to_lowercase();
            let input = input(name);
            let hint = closest(&input, names.iter().map(String::as_str))
                .map_or_else(String::new, |k| format!("; did you mean `{k}`?"));
            warnings.push(format!(
                "the step's input `{input}` ({name}) is not an input of ferry's action and is ignored{hint}"
            ));
        }
    }
    warnings
}

/// Every setting's name (`environment`, `platform_url`, …), read from [`Layer`] itself so that
/// the list cannot drift from what the layers read.
fn setting_names() -> Vec<String> {
    match serde_json::to_value(Layer::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_ferry_names_are_named_and_known_ones_are_not() {
        let env = Env::new()
            .with("FERRY_ENVIROMENT", "staging")
            .with("FERRY_ENVIRONMENT", "staging")
            .with("FERRY_PLATFORM_TOKEN", "t")
            .with("FERRY_VAR_APP", "web")
            .with("FERRY_SECRET_TRIGGER", "s")
            .with("FERRY_BUILD_ARTIFACT", "registry/app:1")
            .with("FERRY_LOG", "debug")
            .with("FERRY_STATUS", "succeeded")
            .with("FERRY_ZZZ", "x")
            .with("FERRY_EMPTY_IS_UNSET", "");
        let w = unknown(&env, None);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("`FERRY_ENVIROMENT` is set, but ferry reads no such variable")
                && w[0].ends_with("; did you mean `FERRY_ENVIRONMENT`?"),
            "{w:?}"
        );
        assert!(w[1].starts_with("`FERRY_ZZZ`") && !w[1].contains("did you mean"));
        assert!(
            w.iter().all(|l| !l.contains("staging")),
            "values are never shown"
        );
    }

    #[test]
    fn inputs_are_checked_only_inside_github_actions() {
        let env = Env::new()
            .with("INPUT_PLATFORM_URLL", "https://x")
            .with("INPUT_COMMAND", "deploy")
            .with("INPUT_ENVIRONMENT", "prod");
        assert!(unknown(&env, None).is_empty());
        let w = unknown(&env.with("GITHUB_ACTIONS", "true"), None);
        assert_eq!(
            w,
            [
                "the step's input `platform_urll` (INPUT_PLATFORM_URLL) is not an input of ferry's action and is ignored; did you mean `platform_url`?"
            ]
        );
    }

    #[test]
    fn a_named_platform_s_variables_are_known() {
        let file = FileConfig::parse(
            "[platforms.cd]\nkind = \"argocd\"\ntoken_env = \"FERRY_CD_TOKEN\"\n",
            "f",
        )
        .unwrap();
        let env = Env::new().with("FERRY_CD_TOKEN", "t");
        assert!(unknown(&env, None).len() == 1);
        assert!(unknown(&env, Some(&file)).is_empty());
    }
}
