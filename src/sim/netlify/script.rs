//! What only the Netlify dialect does, as a script says it.

use serde::Deserialize;

/// Netlify-only behaviour. Builds follow [`Script::build`](crate::sim::Script::build), the
/// processing of a deploy (upload to ready) [`Script::deploy`](crate::sim::Script::deploy);
/// `require_token` is the bearer token (and the WebSocket's `access_token`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetlifyScript {
    /// The sites that exist, by name: a site is addressed by its name, `{name}.netlify.app` or
    /// its id (derived from the name); any other is `404`.
    pub sites: Vec<String>,
    /// The first this many log WebSockets whose subscription is accepted are cut (closed
    /// without a close frame) after their first line.
    pub drop_sockets: u32,
}

impl Default for NetlifyScript {
    fn default() -> Self {
        Self {
            sites: vec!["demo-site".into()],
            drop_sockets: 0,
        }
    }
}
