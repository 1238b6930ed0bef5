//! One request as a dialect handler sees it: the parts it may read, already buffered, plus the
//! base URL to build links from and the moment it is served at.

use axum::http::{HeaderMap, Method, StatusCode};
use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

use super::reply::Reject;

pub(crate) struct Call<'a> {
    pub(crate) method: &'a Method,
    /// The path without the query.
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    /// `http://host:port`, from the request's `Host` so links work however the server is reached.
    pub(crate) base: String,
    pub(crate) now: Instant,
}

impl Call<'_> {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A non-negative integer query parameter; a malformed one is a `400`.
    pub(crate) fn query_u64(&self, name: &str) -> Result<Option<u64>, Reject> {
        let Some(query) = self.query else {
            return Ok(None);
        };
        let Some((_, value)) =
            url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name)
        else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|_| {
            Reject(
                StatusCode::BAD_REQUEST,
                format!("query parameter {name}={value:?} is not a non-negative integer"),
            )
        })
    }

    /// A query parameter as text (decoded), when given.
    pub(crate) fn query_text(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The JSON body; an empty body is `None`, a malformed one a `400`.
    pub(crate) fn json(&self) -> Result<Option<Value>, Reject> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(self.body).map(Some).map_err(|e| {
            Reject(
                StatusCode::BAD_REQUEST,
                format!("request body is not valid JSON: {e}"),
            )
        })
    }

    /// `METHOD /path`: what an idempotency key is bound to.
    pub(crate) fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Percent-encodes one path segment for a URL we hand out.
pub(crate) fn segment(text: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    utf8_percent_encode(text, SEGMENT).to_string()
}
