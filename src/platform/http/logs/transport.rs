//! The client of the logs read as they come (`stream`, `websocket`, `archived`): the platform
//! client's rules without its limit on a whole request. A long log answer may take the whole
//! operation; only each wait for more is bounded ([`READ_TIMEOUT`]), and a dropped answer is
//! resumed by the reader.
//!
//! The credential goes only to the platform's own origin (and, for a WebSocket, only when the
//! description asks for it), redirects follow [`crate::net::redirect`]'s policy, and every
//! error carries the platform's answer, redacted, as the platform client's do.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::{Origin, Url};

use super::super::client::{Request, accepted, header_map, refused_answer};
use crate::error::{Error, Result};
use crate::net::{self, RedirectRefused};
use crate::secret::{Redactor, SecretString};

/// The longest wait for the next part of a streamed log before the stream is taken as dropped
/// (and resumed).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The stream client of one platform (a field of the platform's [`Client`]).
///
/// [`Client`]: super::super::client::Client
#[derive(Clone, Debug)]
pub(crate) struct StreamClient {
    http: net::LazyClient,
    origin: Origin,
    /// The credential as the header it travels in (marked sensitive), when there is one.
    auth: Option<(HeaderName, HeaderValue)>,
    /// The bare token, for a WebSocket that wants it in its first frame (`auth.frame`); sent
    /// only to the origin that description names.
    frame_token: Option<SecretString>,
    name: String,
    redactor: Redactor,
}

impl StreamClient {
    /// The stream client of the platform `name` at `base`, sending `auth` to its origin only.
    pub(crate) fn new(
        name: String,
        base: &Url,
        auth: Option<(HeaderName, HeaderValue)>,
        frame_token: Option<SecretString>,
        redactor: Redactor,
    ) -> Self {
        Self {
            http: net::LazyClient::stream(base, READ_TIMEOUT),
            origin: base.origin(),
            auth,
            frame_token,
            name,
            redactor,
        }
    }

    /// Whether `url` is on the platform's origin (`ws`/`wss` count as `http`/`https`).
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        web_origin(url) == self.origin
    }

    /// The bare platform token, for `auth.frame` (the caller checks the origin first).
    pub(crate) fn frame_token(&self) -> Option<&SecretString> {
        self.frame_token.as_ref()
    }

    /// The platform's display name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A log URL as output shows it: redacted, and with its query's values hidden, since a log
    /// URL taken from an answer often carries its own token there (DigitalOcean's `live_url`,
    /// pre-signed archives) that no redactor knows.
    pub(crate) fn shown(&self, url: &Url) -> String {
        self.redactor.redact(&hide_query(url))
    }

    /// Sends a request and checks its status, as the platform client does; the credential goes
    /// along only when `credential` is true and the request is on the platform's origin.
    pub(crate) async fn open(&self, req: Request, credential: bool) -> Result<reqwest::Response> {
        let shown = self.shown(&req.url);
        let method = req.method.to_string();
        let mut headers = header_map(
            &self.name,
            &shown,
            &req.headers,
            "check [<phase>.logs] headers in ferry.toml and the values they use",
        )?;
        if credential
            && self.same_origin(&req.url)
            && let Some((name, value)) = &self.auth
        {
            headers.insert(name.clone(), value.clone());
        }
        tracing::debug!(method = %method, url = %shown, "log stream request");
        let resp = self
            .http
            .get()?
            .request(req.method, req.url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.transport_error(&shown, &e))?;
        if accepted(&resp, &req.expect) {
            return Ok(resp);
        }
        Err(refused_answer(&self.name, &self.redactor, method, shown, resp).await)
    }

    /// A failed request: a refused cross-origin redirect names where it led; any other failure
    /// is [`Error::Unreachable`] (a stream that can be opened again).
    pub(crate) fn transport_error(&self, shown: &str, e: &reqwest::Error) -> Error {
        if let Some(refused) = RedirectRefused::find(e) {
            return Error::BadResponse {
                platform: self.name.clone(),
                url: shown.to_string(),
                problem: self.redactor.redact(&refused.to_string()),
                hint: "point the log's url or path at where the log really is; ferry never sends a credential to another origin".into(),
            };
        }
        self.unreachable(shown, &net::error_chain(e))
    }

    /// A stream that could not be read (cut off, silent too long).
    pub(crate) fn unreachable(&self, shown: &str, message: &str) -> Error {
        Error::Unreachable {
            platform: self.name.clone(),
            url: shown.to_string(),
            message: self.redactor.redact(message),
            hint: crate::error::UNREACHABLE_FIX.into(),
        }
    }
}

/// `url` with each query value replaced by `…` (the names stay: they say what was asked).
pub(crate) fn hide_query(url: &Url) -> String {
    let Some(query) = url.query() else {
        return url.to_string();
    };
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    let names: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .collect();
    format!("{bare}?{}=…", names.join("=…&"))
}

/// The origin a WebSocket URL shares with the web: `ws` is `http`, `wss` is `https`.
pub(crate) fn web_origin(url: &Url) -> Origin {
    match as_http(url) {
        Some(http) => http.origin(),
        None => url.origin(),
    }
}

/// A `ws://`/`wss://` URL as the `http://`/`https://` URL its handshake is sent to.
pub(crate) fn as_http(url: &Url) -> Option<Url> {
    let scheme = match url.scheme() {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let rest = url.as_str().split_once(':')?.1;
    Url::parse(&format!("{scheme}:{rest}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_share_the_origin_of_their_web_scheme() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            web_origin(&u("wss://paas.example.com/live")),
            u("https://paas.example.com/api").origin()
        );
        assert_eq!(
            web_origin(&u("ws://127.0.0.1:8080/live")),
            u("http://127.0.0.1:8080").origin()
        );
        assert_ne!(
            web_origin(&u("wss://logs.example.net/live")),
            u("https://paas.example.com").origin()
        );
        assert_eq!(
            as_http(&u("wss://h:444/a?b=1")).unwrap().as_str(),
            "https://h:444/a?b=1"
        );
        assert!(as_http(&u("https://h/")).is_none());
    }

    #[test]
    fn a_log_url_is_shown_without_its_query_values() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            hide_query(&u(
                "wss://proxy.example/live/d1/build?follow=true&token=s3cr3t"
            )),
            "wss://proxy.example/live/d1/build?follow=…&token=…"
        );
        assert_eq!(hide_query(&u("https://h/a.log")), "https://h/a.log");
        assert_eq!(hide_query(&u("https://h/a?sig")), "https://h/a?sig=…");
    }
}
