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
    finish(builder(&options.redirects).timeout(options.timeout))
}

/// A client for long answers read as they come (a log streamed while the operation runs): no
/// limit on the whole request, only on each wait for more (`read_timeout`), with the same user
/// agent and the same redirect policy as [`credential_client`].
pub(crate) fn stream_client(base: &url::Url, read_timeout: Duration) -> Result<reqwest::Client> {
    finish(builder(&Redirects::KeepCredential(base.origin())).read_timeout(read_timeout))
}

/// What every client shares: the user agent, the time to connect, the redirect policy.
fn builder(redirects: &Redirects) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(redirects.policy())
}

fn finish(builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    builder.build().map_err(|e| Error::Unsupported {
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
