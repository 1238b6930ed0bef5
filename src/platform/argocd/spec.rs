//! What a phase on an Argo CD platform says in `ferry.toml` (`[deploy]` with `platform = "<name>"`
//! naming a `kind = "argocd"` platform). The README's "Jenkins and Argo CD" section documents
//! every key here; keep the two in step.

use serde::Deserialize;

/// One deploy: sync an application to a revision and wait until it is synced and healthy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgoPhase {
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
    /// This phase's time limit (default: the overall `timeout`).
    pub timeout: Option<String>,
}

/// The meaning given to a Suspended application after the sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suspended {
    #[default]
    Wait,
    Success,
    Failure,
}

fn yes() -> bool {
    true
}
