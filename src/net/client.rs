//! Building an HTTP client: one place for the user agent, the time limits and the redirect
//! policy, so that no client of ferry differs from the others by accident. A client is built at
//! its first request ([`LazyClient`]): building one loads the system CA store, a few ms that a
//! command sending nothing (`--dry-run`, `ferry check`) should not pay.

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
/// followed within that origin only (see [`Redirects::KeepCredential`]). Built at its first
/// request.
pub(crate) fn credential_client(base: &url::Url, timeout: Duration) -> LazyClient {
    LazyClient::new(Kind::Options(ClientOptions {
        timeout,
        redirects: Redirects::KeepCredential(base.origin()),
    }))
}

/// A client built at its first request (then shared by every later one, and by every clone, as
/// a reqwest client shares its connections), so that what sends nothing loads no CA store.
#[derive(Clone)]
pub(crate) struct LazyClient {
    kind: Kind,
    client: std::sync::Arc<std::sync::OnceLock<reqwest::Client>>,
}

/// What a [`LazyClient`] is built as.
#[derive(Clone, Debug)]
enum Kind {
    /// [`build_client`] with these options.
    Options(ClientOptions),
    /// [`stream_client`] for this base URL and read timeout.
    Stream(url::Url, Duration),
}

impl LazyClient {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            client: std::sync::Arc::default(),
        }
    }

    /// A client built with `options` at its first request.
    pub(crate) fn with(options: ClientOptions) -> Self {
        Self::new(Kind::Options(options))
    }

    /// A [`stream_client`] built at its first request.
    pub(crate) fn stream(base: &url::Url, read_timeout: Duration) -> Self {
        Self::new(Kind::Stream(base.clone(), read_timeout))
    }

    /// The client, built now if this is the first request. Two first requests at once may both
    /// build one; only the first built is kept.
    pub(crate) fn get(&self) -> Result<&reqwest::Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = match &self.kind {
            Kind::Options(options) => build_client(options)?,
            Kind::Stream(base, read_timeout) => stream_client(base, *read_timeout)?,
        };
        Ok(self.client.get_or_init(|| built))
    }
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("kind", &self.kind)
            .field("built", &self.client.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_built_at_its_first_request_and_kept() {
        let base = url::Url::parse("https://paas.example.com/api").unwrap();
        let lazy = credential_client(&base, Duration::from_secs(5));
        assert!(lazy.client.get().is_none(), "built before any request");
        let clone = lazy.clone();
        let first: *const reqwest::Client = lazy.get().unwrap();
        let again: *const reqwest::Client = clone.get().unwrap();
        assert_eq!(first, again, "a clone builds its own client");
        let stream = LazyClient::stream(&base, Duration::from_secs(5));
        assert!(stream.client.get().is_none());
        assert!(stream.get().is_ok());
    }
}
