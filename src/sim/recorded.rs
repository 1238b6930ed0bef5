//! What the simulator remembers about each request it received, for tests to assert on.

use serde::Serialize;

use super::route::Route;

/// One request as received, in arrival order (control endpoints under `/_sim` excluded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query string, if any (`/v1/builds/b-1/log?offset=300`).
    pub path: String,
    /// Every header, names lowercased, in arrival order; values decoded lossily.
    pub headers: Vec<(String, String)>,
    /// The body, decoded lossily as UTF-8.
    pub body: String,
    /// Its role, when it addressed a known platform endpoint.
    pub route: Option<Route>,
    /// When it arrived, in milliseconds since the simulator started.
    pub at_ms: u64,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
