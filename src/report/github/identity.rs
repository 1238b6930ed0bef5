//! Who ferry writes as: the login its comments carry, so it finds its own sticky comment and
//! never one someone else wrote with a copied marker (marocchino PR #332).
//!
//! `GET /user` answers 403 to the Actions `GITHUB_TOKEN` (an installation token has no user).
//! So the identity is found, cheapest first:
//!
//! 1. the `creator.login` of the commit status ferry has just created: free, and right for every
//!    kind of token (`github-actions[bot]`, an App's `<slug>[bot]`, a person's login);
//! 2. else `GET /user` (personal tokens);
//! 3. else, when that is refused (403/401), the Actions convention: `GITHUB_TOKEN` writes as
//!    `github-actions[bot]`.
//!
//! Logins are compared case-insensitively and without the `[bot]` suffix, since GraphQL and
//! some REST answers leave it out.

use super::client::Client;
use crate::error::{Error, Result};

/// The login the Actions `GITHUB_TOKEN` writes as.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";

/// A login, as written by GitHub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) login: String,
    /// How it was learnt, for diagnostics.
    pub(crate) how: &'static str,
}

impl Identity {
    pub(crate) fn new(login: impl Into<String>, how: &'static str) -> Self {
        Self {
            login: login.into(),
            how,
        }
    }

    /// True when `login` is this identity (case and `[bot]` suffix ignored).
    pub(crate) fn matches(&self, login: &str) -> bool {
        normal(&self.login) == normal(login)
    }

    /// Asks GitHub (`GET /user`), falling back to the Actions convention on 401/403.
    pub(crate) async fn discover(client: &Client) -> Result<Self> {
        match client.get("/user").await {
            Ok(r) => r.body["login"]
                .as_str()
                .map(|l| Identity::new(l, "GET /user"))
                .ok_or_else(|| Error::BadResponse {
                    platform: super::client::GITHUB.into(),
                    url: client.url("/user"),
                    problem: "the answer has no login".into(),
                    hint: "check GITHUB_API_URL points at GitHub's REST API".into(),
                }),
            Err(Error::PlatformApi {
                status: 401 | 403, ..
            }) => Ok(Identity::new(ACTIONS_BOT, "the GITHUB_TOKEN convention")),
            Err(e) => Err(e),
        }
    }
}

fn normal(login: &str) -> String {
    login.trim().trim_end_matches("[bot]").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_suffix_and_case_do_not_matter() {
        let me = Identity::new(ACTIONS_BOT, "test");
        assert!(me.matches("github-actions"));
        assert!(me.matches("GitHub-Actions[bot]"));
        assert!(!me.matches("octocat"));
        assert!(!me.matches("github-actions-fan"));
    }
}
