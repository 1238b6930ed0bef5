//! Building an HTTP client: one place for the user agent, the time limits and the redirect
//! policy, so that no client of ferry differs from the others by accident.

use std::time::Duration;

use super::redirect::Redirects;
use crate::error::{Error, Result};

/// What a client needs to know when it is built.
#[derive(Clone, Debug)]
pub(crate) struct ClientOptions {
    /// How long one request may take, its body included.
    pub timeout: Duration,
    /// How redirects are treated (see [`Redirects`]).
    pub redirects: Redirects,
}

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The user agent every request carries.
pub(crate) const USER_AGENT: &str = concat!("ferry/", env!("CARGO_PKG_VERSION"));

/// A reqwest client with ferry's user agent, time limits and redirect policy.
pub(crate) fn build_client(options: &ClientOptions) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(options.timeout)
        .redirect(options.redirects.policy())
        .build()
        .map_err(|e| Error::Unsupported {
            what: format!("an HTTP client ({})", super::error_chain(&e)),
            hint: "check that CA certificates are installed (SSL_CERT_FILE)".into(),
        })
}

/// A client for an API whose requests to `base`'s origin carry a credential: redirects are
/// followed within that origin only (see [`Redirects::KeepCredential`]).
pub(crate) fn credential_client(base: &url::Url, timeout: Duration) -> Result<reqwest::Client> {
    build_client(&ClientOptions {
        timeout,
        redirects: Redirects::KeepCredential(base.origin()),
    })
}
