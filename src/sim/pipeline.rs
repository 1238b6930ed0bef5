//! The pipeline dialect (after GitLab's pipeline API): numbered pipelines with GitLab's status
//! words, and a `trace` that returns the WHOLE log so far on every read, so the client has to work
//! out what it has not shown yet.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::call::Call;
use super::endpoint::{Miss, number, only};
use super::op::{Op, State};
use super::reply;
use super::route::Route;
use super::store::OpIndex;
use super::world::World;
use crate::platform::Phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /ci/pipelines` (any JSON body).
    Create,
    /// `GET /ci/pipelines/{n}`.
    Get { id: u64 },
    /// `GET /ci/pipelines/{n}/trace`.
    Trace { id: u64 },
    /// `POST /ci/pipelines/{n}/cancel`.
    Cancel { id: u64 },
}

impl Endpoint {
    pub(crate) fn route(&self) -> Route {
        match self {
            Endpoint::Create => Route::Trigger,
            Endpoint::Get { .. } => Route::Status,
            Endpoint::Trace { .. } => Route::Log,
            Endpoint::Cancel { .. } => Route::Cancel,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    match segs {
        ["ci", "pipelines"] => only(method, &Method::POST, || Endpoint::Create),
        ["ci", "pipelines", n] => {
            let id = number(n)?;
            only(method, &Method::GET, || Endpoint::Get { id })
        }
        ["ci", "pipelines", n, "trace"] => {
            let id = number(n)?;
            only(method, &Method::GET, || Endpoint::Trace { id })
        }
        ["ci", "pipelines", n, "cancel"] => {
            let id = number(n)?;
            only(method, &Method::POST, || Endpoint::Cancel { id })
        }
        _ => Err(Miss::NotFound),
    }
}

/// Pipelines, numbered from 1.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pipelines: Vec<OpIndex>,
}

impl Registry {
    fn find(&self, id: u64) -> Option<OpIndex> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.pipelines.get(index).copied()
    }
}

pub(crate) fn handle(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    let id = match endpoint {
        Endpoint::Create => return create(world, call),
        Endpoint::Get { id } | Endpoint::Trace { id } | Endpoint::Cancel { id } => id,
    };
    let Some(op) = world.pipelines.find(id) else {
        return reply::error(
            StatusCode::NOT_FOUND,
            format!("404 Pipeline {id} Not Found"),
        );
    };
    match endpoint {
        Endpoint::Get { .. } => {
            reply::json(StatusCode::OK, describe(world.store.get(op), call, id))
        }
        Endpoint::Trace { .. } => {
            let view = world.store.get(op).log(call.now);
            reply::log_text(&view.text, 0, view.written)
        }
        Endpoint::Cancel { .. } | Endpoint::Create => {
            // GitLab answers 200 with the pipeline whether or not there was anything to cancel.
            let _ = world.store.get_mut(op).cancel(call.now);
            reply::json(StatusCode::OK, describe(world.store.get(op), call, id))
        }
    }
}

/// Any body is accepted (GitLab's trigger API takes JSON or form fields); it is only recorded.
fn create(world: &mut World, call: &Call<'_>) -> Response {
    let op = world
        .store
        .create(Phase::Build, "pipeline", world.script.build.clone());
    world.pipelines.pipelines.push(op);
    let id = world.pipelines.pipelines.len() as u64;
    world.store.get_mut(op).label = format!("#{id}");
    reply::json(StatusCode::CREATED, describe(world.store.get(op), call, id))
}

fn describe(op: &Op, call: &Call<'_>, id: u64) -> Value {
    let status = match op.state(call.now) {
        State::Queued if op.queue_progress(call.now) < 0.5 => "created",
        State::Queued => "pending",
        State::Running => "running",
        State::Succeeded => "success",
        State::Failed => "failed",
        State::Cancelled => "canceled",
    };
    json!({
        "id": id,
        "status": status,
        "web_url": format!("{}/ci/pipelines/{id}", call.base),
    })
}
