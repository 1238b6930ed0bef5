//! What an Argo CD platform says in `ferry.toml`: its `[platforms.<name>]` table (`kind =
//! "argocd"`), and a phase on it (`[deploy]` with `platform = "<name>"`). The README's "Jenkins
//! and Argo CD" section documents every key here; keep the two in step.

use serde::Deserialize;

use crate::platform::http::spec::PollSpec;
use crate::platform::named::CommonKeys;

/// `[platforms.<name>]` with `kind = "argocd"`: an Argo CD API server. Any other key is refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgoPlatform {
    /// A display name for messages (default: `argocd (<host>)`).
    pub name: Option<String>,
    /// The API server's base URL (`https://argocd.example.com`).
    pub url: Option<String>,
    /// An environment variable holding the base URL; wins over `url` when set.
    pub url_env: Option<String>,
    /// The environment variable holding the token (an account or project token).
    pub token_env: Option<String>,
    /// A file holding the token.
    pub token_file: Option<String>,
    /// Poll cadence, as `[platform.poll]`.
    #[serde(default)]
    pub poll: PollSpec,
}

impl ArgoPlatform {
    /// The keys every kind has (Argo CD has no user: its tokens stand alone).
    pub(crate) fn common(&self) -> CommonKeys<'_> {
        CommonKeys {
            name: self.name.as_deref(),
            url: self.url.as_deref(),
            url_env: self.url_env.as_deref(),
            token_env: self.token_env.as_deref(),
            token_file: self.token_file.as_deref(),
            user: None,
            user_env: None,
            poll: &self.poll,
        }
    }
}

/// What an Argo CD deploy takes, for messages.
pub(crate) const PHASE_FIX: &str = "an Argo CD deploy has application, and optionally revision, project, app_namespace, prune, suspended, watch, timeout";

/// One deploy: sync an application to a revision and wait until it is synced and healthy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgoPhase {
    /// The application's name (templated, e.g. `shop-{{ environment }}`).
    pub application: String,
    /// The revision to sync to (templated). Default: the build's `revision` output when the
    /// build gave one, else the commit (`{{ sha }}`).
    pub revision: Option<String>,
    /// The application's project: sent with every request, so that a missing application is a
    /// 404 rather than a 403.
    pub project: Option<String>,
    /// The namespace the Application lives in, when it is not Argo CD's own (apps in any
    /// namespace).
    pub app_namespace: Option<String>,
    /// Delete resources that are no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// What a Suspended application means once synced: `wait` (default, as `argocd app wait`),
    /// `success` (a paused rollout is fine) or `failure`.
    #[serde(default)]
    pub suspended: Suspended,
    /// Watch `/api/v1/stream/applications` instead of polling (default true; polling is the
    /// fallback whenever the stream breaks).
    #[serde(default = "yes")]
    pub watch: bool,
    // `timeout` is a key of every phase section, read with it (`config::file::PhaseSection`).
}

/// The meaning given to a Suspended application after the sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Suspended {
    #[default]
    Wait,
    Success,
    Failure,
}

fn yes() -> bool {
    true
}
