//! The HTTP client of the `http` backend: URL joining, auth, status checks, error mapping.
//!
//! Credentials go only to the platform's own origin, and only over https or to a loopback
//! address. Every error carries the response body (shortened, secrets redacted) so people can
//! see what the platform said.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, Redactor, SecretString};

/// How the platform credential is sent.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(SecretString),
    Basic {
        user: String,
        password: SecretString,
    },
    Header {
        name: String,
        value: SecretString,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(***)",
            Auth::Basic { .. } => "Auth::Basic(***)",
            Auth::Header { .. } => "Auth::Header(***)",
        })
    }
}

/// One request to send.
#[derive(Debug)]
pub struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    /// Accepted statuses; empty means any 2xx.
    pub expect: Vec<u16>,
}

/// A platform's HTTP client.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    name: String,
    redactor: Redactor,
}

/// How long one request may take (a log chunk included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// True for loopback hosts, where plain http may carry a token.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Client {
    /// A client for the platform at `base`. Refuses to send a credential over plain http to a
    /// host that is not loopback.
    pub fn new(name: String, base: Url, auth: Auth, redactor: Redactor) -> Result<Self> {
        if !matches!(auth, Auth::None) && base.scheme() != "https" && !is_loopback(&base) {
            return Err(Error::InvalidSetting {
                name: "platform_url".into(),
                source_name: "platform_url / [platform] url".into(),
                problem: format!(
                    "{base} is plain http, and a platform token must not travel unencrypted"
                ),
                hint: "use an https:// URL (plain http is allowed only for localhost)".into(),
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Unsupported {
                what: format!("the HTTP client ({e})"),
                hint: "check that CA certificates are installed (SSL_CERT_FILE)".into(),
            })?;
        Ok(Self {
            http,
            base,
            auth,
            name,
            redactor,
        })
    }

    /// The same client, not following redirects: for APIs whose redirect statuses carry meaning
    /// (Jenkins answers a trigger with 201 or 303 and the queue item in `Location`).
    pub fn without_redirects(mut self) -> Result<Self> {
        self.http = reqwest::Client::builder()
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Unsupported {
                what: format!("the HTTP client ({e})"),
                hint: "check that CA certificates are installed (SSL_CERT_FILE)".into(),
            })?;
        Ok(self)
    }

    /// The platform's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// An absolute URL from a rendered path: absolute URLs stay, paths join the base URL
    /// (keeping the base's own path, e.g. `/api` + `/v1/x` = `/api/v1/x`).
    pub fn url(&self, rendered: &str) -> Result<Url> {
        let text = if rendered.starts_with("http://") || rendered.starts_with("https://") {
            rendered.to_string()
        } else {
            format!(
                "{}/{}",
                self.base.as_str().trim_end_matches('/'),
                rendered.trim_start_matches('/')
            )
        };
        Url::parse(&text).map_err(|e| Error::BadResponse {
            platform: self.name.clone(),
            url: self.redactor.redact(&text),
            problem: format!("not a valid URL ({e})"),
            hint: "check the path templates in ferry.toml and the values they use".into(),
        })
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// Sends a request and checks its status. Transport errors become [`Error::Unreachable`];
    /// unexpected statuses [`Error::PlatformApi`] with the body and any `Retry-After`.
    pub async fn send(&self, req: Request) -> Result<reqwest::Response> {
        let shown = self.redactor.redact(req.url.as_str());
        let method = req.method.to_string();
        let mut builder = self.http.request(req.method, req.url.clone());
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(Error::BadResponse {
                    platform: self.name.clone(),
                    url: shown,
                    problem: format!("header {name:?} has a name or value HTTP does not allow"),
                    hint: "check the headers in ferry.toml and the values they use".into(),
                });
            };
            headers.insert(n, v);
        }
        if self.same_origin(&req.url) {
            match &self.auth {
                Auth::None => {}
                Auth::Bearer(token) => {
                    insert_secret(
                        &mut headers,
                        "authorization",
                        &format!("Bearer {}", token.expose_secret()),
                    );
                }
                Auth::Basic { user, password } => {
                    builder = builder.basic_auth(user, Some(password.expose_secret()));
                }
                Auth::Header { name, value } => {
                    insert_secret(&mut headers, name, value.expose_secret());
                }
            }
        }
        builder = builder.headers(headers);
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        tracing::debug!(method = %method, url = %shown, "request");
        let resp = builder.send().await.map_err(|e| Error::Unreachable {
            platform: self.name.clone(),
            url: shown.clone(),
            message: self.redactor.redact(&error_chain(&e)),
        })?;
        let status = resp.status().as_u16();
        let ok = if req.expect.is_empty() {
            resp.status().is_success()
        } else {
            req.expect.contains(&status)
        };
        if ok {
            return Ok(resp);
        }
        let retry_after = retry_after(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        Err(Error::PlatformApi {
            platform: self.name.clone(),
            method,
            url: shown,
            status,
            body: self.redactor.redact(&shorten(&body, 500)),
            retry_after,
        })
    }

    /// Redacts known secrets from text.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }
}

fn insert_secret(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(mut v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        v.set_sensitive(true);
        headers.insert(n, v);
    }
}

/// An error and its sources as one line (parts already said are not repeated).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The wait asked for by `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_value(
        headers.get("retry-after")?.to_str().ok()?,
        SystemTime::now(),
    )
}

/// A `Retry-After` value (seconds or an HTTP date) as the wait from `now`.
pub fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The first `max` characters of `text`, on a character boundary, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str, auth: Auth) -> Result<Client> {
        Client::new(
            "p".into(),
            Url::parse(base).unwrap(),
            auth,
            Redactor::default(),
        )
    }

    #[test]
    fn paths_join_the_base_path() {
        let c = client("http://h:1/api/", Auth::None).unwrap();
        assert_eq!(
            c.url("/v1/x?a=1").unwrap().as_str(),
            "http://h:1/api/v1/x?a=1"
        );
        assert_eq!(c.url("https://o/y").unwrap().as_str(), "https://o/y");
    }

    #[test]
    fn tokens_need_https_or_loopback() {
        let t = || Auth::Bearer(SecretString::from("tok-secret".to_string()));
        assert!(client("http://paas.example.com", t()).is_err());
        assert!(client("https://paas.example.com", t()).is_ok());
        assert!(client("http://127.0.0.1:8080", t()).is_ok());
        assert!(client("http://localhost:8080", t()).is_ok());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let got = retry_after(&h).unwrap();
        assert!(
            got > Duration::from_secs(100) && got <= Duration::from_secs(120),
            "{got:?}"
        );
    }

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("ééé", 2), "éé…");
        assert_eq!(shorten("ab", 5), "ab");
    }
}
