//! The default dialect, an in-house PaaS under `/v1`: builds, deployments and stops as resources
//! with ids, a byte-offset log per operation, `Idempotency-Key` on triggers.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::call::{Call, segment};
use super::endpoint::{Miss, only};
use super::op::{Op, State};
use super::reply::{self, Reject};
use super::route::Route;
use super::store::{OpIndex, Replay};
use super::world::World;
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
    /// `POST /v1/{…}/{id}/cancel`.
    Cancel { phase: Phase, id: String },
    /// `GET /v1/apps/{app}`: the app, as `ferry check --probe` reads it (every app exists).
    App { app: String },
}

impl Endpoint {
    /// The request's role in an operation's life; reading the app plays none.
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::Trigger { .. } => Some(Route::Trigger),
            Endpoint::Status { .. } => Some(Route::Status),
            Endpoint::Log { .. } => Some(Route::Log),
            Endpoint::Cancel { .. } => Some(Route::Cancel),
            Endpoint::App { .. } => None,
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
        ["v1", "apps", app, "builds"] => only(method, &Method::POST, || Endpoint::Trigger {
            phase: Phase::Build,
            app: owned(app),
            environment: None,
        }),
        ["v1", "apps", app, "deployments"] => only(method, &Method::POST, || Endpoint::Trigger {
            phase: Phase::Deploy,
            app: owned(app),
            environment: None,
        }),
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

pub(crate) fn handle(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    match endpoint {
        Endpoint::Trigger {
            phase,
            app,
            environment,
        } => trigger(world, call, phase, &app, environment),
        Endpoint::Status { phase, id } => match world.store.find(phase, &id) {
            Some(i) => reply::json(
                StatusCode::OK,
                describe(world.store.get(i), &call.base, call.now),
            ),
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
    }
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
                    describe(world.store.get(i), &call.base, call.now),
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
        describe(world.store.get(index), &call.base, call.now),
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

/// The JSON document of an operation at `now`.
fn describe(op: &Op, base: &str, now: Instant) -> Value {
    let state = op.state(now);
    let log_url = format!("{base}/v1/{}/{}/log", collection(op.phase), op.id);
    let (id, app, status) = (&op.id, &op.app, status_word(op.phase, state));
    match op.phase {
        Phase::Build => json!({
            "id": id,
            "app": app,
            "status": status,
            "artifact": (state == State::Succeeded).then(|| format!("registry.sim.local/{app}:{id}")),
            "log_url": log_url,
        }),
        Phase::Deploy => json!({
            "id": id,
            "app": app,
            "status": status,
            "environment": op.environment,
            "artifact": op.artifact,
            "url": (state == State::Succeeded).then(|| app_url(base, app, op.environment.as_deref().unwrap_or_default())),
            "log_url": log_url,
        }),
        Phase::Stop => json!({
            "id": id,
            "app": app,
            "status": status,
            "environment": op.environment,
            "log_url": log_url,
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
