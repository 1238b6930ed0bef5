//! What a Jenkins platform says in `ferry.toml`: its `[platforms.<name>]` table (`kind =
//! "jenkins"`), and a phase on it (`[build]` with `platform = "<name>"`). The README's "Jenkins
//! and Argo CD" section documents every key here; keep the two in step.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::platform::http::spec::PollSpec;
use crate::platform::named::CommonKeys;

/// `[platforms.<name>]` with `kind = "jenkins"`: a Jenkins server. Any other key is refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JenkinsPlatform {
    /// A display name for messages (default: `jenkins (<host>)`).
    pub name: Option<String>,
    /// Jenkins' root URL (`https://jenkins.example.com`).
    pub url: Option<String>,
    /// An environment variable holding the root URL; wins over `url` when set.
    pub url_env: Option<String>,
    /// The environment variable holding the user's API token.
    pub token_env: Option<String>,
    /// A file holding that API token.
    pub token_file: Option<String>,
    /// The user the API token belongs to.
    pub user: Option<String>,
    /// An environment variable holding that user (wins over `user`).
    pub user_env: Option<String>,
    /// Poll cadence, as `[platform.poll]`.
    #[serde(default)]
    pub poll: PollSpec,
}

impl JenkinsPlatform {
    /// The keys every kind has, with the user the API token belongs to.
    pub(crate) fn common(&self) -> CommonKeys<'_> {
        CommonKeys {
            name: self.name.as_deref(),
            url: self.url.as_deref(),
            url_env: self.url_env.as_deref(),
            token_env: self.token_env.as_deref(),
            token_file: self.token_file.as_deref(),
            user: self.user.as_deref(),
            user_env: self.user_env.as_deref(),
            poll: &self.poll,
        }
    }
}

/// What a Jenkins phase takes, for messages.
pub(crate) const PHASE_FIX: &str =
    "a Jenkins phase has job, and optionally branch, parameters, unstable, outputs, timeout";

/// One phase run as a Jenkins job.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JenkinsPhase {
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
    // `timeout` is a key of every phase section, read with it (`config::file::PhaseSection`).
}

/// The meaning given to Jenkins' UNSTABLE (the build ran, tests or quality gates failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Unstable {
    /// The phase fails (the default: an unstable build should not be deployed).
    #[default]
    Failure,
    /// The phase succeeds.
    Success,
}
