//! What only the Heroku dialect does, as a script says it.

use serde::Deserialize;

/// Heroku-only behaviour. Builds follow [`Script::build`](crate::sim::Script::build), release
/// phases [`Script::deploy`](crate::sim::Script::deploy); `require_token` is the bearer token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HerokuScript {
    /// The apps that exist, by name (each app's id is derived from its name); any other app is
    /// "Couldn't find that app.".
    pub apps: Vec<String>,
    /// Whether the app has a release phase (a Procfile `release:` process): each release then
    /// runs the `deploy` timeline with an output stream of its own. Without one a release
    /// succeeds with its build and has no `output_stream_url`.
    pub release_phase: bool,
    /// The first this many output streams opened are cut after their first chunk.
    pub drop_streams: u32,
}

impl Default for HerokuScript {
    fn default() -> Self {
        Self {
            apps: vec!["demo-app".into()],
            release_phase: true,
            drop_streams: 0,
        }
    }
}
