//! What the `argocd` backend keeps about a sync between calls. Not template values: those stay
//! in [`Operation::vars`].
//!
//! [`Operation::vars`]: crate::platform::Operation::vars

/// One sync of an application to a revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgoState {
    /// The revision the sync asks for.
    pub revision: String,
    /// The sync was refused because another operation runs: the phase waits (as resolve steps)
    /// and sends it again once that operation is over.
    pub pending: bool,
    /// The watch stream brought the application (in `last_body`): the next status read uses it
    /// instead of asking again.
    pub watched: bool,
    /// The application's `status.operationState` (as JSON text, `null` when none) before ferry's
    /// sync: a read showing it again is stale. Dropped once ferry's own operation has shown.
    pub before: Option<String>,
    /// The last status read found the sync over: what the resources say is their last word
    /// (the log, made of them, is complete).
    pub over: bool,
}

impl ArgoState {
    /// A sync to `revision`, not sent yet.
    pub fn new(revision: String) -> Self {
        Self {
            revision,
            ..Self::default()
        }
    }
}
