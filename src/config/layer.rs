//! Raw settings as given, before validation: one [`Layer`] per source, merged by precedence.
//!
//! Every setting has one name in all four places: `ferry.toml` key `x`, environment `FERRY_X`,
//! action input `INPUT_X` (inside a GitHub Action), and flag `--x` (with `-` for `_`). The same
//! serde struct reads each source, so a name cannot drift between them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::{Error, Result};

/// Every setting, all optional and all text: the same struct reads each source.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Layer {
    pub config: Option<String>,
    pub environment: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub platform_url: Option<String>,
    pub platform_token: Option<String>,
    pub platform_token_file: Option<String>,
    pub pr_number: Option<String>,
    pub sha: Option<String>,
    pub timeout: Option<String>,
    pub detach: Option<String>,
    pub no_build: Option<String>,
    pub comment: Option<String>,
    pub fail_on_report_error: Option<String>,
    pub status_context: Option<String>,
    pub deployments: Option<String>,
    pub production: Option<String>,
    pub auto_inactive: Option<String>,
    pub dotenv: Option<String>,
}

/// The names of the settings that are secrets (never accepted from `ferry.toml`).
pub(crate) const SECRET_SETTINGS: [&str; 2] = ["token", "platform_token"];

/// Where a raw value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Flag(String),
    Env(String),
    Input(String),
    File(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(n) | Source::Env(n) => f.write_str(n),
            // What the workflow's author wrote: `with: timeout: …`, not the runner's variable.
            Source::Input(n) => {
                let input = n.strip_prefix("INPUT_").unwrap_or(n).to_lowercase();
                write!(f, "action input `{input}`")
            }
            Source::File(path) => write!(f, "{path}"),
        }
    }
}

/// One raw value and its source.
#[derive(Clone, Debug)]
pub(crate) struct RawValue {
    pub value: String,
    pub source: Source,
}

/// All raw values after merging, keyed by setting name.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawSettings {
    values: BTreeMap<String, RawValue>,
}

impl RawSettings {
    /// Merges layers given from the highest precedence to the lowest; empty values mean unset.
    pub(crate) fn merge(layers: Vec<(Layer, SourceKind)>) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (layer, kind) in layers {
            let json = serde_json::to_value(&layer).map_err(|e| Error::Internal {
                what: format!("a settings layer cannot be read as JSON ({e})"),
            })?;
            let serde_json::Value::Object(map) = json else {
                continue;
            };
            for (name, value) in map {
                let serde_json::Value::String(value) = value else {
                    continue;
                };
                if value.trim().is_empty() || values.contains_key(&name) {
                    continue;
                }
                let source = kind.source_for(&name);
                values.insert(name, RawValue { value, source });
            }
        }
        Ok(Self { values })
    }

    /// The raw value of a setting.
    pub(crate) fn get(&self, name: &str) -> Option<&RawValue> {
        self.values.get(name)
    }
}

/// The kind of a layer, which names the source of each of its values.
#[derive(Clone, Debug)]
pub(crate) enum SourceKind {
    Flags,
    Env,
    Inputs,
    File(String),
}

impl SourceKind {
    fn source_for(&self, name: &str) -> Source {
        match self {
            SourceKind::Flags => Source::Flag(format!("--{}", name.replace('_', "-"))),
            SourceKind::Env => Source::Env(format!("FERRY_{}", name.to_uppercase())),
            SourceKind::Inputs => Source::Input(format!("INPUT_{}", name.to_uppercase())),
            SourceKind::File(path) => Source::File(format!("{name} in {path}")),
        }
    }
}

/// The `FERRY_*` layer of the environment.
pub(crate) fn from_env(env: &Env) -> Result<Layer> {
    envy::prefixed("FERRY_")
        .from_iter::<_, Layer>(
            env.with_prefix("FERRY_")
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .map_err(|e| Error::InvalidSetting {
            name: "environment".into(),
            source_name: "FERRY_*".into(),
            problem: e.to_string(),
            hint: "check the FERRY_* variables".into(),
        })
}

/// The `INPUT_*` layer, read only inside a GitHub Action (where the runner exports every declared
/// input, unset ones as empty strings).
pub(crate) fn from_inputs(env: &Env) -> Result<Layer> {
    if !env.is_true("GITHUB_ACTIONS") {
        return Ok(Layer::default());
    }
    envy::prefixed("INPUT_")
        .from_iter::<_, Layer>(
            env.with_prefix("INPUT_")
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .map_err(|e| Error::InvalidSetting {
            name: "inputs".into(),
            source_name: "INPUT_*".into(),
            problem: e.to_string(),
            hint: "check the action's `with:` inputs".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_layers_win_and_empty_means_unset() {
        let flags = Layer {
            timeout: Some("1m".into()),
            environment: Some(String::new()),
            ..Layer::default()
        };
        let env = Layer {
            timeout: Some("2m".into()),
            environment: Some("staging".into()),
            ..Layer::default()
        };
        let raw =
            RawSettings::merge(vec![(flags, SourceKind::Flags), (env, SourceKind::Env)]).unwrap();
        assert_eq!(raw.get("timeout").unwrap().value, "1m");
        assert_eq!(raw.get("timeout").unwrap().source.to_string(), "--timeout");
        assert_eq!(raw.get("environment").unwrap().value, "staging");
        assert_eq!(
            raw.get("environment").unwrap().source.to_string(),
            "FERRY_ENVIRONMENT"
        );
    }

    #[test]
    fn inputs_only_inside_github_actions() {
        let env = Env::new().with("INPUT_ENVIRONMENT", "prod");
        assert!(from_inputs(&env).unwrap().environment.is_none());
        let env = env.with("GITHUB_ACTIONS", "true");
        assert_eq!(
            from_inputs(&env).unwrap().environment.as_deref(),
            Some("prod")
        );
        // Messages name what the workflow's author wrote (`with: environment:`).
        let raw =
            RawSettings::merge(vec![(from_inputs(&env).unwrap(), SourceKind::Inputs)]).unwrap();
        assert_eq!(
            raw.get("environment").unwrap().source.to_string(),
            "action input `environment`"
        );
    }
}
