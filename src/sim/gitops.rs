//! The GitOps-like dialect (after Argo CD): an application is synced to a revision and is done
//! only when two fields agree — `sync` becomes `Synced` while `health` is still `Progressing`, and
//! only later `Healthy` — so a client checking one field alone is wrong. No log endpoint.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::call::Call;
use super::endpoint::{Miss, only};
use super::op::State;
use super::paas::app_url;
use super::reply;
use super::route::Route;
use super::store::OpIndex;
use super::world::World;
use crate::platform::Phase;

/// The environment a synced application is served under when the sync names none.
const DEFAULT_ENVIRONMENT: &str = "default";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /gitops/apps/{app}/sync` with `{"revision": "…"}` (and optionally `"environment"`).
    Sync { app: String },
    /// `GET /gitops/apps/{app}`.
    Get { app: String },
    /// `DELETE /gitops/apps/{app}/operation`: terminate the running sync.
    Terminate { app: String },
}

impl Endpoint {
    pub(crate) fn route(&self) -> Route {
        match self {
            Endpoint::Sync { .. } => Route::Trigger,
            Endpoint::Get { .. } => Route::Status,
            Endpoint::Terminate { .. } => Route::Cancel,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let app = |app: &str| app.to_owned();
    match segs {
        ["gitops", "apps", name, "sync"] => {
            only(method, &Method::POST, || Endpoint::Sync { app: app(name) })
        }
        ["gitops", "apps", name] => only(method, &Method::GET, || Endpoint::Get { app: app(name) }),
        ["gitops", "apps", name, "operation"] => only(method, &Method::DELETE, || {
            Endpoint::Terminate { app: app(name) }
        }),
        _ => Err(Miss::NotFound),
    }
}

/// Each application's syncs, oldest first, with the revision each asked for.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    apps: HashMap<String, Vec<(OpIndex, String)>>,
}

pub(crate) fn handle(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    match endpoint {
        Endpoint::Sync { app } => sync(world, call, &app),
        Endpoint::Get { app } => reply::json(StatusCode::OK, describe(world, call, &app)),
        Endpoint::Terminate { app } => {
            let running = current(world, &app)
                .filter(|&op| !world.store.get(op).state(call.now).is_terminal());
            match running {
                Some(op) => {
                    let _ = world.store.get_mut(op).cancel(call.now);
                    reply::json(StatusCode::OK, json!({}))
                }
                None => reply::error(
                    StatusCode::CONFLICT,
                    "Unable to terminate operation. No operation is in progress",
                ),
            }
        }
    }
}

/// The latest sync of `app`.
fn current(world: &World, app: &str) -> Option<OpIndex> {
    world.gitops.apps.get(app)?.last().map(|(op, _)| *op)
}

fn sync(world: &mut World, call: &Call<'_>, app: &str) -> Response {
    if let Some(op) = current(world, app)
        && !world.store.get(op).state(call.now).is_terminal()
    {
        // Argo CD's most common sync failure (argo-cd#4505): wait for the running operation.
        return reply::error(
            StatusCode::CONFLICT,
            "another operation is already in progress",
        );
    }
    let body = match call.json() {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(reject) => return reject.into_response(),
    };
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let revision = text("revision").unwrap_or("HEAD").to_owned();
    let environment = text("environment")
        .unwrap_or(DEFAULT_ENVIRONMENT)
        .to_owned();
    let op = world
        .store
        .create(Phase::Deploy, app, world.script.deploy.clone());
    let o = world.store.get_mut(op);
    app.clone_into(&mut o.label);
    o.environment = Some(environment);
    o.artifact = Some(revision.clone());
    world
        .gitops
        .apps
        .entry(app.to_owned())
        .or_default()
        .push((op, revision.clone()));
    reply::json(StatusCode::OK, json!({ "name": app, "revision": revision }))
}

/// The application's `sync` and `health` at `now`, from its latest sync and the one before.
fn describe(world: &World, call: &Call<'_>, app: &str) -> Value {
    let syncs = world
        .gitops
        .apps
        .get(app)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(((op, revision), earlier)) = syncs.split_last() else {
        return json!({ "name": app, "revision": null, "sync": "OutOfSync", "health": "Missing", "url": null });
    };
    let o = world.store.get(*op);
    // Before the new revision takes over, the previous one's result shows (a healthy old version
    // while OutOfSync, the trap for clients that only look at health).
    let previous_healthy = earlier
        .last()
        .is_some_and(|(prev, _)| world.store.get(*prev).state(call.now) == State::Succeeded);
    let (sync, health) = match o.state(call.now) {
        State::Queued if previous_healthy => ("OutOfSync", "Healthy"),
        State::Queued => ("OutOfSync", "Missing"),
        State::Running if o.progress(call.now) < 0.5 => ("OutOfSync", "Progressing"),
        State::Running => ("Synced", "Progressing"),
        State::Succeeded => ("Synced", "Healthy"),
        State::Failed => ("Synced", "Degraded"),
        State::Cancelled => ("OutOfSync", "Degraded"),
    };
    let url = if health == "Healthy" {
        let shown = if o.state(call.now) == State::Succeeded {
            o
        } else {
            earlier.last().map_or(o, |(prev, _)| world.store.get(*prev))
        };
        Some(app_url(
            &call.base,
            app,
            shown.environment.as_deref().unwrap_or(DEFAULT_ENVIRONMENT),
        ))
    } else {
        None
    };
    json!({ "name": app, "revision": revision, "sync": sync, "health": health, "url": url })
}
