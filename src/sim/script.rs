//! The whole scripted behaviour of a simulated platform: one [`OpScript`] per operation kind,
//! faults, the token it requires, and how much log one read may return. Loaded from TOML (or JSON)
//! by `ferry sim --script` and `PUT /_sim/script`.

use std::time::Duration;

use serde::Deserialize;

use super::fault::Fault;
use super::heroku::HerokuScript;
use super::netlify::NetlifyScript;
use super::op_script::{self, OpScript, Outcome};

/// Everything the simulator does that a test or a demo may want to change.
///
/// `Default` gives a pleasant demo (a 2 s build with 30 lines, a 1.5 s deploy); [`Script::fast`]
/// gives tests tens of milliseconds for everything. In a file, durations are human strings
/// (`"1.5s"`), enums snake_case, and a missing key keeps its default:
///
/// ```toml
/// require_token = "s3cret"
/// [build]
/// outcome = "failure"
/// [[faults]]
/// on = "status"
/// count = 2
/// status = 503
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Script {
    /// Builds, and the Jenkins-like and pipeline dialects.
    #[serde(deserialize_with = "op_script::build_table")]
    pub build: OpScript,
    /// Deployments, and the GitOps dialect.
    #[serde(deserialize_with = "op_script::deploy_table")]
    pub deploy: OpScript,
    /// Environment teardowns.
    #[serde(deserialize_with = "op_script::stop_table")]
    pub stop: OpScript,
    /// Scripted errors, each counting the requests it matches independently; the first one that
    /// fires answers the request.
    pub faults: Vec<Fault>,
    /// When set, every `/v1` request must carry `Authorization: Bearer <token>`.
    pub require_token: Option<String>,
    /// The most bytes one log read returns (whole lines only; at least one line).
    pub max_chunk_bytes: u64,
    /// What only the Jenkins dialect does.
    pub jenkins: JenkinsScript,
    /// What only the Argo CD dialect does.
    pub argocd: ArgoScript,
    /// What only the Render dialect does.
    pub render: super::RenderScript,
    /// What only the DigitalOcean App Platform dialect does.
    pub digitalocean: super::DigitalOceanScript,
    /// What only the Heroku dialect does.
    pub heroku: HerokuScript,
    /// What only the Netlify dialect does.
    pub netlify: NetlifyScript,
    /// When set, the platform estimates how long each operation takes, as this percentage of
    /// its real length (`100` exact, `110` ten per cent long): the PaaS dialect's
    /// `estimated_seconds` (queue included), Jenkins' `estimatedDuration` (the build only).
    pub estimate_percent: Option<u32>,
}

/// Jenkins-only behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JenkinsScript {
    /// User → API token. When any is set, every Jenkins request needs HTTP Basic `user:token`:
    /// none is a 403 (anonymous may not read or build), a wrong one a 401.
    pub users: std::collections::BTreeMap<String, String>,
    /// The result a finished build reports instead of SUCCESS / FAILURE (`UNSTABLE`,
    /// `NOT_BUILT`).
    pub result: Option<String>,
    /// Paths of archived artifacts (`{number}` is the build number).
    pub artifacts: Vec<String>,
    /// The build's description (`{number}` is the build number).
    pub description: Option<String>,
}

/// Argo CD-only behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArgoScript {
    /// The applications that exist (any other name is unknown).
    pub apps: Vec<String>,
    /// An operation started by someone else runs this long on each application from its first
    /// request on: syncs meanwhile are refused with "another operation is already in progress".
    #[serde(deserialize_with = "super::duration::required")]
    pub busy_for: Duration,
    /// The health the application settles in instead of Healthy / Degraded (`Suspended`,
    /// `Missing`).
    pub health: Option<String>,
    /// The first this many watch streams are cut after their first event.
    pub drop_streams: u32,
}

impl Default for ArgoScript {
    fn default() -> Self {
        Self {
            apps: vec!["demo-app".into()],
            busy_for: Duration::ZERO,
            health: None,
            drop_streams: 0,
        }
    }
}

/// One MiB: the default for [`Script::max_chunk_bytes`].
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 1024 * 1024;

impl Default for Script {
    fn default() -> Self {
        Self {
            build: OpScript::build(),
            deploy: OpScript::deploy(),
            stop: OpScript::stop(),
            faults: Vec::new(),
            require_token: None,
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
            jenkins: JenkinsScript::default(),
            argocd: ArgoScript::default(),
            render: super::RenderScript::default(),
            digitalocean: super::DigitalOceanScript::default(),
            heroku: HerokuScript::default(),
            netlify: NetlifyScript::default(),
            estimate_percent: None,
        }
    }
}

impl Script {
    /// Tens of milliseconds for everything, successful, no faults: for tests.
    pub fn fast() -> Self {
        Self {
            build: OpScript::fast(),
            deploy: OpScript {
                log_lines: 4,
                tail_lines: 1,
                ..OpScript::fast()
            },
            stop: OpScript {
                queue: Duration::from_millis(10),
                duration: Duration::from_millis(30),
                log_lines: 2,
                outcome: Outcome::Success,
                tail_lines: 0,
                tail_delay: Duration::ZERO,
            },
            ..Self::default()
        }
    }

    /// Parses a TOML script and checks it (see [`Script::validate`]).
    pub fn from_toml(text: &str) -> Result<Script, String> {
        let script: Script =
            toml::from_str(text).map_err(|e| format!("invalid simulator script: {e}"))?;
        script.validate()?;
        Ok(script)
    }

    /// Parses a JSON script (same keys as TOML) and checks it.
    pub fn from_json(text: &str) -> Result<Script, String> {
        let script: Script =
            serde_json::from_str(text).map_err(|e| format!("invalid simulator script: {e}"))?;
        script.validate()?;
        Ok(script)
    }

    /// Parses JSON when the text starts with `{` (a TOML document cannot), TOML otherwise.
    pub fn parse(text: &str) -> Result<Script, String> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_toml(text)
        }
    }

    /// Rejects what the server could not honour: a fault status outside 100–599.
    pub fn validate(&self) -> Result<(), String> {
        for (i, fault) in self.faults.iter().enumerate() {
            if !(100..=599).contains(&fault.status) {
                return Err(format!(
                    "faults[{i}].status = {} is not an HTTP status; use 100–599 (e.g. 503)",
                    fault.status
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Route;

    #[test]
    fn empty_file_is_the_demo() {
        assert_eq!(Script::from_toml("").unwrap(), Script::default());
    }

    #[test]
    fn partial_tables_keep_their_kind_defaults() {
        let script = Script::from_toml(
            r#"
            require_token = "t"
            max_chunk_bytes = 4096
            [deploy]
            outcome = "failure"
            duration = "1.25s"
            [[faults]]
            on = "trigger"
            status = 502
            apply_first = true
            "#,
        )
        .unwrap();
        assert_eq!(script.deploy.outcome, Outcome::Failure);
        assert_eq!(script.deploy.duration, Duration::from_millis(1250));
        assert_eq!(script.deploy.queue, OpScript::deploy().queue);
        assert_eq!(script.deploy.log_lines, OpScript::deploy().log_lines);
        assert_eq!(script.build, OpScript::build());
        assert_eq!(script.faults[0].on, Route::Trigger);
        assert_eq!(script.faults[0].count, 1);
        assert!(script.faults[0].apply_first);
        assert_eq!(script.require_token.as_deref(), Some("t"));
        assert_eq!(script.max_chunk_bytes, 4096);
    }

    #[test]
    fn json_has_the_same_keys() {
        let script = Script::parse(r#"{"build": {"queue": "0s", "outcome": "failure"}}"#).unwrap();
        assert_eq!(script.build.queue, Duration::ZERO);
        assert_eq!(script.build.outcome, Outcome::Failure);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = Script::from_toml("[build]\nqueu = \"1s\"").unwrap_err();
        assert!(err.contains("queu"), "{err}");
        let err = Script::from_toml("[build]\nqueue = \"soon\"").unwrap_err();
        assert!(err.contains("soon"), "{err}");
        let err = Script::from_toml("[[faults]]\nstatus = 42").unwrap_err();
        assert!(err.contains("faults[0].status"), "{err}");
    }
}
