//! The `http` backend: any REST platform, described in `ferry.toml` instead of coded.
//!
//! Each phase is optional requests sent first (`before`: a source, an upload), a trigger request
//! (with a `find` when its answer has no id) or the `observe` of an operation started elsewhere,
//! an optional resolve step, a status request with explicit running / success / failure sets, an
//! optional log request (offset, full re-read or cursor), an optional cancel request, requests
//! read once after success (`fetch`), and outputs. See [`spec`] for the description language;
//! `trigger.rs`, `observe.rs` (with `search.rs`), `upload.rs` and `fetch.rs` send the requests.

mod check;
pub(crate) mod client;
pub(crate) mod condition;
mod doctor;
mod fetch;
pub(crate) mod lines;
mod log_spec;
pub(crate) mod logs;
mod observe;
pub(crate) mod plan;
mod search;
pub(crate) mod source;
pub(crate) mod spec;
pub(crate) mod template;
mod trigger;
mod upload;
pub(crate) mod watch;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use self::check::check_phase;
use self::client::{Client, Request, Upload};
use self::source::Source;
use self::spec::{PhaseSpec, ProbeSpec, RequestSpec, UnknownPolicy};
use self::template::{Target, TemplateError, render, render_json};
use super::backend::{Backend, LogRead, LogSink, Observation, Operation, Resolved, Vars, Watched};
use super::credential::CredentialSource;
use super::described::Described;
use super::event::{Phase, StateClass};
use super::probe::Finding;
use crate::error::{Error, Result, quote};
use crate::net::Replay;

/// A platform described in `ferry.toml`.
#[derive(Debug)]
pub(crate) struct HttpBackend {
    client: Client,
    name: String,
    headers: BTreeMap<String, String>,
    phases: BTreeMap<Phase, PhaseSpec>,
    /// The read-only request of `ferry check --probe`, when the description has one.
    probe: Option<ProbeSpec>,
    /// Where the credential comes from, to name it when the probe is refused.
    credential: CredentialSource,
}

impl HttpBackend {
    /// Checks the description (every source, pointer and method) and builds the backend.
    pub(crate) fn new(
        client: Client,
        headers: BTreeMap<String, String>,
        phases: BTreeMap<Phase, PhaseSpec>,
    ) -> Result<Self> {
        for (phase, spec) in &phases {
            check_phase(*phase, spec)?;
        }
        Ok(Self {
            name: client.name().to_string(),
            client,
            headers,
            phases,
            probe: None,
            credential: CredentialSource::default(),
        })
    }

    /// The backend with the description's `probe` request (only `GET` or `HEAD`: a probe
    /// changes nothing) and where its credential comes from.
    pub(crate) fn with_probe(
        mut self,
        probe: Option<ProbeSpec>,
        credential: CredentialSource,
    ) -> Result<Self> {
        if let Some(p) = &probe
            && let Some(method) = &p.method
            && !matches!(method.to_ascii_uppercase().as_str(), "GET" | "HEAD")
        {
            return Err(Error::ConfigFile {
                path: "ferry.toml probe".into(),
                message: format!(
                    "method = {} would change something, and a probe must only read\n  fix: use method = \"GET\" (or \"HEAD\") with the platform's read request for the app",
                    quote(method)
                ),
            });
        }
        self.probe = probe;
        self.credential = credential;
        Ok(self)
    }

    fn spec(&self, phase: Phase) -> Result<&PhaseSpec> {
        self.phases.get(&phase).ok_or_else(|| Error::Unsupported {
            what: format!("the {phase} phase"),
            hint: format!("describe it in a [{phase}] section of ferry.toml"),
        })
    }

    /// Renders a request; `section` names it in messages (`[build.status]`).
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        section: &str,
        method: &str,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: Option<&toml::Value>,
        expect: &[u16],
        vars: &Vars,
    ) -> Result<Request> {
        let missing = |e: TemplateError| e.in_section(section);
        let url = self
            .client
            .url(&render(path, vars, Target::Url).map_err(missing)?)?;
        // A `{{ secrets.NAME }}` goes to the platform's own origin only, never to a URL an answer
        // gave (a signed upload URL, a log host): checked before anything is rendered into it.
        if !self.client.same_origin(&url) && names_a_secret(path, headers, body) {
            return Err(secret_elsewhere(section, &url));
        }
        // `[platform] headers` go to the platform only; a request's own go where it goes.
        let platform = if self.client.same_origin(&url) {
            Some(&self.headers)
        } else {
            None
        };
        let mut all = Vec::new();
        for (name, value) in platform.into_iter().flatten().chain(headers) {
            all.push((
                name.clone(),
                render(value, vars, Target::Text).map_err(missing)?,
            ));
        }
        let body = body
            .map(|b| {
                let json = serde_json::to_value(b).map_err(|e| Error::ConfigFile {
                    path: section.to_string(),
                    message: format!("the body cannot be written as JSON: {e}"),
                })?;
                render_json(&json, vars).map_err(missing)
            })
            .transpose()?;
        let method =
            reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                Error::ConfigFile {
                    path: section.to_string(),
                    message: format!("{} is not an HTTP method", quote(method)),
                }
            })?;
        Ok(Request {
            method,
            url,
            headers: all,
            body,
            expect: expect.to_vec(),
        })
    }

    fn plain(
        &self,
        section: &str,
        spec: &RequestSpec,
        default: &str,
        vars: &Vars,
    ) -> Result<Request> {
        self.request(
            section,
            spec.method.as_deref().unwrap_or(default),
            &spec.path,
            &spec.headers,
            spec.body.as_ref(),
            &spec.expect,
            vars,
        )
    }

    /// Sends a request and reads a JSON body (with headers).
    async fn json(
        &self,
        req: Request,
        section: &str,
    ) -> Result<(serde_json::Value, Vec<(String, String)>)> {
        self.json_with(req, None, section).await
    }

    /// [`HttpBackend::json`], sending a file as the body when there is one.
    async fn json_with(
        &self,
        req: Request,
        upload: Option<Upload>,
        section: &str,
    ) -> Result<(serde_json::Value, Vec<(String, String)>)> {
        json_answer(&self.client, &self.name, req, upload, section).await
    }

    fn capture(
        &self,
        section: &str,
        captures: &BTreeMap<String, String>,
        body: &serde_json::Value,
        headers: &[(String, String)],
        op: &mut Operation,
        request_url: &url::Url,
    ) -> Result<()> {
        self.capture_into(section, captures, body, headers, &mut op.vars, request_url)
    }

    /// Keeps the values `captures` names as template values.
    fn capture_into(
        &self,
        section: &str,
        captures: &BTreeMap<String, String>,
        body: &serde_json::Value,
        headers: &[(String, String)],
        vars: &mut Vars,
        request_url: &url::Url,
    ) -> Result<()> {
        for (name, text) in captures {
            let src = Source::parse(text).ok_or_else(|| bad_source(section, name, text))?;
            let value = src.extract(Some(body), headers, vars).ok_or_else(|| Error::BadResponse {
                platform: self.name.clone(),
                url: self.client.redact(request_url.as_str()),
                problem: format!("{section} capture `{name}` = {} matched nothing in {}", quote(text), preview(body)),
                hint: "point it at a field the response has (a JSON Pointer such as /data/id) or a header (header:Location)".into(),
            })?;
            let value = absolutise(&src, &value, request_url);
            vars.insert(name.clone(), value);
        }
        Ok(())
    }
}

/// A request naming a `secrets.` value that would go to another origin than the platform's.
fn secret_elsewhere(section: &str, url: &url::Url) -> Error {
    Error::ConfigFile {
        path: format!("ferry.toml {section}"),
        message: format!(
            "the request names a `secrets.` value and goes to {}, which is not the platform's origin\n  fix: send secrets only in requests to the platform's own URL (`[platform] url`); a request to another origin cannot carry one",
            url.origin().ascii_serialization()
        ),
    }
}

/// Whether a request's path, headers or body name a `secrets.` value.
fn names_a_secret(
    path: &str,
    headers: &BTreeMap<String, String>,
    body: Option<&toml::Value>,
) -> bool {
    fn strings<'a>(value: &'a toml::Value, out: &mut Vec<&'a str>) {
        match value {
            toml::Value::String(s) => out.push(s),
            toml::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            toml::Value::Table(t) => t.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut texts: Vec<&str> = vec![path];
    texts.extend(headers.values().map(String::as_str));
    if let Some(b) = body {
        strings(b, &mut texts);
    }
    texts.iter().any(|t| {
        template::names(t)
            .iter()
            .any(|n| n == "secrets" || n.starts_with("secrets."))
    })
}

fn header_list(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

/// A relative `Location` becomes absolute against the request's URL.
fn absolutise(src: &Source, value: &str, request_url: &url::Url) -> String {
    if matches!(src, Source::Header(_))
        && !value.contains("://")
        && let Ok(u) = request_url.join(value)
    {
        return u.to_string();
    }
    value.to_string()
}

fn preview(body: &serde_json::Value) -> String {
    crate::net::shorten(&body.to_string(), 200)
}

/// Sends a request with `client` and reads a JSON body (with headers); `name` is the platform's
/// display name, for errors. A free function, so that a task of its own can send one.
async fn json_answer(
    client: &Client,
    name: &str,
    req: Request,
    upload: Option<Upload>,
    section: &str,
) -> Result<(serde_json::Value, Vec<(String, String)>)> {
    let url = client.redact(req.url.as_str());
    let resp = client.send_with(req, upload).await?;
    let headers = header_list(resp.headers());
    let bytes = client.body(resp, &url).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((serde_json::Value::Null, headers));
    }
    let body = serde_json::from_slice(&bytes).map_err(|e| Error::BadResponse {
        platform: name.to_string(),
        url,
        problem: format!(
            "the body is not valid JSON ({e}): {}",
            client.redact(&crate::net::shorten(&String::from_utf8_lossy(&bytes), 200))
        ),
        hint: format!("check that {section} points at the platform's JSON endpoint"),
    })?;
    Ok((body, headers))
}

fn bad_source(section: &str, name: &str, text: &str) -> Error {
    let fix = if text.contains("://") {
        "a value source reads a URL from an answer; a fixed URL is written as path = \"…\" (an absolute URL is used as it is)"
    } else {
        "use a JSON Pointer (/data/id), a header (header:Location) or a template ({{ id }})"
    };
    Error::ConfigFile {
        path: format!("ferry.toml {section}"),
        message: format!(
            "`{name}` = {} is not a value source\n  fix: {fix}",
            quote(text)
        ),
    }
}

#[async_trait]
impl Backend for HttpBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self, phase: Phase, vars: &Vars) -> Described {
        self.describe_phase(phase, vars)
    }

    async fn probe(&self, _phases: &[Phase], vars: &Vars) -> Vec<Finding> {
        self.probe_platform(vars).await
    }

    /// Safe when the trigger sends `{{ idempotency_key }}` (in its path, a header or its body),
    /// and for a phase that observes (it starts nothing).
    fn trigger_replay(&self, phase: Phase) -> Replay {
        let Some(spec) = self.phases.get(&phase) else {
            return Replay::Never;
        };
        let Some(t) = &spec.trigger else {
            return Replay::Safe;
        };
        let uses = |text: &str| template::names(text).iter().any(|n| n == "idempotency_key");
        if uses(&t.path)
            || t.headers.values().any(|v| uses(v))
            || t.body.as_ref().is_some_and(|b| uses(&b.to_string()))
        {
            Replay::Safe
        } else {
            Replay::Never
        }
    }

    async fn trigger(&self, phase: Phase, vars: &Vars) -> Result<Operation> {
        self.start(phase, vars).await
    }

    async fn resolve(&self, op: &mut Operation) -> Result<Resolved> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let Some(r) = &spec.resolve else {
            return Ok(Resolved::Ready);
        };
        let section = format!("[{phase}.resolve]");
        let req = self.request(&section, "GET", &r.path, &r.headers, None, &[], &op.vars)?;
        let url = req.url.clone();
        let (body, headers) = self.json(req, &format!("{section} path")).await?;
        if condition::any_holds(&r.failure, &body) {
            return Ok(Resolved::Failed(format!(
                "the platform gave up on it: {}",
                preview(&body)
            )));
        }
        let until =
            Source::parse(&r.until).ok_or_else(|| bad_source(&section, "until", &r.until))?;
        if until.extract(Some(&body), &headers, &op.vars).is_none() {
            let why = body.pointer("/why").and_then(source::value_text);
            return Ok(Resolved::Waiting(why));
        }
        self.capture(&section, &r.capture, &body, &headers, op, &url)?;
        Ok(Resolved::Ready)
    }

    async fn status(&self, op: &mut Operation) -> Result<Observation> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let section = format!("[{phase}.status]");
        let s = &spec.status;
        // What a long poll brought is the latest answer: no need to ask again.
        let (url, body, headers) = if let Some(pushed) = watch::take_pushed(op) {
            (pushed.url, pushed.body, pushed.headers)
        } else {
            let req = self.request(&section, "GET", &s.path, &s.headers, None, &[], &op.vars)?;
            let url = req.url.clone();
            let (body, headers) = self.json(req, &format!("{section} path")).await?;
            (url, body, headers)
        };
        let state = condition::describe(s, &body);
        let class = match condition::classify(s, &body) {
            Some(c) => c,
            None if s.unknown == UnknownPolicy::Running => StateClass::Running,
            None => {
                return Err(Error::BadResponse {
                    platform: self.name.clone(),
                    url: self.client.redact(url.as_str()),
                    problem: format!(
                        "state {state:?} is in none of {section} running, success or failure"
                    ),
                    hint: format!(
                        "add it to the list it belongs to in {section} (or set unknown = \"running\" to keep waiting on values not listed)"
                    ),
                });
            }
        };
        let mut estimate = watch::estimate(s, op, &body, &headers);
        if estimate.is_none()
            && class == StateClass::Running
            && let Some(h) = &spec.history
        {
            estimate = self.history_estimate(op, h).await;
        }
        op.last_body = Some(body);
        op.last_headers = headers;
        Ok(Observation {
            state,
            class,
            estimate,
        })
    }

    fn has_logs(&self, phase: Phase) -> bool {
        self.phases.get(&phase).is_some_and(|s| s.logs.is_some())
    }

    fn log_is_live(&self, op: &Operation) -> bool {
        watch::live(op)
    }

    async fn watch(&self, op: &mut Operation, max: Duration) -> Result<Watched> {
        self.watch_op(op, max).await
    }

    async fn logs(&self, op: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let Some(l) = &spec.logs else {
            return Ok(LogRead::DONE);
        };
        self.read_log(op, l, sink).await
    }

    /// A trigger that sends `{{ idempotency_key }}` is sent again with the same key: a platform
    /// that honours the key answers with the operation the first request started (and starts
    /// nothing new), which can then be cancelled.
    async fn recover(&self, phase: Phase, vars: &Vars) -> Result<Option<Operation>> {
        if !self.trigger_replay(phase).is_safe() {
            return Ok(None);
        }
        self.trigger(phase, vars).await.map(Some)
    }

    async fn cancel(&self, op: &Operation) -> Result<()> {
        logs::stop(op);
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let Some(c) = &spec.cancel else {
            let hint = if spec.observe.is_some() {
                // Heroku's release phase: the platform started it and offers no way to stop it.
                format!(
                    "the {phase} follows an operation ferry did not start ([{phase}.observe]) and describes no [{phase}.cancel]; stop it on the platform if it must not finish"
                )
            } else {
                format!(
                    "add a [{phase}.cancel] request to ferry.toml so ferry can stop remote work"
                )
            };
            return Err(Error::Unsupported {
                what: format!("cancelling the {phase}"),
                hint,
            });
        };
        let req = self.plain(&format!("[{phase}.cancel]"), c, "POST", &op.vars)?;
        self.client.send(req).await.map(|_| ())
    }

    async fn fetch(&self, op: &mut Operation) -> Result<()> {
        self.fetch_all(op).await
    }

    fn outputs(&self, op: &Operation) -> Result<BTreeMap<String, String>> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let mut out = BTreeMap::new();
        for (name, text) in &spec.outputs {
            let src = Source::parse(text)
                .ok_or_else(|| bad_source(&format!("[{phase}.outputs]"), name, text))?;
            if let Some(v) = src.extract_with(
                op.last_body.as_ref(),
                &op.last_headers,
                &op.vars,
                &op.fetched,
            ) {
                out.insert(name.clone(), v);
            }
        }
        Ok(out)
    }

    fn message(&self, op: &Operation) -> Option<String> {
        self.failure_message(op)
    }
}
