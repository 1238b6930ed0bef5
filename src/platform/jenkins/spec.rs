//! What a phase on a Jenkins platform says in `ferry.toml` (`[build]` with `platform = "<name>"`
//! naming a `kind = "jenkins"` platform). The README's "Jenkins and Argo CD" section documents
//! every key here; keep the two in step.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One phase run as a Jenkins job.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JenkinsPhase {
    /// The job's full name: folders and the job separated by `/` (`team/shop`); templated.
    pub job: String,
    /// For a multibranch pipeline: the branch (e.g. `{{ ref_name }}`), one more job level whose
    /// name is the branch with `/` written `%2F`, as Jenkins names branch jobs.
    pub branch: Option<String>,
    /// Build parameters (templated values). With this table (even empty) ferry calls
    /// `buildWithParameters`; without it, `build`.
    pub parameters: Option<BTreeMap<String, String>>,
    /// What an UNSTABLE result means for ferry: `failure` (default) or `success`.
    #[serde(default)]
    pub unstable: Unstable,
    /// More outputs: name → `/pointer` into the finished build's JSON, `parameter:NAME`,
    /// `artifact:<file name or suffix>` (the archived artifact's URL) or a `{{ template }}`.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// This phase's time limit (default: the overall `timeout`).
    pub timeout: Option<String>,
}

/// The meaning given to Jenkins' UNSTABLE (the build ran, tests or quality gates failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unstable {
    /// The phase fails (the default: an unstable build should not be deployed).
    #[default]
    Failure,
    /// The phase succeeds.
    Success,
}
