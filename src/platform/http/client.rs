//! The HTTP client of the platform backends: URL joining, auth, status checks, error mapping.
//!
//! Credentials go only to the platform's own origin, only over https or to a loopback address,
//! and never along a redirect to another origin (see [`crate::net::redirect`]). A credential that
//! cannot be sent as a header is refused when the client is built, never silently dropped. Every
//! error carries the response body (shortened, secrets redacted) so people can see what the
//! platform said.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Result};
use crate::net::{self, ClientOptions, RedirectRefused, Redirects};
use crate::platform::credential::CredentialSource;
use crate::secret::{ExposeSecret, Redactor, SecretString};

/// How the platform credential is sent.
#[derive(Clone)]
pub(crate) enum Auth {
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
pub(crate) struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    /// Accepted statuses; empty means any 2xx.
    pub expect: Vec<u16>,
}

impl Request {
    /// A plain request: no headers of its own, no body, any 2xx accepted.
    pub(crate) fn new(method: reqwest::Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: None,
            expect: Vec::new(),
        }
    }
}

/// A file sent as a request's body as it is (`body_file`), streamed: never held in memory.
#[derive(Debug)]
pub(crate) struct Upload {
    pub file: tokio::fs::File,
    /// Its size, sent as `Content-Length` (object stores refuse a chunked upload).
    pub len: u64,
    /// The `Content-Type` to send with it, if any.
    pub content_type: Option<String>,
}

/// The most bytes read from an uploaded file at a time.
const UPLOAD_CHUNK: usize = 64 * 1024;

impl Upload {
    fn into_body(self) -> reqwest::Body {
        use tokio::io::AsyncReadExt as _;
        let chunks = futures_util::stream::unfold(Some(self.file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0; UPLOAD_CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        reqwest::Body::wrap_stream(chunks)
    }
}

/// A platform's HTTP client.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: net::LazyClient,
    base: Url,
    /// The credential as the header it travels in (marked sensitive), when there is one.
    auth: Option<(HeaderName, HeaderValue)>,
    name: String,
    redactor: Redactor,
    /// The client of the logs read as they come (no limit on a whole request).
    pub(crate) stream: super::logs::transport::StreamClient,
    /// Where the credential came from and the fix, for a 401 or 403 from the platform's origin
    /// (said as a settings error naming the setting), when the backend wants it so.
    refusal: Option<(CredentialSource, String)>,
}

/// How long one request may take (a log chunk included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a request sending a file may take (the phase's own limit still applies).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A request's headers as HTTP carries them; a name or value HTTP does not allow is an error
/// naming the header, with `hint` saying where it was written.
pub(crate) fn header_map(
    platform: &str,
    url: &str,
    headers: &[(String, String)],
    hint: &str,
) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(Error::BadResponse {
                platform: platform.to_string(),
                url: url.to_string(),
                problem: format!("header {name:?} has a name or value HTTP does not allow"),
                hint: hint.into(),
            });
        };
        map.insert(n, v);
    }
    Ok(map)
}

/// Whether an answer is one the description expects: any 2xx, or one of `expect`.
pub(crate) fn accepted(resp: &reqwest::Response, expect: &[u16]) -> bool {
    if expect.is_empty() {
        resp.status().is_success()
    } else {
        expect.contains(&resp.status().as_u16())
    }
}

/// An answer ferry did not expect, as an error: the platform's words (shortened, redacted) and,
/// for a rate limit, the wait it asks for (`Retry-After`, or the reset headers many APIs send
/// instead).
pub(crate) async fn refused_answer(
    platform: &str,
    redactor: &Redactor,
    method: String,
    url: String,
    resp: reqwest::Response,
) -> Error {
    let status = resp.status().as_u16();
    let retry_after = (status == 429 || status == 503)
        .then(|| net::server_wait(resp.headers(), std::time::SystemTime::now()))
        .flatten()
        .or_else(|| net::retry_after(resp.headers()));
    let body = net::read_prefix(resp, net::body::ERROR_LIMIT).await;
    Error::PlatformApi {
        platform: platform.to_string(),
        method,
        url,
        status,
        body: redactor.redact(&net::shorten(&body, 500)),
        retry_after,
    }
}

impl Client {
    /// A client for the platform at `base`. Refuses to send a credential over plain http to a
    /// host that is not loopback, or a credential that an HTTP header cannot carry.
    pub(crate) fn new(name: String, base: Url, auth: &Auth, redactor: Redactor) -> Result<Self> {
        if !matches!(auth, Auth::None) {
            net::require_secure(
                &base,
                &net::UrlSetting {
                    name: "platform_url",
                    source: "platform_url / url of the platform",
                    example: "https://paas.example.com",
                    credential_fix: "",
                },
            )?;
        }
        let frame_token = match auth {
            Auth::Bearer(token) | Auth::Header { value: token, .. } => Some(token.clone()),
            Auth::None | Auth::Basic { .. } => None,
        };
        let auth = auth_header(&name, auth)?;
        let http = net::credential_client(&base, REQUEST_TIMEOUT);
        let stream = super::logs::transport::StreamClient::new(
            name.clone(),
            &base,
            auth.clone(),
            frame_token,
            redactor.clone(),
        );
        Ok(Self {
            http,
            base,
            auth,
            name,
            redactor,
            stream,
            refusal: None,
        })
    }

    /// The same client, not following redirects: for APIs whose redirect statuses carry meaning
    /// (Jenkins answers a trigger with 201 or 303 and the queue item in `Location`).
    pub(crate) fn without_redirects(mut self) -> Self {
        self.http = net::LazyClient::with(ClientOptions {
            timeout: REQUEST_TIMEOUT,
            redirects: Redirects::Never,
        });
        self
    }

    /// The platform's display name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The base URL.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// An absolute URL from a rendered path: absolute URLs stay, paths join the base URL
    /// (keeping the base's own path, e.g. `/api` + `/v1/x` = `/api/v1/x`).
    pub(crate) fn url(&self, rendered: &str) -> Result<Url> {
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

    /// Whether `url` is on the platform's origin (where the credential and `[platform] headers`
    /// go).
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// Sends a request and checks its status. Transport errors become [`Error::Unreachable`];
    /// unexpected statuses [`Error::PlatformApi`] with the body and any `Retry-After`.
    pub(crate) async fn send(&self, req: Request) -> Result<reqwest::Response> {
        self.send_with(req, None).await
    }

    /// [`Client::send`], with a file as the body instead of `req.body`.
    pub(crate) async fn send_with(
        &self,
        req: Request,
        upload: Option<Upload>,
    ) -> Result<reqwest::Response> {
        let shown = self.redactor.redact(req.url.as_str());
        let method = req.method.to_string();
        let mut builder = self.http.get()?.request(req.method, req.url.clone());
        let mut headers = header_map(
            &self.name,
            &shown,
            &req.headers,
            "check the headers in ferry.toml and the values they use",
        )?;
        if self.same_origin(&req.url)
            && let Some((name, value)) = &self.auth
        {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(upload) = &upload {
            headers.insert(
                reqwest::header::CONTENT_LENGTH,
                HeaderValue::from(upload.len),
            );
            if let Some(kind) = &upload.content_type {
                let value = HeaderValue::from_str(kind).map_err(|_| Error::BadResponse {
                    platform: self.name.clone(),
                    url: shown.clone(),
                    problem: format!("content_type {kind:?} is not a value HTTP allows"),
                    hint: "check content_type in ferry.toml (e.g. \"application/zip\")".into(),
                })?;
                headers.insert(reqwest::header::CONTENT_TYPE, value);
            }
        }
        builder = builder.headers(headers);
        if let Some(upload) = upload {
            builder = builder.timeout(UPLOAD_TIMEOUT).body(upload.into_body());
        } else if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        tracing::debug!(method = %method, url = %shown, "request");
        let resp = builder
            .send()
            .await
            .map_err(|e| self.transport_error(&shown, &e))?;
        if accepted(&resp, &req.expect) {
            return Ok(resp);
        }
        let e = refused_answer(&self.name, &self.redactor, method, shown, resp).await;
        Err(match &self.refusal {
            // The credential travels only to the platform's origin: a refusal elsewhere is not
            // about it.
            Some((credential, fix)) if self.same_origin(&req.url) => credential.check(e, fix),
            _ => e,
        })
    }

    /// This client, saying a 401 or 403 from the platform as `credential` refused, with `fix`.
    pub(crate) fn explaining_refusals(mut self, credential: CredentialSource, fix: String) -> Self {
        self.refusal = Some((credential, fix));
        self
    }

    /// A failed request as an error: a refused cross-origin redirect names where it led; any
    /// other failure is [`Error::Unreachable`].
    fn transport_error(&self, shown: &str, e: &reqwest::Error) -> Error {
        if let Some(refused) = RedirectRefused::find(e) {
            return Error::BadResponse {
                platform: self.name.clone(),
                url: shown.to_string(),
                problem: self.redactor.redact(&refused.to_string()),
                hint: format!(
                    "point the URL at where the platform really answers (if {} is the platform, use it in platform_url / url); ferry never sends a credential to another origin",
                    refused.to.origin().ascii_serialization()
                ),
            };
        }
        // The URL is said once, as `url`: not again inside reqwest's own words.
        let mut chain = net::error_chain(e);
        if let Some(url) = e.url() {
            chain = chain.replace(&format!(" for url ({url})"), "");
        }
        Error::Unreachable {
            platform: self.name.clone(),
            url: shown.to_string(),
            message: self.redactor.redact(&chain),
            hint: crate::error::UNREACHABLE_FIX.into(),
        }
    }

    /// Reads a JSON-sized answer within [`net::body::JSON_LIMIT`].
    pub(crate) async fn body(&self, resp: reqwest::Response, shown: &str) -> Result<bytes::Bytes> {
        net::read_limited(resp, net::body::JSON_LIMIT)
            .await
            .map_err(|e| match e {
                net::BodyError::TooLarge { .. } => Error::BadResponse {
                    platform: self.name.clone(),
                    url: shown.to_string(),
                    problem: e.to_string(),
                    hint: "check that the URL points at the platform's API, not at a file or a log"
                        .into(),
                },
                net::BodyError::Cut(_) => Error::Unreachable {
                    platform: self.name.clone(),
                    url: shown.to_string(),
                    message: self.redactor.redact(&e.to_string()),
                    hint: crate::error::UNREACHABLE_FIX.into(),
                },
            })
    }

    /// Redacts known secrets from text.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }
}

/// The header a credential travels in, built once; a value HTTP cannot carry is an error.
fn auth_header(platform: &str, auth: &Auth) -> Result<Option<(HeaderName, HeaderValue)>> {
    let (name, value) = match auth {
        Auth::None => return Ok(None),
        Auth::Bearer(token) => (
            "authorization".to_string(),
            format!("Bearer {}", token.expose_secret()),
        ),
        Auth::Basic { user, password } => {
            let pair = format!("{user}:{}", password.expose_secret());
            (
                "authorization".to_string(),
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            )
        }
        Auth::Header { name, value } => (name.clone(), value.expose_secret().to_string()),
    };
    let unusable = |what: &str| {
        Error::InvalidSetting {
        name: "platform_token".into(),
        source_name: format!("the credential of {platform}"),
        problem: format!("{what} an HTTP header cannot carry"),
        hint: "check the token has no line breaks, control or non-ASCII characters inside (and auth_header is a plain header name)".into(),
    }
    };
    let name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| unusable("its header name is one"))?;
    let value = net::secret_value(&value).ok_or_else(|| unusable("it has characters"))?;
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str, auth: &Auth) -> Result<Client> {
        Client::new(
            "p".into(),
            Url::parse(base).unwrap(),
            auth,
            Redactor::default(),
        )
    }

    #[test]
    fn paths_join_the_base_path() {
        let c = client("http://h:1/api/", &Auth::None).unwrap();
        assert_eq!(
            c.url("/v1/x?a=1").unwrap().as_str(),
            "http://h:1/api/v1/x?a=1"
        );
        assert_eq!(c.url("https://o/y").unwrap().as_str(), "https://o/y");
    }

    #[test]
    fn tokens_need_https_or_loopback() {
        let t = || Auth::Bearer(SecretString::from("tok-secret".to_string()));
        match client("http://paas.example.com", &t()) {
            Err(Error::InvalidSetting { name, problem, .. }) => {
                assert_eq!(name, "platform_url");
                assert!(problem.contains("not https"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        assert!(client("https://paas.example.com", &t()).is_ok());
        assert!(client("http://127.0.0.1:8080", &t()).is_ok());
        assert!(client("http://localhost:8080", &t()).is_ok());
    }

    #[test]
    fn a_credential_a_header_cannot_carry_is_refused() {
        for bad in ["tok\nen-value", "tök-value", "tok\u{0}value"] {
            let e = client(
                "https://paas.example.com",
                &Auth::Bearer(SecretString::from(bad.to_string())),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("platform_token"), "{e}");
            assert!(!e.contains(bad), "{e}");
        }
        let header = Auth::Header {
            name: "X Api".into(),
            value: SecretString::from("fine-value".to_string()),
        };
        match client("https://paas.example.com", &header) {
            Err(Error::InvalidSetting { problem, .. }) => {
                assert!(problem.contains("header name"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
    }
}
