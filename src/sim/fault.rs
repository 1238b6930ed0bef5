//! Scripted misbehaviour: answer some requests with an error instead of (or after) serving them.

use serde::Deserialize;

use super::route::Route;

/// Skip the first `after` requests matching `on`, then answer the next `count` matching requests
/// with `status`.
///
/// The body is `{"error": "..."}` unless `body` is set, in which case it is sent verbatim (a
/// truncated JSON document, an HTML error page from a proxy…). `retry_after` adds a
/// `Retry-After: <secs>` header. With `apply_first`, the request is served first (a trigger does
/// create its operation) and only the response is replaced, as when a response is lost on the way
/// back — the case that makes blindly re-sending a POST dangerous. (It works the same on other
/// routes: a cancel is performed and its answer lost; on reads it makes no difference.)
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// Which requests this fault counts and answers.
    pub on: Route,
    /// Matching requests served normally before the fault starts.
    pub after: u32,
    /// Matching requests answered with the fault.
    pub count: u32,
    /// The HTTP status to answer with.
    pub status: u16,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// A verbatim body instead of the JSON error.
    pub body: Option<String>,
    /// Serve the request, then replace its response with the fault.
    pub apply_first: bool,
}

impl Default for Fault {
    /// One `503` on the first request of any kind.
    fn default() -> Self {
        Self {
            on: Route::Any,
            after: 0,
            count: 1,
            status: 503,
            retry_after: None,
            body: None,
            apply_first: false,
        }
    }
}

impl Fault {
    /// Whether the `seen`-th (0-based) request matching this fault is answered by it.
    pub(crate) fn fires_at(&self, seen: u32) -> bool {
        seen >= self.after && seen - self.after < self.count
    }
}
