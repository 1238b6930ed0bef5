//! The default dialect, an in-house PaaS under `/v1`: builds, deployments and stops as resources
//! with ids, a byte-offset log per operation, `Idempotency-Key` on triggers.
//!
//! Two ways to be told rather than to ask, for clients that use them:
//!
//! - **A long poll on the status**: `GET /v1/{…}/{id}?wait=N&since=<status>` holds the answer
//!   until the status differs from `since` (at once when it already does), or `N` seconds have
//!   passed (at most 60), then answers as without them.
//! - **A streamed log**: `GET /v1/{…}/{id}/log/stream` (the status's `log_stream_url`) is one
//!   long answer that grows with the log and ends when the log is complete (as Heroku's
//!   `output_stream_url`, see `output_stream.rs`).
//!
//! With `estimate_percent` in the script, the status also says how long the operation should
//! take in all (`estimated_seconds`, queue included): that share of its real length.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::call::{Call, segment};
use super::endpoint::{Miss, only};
use super::op::{Op, State};
use super::output_stream;
use super::reply::{self, Reject};
use super::route::Route;
use super::store::{OpIndex, Replay};
use super::world::{Shared, World};
use crate::platform::Phase;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/apps/{app}/builds`, `POST /v1/apps/{app}/deployments`,
    /// `DELETE /v1/apps/{app}/environments/{environment}`.
    Trigger {
        phase: Phase,
        app: String,
        environment: Option<String>,
    },
    /// `GET /v1/{builds|deployments|stops}/{id}`.
    Status { phase: Phase, id: String },
    /// `GET /v1/{…}/{id}/log?offset=N`.
    Log { phase: Phase, id: String },
    /// `GET /v1/{…}/{id}/log/stream`: the log as one growing answer.
    LogStream { phase: Phase, id: String },
    /// `POST /v1/{…}/{id}/cancel`.
    Cancel { phase: Phase, id: String },
    /// `GET /v1/apps/{app}`: the app, as `ferry check --probe` reads it (every app exists).
    App { app: String },
    /// `GET /v1/apps/{app}/builds`, `GET /v1/apps/{app}/deployments`: the app's operations,
    /// newest first, with when each was created and finished.
    List { phase: Phase, app: String },
}

impl Endpoint {
    /// The request's role in an operation's life; reading the app plays none.
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::Trigger { .. } => Some(Route::Trigger),
            Endpoint::Status { .. } => Some(Route::Status),
            Endpoint::Log { .. } | Endpoint::LogStream { .. } => Some(Route::Log),
            Endpoint::Cancel { .. } => Some(Route::Cancel),
            Endpoint::App { .. } | Endpoint::List { .. } => None,
        }
    }
}

/// The collection name of a phase's operations.
fn collection(phase: Phase) -> &'static str {
    match phase {
        Phase::Build => "builds",
        Phase::Deploy => "deployments",
        Phase::Stop => "stops",
    }
}

fn phase_of(collection: &str) -> Result<Phase, Miss> {
    match collection {
        "builds" => Ok(Phase::Build),
        "deployments" => Ok(Phase::Deploy),
        "stops" => Ok(Phase::Stop),
        _ => Err(Miss::NotFound),
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let owned = |s: &str| s.to_owned();
    match segs {
        ["v1", "apps", app] => only(method, &Method::GET, || Endpoint::App { app: owned(app) }),
        ["v1", "apps", app, coll @ ("builds" | "deployments")] => {
            let phase = phase_of(coll)?;
            if method == Method::GET {
                return Ok(Endpoint::List {
                    phase,
                    app: owned(app),
                });
            }
            only(method, &Method::POST, || Endpoint::Trigger {
                phase,
                app: owned(app),
                environment: None,
            })
        }
        ["v1", "apps", app, "environments", environment] => {
            only(method, &Method::DELETE, || Endpoint::Trigger {
                phase: Phase::Stop,
                app: owned(app),
                environment: Some(owned(environment)),
            })
        }
        ["v1", coll, id] => {
            let phase = phase_of(coll)?;
            only(method, &Method::GET, || Endpoint::Status {
                phase,
                id: owned(id),
            })
        }
        ["v1", coll, id, "log"] => {
            let phase = phase_of(coll)?;
            only(method, &Method::GET, || Endpoint::Log {
                phase,
                id: owned(id),
            })
        }
        ["v1", coll, id, "log", "stream"] => {
            let phase = phase_of(coll)?;
            only(method, &Method::GET, || Endpoint::LogStream {
                phase,
                id: owned(id),
            })
        }
        ["v1", coll, id, "cancel"] => {
            let phase = phase_of(coll)?;
            only(method, &Method::POST, || Endpoint::Cancel {
                phase,
                id: owned(id),
            })
        }
        _ => Err(Miss::NotFound),
    }
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    endpoint: Endpoint,
    shared: &Arc<Shared>,
) -> Response {
    match endpoint {
        Endpoint::Trigger {
            phase,
            app,
            environment,
        } => trigger(world, call, phase, &app, environment),
        Endpoint::Status { phase, id } => match world.store.find(phase, &id) {
            Some(i) => status(world, call, i, shared),
            None => not_found(phase, &id),
        },
        Endpoint::LogStream { phase, id } => match world.store.find(phase, &id) {
            Some(i) => output_stream::serve(world, shared, call, i, false),
            None => not_found(phase, &id),
        },
        Endpoint::Log { phase, id } => match world.store.find(phase, &id) {
            Some(i) => log(world, call, i),
            None => not_found(phase, &id),
        },
        Endpoint::Cancel { phase, id } => match world.store.find(phase, &id) {
            Some(i) => cancel(world.store.get_mut(i), call.now),
            None => not_found(phase, &id),
        },
        Endpoint::App { app } => reply::json(StatusCode::OK, json!({ "name": app })),
        Endpoint::List { phase, app } => list(world, call, phase, &app),
    }
}

/// An app's operations of one kind, newest first (`{"builds": […]}`), with their wall-clock
/// creation and end times (RFC 3339; `finished_at` null while running).
fn list(world: &World, call: &Call<'_>, phase: Phase, app: &str) -> Response {
    let wall = |at: Instant| {
        let ago = call.now.saturating_duration_since(at);
        super::clock::rfc3339_micros(SystemTime::now() - ago)
    };
    let items: Vec<Value> = world
        .store
        .of_app(phase, app)
        .rev()
        .map(|op| {
            let state = op.state(call.now);
            json!({
                "id": op.id,
                "status": status_word(op.phase, state),
                "created_at": wall(op.created_at()),
                "finished_at": state.is_terminal().then(|| wall(op.ends_at().min(call.now))),
            })
        })
        .collect();
    reply::json(StatusCode::OK, json!({ collection(phase): items }))
}

/// The longest a long poll is held.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// How often a held long poll looks at the state again.
const LOOK: Duration = Duration::from_millis(20);

/// An operation's status: at once, or held as a long poll (`wait`, `since`).
fn status(world: &World, call: &Call<'_>, index: OpIndex, shared: &Arc<Shared>) -> Response {
    let wait = match call.query_u64("wait") {
        Ok(wait) => wait,
        Err(reject) => return reject.into_response(),
    };
    let since = call.query_text("since");
    let op = world.store.get(index);
    let current = status_word(op.phase, op.state(call.now));
    let doc = describe(op, &call.base, call.now, world.script.estimate_percent);
    let Some(wait) = wait.filter(|w| *w > 0) else {
        return reply::json(StatusCode::OK, doc);
    };
    if since.as_deref().is_some_and(|since| since != current) {
        return reply::json(StatusCode::OK, doc);
    }
    // Held: the head now, the document once the status moves or the wait is over.
    let until = call.now + Duration::from_secs(wait).min(LONGEST_WAIT);
    let (shared, base, since) = (Arc::clone(shared), call.base.clone(), current);
    let body = futures_util::stream::once(async move {
        loop {
            let now = Instant::now();
            let doc = {
                let world = shared.world();
                let op = world.store.get(index);
                (status_word(op.phase, op.state(now)) != since || now >= until)
                    .then(|| describe(op, &base, now, world.script.estimate_percent))
            };
            if let Some(doc) = doc {
                return Ok::<_, std::io::Error>(Bytes::from(doc.to_string()));
            }
            tokio::time::sleep(LOOK.min(until.saturating_duration_since(now))).await;
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn not_found(phase: Phase, id: &str) -> Response {
    reply::error(StatusCode::NOT_FOUND, format!("no {phase} with id {id:?}"))
}

fn trigger(
    world: &mut World,
    call: &Call<'_>,
    phase: Phase,
    app: &str,
    environment: Option<String>,
) -> Response {
    let key = call.header("idempotency-key");
    if let Some(key) = key {
        match world.store.replay(key, &call.endpoint()) {
            Replay::Fresh => {}
            Replay::Same(i) => {
                return reply::json(
                    StatusCode::OK,
                    describe(
                        world.store.get(i),
                        &call.base,
                        call.now,
                        world.script.estimate_percent,
                    ),
                );
            }
            Replay::Conflict => {
                return reply::error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "Idempotency-Key {key:?} was already used for another request; \
                         use a new key for each distinct operation"
                    ),
                );
            }
        }
    }
    let body = match call.json() {
        Ok(body) => body,
        Err(reject) => return reject.into_response(),
    };
    let (environment, artifact) = match phase {
        Phase::Deploy => match deploy_fields(body.as_ref()) {
            Ok(fields) => fields,
            Err(reject) => return reject.into_response(),
        },
        Phase::Build | Phase::Stop => (environment, None),
    };
    let script = match phase {
        Phase::Build => world.script.build.clone(),
        Phase::Deploy => world.script.deploy.clone(),
        Phase::Stop => world.script.stop.clone(),
    };
    let index: OpIndex = world.store.create(phase, app, script);
    let op = world.store.get_mut(index);
    op.environment = environment;
    op.artifact = artifact;
    if let Some(key) = key {
        world.store.remember(key, &call.endpoint(), index);
    }
    let status = match phase {
        Phase::Stop => StatusCode::ACCEPTED,
        Phase::Build | Phase::Deploy => StatusCode::CREATED,
    };
    reply::json(
        status,
        describe(
            world.store.get(index),
            &call.base,
            call.now,
            world.script.estimate_percent,
        ),
    )
}

/// `artifact` and `environment` from a deployment request, both required non-empty strings.
fn deploy_fields(body: Option<&Value>) -> Result<(Option<String>, Option<String>), Reject> {
    let field = |name: &str| {
        body.and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (artifact, environment) = (field("artifact"), field("environment"));
    let missing: Vec<&str> = [("artifact", &artifact), ("environment", &environment)]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() {
        Ok((environment, artifact))
    } else {
        Err(Reject(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "missing or empty field(s): {} (send {{\"artifact\": \"…\", \"environment\": \"…\"}})",
                missing.join(", ")
            ),
        ))
    }
}

/// The word this dialect uses for a state.
fn status_word(phase: Phase, state: State) -> &'static str {
    match (phase, state) {
        (_, State::Failed) => "failed",
        (_, State::Cancelled) => "cancelled",
        (Phase::Build, State::Queued) => "queued",
        (Phase::Build, State::Running) => "running",
        (Phase::Build, State::Succeeded) => "succeeded",
        (Phase::Deploy, State::Queued) => "pending",
        (Phase::Deploy, State::Running) => "deploying",
        (Phase::Deploy, State::Succeeded) => "live",
        (Phase::Stop, State::Queued | State::Running) => "stopping",
        (Phase::Stop, State::Succeeded) => "stopped",
    }
}

/// The JSON document of an operation at `now`; with an estimate of its length in all, when
/// `estimate_percent` is set (that share of it).
fn describe(op: &Op, base: &str, now: Instant, estimate_percent: Option<u32>) -> Value {
    let mut doc = document(op, base, now);
    if let (Some(percent), Some(fields)) = (estimate_percent, doc.as_object_mut()) {
        let whole = op.length().as_secs_f64();
        fields.insert(
            "estimated_seconds".into(),
            json!(whole * f64::from(percent) / 100.0),
        );
    }
    doc
}

fn document(op: &Op, base: &str, now: Instant) -> Value {
    let state = op.state(now);
    let log_url = format!("{base}/v1/{}/{}/log", collection(op.phase), op.id);
    let log_stream_url = format!("{log_url}/stream");
    let (id, app, status) = (&op.id, &op.app, status_word(op.phase, state));
    match op.phase {
        Phase::Build => json!({
            "id": id,
            "app": app,
            "status": status,
            "artifact": (state == State::Succeeded).then(|| format!("registry.sim.local/{app}:{id}")),
            "log_url": log_url,
            "log_stream_url": log_stream_url,
        }),
        Phase::Deploy => json!({
            "id": id,
            "app": app,
            "status": status,
            "environment": op.environment,
            "artifact": op.artifact,
            "url": (state == State::Succeeded).then(|| app_url(base, app, op.environment.as_deref().unwrap_or_default())),
            "log_url": log_url,
            "log_stream_url": log_stream_url,
        }),
        Phase::Stop => json!({
            "id": id,
            "app": app,
            "status": status,
            "environment": op.environment,
            "log_url": log_url,
            "log_stream_url": log_stream_url,
        }),
    }
}

/// Where a deployed app answers.
pub(crate) fn app_url(base: &str, app: &str, environment: &str) -> String {
    format!("{base}/apps/{}/{}", segment(app), segment(environment))
}

fn log(world: &World, call: &Call<'_>, index: OpIndex) -> Response {
    let offset = match call.query_u64("offset") {
        Ok(offset) => offset.unwrap_or(0),
        Err(reject) => return reject.into_response(),
    };
    let view = world.store.get(index).log(call.now);
    let (from, to) = view.window(offset, world.script.max_chunk_bytes);
    let response = reply::log_text(&view.text, from, to);
    let response = reply::with_header(response, "x-log-offset", &to.to_string());
    let complete = if view.complete_at(to) {
        "true"
    } else {
        "false"
    };
    reply::with_header(response, "x-log-complete", complete)
}

fn cancel(op: &mut Op, now: Instant) -> Response {
    match op.cancel(now) {
        Ok(()) => reply::json(
            StatusCode::ACCEPTED,
            json!({ "id": op.id, "status": "cancelled" }),
        ),
        Err(state) => {
            let status = status_word(op.phase, state);
            reply::json(
                StatusCode::CONFLICT,
                json!({
                    "error": format!("{} {} is already {status}; nothing to cancel", op.phase, op.id),
                    "status": status,
                }),
            )
        }
    }
}
