//! A thin, typed client for the dozen GitHub REST calls ferry makes, over the same `reqwest` as
//! the platform client (no second HTTP or TLS stack).
//!
//! Why not octocrab: its default retry replays every POST on 5xx, 429 and transport errors
//! (duplicate comments and deployments), its models require fields real responses lack
//! (octocrab#884), and its deployments API was unconfirmed; ferry's surface is about ten endpoints.
//!
//! What this client guarantees:
//!
//! - the token goes only to `GITHUB_API_URL` (GHES `…/api/v3` and `*.ghe.com` included), only over
//!   https or to a loopback address, in a header marked sensitive; a redirect is followed only
//!   within that origin (see [`crate::net::redirect`]);
//! - every answer is read within [`net::body::JSON_LIMIT`] (decoded);
//! - rate limits are honoured ([`super::rate_limit`]): a request GitHub refused for its rate
//!   limit was not carried out, so it is sent again after the wait, POST or not; after the wait
//!   budget is spent, the client stops calling GitHub for the rest of the run;
//! - other failures are retried only for [`Replay::Safe`] requests (reads, and writes whose
//!   repetition changes nothing, like setting the same status twice); a request that may have
//!   created something (a deployment, a comment) is never sent twice;
//! - every error carries GitHub's message (JSON or not, shortened, secrets redacted).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::rate_limit::{self, Budget, Limited};
use crate::error::{Error, Result};
use crate::net::{self, Replay};
use crate::secret::{ExposeSecret, Redactor, SecretString};

/// The name errors carry.
pub(crate) const GITHUB: &str = "GitHub";
/// The REST API version ferry is written against.
const API_VERSION: &str = "2022-11-28";
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a safe request is tried when GitHub fails (5xx, transport).
const SAFE_ATTEMPTS: u32 = 3;
/// How much of an error body is kept.
const BODY_CHARS: usize = 500;

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Response {
    /// The URL of `rel="next"` in the `Link` header, if any.
    pub(crate) fn next_page(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
            is_next.then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
    }
}

/// The GitHub REST client of one run. Cheap to clone (the counters are shared).
#[derive(Clone)]
pub(crate) struct Client {
    http: net::LazyClient,
    base: Url,
    token: SecretString,
    redactor: Redactor,
    calls: Arc<AtomicU32>,
    /// Set once the rate-limit wait budget is spent: no more calls this run.
    exhausted: Arc<AtomicBool>,
    budget: Arc<Budget>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &"***")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the REST API at `api_url` (`GITHUB_API_URL`). Refuses a token over plain
    /// http to a host that is not loopback.
    pub(crate) fn new(api_url: &str, token: SecretString, redactor: Redactor) -> Result<Self> {
        let setting = net::UrlSetting {
            name: "GITHUB_API_URL",
            source: "GITHUB_API_URL",
            example: "https://api.github.com or https://github.example.com/api/v3",
            credential_fix: "the token comes from `token` (FERRY_TOKEN)",
        };
        let base = net::base_url(api_url.trim().trim_end_matches('/'), &setting)?;
        net::require_secure(&base, &setting)?;
        // Redirects stay on the API's origin (a renamed repository answers with one); the token
        // never follows one elsewhere.
        let http = net::credential_client(&base, REQUEST_TIMEOUT);
        Ok(Self {
            http,
            base,
            token,
            redactor,
            calls: Arc::new(AtomicU32::new(0)),
            exhausted: Arc::new(AtomicBool::new(false)),
            budget: Arc::new(Budget::default()),
        })
    }

    /// True once the client gave up on GitHub's rate limit for this run.
    pub(crate) fn gave_up(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// How many requests were sent so far (retries included).
    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The absolute URL of an API path (`/repos/o/r/statuses/…`), kept under the base's own
    /// path (`…/api/v3` on GHES).
    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    pub(crate) async fn get(&self, path_or_url: &str) -> Result<Response> {
        self.send(Method::GET, path_or_url, None, Replay::Safe)
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value, replay: Replay) -> Result<Response> {
        self.send(Method::POST, path, Some(body), replay).await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<Response> {
        // Setting the same body twice gives the same comment.
        self.send(Method::PATCH, path, Some(body), Replay::Safe)
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Response> {
        self.send(Method::DELETE, path, None, Replay::Safe).await
    }

    /// Sends one request, honouring rate limits and retrying where safe.
    async fn send(
        &self,
        method: Method,
        path_or_url: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Response> {
        let url = self.checked_url(path_or_url)?;
        let mut failures = 0;
        loop {
            self.still_allowed(&method, &url)?;
            let (status, headers, text) = match self.attempt(&method, &url, body).await? {
                Ok(answer) => answer,
                Err(e) => {
                    failures += 1;
                    if replay == Replay::Safe && failures < SAFE_ATTEMPTS {
                        tokio::time::sleep(backoff(failures)).await;
                        continue;
                    }
                    return Err(Error::Unreachable {
                        platform: GITHUB.into(),
                        url: format!("{method} {url}"),
                        message: self.redactor.redact(&without_url(e)),
                        hint: not_replayed_hint(replay),
                    });
                }
            };
            if status.is_success() {
                return Self::success(&url, status, headers, &text);
            }
            if let Limited::Wait { wait, what } = rate_limit::classify(status, &headers, &text) {
                if self.budget.take(wait) {
                    tracing::warn!(?wait, what, "GitHub rate limit; waiting");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(self.give_up(&method, &url, status, &text, wait, what));
            }
            if status.is_server_error() && replay == Replay::Safe {
                failures += 1;
                if failures < SAFE_ATTEMPTS {
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            }
            let note = (status.is_server_error() && replay == Replay::Never)
                .then(|| "not sent again: GitHub may have carried it out".to_owned());
            return Err(self.api_error(&method, &url, status, &text, note));
        }
    }

    /// The absolute URL of a path, or a `Link` URL, which must stay on the API's origin: the
    /// token goes nowhere else.
    fn checked_url(&self, path_or_url: &str) -> Result<String> {
        let url = if path_or_url.starts_with("https://") || path_or_url.starts_with("http://") {
            path_or_url.to_owned()
        } else {
            self.url(path_or_url)
        };
        let parsed = Url::parse(&url).map_err(|e| Self::bad(&url, &format!("bad URL ({e})")))?;
        if parsed.origin() != self.base.origin() {
            return Err(Self::bad(
                &url,
                "a link points away from the API host; not followed",
            ));
        }
        Ok(url)
    }

    /// An error once the rate-limit budget is spent: no more calls this run.
    fn still_allowed(&self, method: &Method, url: &str) -> Result<()> {
        if !self.exhausted.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(Error::BadResponse {
            platform: GITHUB.into(),
            url: url.to_owned(),
            problem: format!("{method} skipped: GitHub's rate limit was reached earlier in this run"),
            hint: "wait for the limit to reset (the GITHUB_TOKEN allows 1,000 requests an hour per repository)".into(),
        })
    }

    /// One request and its answer's body (within the limits). The outer error is an answer ferry
    /// cannot use; the inner one a transport failure, which the caller may retry.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Result<(StatusCode, HeaderMap, String), reqwest::Error>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%method, %url, "GitHub request");
        let mut request = self
            .http
            .get()?
            .request(method.clone(), url)
            .headers(self.headers()?);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let limit = if status.is_success() {
            net::body::JSON_LIMIT
        } else {
            net::body::ERROR_LIMIT
        };
        let text = match net::read_limited(response, limit).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e @ net::BodyError::TooLarge { .. }) if status.is_success() => {
                return Err(Self::bad(url, &e.to_string()));
            }
            Err(_) => String::new(),
        };
        Ok(Ok((status, headers, text)))
    }

    /// A successful answer, its body read as JSON (an empty body is `null`).
    fn success(url: &str, status: StatusCode, headers: HeaderMap, text: &str) -> Result<Response> {
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(text)
                .map_err(|e| Self::bad(url, &format!("the answer is not JSON ({e})")))?
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Gives up on GitHub for the rest of the run: the wait is more than the budget allows. The
    /// error's `retry_after` marks it as a rate limit (not a permission refusal).
    fn give_up(
        &self,
        method: &Method,
        url: &str,
        status: StatusCode,
        text: &str,
        wait: Duration,
        what: &str,
    ) -> Error {
        self.exhausted.store(true, Ordering::Relaxed);
        let note = format!(
            "{what}; ferry would have to wait {}s, more than it may, so it gave up on GitHub for this run",
            wait.as_secs()
        );
        match self.api_error(method, url, status, text, Some(note)) {
            Error::PlatformApi {
                platform,
                method,
                url,
                status,
                body,
                ..
            } => Error::PlatformApi {
                platform,
                method,
                url,
                status,
                body,
                retry_after: Some(wait),
            },
            other => other,
        }
    }

    fn headers(&self) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        let auth = net::secret_value(&format!("Bearer {}", self.token.expose_secret().trim()))
            .ok_or_else(|| Error::InvalidSetting {
                name: "token".into(),
                source_name: "token / FERRY_TOKEN".into(),
                problem: "the token has characters a header cannot carry".into(),
                hint: "check the token has no line breaks, control or non-ASCII characters inside"
                    .into(),
            })?;
        headers.insert(AUTHORIZATION, auth);
        Ok(headers)
    }

    fn bad(url: &str, problem: &str) -> Error {
        Error::BadResponse {
            platform: GITHUB.into(),
            url: url.to_owned(),
            problem: problem.to_owned(),
            hint: "check GITHUB_API_URL points at GitHub's REST API".into(),
        }
    }

    fn api_error(
        &self,
        method: &Method,
        url: &str,
        status: StatusCode,
        text: &str,
        note: Option<String>,
    ) -> Error {
        let mut body = message_of(text);
        if let Some(note) = note {
            body = if body.is_empty() {
                note
            } else {
                format!("{body} ({note})")
            };
        }
        Error::PlatformApi {
            platform: GITHUB.into(),
            method: method.to_string(),
            url: url.to_owned(),
            status: status.as_u16(),
            body: safe_for_log(&self.redactor.redact(&body)),
            retry_after: None,
        }
    }
}

/// GitHub's `message` (and the first error's detail) from a JSON error body, else the text.
pub(crate) fn message_of(text: &str) -> String {
    let message = if let Ok(v) = serde_json::from_str::<Value>(text) {
        let mut m = v["message"].as_str().unwrap_or_default().to_owned();
        if let Some(detail) = v["errors"][0]["message"].as_str() {
            m = format!("{m}: {detail}");
        }
        if m.is_empty() { text.to_owned() } else { m }
    } else {
        let t = text.trim();
        if t.is_empty() {
            String::new()
        } else {
            format!("(not JSON) {t}")
        }
    };
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    net::shorten(&one_line, BODY_CHARS)
}

/// Text from GitHub shown in the job log: the legacy `##[command]` syntax works anywhere in a
/// line, so it is broken up.
pub(crate) fn safe_for_log(text: &str) -> String {
    text.replace("##[", "##\u{200b}[")
        .replace("::", ":\u{200b}:")
}

/// A transport error without the URL (reqwest puts it in; ours is in the error already).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn not_replayed_hint(replay: Replay) -> String {
    match replay {
        Replay::Safe => "check GITHUB_API_URL and the network".into(),
        Replay::Never => {
            "not sent again, since GitHub may have carried it out; check GITHUB_API_URL and the network"
                .into()
        }
    }
}

fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(500) * 2u32.saturating_pow(failures.saturating_sub(1));
    base + Duration::from_millis(rand::random::<u64>() % 250)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_reads_the_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel=\"last\"",
            ),
        );
        let r = Response {
            status: StatusCode::OK,
            headers,
            body: Value::Null,
        };
        assert_eq!(
            r.next_page().as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
    }

    #[test]
    fn error_messages_come_from_json_or_text() {
        assert_eq!(
            message_of(
                r#"{"message":"Validation Failed","errors":[{"message":"description is too long"}]}"#
            ),
            "Validation Failed: description is too long"
        );
        assert_eq!(
            message_of("<html>\n502 Bad Gateway</html>"),
            "(not JSON) <html> 502 Bad Gateway</html>"
        );
        assert_eq!(message_of(""), "");
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let token = || SecretString::from("ghp_x".to_owned());
        match Client::new(
            "http://github.example.com/api/v3",
            token(),
            Redactor::default(),
        ) {
            Err(Error::InvalidSetting { name, problem, .. }) => {
                assert_eq!(name, "GITHUB_API_URL");
                assert!(problem.contains("not https"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        assert!(Client::new("http://127.0.0.1:9/", token(), Redactor::default()).is_ok());
        let ghes = Client::new(
            "https://ghes.example.com/api/v3/",
            token(),
            Redactor::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ghes.url("/repos/o/r/statuses/abc"),
            "https://ghes.example.com/api/v3/repos/o/r/statuses/abc"
        );
    }

    #[test]
    fn log_text_cannot_carry_workflow_commands() {
        assert!(!safe_for_log("x ##[error]y ::add-mask::z").contains("##["));
        assert!(!safe_for_log("::add-mask::z").contains("::"));
    }
}
