//! `ferry.toml`: the settings file, with the platform description.
//!
//! Unknown keys are errors (a typo must not silently do nothing), and secrets are refused here:
//! they come only from the environment or files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer};

use super::layer::{Layer, SECRET_SETTINGS};
use super::read::{SETTINGS_FILE_LIMIT, read_text};
use crate::error::{Error, Result};
use crate::platform::http::spec::{PhaseSpec, PlatformSpec};
use crate::platform::named::NamedPlatform;

/// The fix for a settings file that cannot be read.
const READ_FIX: &str =
    "check that `config` (--config / FERRY_CONFIG) names an existing, readable ferry.toml";

/// The parsed settings file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub environment: Option<toml::Value>,
    pub token_file: Option<toml::Value>,
    pub platform_url: Option<toml::Value>,
    pub platform_token_file: Option<toml::Value>,
    pub pr_number: Option<toml::Value>,
    pub sha: Option<toml::Value>,
    pub timeout: Option<toml::Value>,
    pub detach: Option<toml::Value>,
    pub no_build: Option<toml::Value>,
    pub comment: Option<toml::Value>,
    pub fail_on_report_error: Option<toml::Value>,
    pub status_context: Option<toml::Value>,
    pub deployments: Option<toml::Value>,
    pub production: Option<toml::Value>,
    pub auto_inactive: Option<toml::Value>,
    pub dotenv: Option<toml::Value>,
    /// Secrets are refused with a message; declared so the message can be specific.
    pub token: Option<toml::Value>,
    pub platform_token: Option<toml::Value>,
    /// Constants for templates, as `{{ vars.<name> }}`.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    pub platform: Option<PlatformSpec>,
    /// Named platforms (`[platforms.<name>]`), picked per phase with `platform = "<name>"`; each
    /// kind takes its own keys.
    #[serde(default)]
    pub platforms: BTreeMap<String, NamedPlatform>,
    pub build: Option<PhaseSection>,
    pub deploy: Option<PhaseSection>,
    pub stop: Option<PhaseSection>,
    /// Every templated string, per phase (`build`, `deploy`, `stop`, and `platform` for the
    /// platform tables), after the preset merge and in flow order: a plan checks them all before
    /// anything is sent (a preset's ids the user has not given, a typo, a syntax error).
    #[serde(skip)]
    pub templates: BTreeMap<String, PhaseTemplates>,
}

/// One templated string of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateUse {
    /// The table as written (`deploy.trigger`, `build`, `platforms.ci`).
    pub table: String,
    /// The key inside it (`path`, `headers.X-Token`, `body.token`).
    pub key: String,
    pub text: String,
    /// Its line in the user's file, when written there (not a preset's).
    pub line: Option<usize>,
}

/// A phase's templated strings and the names its requests capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PhaseTemplates {
    /// In flow order.
    pub uses: Vec<TemplateUse>,
    /// `(table, name)` for every `capture` key (`deploy.trigger`, `url`).
    pub captures: Vec<(String, String)>,
}

/// `[build]`, `[deploy]` or `[stop]`: the keys every phase has (`platform`, `timeout`) and the
/// rest, which is the `http` description of the one `[platform]`, or, with `platform =
/// "<name>"`, the keys of that named platform's kind (read when planning).
#[derive(Clone, Debug)]
pub(crate) struct PhaseSection {
    /// This phase's time limit as written (default: the overall `timeout`), parsed when the plan
    /// reads the section.
    pub timeout: Option<String>,
    pub keys: PhaseKeys,
}

/// A phase section's keys besides `timeout`.
#[derive(Clone, Debug)]
pub(crate) enum PhaseKeys {
    /// No `platform` key: described for `[platform]`.
    Http(Box<PhaseSpec>),
    /// `platform = "<name>"` and the rest of the table.
    On {
        platform: String,
        table: toml::Table,
    },
}

impl<'de> Deserialize<'de> for PhaseSection {
    fn deserialize<D: Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(de)?;
        let timeout = match table.remove("timeout") {
            None => None,
            Some(toml::Value::String(text)) => Some(text),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "`timeout` must be a duration in quotes, like \"30m\", not {other}"
                )));
            }
        };
        let keys = match table.remove("platform") {
            Some(toml::Value::String(platform)) => PhaseKeys::On { platform, table },
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "`platform` must name a [platforms.<name>] table (a string), not {other}"
                )));
            }
            None => toml::Value::Table(table)
                .try_into::<PhaseSpec>()
                .map(|spec| PhaseKeys::Http(Box::new(spec)))
                .map_err(|e| D::Error::custom(e.to_string().trim_end()))?,
        };
        Ok(PhaseSection { timeout, keys })
    }
}

impl FileConfig {
    /// Parses a settings file's text; `path` is only for messages.
    pub(crate) fn parse(text: &str, path: &str) -> Result<Self> {
        // Checked before parsing, so that a syntax error quoting the line cannot echo a secret.
        // Only ferry's own settings, at the top level: a request's body or a named platform may
        // well have a `token` key (GitLab's pipeline trigger), given as `{{ secrets.NAME }}`.
        for line in text.lines() {
            if line.trim_start().starts_with('[') {
                break;
            }
            let key = line.trim_start().split('=').next().unwrap_or("").trim();
            if let Some(name) = SECRET_SETTINGS.iter().find(|n| **n == key) {
                return Err(secret_in_file(name, path));
            }
        }
        // A preset goes under the user's file; without one the text is read as it is (so that
        // errors point at their line).
        let table = text.parse::<toml::Table>().ok();
        let preset = match &table {
            Some(table) => super::preset::apply(table, path)?,
            None => None,
        };
        let templates = match (&preset, &table) {
            (Some(merged), _) => templates(merged),
            (None, Some(table)) => templates(table),
            (None, None) => BTreeMap::new(),
        };
        let parsed = match preset {
            Some(merged) => FileConfig::deserialize(toml::Value::Table(merged)),
            None => toml::from_str(text),
        };
        // Said at the line and table of the user's text that is wrong (a phase or a preset is
        // read through `toml::Value`, which keeps no positions).
        let mut file: FileConfig = parsed.map_err(|e| super::locate::file_error(&e, text, path))?;
        for (name, value) in [
            ("token", &file.token),
            ("platform_token", &file.platform_token),
        ] {
            if value.is_some() {
                return Err(secret_in_file(name, path));
            }
        }
        file.templates = templates;
        let line_of = super::locate::line_finder(text);
        for u in file.templates.values_mut().flat_map(|t| t.uses.iter_mut()) {
            u.line = line_of(&u.table, &u.key, &u.text);
        }
        Ok(file)
    }

    /// Reads the file at `path` (named `shown` in messages), of at most
    /// [`SETTINGS_FILE_LIMIT`]. A missing file is
    /// `Ok(None)` unless `required`.
    pub(crate) fn load(path: &Path, shown: &str, required: bool) -> Result<Option<Self>> {
        match read_text(path, SETTINGS_FILE_LIMIT) {
            Ok(text) => Self::parse(&text, shown).map(Some),
            Err(e) if e.is_not_found() && !required => Ok(None),
            Err(e) => Err(Error::ConfigFile {
                path: "the settings file `config` (--config / FERRY_CONFIG)".into(),
                message: format!("{e}\n  fix: {}", e.fix(READ_FIX)),
            }),
        }
    }

    /// The plain settings of the file as a [`Layer`].
    pub(crate) fn layer(&self) -> Layer {
        Layer {
            config: None,
            environment: text(self.environment.as_ref()),
            token: None,
            token_file: text(self.token_file.as_ref()),
            platform_url: text(self.platform_url.as_ref()),
            platform_token: None,
            platform_token_file: text(self.platform_token_file.as_ref()),
            pr_number: text(self.pr_number.as_ref()),
            sha: text(self.sha.as_ref()),
            timeout: text(self.timeout.as_ref()),
            detach: text(self.detach.as_ref()),
            no_build: text(self.no_build.as_ref()),
            comment: text(self.comment.as_ref()),
            fail_on_report_error: text(self.fail_on_report_error.as_ref()),
            status_context: text(self.status_context.as_ref()),
            deployments: text(self.deployments.as_ref()),
            production: text(self.production.as_ref()),
            auto_inactive: text(self.auto_inactive.as_ref()),
            dotenv: text(self.dotenv.as_ref()),
        }
    }
}

fn secret_in_file(name: &str, path: &str) -> Error {
    Error::ConfigFile {
        path: path.to_string(),
        message: format!(
            "`{name}` is a secret and is not read from the settings file\n  fix: remove it and set FERRY_{} in the environment (a CI secret), or put it in a file named by `{name}_file`",
            name.to_uppercase()
        ),
    }
}

/// A scalar TOML value as text (`true`, `42`, `"x"` → `x`); tables and arrays as TOML.
pub(crate) fn text(value: Option<&toml::Value>) -> Option<String> {
    value.map(|v| match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Whether a string is a template (has a `{{`, `{%` or `{#`).
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The tables of a phase in the order their requests are sent: a value captured in one is there
/// for the tables after it.
pub(crate) const FLOW: [&str; 10] = [
    "before", "trigger", "observe", "resolve", "history", "status", "logs", "cancel", "fetch",
    "outputs",
];

/// Where a table comes in [`FLOW`] (`deploy.status` → 5); phase-level keys and tables not in the
/// flow come after all of it.
pub(crate) fn flow_rank(table: &str) -> usize {
    let last = table.split('.').nth(1).unwrap_or("");
    FLOW.iter().position(|k| *k == last).unwrap_or(FLOW.len())
}

/// Per phase (`build`, `deploy`, `stop`), and `platform` for `[platform]` and
/// `[platforms.<name>]`: every templated string with its table and key, in flow order, and the
/// names its requests capture.
fn templates(table: &toml::Table) -> BTreeMap<String, PhaseTemplates> {
    fn walk(value: &toml::Value, table: &str, key: &str, out: &mut PhaseTemplates) {
        let join = |k: &str| {
            if key.is_empty() {
                k.to_string()
            } else {
                format!("{key}.{k}")
            }
        };
        match value {
            toml::Value::String(text) => {
                if let Some(name) = key
                    .rsplit_once('.')
                    .filter(|(parent, _)| *parent == "capture" || parent.ends_with(".capture"))
                    .map(|(_, name)| name)
                {
                    out.captures.push((table.to_string(), name.to_string()));
                }
                if is_template(text) {
                    out.uses.push(TemplateUse {
                        table: table.to_string(),
                        key: key.to_string(),
                        text: text.clone(),
                        line: None,
                    });
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(v, table, key, out)),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(v, table, &join(k), out);
                }
            }
            _ => {}
        }
    }
    let mut found = BTreeMap::new();
    for phase in ["build", "deploy", "stop"] {
        let Some(section) = table.get(phase) else {
            continue;
        };
        let mut uses = PhaseTemplates::default();
        match section.as_table() {
            Some(t) => {
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort_by_key(|k| flow_rank(&format!("{phase}.{k}")));
                for key in keys {
                    let value = &t[key];
                    let nested = value.is_table()
                        || value
                            .as_array()
                            .is_some_and(|a| a.iter().all(toml::Value::is_table));
                    if nested && !value.as_array().is_some_and(Vec::is_empty) {
                        walk(value, &format!("{phase}.{key}"), "", &mut uses);
                    } else {
                        walk(value, phase, key, &mut uses);
                    }
                }
            }
            None => walk(section, phase, "", &mut uses),
        }
        found.insert(phase.to_string(), uses);
    }
    let mut platform = PhaseTemplates::default();
    if let Some(p) = table.get("platform") {
        walk(p, "platform", "", &mut platform);
    }
    if let Some(toml::Value::Table(named)) = table.get("platforms") {
        for (name, p) in named {
            walk(p, &format!("platforms.{name}"), "", &mut platform);
        }
    }
    found.insert("platform".to_string(), platform);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = FileConfig::parse("enviroment = \"x\"\n", "ferry.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("enviroment"), "{msg}");
        assert!(msg.contains("ferry.toml"), "{msg}");
    }

    #[test]
    fn secrets_are_refused() {
        let err = FileConfig::parse("token = \"ghp_x\"\n", "ferry.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("FERRY_TOKEN"), "{msg}");
        assert!(!msg.contains("ghp_x"), "{msg}");
    }

    #[test]
    fn a_token_key_below_the_top_level_is_a_request_s_and_parses() {
        let text = "[build.trigger]\npath = \"/p/{{ vars.project }}\"\nid = \"/id\"\ncapture = { url = \"/url\" }\n[build.trigger.body]\ntoken = \"{{ secrets.trigger }}\"\n[build.status]\npath = \"/s/{{ id }}\"\nsuccess = [{ \"/done\" = [true] }]\n";
        let f = FileConfig::parse(text, "ferry.toml").unwrap();
        let build = &f.templates["build"];
        let at: Vec<(&str, &str)> = build
            .uses
            .iter()
            .map(|u| (u.table.as_str(), u.key.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("build.trigger", "body.token"),
                ("build.trigger", "path"),
                ("build.status", "path")
            ]
        );
        assert_eq!(
            build.captures,
            [("build.trigger".to_string(), "url".to_string())]
        );
    }

    #[test]
    fn scalars_become_text() {
        let f = FileConfig::parse("detach = true\npr_number = 42\n", "f").unwrap();
        let l = f.layer();
        assert_eq!(l.detach.as_deref(), Some("true"));
        assert_eq!(l.pr_number.as_deref(), Some("42"));
    }

    #[test]
    fn every_phase_s_timeout_is_read_with_its_section() {
        let http = "[build]\ntimeout = \"5m\"\n[build.trigger]\npath = \"/b\"\nid = \"/id\"\n[build.status]\npath = \"/s\"\nsuccess = [{ \"/done\" = [true] }]\n";
        let named = "[deploy]\nplatform = \"cd\"\ntimeout = \"10m\"\napplication = \"shop\"\n";
        let f = FileConfig::parse(&format!("{http}{named}"), "f").unwrap();
        let build = f.build.unwrap();
        assert_eq!(build.timeout.as_deref(), Some("5m"));
        assert!(matches!(build.keys, PhaseKeys::Http(_)));
        let deploy = f.deploy.unwrap();
        assert_eq!(deploy.timeout.as_deref(), Some("10m"));
        let PhaseKeys::On { table, platform } = deploy.keys else {
            panic!("{deploy:?}")
        };
        assert_eq!(platform, "cd");
        assert!(!table.contains_key("timeout") && table.contains_key("application"));
        let err = FileConfig::parse("[stop]\nplatform = \"cd\"\ntimeout = 30\n", "f").unwrap_err();
        assert!(
            err.to_string().contains("`timeout` must be a duration"),
            "{err}"
        );
    }
}
