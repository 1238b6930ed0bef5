//! The Argo CD dialect, after Argo CD's API server (`assets/swagger.json`) and its application
//! controller: `Application` documents with `operation` (pending), `status.operationState`
//! (Running → Succeeded / Failed, `startedAt`, `finishedAt`), `status.sync`, `status.health`,
//! `status.reconciledAt` (the controller looks again a moment after an operation ends; until
//! then health is stale), per-resource health in `status.resources`, and the grpc-gateway watch
//! stream, which only speaks on change. Sources: argoproj/argo-cd `assets/swagger.json` and `cmd/argocd/commands/app.go` (`argocd app wait`).
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/applications/{name}` | the Application; 403 "permission denied" for an unknown one (404 with `project`) |
//! | `POST /api/v1/applications/{name}/sync` | the Application with `operation` set; 400 "another operation is already in progress" while one runs |
//! | `DELETE /api/v1/applications/{name}/operation` | `{}`; 400 "Unable to terminate operation. No operation is in progress" |
//! | `GET /api/v1/stream/applications?name=…` | one `{"result":{"type":"MODIFIED","application":…}}` line per change |
//!
//! Times are RFC 3339 with whole seconds, as Kubernetes writes them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::call::Call;
use super::endpoint::{Miss, only};
use super::op::State;
use super::op_script::{OpScript, Outcome};
use super::paas::app_url;
use super::reply;
use super::route::Route;
use super::store::OpIndex;
use super::world::{Shared, World};
use crate::platform::Phase;

/// The revision every application starts synced to.
const INITIAL_REVISION: &str = "5d2c9a1f0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";

/// How long after an operation ends the controller reconciles the application again.
const RECONCILE_AFTER: Duration = Duration::from_millis(300);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Get { app: String },
    Sync { app: String },
    Terminate { app: String },
    Watch,
}

impl Endpoint {
    pub(crate) fn route(&self) -> Route {
        match self {
            Endpoint::Get { .. } | Endpoint::Watch => Route::Status,
            Endpoint::Sync { .. } => Route::Trigger,
            Endpoint::Terminate { .. } => Route::Cancel,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let app = |s: &str| s.to_owned();
    match segs {
        ["api", "v1", "applications", name] => {
            only(method, &Method::GET, || Endpoint::Get { app: app(name) })
        }
        ["api", "v1", "applications", name, "sync"] => {
            only(method, &Method::POST, || Endpoint::Sync { app: app(name) })
        }
        ["api", "v1", "applications", name, "operation"] => only(method, &Method::DELETE, || {
            Endpoint::Terminate { app: app(name) }
        }),
        ["api", "v1", "stream", "applications"] => only(method, &Method::GET, || Endpoint::Watch),
        _ => Err(Miss::NotFound),
    }
}

/// One sync of an application.
#[derive(Debug)]
struct SyncRec {
    op: OpIndex,
    revision: String,
    by: String,
    terminated: Option<Instant>,
}

/// One application's life.
#[derive(Debug)]
struct App {
    created: Instant,
    wall: SystemTime,
    syncs: Vec<SyncRec>,
    version: u64,
    last: Option<Value>,
}

/// The applications touched so far, and how many watch streams were opened.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    apps: HashMap<String, App>,
    streams: u32,
}

fn error(status: StatusCode, code: u16, message: &str) -> Response {
    reply::json(
        status,
        json!({ "error": message, "code": code, "message": message }),
    )
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    endpoint: Endpoint,
    shared: &Arc<Shared>,
) -> Response {
    if let Some(token) = &world.script.require_token {
        let given = call.header("authorization");
        if given.is_none() {
            return error(StatusCode::UNAUTHORIZED, 16, "no session information");
        }
        if given != Some(format!("Bearer {token}").as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                16,
                "invalid session: token signature is invalid",
            );
        }
    }
    let name = match &endpoint {
        Endpoint::Get { app } | Endpoint::Sync { app } | Endpoint::Terminate { app } => app.clone(),
        Endpoint::Watch => query(call, "name").unwrap_or_default(),
    };
    if !world.script.argocd.apps.contains(&name) {
        // Without a project, Argo CD does not tell a missing application from a forbidden one.
        return if query(call, "project").is_some() {
            error(
                StatusCode::NOT_FOUND,
                5,
                &format!("applications.argoproj.io \"{name}\" not found"),
            )
        } else {
            error(StatusCode::FORBIDDEN, 7, "permission denied")
        };
    }
    touch(world, &name, call.now);
    match endpoint {
        Endpoint::Get { app } => {
            let doc = render(world, &call.base, &app, call.now);
            reply::json(StatusCode::OK, doc)
        }
        Endpoint::Sync { app } => sync(world, call, &app),
        Endpoint::Terminate { app } => terminate(world, call, &app),
        Endpoint::Watch => {
            world.argocd.streams += 1;
            let cut = world.argocd.streams <= world.script.argocd.drop_streams;
            let since = query(call, "resourceVersion").and_then(|v| v.parse::<u64>().ok());
            watch(Arc::clone(shared), call.base.clone(), name, since, cut)
        }
    }
}

fn query(call: &Call<'_>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(call.query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Creates the application's record on first use; a scripted busy operation starts then.
fn touch(world: &mut World, name: &str, now: Instant) {
    if world.argocd.apps.contains_key(name) {
        return;
    }
    let mut app = App {
        created: now,
        wall: SystemTime::now(),
        syncs: Vec::new(),
        version: 1000,
        last: None,
    };
    let busy = world.script.argocd.busy_for;
    if !busy.is_zero() {
        let script = OpScript {
            queue: Duration::ZERO,
            duration: busy,
            log_lines: 0,
            outcome: Outcome::Success,
            tail_lines: 0,
            tail_delay: Duration::ZERO,
        };
        let op = world.store.create(Phase::Deploy, name, script);
        world.store.get_mut(op).environment = Some(name.to_owned());
        app.syncs.push(SyncRec {
            op,
            revision: "HEAD".into(),
            by: "release-bot".into(),
            terminated: None,
        });
    }
    world.argocd.apps.insert(name.to_owned(), app);
}

fn sync(world: &mut World, call: &Call<'_>, name: &str) -> Response {
    let body = match call.json() {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(reject) => return reject.into_response(),
    };
    let busy = world.argocd.apps.get(name).is_some_and(|app| {
        app.syncs.last().is_some_and(|s| {
            s.terminated.is_none() && !world.store.get(s.op).state(call.now).is_terminal()
        })
    });
    if busy {
        // gRPC FailedPrecondition, which grpc-gateway maps to 400 (argo-cd#4505).
        return error(
            StatusCode::BAD_REQUEST,
            9,
            "another operation is already in progress",
        );
    }
    let revision = body
        .get("revision")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .unwrap_or("HEAD")
        .to_owned();
    let op = world
        .store
        .create(Phase::Deploy, name, world.script.deploy.clone());
    let o = world.store.get_mut(op);
    o.environment = Some(name.to_owned());
    o.artifact = Some(revision.clone());
    if let Some(app) = world.argocd.apps.get_mut(name) {
        app.syncs.push(SyncRec {
            op,
            revision,
            by: "ferry".into(),
            terminated: None,
        });
    }
    let doc = render(world, &call.base, name, call.now);
    reply::json(StatusCode::OK, doc)
}

fn terminate(world: &mut World, call: &Call<'_>, name: &str) -> Response {
    let Some(app) = world.argocd.apps.get_mut(name) else {
        return error(StatusCode::NOT_FOUND, 5, "not found");
    };
    let running = app
        .syncs
        .last_mut()
        .filter(|s| s.terminated.is_none() && !world.store.get(s.op).state(call.now).is_terminal());
    match running {
        Some(s) => {
            s.terminated = Some(call.now);
            let op = s.op;
            let _ = world.store.get_mut(op).cancel(call.now);
            reply::json(StatusCode::OK, json!({}))
        }
        None => error(
            StatusCode::BAD_REQUEST,
            3,
            "Unable to terminate operation. No operation is in progress",
        ),
    }
}

/// RFC 3339 in whole seconds (UTC), as Kubernetes writes `metav1.Time`.
#[allow(clippy::many_single_char_names)]
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

struct Resource {
    kind: &'static str,
    name: &'static str,
    health: String,
    message: Option<String>,
}

/// The application document at `now`; the resource version moves whenever it changes.
fn render(world: &mut World, base: &str, name: &str, now: Instant) -> Value {
    let mut doc = compute(world, base, name, now);
    let Some(app) = world.argocd.apps.get_mut(name) else {
        return doc;
    };
    if app.last.as_ref() != Some(&doc) {
        app.version += 1;
        app.last = Some(doc.clone());
    }
    doc["metadata"]["resourceVersion"] = json!(app.version.to_string());
    doc
}

#[allow(clippy::too_many_lines)]
fn compute(world: &World, base: &str, name: &str, now: Instant) -> Value {
    let Some(app) = world.argocd.apps.get(name) else {
        return Value::Null;
    };
    let wall = |i: Instant| rfc3339(app.wall + i.saturating_duration_since(app.created));
    let before = |d: u64| rfc3339(app.wall - Duration::from_secs(d));
    let settled = |health: &str| {
        vec![
            Resource {
                kind: "Service",
                name: "web",
                health: "Healthy".into(),
                message: None,
            },
            Resource {
                kind: "Deployment",
                name: "web",
                health: health.to_owned(),
                message: (health == "Degraded")
                    .then(|| "Deployment \"web\" exceeded its progress deadline".to_owned()),
            },
        ]
    };
    // The state before the latest sync: the one before it, finished, or the initial one.
    let mut operation = Value::Null;
    let mut op_state = json!({
        "operation": { "sync": { "revision": INITIAL_REVISION }, "initiatedBy": { "username": "admin" } },
        "phase": "Succeeded",
        "message": "successfully synced (all tasks run)",
        "startedAt": before(70),
        "finishedAt": before(60),
        "syncResult": { "revision": INITIAL_REVISION },
    });
    let mut sync = ("Synced", INITIAL_REVISION.to_owned());
    let mut health = "Healthy".to_owned();
    let mut reconciled = before(30);
    let mut resources = settled("Healthy");
    let mut url = None;
    let final_health = |outcome: Outcome| {
        world
            .script
            .argocd
            .health
            .clone()
            .unwrap_or_else(|| match outcome {
                Outcome::Success => "Healthy".into(),
                Outcome::Failure => "Degraded".into(),
            })
    };
    for (i, s) in app.syncs.iter().enumerate() {
        let last = i + 1 == app.syncs.len();
        let o = world.store.get(s.op);
        let state = o.state(now);
        if !last && !state.is_terminal() {
            continue;
        }
        let started = o.started_at();
        let initiated = json!({ "username": s.by, "automated": false });
        let requested = json!({ "sync": { "revision": s.revision }, "initiatedBy": initiated });
        match state {
            State::Queued => {
                operation = requested;
            }
            State::Running => {
                operation = requested.clone();
                op_state = json!({
                    "operation": requested,
                    "phase": "Running",
                    "message": "waiting for healthy state of apps/Deployment/web",
                    "startedAt": wall(started),
                });
                let half = o.progress(now) >= 0.5;
                if half {
                    sync = ("Synced", s.revision.clone());
                } else {
                    sync = ("OutOfSync", sync.1.clone());
                }
                health = "Progressing".into();
                resources = settled("Progressing");
                reconciled = wall(now.min(started));
                url = None;
            }
            State::Succeeded | State::Failed => {
                let ended = o.ends_at();
                op_state = json!({
                    "operation": requested,
                    "phase": "Succeeded",
                    "message": "successfully synced (all tasks run)",
                    "startedAt": wall(started),
                    "finishedAt": wall(ended),
                    "syncResult": {
                        "revision": s.revision,
                        "resources": [
                            { "group": "", "version": "v1", "kind": "Service", "namespace": name, "name": "web", "status": "Synced", "message": "service/web unchanged", "syncPhase": "Sync" },
                            { "group": "apps", "version": "v1", "kind": "Deployment", "namespace": name, "name": "web", "status": "Synced", "message": "deployment.apps/web configured", "syncPhase": "Sync" },
                        ],
                    },
                });
                sync = ("Synced", s.revision.clone());
                if now >= ended + RECONCILE_AFTER {
                    let outcome = if state == State::Succeeded {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    health = final_health(outcome);
                    resources = settled(&health);
                    reconciled = wall(ended + RECONCILE_AFTER);
                    url = (health == "Healthy").then(|| app_url(base, name, name));
                } else {
                    // Not reconciled since: the health is the one seen while it ran.
                    health = "Progressing".into();
                    resources = settled("Progressing");
                    reconciled = wall(started);
                }
            }
            State::Cancelled => {
                let at = s.terminated.unwrap_or(now);
                op_state = json!({
                    "operation": requested,
                    "phase": "Failed",
                    "message": "Operation terminated",
                    "startedAt": wall(started),
                    "finishedAt": wall(at),
                });
                sync = ("OutOfSync", sync.1.clone());
                reconciled = wall(at);
            }
        }
    }
    let resource_list: Vec<Value> = resources
        .iter()
        .map(|r| {
            let mut h = json!({ "status": r.health });
            if let Some(m) = &r.message {
                h["message"] = json!(m);
            }
            json!({ "group": if r.kind == "Deployment" { "apps" } else { "" }, "version": "v1", "kind": r.kind, "namespace": name, "name": r.name, "status": "Synced", "health": h })
        })
        .collect();
    let mut status = json!({
        "sync": { "status": sync.0, "revision": sync.1 },
        "health": { "status": health },
        "reconciledAt": reconciled,
        "operationState": op_state,
        "resources": resource_list,
        "sourceType": "Kustomize",
    });
    if let Some(u) = url {
        status["summary"] = json!({ "externalURLs": [u] });
    }
    let mut doc = json!({
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "creationTimestamp": before(3600),
        },
        "spec": {
            "project": "default",
            "source": { "repoURL": "https://git.example.com/deploy.git", "path": name, "targetRevision": "HEAD" },
            "destination": { "server": "https://kubernetes.default.svc", "namespace": name },
        },
        "status": status,
    });
    if !operation.is_null() {
        doc["operation"] = operation;
    }
    doc
}

/// The watch stream: every 20 ms, the application again; a line whenever its resource version
/// moved (at once when the client's `resourceVersion` is already old). A stream to cut ends
/// abruptly after its first event.
fn watch(
    shared: Arc<Shared>,
    base: String,
    name: String,
    since: Option<u64>,
    cut: bool,
) -> Response {
    struct S {
        shared: Arc<Shared>,
        base: String,
        name: String,
        last: Option<u64>,
        sent: u32,
        cut: bool,
        done: bool,
    }
    let state = S {
        shared,
        base,
        name,
        last: since,
        sent: 0,
        cut,
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        if s.cut && s.sent >= 1 {
            s.done = true;
            return Some((Err(std::io::Error::other("stream cut by the script")), s));
        }
        loop {
            let (doc, version) = {
                let mut world = s.shared.world();
                let doc = render(&mut world, &s.base, &s.name, Instant::now());
                let version = world.argocd.apps.get(&s.name).map_or(0, |a| a.version);
                (doc, version)
            };
            let first = s.last.is_none() && s.sent == 0;
            if first {
                // Without a resource version the stream speaks only on change.
                s.last = Some(version);
            } else if s.last != Some(version) {
                s.last = Some(version);
                s.sent += 1;
                let line = json!({ "result": { "type": "MODIFIED", "application": doc } });
                let mut bytes = line.to_string().into_bytes();
                bytes.push(b'\n');
                return Some((Ok::<Bytes, std::io::Error>(Bytes::from(bytes)), s));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}
