//! The GitLab REST client: the `gitlab` crate's typed endpoints driven through ferry's own
//! reqwest client (its [`RestClient`] / [`AsyncClient`] traits), so no second HTTP stack, no
//! connection check at construction (`GitlabBuilder` calls `GET /user` or `GET /job` while it is
//! built), and ferry's own rules:
//!
//! - the API base is `CI_API_V4_URL` verbatim (self-managed instances under a relative root such
//!   as `https://host/gitlab/api/v4` work);
//! - the token goes in `PRIVATE-TOKEN`, marked sensitive, only over https or to loopback, and a
//!   redirect is followed only within the API's origin (see [`crate::net::redirect`]);
//! - every answer is read within [`net::body::JSON_LIMIT`] (decoded);
//! - a 429 is retried after `Retry-After` / `RateLimit-Reset` (at most [`MAX_WAIT`]); a 5xx or a
//!   transport error is retried only for `GET`/`PUT`/`DELETE`, never for a `POST` that may have
//!   been applied (a note would be posted twice);
//! - every error keeps the method, the URL, the status and the (redacted, shortened) body.
//!
//! It must not decide what to report: the status and note modules do.

use crate::net::{self, error_chain};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use gitlab::api::{self, ApiError, AsyncClient, AsyncQuery, Endpoint, RestClient};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::Error;
use crate::secret::{ExposeSecret, Redactor, SecretString};

/// The longest wait ferry accepts from a rate limit before giving up (reporting must not hold a
/// finished deploy's job for minutes).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(30);
/// Attempts for one request (the first one included).
const ATTEMPTS: u32 = 3;
/// The most characters of an error body kept in a message.
const BODY_MAX: usize = 300;

/// A transport failure (connection refused, TLS, timeout), as the `gitlab` crate's client error.
#[derive(Debug)]
pub(crate) struct TransportError(String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// What the last response looked like (the crate's errors drop the URL and headers).
#[derive(Clone, Debug, Default)]
struct Seen {
    method: String,
    url: String,
    status: u16,
    body: String,
    next_page: NextPage,
}

/// What `X-Next-Page` said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum NextPage {
    /// No header (lists over 10 000 items, a proxy that strips it).
    #[default]
    Unknown,
    /// The header is empty: this was the last page.
    None,
    /// The next page's number.
    Page(u64),
}

/// A failed call, with what callers branch on (the status) and what people read.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) method: String,
    pub(crate) url: String,
    /// `None` for a transport failure or an unreadable answer.
    pub(crate) status: Option<u16>,
    /// GitLab's message (or the start of a body that is not JSON), redacted.
    pub(crate) message: String,
    /// What to do about it, when ferry knows.
    pub(crate) hint: Option<String>,
}

impl Failure {
    /// Adds the fix to show with the message.
    #[must_use]
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// ferry's GitLab client.
pub(crate) struct GitlabClient {
    http: net::LazyClient,
    /// `CI_API_V4_URL` with a trailing `/`, so endpoints join below it.
    base: Url,
    /// The token as the `PRIVATE-TOKEN` header value, marked sensitive.
    token: HeaderValue,
    redactor: Redactor,
    calls: AtomicU32,
    seen: Mutex<Seen>,
}

impl fmt::Debug for GitlabClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitlabClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl GitlabClient {
    /// A client for the API at `api_url` (`CI_API_V4_URL`). Refuses to send the token anywhere
    /// but https or a loopback address.
    pub(crate) fn new(
        api_url: &str,
        token: &SecretString,
        redactor: Redactor,
    ) -> crate::Result<Self> {
        let setting = net::UrlSetting {
            name: "CI_API_V4_URL",
            source: "CI_API_V4_URL",
            example: "https://gitlab.example.com/api/v4 (GitLab CI sets it)",
            credential_fix: "the token comes from `token` (FERRY_TOKEN)",
        };
        let mut base = net::base_url(api_url, &setting)?;
        net::require_secure(&base, &setting)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let token = net::secret_value(token.expose_secret().trim()).ok_or_else(|| {
            Error::InvalidSetting {
                name: "token".into(),
                source_name: "token / FERRY_TOKEN".into(),
                problem: "the token has characters an HTTP header cannot carry".into(),
                hint: "check the token has no line breaks, control or non-ASCII characters inside"
                    .into(),
            }
        })?;
        // Redirects stay on the API's origin; PRIVATE-TOKEN never follows one elsewhere.
        let http = net::credential_client(&base, Duration::from_secs(30));
        Ok(Self {
            http,
            base,
            token,
            redactor,
            calls: AtomicU32::new(0),
            seen: Mutex::new(Seen::default()),
        })
    }

    /// How many HTTP requests this client has sent (retries included).
    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Runs `endpoint` and reads its JSON answer into `T`.
    pub(crate) async fn call<T, E>(&self, endpoint: &E) -> Result<T, Failure>
    where
        T: DeserializeOwned,
        E: Endpoint + Sync,
    {
        let body = self.raw(endpoint).await?;
        serde_json::from_slice(&body).map_err(|e| {
            let seen = self.seen();
            Failure {
                method: seen.method,
                url: seen.url,
                status: None,
                message: format!(
                    "the answer is not the JSON ferry expects ({e}): {}",
                    self.shorten(&String::from_utf8_lossy(&body))
                ),
                hint: None,
            }
        })
    }

    /// Runs `endpoint` and ignores its answer (`DELETE` answers `204 No Content`).
    pub(crate) async fn call_ignore<E>(&self, endpoint: &E) -> Result<(), Failure>
    where
        E: Endpoint + Sync,
    {
        self.raw(endpoint).await.map(drop)
    }

    /// The `X-Next-Page` of the last answer.
    pub(crate) fn next_page(&self) -> NextPage {
        self.seen().next_page
    }

    async fn raw<E>(&self, endpoint: &E) -> Result<Vec<u8>, Failure>
    where
        E: Endpoint + Sync,
    {
        api::raw(endpoint)
            .query_async(self)
            .await
            .map_err(|e| self.failure(&e))
    }

    fn failure(&self, error: &ApiError<TransportError>) -> Failure {
        let seen = self.seen();
        match error {
            ApiError::Client { source } => Failure {
                method: seen.method,
                url: seen.url,
                status: None,
                message: self.redactor.redact(&source.0),
                hint: None,
            },
            _ if seen.status >= 400 => Failure {
                method: seen.method,
                url: seen.url,
                status: Some(seen.status),
                message: message(&seen.body, |b| self.shorten(b)),
                hint: None,
            },
            other => Failure {
                method: seen.method,
                url: seen.url,
                status: None,
                message: self.redactor.redact(&other.to_string()),
                hint: None,
            },
        }
    }

    fn shorten(&self, text: &str) -> String {
        let text: String = self
            .redactor
            .redact(text)
            .chars()
            .filter(|c| !c.is_control() || *c == ' ')
            .collect();
        net::shorten(&text, BODY_MAX)
    }

    fn seen(&self) -> Seen {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, seen: Seen) {
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = seen;
    }

    async fn send_once(
        &self,
        http: &reqwest::Client,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut headers = parts.headers.clone();
        headers.insert("PRIVATE-TOKEN", self.token.clone());
        self.calls.fetch_add(1, Ordering::Relaxed);
        http.request(parts.method.clone(), parts.uri.to_string())
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
    }
}

/// GitLab's message from an error body: `message` (a string or an object of field errors) or
/// `error`, else the start of the body (a proxy's HTML page, a truncated answer).
fn message(body: &str, shorten: impl Fn(&str) -> String) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => match v.get("message").or_else(|| v.get("error")) {
            Some(serde_json::Value::String(s)) => shorten(s),
            Some(other) => shorten(&other.to_string()),
            None => shorten(body),
        },
        Err(_) if body.trim().is_empty() => "(empty body)".into(),
        Err(_) => format!("(not JSON) {}", shorten(body)),
    }
}

/// How long GitLab asks ferry to wait: `Retry-After` (seconds or an HTTP date), else
/// `RateLimit-Reset` (a Unix time), else a short default.
fn wait_for(headers: &HeaderMap, now: SystemTime) -> Duration {
    net::server_wait(headers, now).unwrap_or(Duration::from_secs(1))
}

impl RestClient for GitlabClient {
    type Error = TransportError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.base.join(endpoint.trim_start_matches('/'))?)
    }
}

#[async_trait]
impl AsyncClient for GitlabClient {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        let request = request
            .body(())
            .map_err(|e| ApiError::client(TransportError(e.to_string())))?;
        let (parts, ()) = request.into_parts();
        let method = parts.method.to_string();
        let url = parts.uri.to_string();
        // A POST may have been applied even when its answer was lost: never replay it blindly.
        let idempotent = net::Replay::of_method(&parts.method).is_safe();
        let http = self
            .http
            .get()
            .map_err(|e| ApiError::client(TransportError(e.to_string())))?;
        let mut attempt = 1;
        loop {
            tracing::debug!(%method, %url, attempt, "GitLab request");
            let outcome = self.send_once(http, &parts, &body).await;
            let response = match outcome {
                Ok(r) => r,
                Err(e) => {
                    let text = self.redactor.redact(&error_chain(&e));
                    if idempotent && attempt < ATTEMPTS {
                        tracing::debug!(error = %text, "GitLab request failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                        attempt += 1;
                        continue;
                    }
                    self.remember(Seen {
                        method: method.clone(),
                        url: url.clone(),
                        ..Seen::default()
                    });
                    return Err(ApiError::client(TransportError(text)));
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = match net::read_limited(response, net::body::JSON_LIMIT).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.remember(Seen {
                        method: method.clone(),
                        url: url.clone(),
                        ..Seen::default()
                    });
                    return Err(ApiError::client(TransportError(
                        self.redactor.redact(&e.to_string()),
                    )));
                }
            };
            let retry = if status.as_u16() == 429 {
                let wait = wait_for(&headers, SystemTime::now());
                (wait <= MAX_WAIT).then_some(wait)
            } else if status.is_server_error() && idempotent {
                Some(Duration::from_millis(500 * u64::from(attempt)))
            } else {
                None
            };
            if let Some(wait) = retry
                && attempt < ATTEMPTS
            {
                tracing::debug!(
                    status = status.as_u16(),
                    ?wait,
                    "GitLab asked to wait; retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            self.remember(Seen {
                method: method.clone(),
                url: url.clone(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
                next_page: match headers.get("x-next-page") {
                    None => NextPage::Unknown,
                    Some(v) => v
                        .to_str()
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                        .map_or(NextPage::None, NextPage::Page),
                },
            });
            let mut builder = http::Response::builder().status(status);
            if let Some(h) = builder.headers_mut() {
                *h = headers;
            }
            return builder
                .body(bytes)
                .map_err(|e| ApiError::client(TransportError(e.to_string())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_over_https_or_to_loopback() {
        let refused = |url: &str| match GitlabClient::new(
            url,
            &SecretString::from("glpat-secret-value"),
            Redactor::default(),
        ) {
            Err(Error::InvalidSetting { name, problem, .. }) => {
                assert_eq!(name, "CI_API_V4_URL");
                assert!(!problem.contains("glpat-secret-value"));
                problem
            }
            other => panic!("{url}: {other:?}"),
        };
        assert!(refused("http://gitlab.example.com/api/v4").contains("not https"));
        assert!(refused("https://ci:pw@gitlab.example.com/api/v4").contains("credentials"));
        assert!(
            GitlabClient::new(
                "http://127.0.0.1:8080/api/v4",
                &SecretString::from("glpat-secret-value"),
                Redactor::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn endpoints_join_below_a_relative_root() {
        let c = GitlabClient::new(
            "https://host.example/gitlab/api/v4",
            &SecretString::from("t0ken-value"),
            Redactor::default(),
        )
        .unwrap();
        let url = c.rest_endpoint("projects/g%2Fp/statuses/abc").unwrap();
        assert_eq!(
            url.as_str(),
            "https://host.example/gitlab/api/v4/projects/g%2Fp/statuses/abc"
        );
        assert!(!format!("{c:?}").contains("t0ken-value"));
    }

    #[test]
    fn waits_follow_retry_after_then_ratelimit_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(wait_for(&h, now), Duration::from_secs(1));
        h.insert("ratelimit-reset", HeaderValue::from_static("1700000007"));
        assert_eq!(wait_for(&h, now), Duration::from_secs(7));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(wait_for(&h, now), Duration::from_secs(3));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        h.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        assert_eq!(wait_for(&h, now), Duration::from_secs(5));
    }

    #[test]
    fn error_messages_come_from_json_or_the_start_of_the_body() {
        let id = |s: &str| s.to_string();
        assert_eq!(
            message(r#"{"message":"403 Forbidden"}"#, id),
            "403 Forbidden"
        );
        assert_eq!(
            message(r#"{"error":"insufficient_scope"}"#, id),
            "insufficient_scope"
        );
        assert_eq!(
            message(r#"{"message":{"name":["has already been taken"]}}"#, id),
            r#"{"name":["has already been taken"]}"#
        );
        assert_eq!(
            message("<html>502 Bad Gateway</html>", id),
            "(not JSON) <html>502 Bad Gateway</html>"
        );
        assert_eq!(message("", id), "(empty body)");
    }
}
