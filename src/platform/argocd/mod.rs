//! The `argocd` backend: sync an Argo CD application to a revision and wait until it is synced
//! and healthy, by `argocd app wait`'s rules ([`app`]).
//!
//! - Sync: `POST /api/v1/applications/{name}/sync`. "another operation is already in progress"
//!   (argo-cd#4505) is not a failure: the phase waits (as resolve steps) until that operation is
//!   over, then sends the sync again. Nothing of someone else's operation is ever cancelled.
//! - Wait: `GET /api/v1/applications/{name}` once, then the watch stream
//!   `/api/v1/stream/applications?name=…` (grpc-gateway: one JSON object per line, `result` or
//!   `error`), which only speaks on change (argo-cd#12211): hence the first read. The engine polls
//!   whenever the stream breaks and watches again after.
//! - Log: there is no sync log; the health of each resource is shown as it changes.
//! - Cancel: `DELETE /api/v1/applications/{name}/operation` (TerminateOperation).
//! - Auth: `Authorization: Bearer <token>`. Every request body follows `argocd-swagger.json`.

pub(crate) mod app;
mod doctor;
pub(crate) mod plan;
pub(crate) mod spec;
pub(crate) mod state;
pub(crate) mod time;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use self::spec::ArgoPhase;
use self::state::ArgoState;
use super::backend::{
    Backend, BackendState, LogRead, LogSink, Observation, Operation, Resolved, Vars, Watched,
};
use super::credential::CredentialSource;
use super::event::{Phase, StateClass};
use super::http::client::{Client, Request};
use super::http::template::{Target, render};
use crate::error::{Error, Result};
use crate::net::Replay;

/// A watch stream is reopened after this long (the HTTP client ends any request at 60 s).
const STREAM_LIFE: Duration = Duration::from_secs(45);

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An open watch stream and the bytes of a line not complete yet.
struct Watch {
    app: String,
    opened: Instant,
    stream: ByteStream,
    buffer: Vec<u8>,
}

/// An Argo CD API server and the application each phase syncs.
pub(crate) struct ArgoBackend {
    client: Client,
    name: String,
    phases: BTreeMap<Phase, ArgoPhase>,
    credential: CredentialSource,
    watch: Mutex<Option<Watch>>,
}

impl std::fmt::Debug for ArgoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgoBackend")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The text of an error body that says the application is busy.
const BUSY: &str = "another operation is already in progress";

impl ArgoBackend {
    /// A backend for the Argo CD at `client`'s base URL.
    pub(crate) fn new(
        client: Client,
        phases: BTreeMap<Phase, ArgoPhase>,
        credential: CredentialSource,
    ) -> Self {
        Self {
            name: client.name().to_string(),
            client,
            phases,
            credential,
            watch: Mutex::new(None),
        }
    }

    fn spec(&self, phase: Phase) -> Result<&ArgoPhase> {
        self.phases.get(&phase).ok_or_else(|| Error::Unsupported {
            what: format!("the {phase} phase on {}", self.name),
            hint: "an argocd platform deploys: name it in [deploy] with platform = \"…\"".into(),
        })
    }

    /// What this backend keeps about `op`; an error for an operation it did not start.
    fn state<'o>(&self, op: &'o Operation) -> Result<&'o ArgoState> {
        op.state.argo().ok_or_else(|| self.not_ours(&op.id))
    }

    fn state_mut<'o>(&self, op: &'o mut Operation) -> Result<&'o mut ArgoState> {
        op.state.argo_mut().ok_or_else(|| self.not_ours(&op.id))
    }

    fn not_ours(&self, id: &str) -> Error {
        Error::Internal {
            what: format!("following {id:?} on {}, which did not start it", self.name),
        }
    }

    fn explain(&self, e: Error, app: &str) -> Error {
        let e = self.credential.check(
            e,
            &format!(
                "check that the token is current and that its account (or project role) may get and sync application {app:?}; without `project`, Argo CD also answers 403 for an application that does not exist"
            ),
        );
        match e {
            Error::PlatformApi {
                platform,
                method,
                url,
                status: 404,
                body,
                ..
            } => Error::BadResponse {
                platform,
                url,
                problem: format!(
                    "{method} answered HTTP 404: {}",
                    crate::net::shorten(&body, 300)
                ),
                hint: format!(
                    "no application {app:?}: check `application` (and `app_namespace` for an application outside Argo CD's namespace)"
                ),
            },
            other => other,
        }
    }

    /// `/api/v1/…` with the phase's `appNamespace` / `project` in the query.
    fn url(&self, spec: &ArgoPhase, path: &str, extra: &[(&str, &str)]) -> Result<Url> {
        let mut url = self.client.url(path)?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in extra {
                q.append_pair(k, v);
            }
            if let Some(ns) = &spec.app_namespace {
                q.append_pair("appNamespace", ns);
            }
            if let Some(p) = &spec.project {
                q.append_pair("project", p);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    fn app_path(name: &str) -> String {
        format!("/api/v1/applications/{}", crate::net::segment(name))
    }

    async fn get_app(&self, spec: &ArgoPhase, app: &str) -> Result<Value> {
        let url = self.url(spec, &Self::app_path(app), &[])?;
        let req = Request::new(reqwest::Method::GET, url);
        self.json(req, app).await
    }

    async fn json(&self, req: Request, app: &str) -> Result<Value> {
        let url = self.client.redact(req.url.as_str());
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| self.explain(e, app))?;
        let bytes = self.client.body(resp, &url).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadResponse {
            platform: self.name.clone(),
            url,
            problem: format!(
                "the body is not JSON ({e}): {}",
                crate::net::shorten(&String::from_utf8_lossy(&bytes), 200)
            ),
            hint: "check that the platform's url is the Argo CD API server (https://argocd.example.com)".into(),
        })
    }

    /// Sends the sync. `Ok(true)` when accepted, `Ok(false)` when another operation runs.
    async fn sync(&self, spec: &ArgoPhase, op: &mut Operation) -> Result<bool> {
        let app = op.id.clone();
        let revision = self.state(op)?.revision.clone();
        let mut body = json!({ "name": app, "revision": revision });
        if spec.prune {
            body["prune"] = json!(true);
        }
        if let Some(ns) = &spec.app_namespace {
            body["appNamespace"] = json!(ns);
        }
        if let Some(p) = &spec.project {
            body["project"] = json!(p);
        }
        let req = Request {
            method: reqwest::Method::POST,
            url: self.client.url(&format!("{}/sync", Self::app_path(&app)))?,
            headers: Vec::new(),
            body: Some(body),
            expect: Vec::new(),
        };
        match self.json(req, &app).await {
            Ok(accepted) => {
                // The operation state before ours: a read showing it again is stale.
                let before = accepted
                    .pointer("/status/operationState")
                    .map_or_else(|| "null".to_string(), Value::to_string);
                let state = self.state_mut(op)?;
                state.before = Some(before);
                state.pending = false;
                op.last_body = Some(accepted);
                Ok(true)
            }
            Err(Error::PlatformApi { status, body, .. })
                if matches!(status, 400 | 409) && body.contains(BUSY) =>
            {
                self.state_mut(op)?.pending = true;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn open_watch(&self, spec: &ArgoPhase, op: &Operation) -> Result<Watch> {
        let mut extra = vec![("name", op.id.as_str())];
        let version = op
            .last_body
            .as_ref()
            .and_then(|b| b.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(v) = &version {
            extra.push(("resourceVersion", v));
        }
        let url = self.url(spec, "/api/v1/stream/applications", &extra)?;
        let req = Request::new(reqwest::Method::GET, url);
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| self.explain(e, &op.id))?;
        Ok(Watch {
            app: op.id.clone(),
            opened: Instant::now(),
            stream: Box::pin(resp.bytes_stream()),
            buffer: Vec::new(),
        })
    }

    fn stream_error(&self, message: String) -> Error {
        Error::Unreachable {
            platform: self.name.clone(),
            url: "/api/v1/stream/applications".into(),
            message,
            hint: crate::error::UNREACHABLE_FIX.into(),
        }
    }

    /// One complete line of the stream: `Some(app)` for an event, an error for `{"error":…}`.
    fn event(&self, line: &[u8]) -> Result<Option<Value>> {
        let text = String::from_utf8_lossy(line);
        if text.trim().is_empty() {
            return Ok(None);
        }
        let value: Value = serde_json::from_str(text.trim())
            .map_err(|e| self.stream_error(format!("a watch event is not JSON ({e})")))?;
        if let Some(app) = value.pointer("/result/application") {
            return Ok(Some(app.clone()));
        }
        if let Some(err) = value.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Err(self.stream_error(format!("the watch stream said: {message}")));
        }
        Ok(None)
    }
}

#[async_trait]
impl Backend for ArgoBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self, phase: Phase, vars: &Vars) -> crate::platform::described::Described {
        self.describe_phase(phase, vars)
    }

    async fn probe(&self, phases: &[Phase], vars: &Vars) -> Vec<crate::platform::probe::Finding> {
        self.probe_apps(phases, vars).await
    }

    fn trigger_replay(&self, _phase: Phase) -> Replay {
        // A second sync while the first runs is refused as "another operation is already in
        // progress"; one after it ended would sync again. Not safe to repeat blindly.
        Replay::Never
    }

    async fn trigger(&self, phase: Phase, vars: &Vars) -> Result<Operation> {
        let spec = self.spec(phase)?;
        let missing = |what: &'static str| {
            move |e: super::http::template::TemplateError| {
                e.in_section(&format!("[{phase}] {what}"))
            }
        };
        let app = render(&spec.application, vars, Target::Text).map_err(missing("application"))?;
        let revision = match &spec.revision {
            Some(t) => render(t, vars, Target::Text).map_err(missing("revision"))?,
            None => vars
                .get("build.revision")
                .or_else(|| vars.get("sha"))
                .cloned()
                .unwrap_or_default(),
        };
        if revision.trim().is_empty() {
            return Err(Error::MissingSetting {
                name: "revision".into(),
                hint: format!(
                    "the commit is not known and the build gave no `revision`: set revision = \"…\" in [{phase}], or `sha`"
                ),
            });
        }
        let base = self
            .client
            .base()
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let web = match &spec.app_namespace {
            Some(ns) => format!("{base}/applications/{ns}/{app}"),
            None => format!("{base}/applications/{app}"),
        };
        let mut op = Operation::new(phase, app.clone(), vars.clone());
        op.web_url = Some(web.clone());
        op.vars.insert("id".into(), app);
        op.vars.insert("app_url".into(), web);
        op.state = BackendState::Argo(ArgoState::new(revision));
        self.sync(spec, &mut op).await?;
        Ok(op)
    }

    async fn resolve(&self, op: &mut Operation) -> Result<Resolved> {
        if !self.state(op)?.pending {
            return Ok(Resolved::Ready);
        }
        let spec = self.spec(op.phase)?;
        // Wait for the running operation (someone else's) to end, then sync again.
        let app = self.get_app(spec, &op.id).await?;
        let phase = app
            .pointer("/status/operationState/phase")
            .and_then(Value::as_str)
            .unwrap_or("");
        let busy = app.get("operation").is_some_and(|o| !o.is_null())
            || matches!(phase, "Running" | "Terminating");
        if !busy && self.sync(spec, op).await? {
            return Ok(Resolved::Ready);
        }
        let by = app
            .pointer("/operation/initiatedBy/username")
            .or_else(|| app.pointer("/status/operationState/operation/initiatedBy/username"))
            .and_then(Value::as_str)
            .map(|u| format!(" started by {u}"))
            .unwrap_or_default();
        Ok(Resolved::Waiting(Some(format!(
            "waiting for another operation{by} to finish ({BUSY})"
        ))))
    }

    async fn status(&self, op: &mut Operation) -> Result<Observation> {
        let spec = self.spec(op.phase)?;
        let watched = std::mem::take(&mut self.state_mut(op)?.watched);
        let app = if watched && let Some(app) = op.last_body.clone() {
            app
        } else {
            self.get_app(spec, &op.id).await?
        };
        // Once ferry's operation has shown (pending, or a new operation state), what was there
        // before no longer matters: a later state equal to it (same revision, same second) is
        // ferry's own, finished.
        let current = app
            .pointer("/status/operationState")
            .map_or_else(|| "null".to_string(), Value::to_string);
        let pending = app.get("operation").is_some_and(|o| !o.is_null());
        let state = self.state_mut(op)?;
        if pending || state.before.as_ref() != Some(&current) {
            state.before = None;
        }
        let obs = app::evaluate(&app, state.before.as_deref(), spec.suspended);
        state.over = obs.class != StateClass::Running;
        op.last_body = Some(app);
        Ok(obs)
    }

    fn has_logs(&self, phase: Phase) -> bool {
        self.phases.contains_key(&phase)
    }

    async fn logs(&self, op: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead> {
        let Some(app) = op.last_body.as_ref() else {
            return Ok(LogRead::DONE);
        };
        let mut seen: BTreeMap<String, String> = op
            .log
            .cursor
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let mut lines = 0;
        let resources = app
            .pointer("/status/resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for r in &resources {
            let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
            let Some(health) = r.pointer("/health/status").and_then(Value::as_str) else {
                continue;
            };
            let ns = field("namespace");
            let key = if ns.is_empty() {
                format!("{} {}", field("kind"), field("name"))
            } else {
                format!("{} {ns}/{}", field("kind"), field("name"))
            };
            let message = r
                .pointer("/health/message")
                .and_then(Value::as_str)
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let before = seen.get(&key).cloned();
            if before.as_deref() != Some(health) {
                let line = match before {
                    Some(b) => format!("{key}: {b} → {health}{message}"),
                    None => format!("{key}: {health}{message}"),
                };
                sink.line(&line).await;
                lines += 1;
                seen.insert(key, health.to_string());
            }
        }
        op.log.cursor = serde_json::to_string(&seen).ok();
        // The resources' health changes only with a status read: their story is complete once
        // the sync is over, and not before.
        let over = self.state_mut(op)?.over;
        Ok(LogRead {
            lines,
            complete: Some(over),
        })
    }

    async fn watch(&self, op: &mut Operation, max: Duration) -> Result<Watched> {
        let spec = self.spec(op.phase)?;
        if !spec.watch {
            return Ok(Watched::Unsupported);
        }
        let mut guard = self.watch.lock().await;
        let fresh = guard
            .as_ref()
            .is_some_and(|w| w.app == op.id && w.opened.elapsed() < STREAM_LIFE);
        if !fresh {
            *guard = None;
            *guard = Some(self.open_watch(spec, op).await?);
        }
        let Some(w) = guard.as_mut() else {
            return Ok(Watched::Quiet);
        };
        let until = Instant::now() + max;
        loop {
            if let Some(pos) = w.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = w.buffer.drain(..=pos).collect();
                match self.event(&line) {
                    Ok(Some(app)) => {
                        op.last_body = Some(app);
                        self.state_mut(op)?.watched = true;
                        return Ok(Watched::Changed);
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        *guard = None;
                        return Err(e);
                    }
                }
            }
            match tokio::time::timeout_at(until, w.stream.next()).await {
                Err(_) => return Ok(Watched::Quiet),
                Ok(Some(Ok(chunk))) => {
                    w.buffer.extend_from_slice(&chunk);
                    // One event is one application: never hold more than a JSON answer's worth.
                    if w.buffer.len() > crate::net::body::JSON_LIMIT {
                        *guard = None;
                        return Err(self.stream_error(format!(
                            "a watch event is larger than {} MiB; watching stopped",
                            crate::net::body::JSON_LIMIT / (1024 * 1024)
                        )));
                    }
                }
                Ok(Some(Err(e))) => {
                    *guard = None;
                    return Err(self.stream_error(format!("the watch stream broke: {e}")));
                }
                Ok(None) => {
                    *guard = None;
                    return Err(self.stream_error("the watch stream ended".into()));
                }
            }
        }
    }

    async fn cancel(&self, op: &Operation) -> Result<()> {
        *self.watch.lock().await = None;
        if self.state(op)?.pending {
            // Our sync was never accepted: the running operation is someone else's.
            return Ok(());
        }
        let spec = self.spec(op.phase)?;
        let url = self.url(spec, &format!("{}/operation", Self::app_path(&op.id)), &[])?;
        let req = Request::new(reqwest::Method::DELETE, url);
        match self.client.send(req).await {
            Ok(_) => Ok(()),
            // Nothing to terminate: the operation ended meanwhile.
            Err(Error::PlatformApi { status, body, .. })
                if matches!(status, 400 | 409) && body.contains("No operation is in progress") =>
            {
                Ok(())
            }
            Err(e) => Err(self.explain(e, &op.id)),
        }
    }

    fn outputs(&self, op: &Operation) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        if let Some(web) = &op.web_url {
            out.insert("app_url".into(), web.clone());
        }
        let Some(app) = op.last_body.as_ref() else {
            return Ok(out);
        };
        let text = |p: &str| app.pointer(p).and_then(Value::as_str).map(str::to_string);
        if let Some(url) = text("/status/summary/externalURLs/0") {
            out.insert("url".into(), url);
        }
        if let Some(rev) = text("/status/sync/revision")
            .or_else(|| text("/status/operationState/syncResult/revision"))
        {
            out.insert("revision".into(), rev);
        }
        if let Some(h) = text("/status/health/status") {
            out.insert("health".into(), h);
        }
        if let Some(s) = text("/status/sync/status") {
            out.insert("sync".into(), s);
        }
        Ok(out)
    }
}
