//! Which kind of platform call a request is, as faults and recordings see it, whatever the dialect.

use serde::{Deserialize, Serialize};

/// The role of a request in an operation's life, independent of the API dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// A request that creates an operation (`POST …/builds`, `DELETE …/environments/x`, a Jenkins
    /// build, a GitOps sync, a pipeline).
    Trigger,
    /// A read of an operation's state or of a queue item.
    Status,
    /// A log read (`…/log`, `progressiveText`, `trace`).
    Log,
    /// A cancel, stop, or terminate-operation request.
    Cancel,
    /// In a [`Fault`](super::Fault): every request, classified or not. Never recorded as a route.
    Any,
}

impl Route {
    /// Whether a fault aimed at `self` applies to a request classified as `route`.
    pub(crate) fn matches(self, route: Option<Route>) -> bool {
        self == Route::Any || route == Some(self)
    }
}
