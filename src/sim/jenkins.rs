//! The Jenkins-like dialect: a trigger answers only with a queue item `Location`; the item gains an
//! `executable` once out of the queue; the build reports `building`/`result`; the console is read
//! with stapler's progressive-text protocol (`X-Text-Size`, `X-More-Data` absent once complete).
//! See `/work/shared/reference/platforms.md` §1 for the real semantics this follows.

use std::collections::HashMap;

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::call::{Call, segment};
use super::endpoint::{Miss, number, only};
use super::op::State;
use super::reply;
use super::route::Route;
use super::store::OpIndex;
use super::world::World;
use crate::platform::Phase;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /queue/job/{job}/build`, or Jenkins' own `POST /job/{job}/build` and
    /// `POST /job/{job}/buildWithParameters`.
    Trigger { job: String },
    /// `GET /queue/item/{n}/api/json`.
    QueueItem { item: u64 },
    /// `POST /queue/cancelItem?id={n}`.
    CancelItem,
    /// `GET /job/{job}/{k}/api/json`.
    Build { job: String, number: u64 },
    /// `GET|POST /job/{job}/{k}/logText/progressiveText?start=N`.
    Console { job: String, number: u64 },
    /// `POST /job/{job}/{k}/stop`.
    Stop { job: String, number: u64 },
}

impl Endpoint {
    pub(crate) fn route(&self) -> Route {
        match self {
            Endpoint::Trigger { .. } => Route::Trigger,
            Endpoint::QueueItem { .. } | Endpoint::Build { .. } => Route::Status,
            Endpoint::Console { .. } => Route::Log,
            Endpoint::CancelItem | Endpoint::Stop { .. } => Route::Cancel,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let trigger = |job: &str| Endpoint::Trigger {
        job: job.to_owned(),
    };
    match segs {
        ["queue", "job", job, "build"] | ["job", job, "build" | "buildWithParameters"] => {
            only(method, &Method::POST, || trigger(job))
        }
        ["queue", "item", item, "api", "json"] => {
            let item = number(item)?;
            only(method, &Method::GET, || Endpoint::QueueItem { item })
        }
        ["queue", "cancelItem"] => only(method, &Method::POST, || Endpoint::CancelItem),
        ["job", job, k, "api", "json"] => {
            let number = number(k)?;
            only(method, &Method::GET, || Endpoint::Build {
                job: (*job).to_owned(),
                number,
            })
        }
        ["job", job, k, "logText", "progressiveText"] => {
            let number = number(k)?;
            if method == Method::GET || method == Method::POST {
                Ok(Endpoint::Console {
                    job: (*job).to_owned(),
                    number,
                })
            } else {
                Err(Miss::MethodNotAllowed)
            }
        }
        ["job", job, k, "stop"] => {
            let number = number(k)?;
            only(method, &Method::POST, || Endpoint::Stop {
                job: (*job).to_owned(),
                number,
            })
        }
        _ => Err(Miss::NotFound),
    }
}

/// Queue items (numbered from 1 across all jobs) and build numbers (from 1 per job).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    items: Vec<Item>,
    last_number: HashMap<String, u64>,
}

#[derive(Debug)]
struct Item {
    op: OpIndex,
    job: String,
    number: u64,
}

impl Registry {
    fn item(&self, item: u64) -> Option<&Item> {
        let index = usize::try_from(item.checked_sub(1)?).ok()?;
        self.items.get(index)
    }

    fn build(&self, job: &str, number: u64) -> Option<&Item> {
        self.items
            .iter()
            .find(|it| it.job == job && it.number == number)
    }
}

pub(crate) fn handle(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    match endpoint {
        Endpoint::Trigger { job } => trigger(world, call, job),
        Endpoint::QueueItem { item } => match world.jenkins.item(item) {
            Some(it) => reply::json(StatusCode::OK, queue_item(world, call, item, it)),
            None => reply::error(StatusCode::NOT_FOUND, format!("no queue item {item}")),
        },
        Endpoint::CancelItem => cancel_item(world, call),
        Endpoint::Build { job, number } => match started(world, call, &job, number) {
            Some(op) => reply::json(StatusCode::OK, build(world, call, op, &job, number)),
            None => no_build(&job, number),
        },
        Endpoint::Console { job, number } => match started(world, call, &job, number) {
            Some(op) => console(world, call, op),
            None => no_build(&job, number),
        },
        Endpoint::Stop { job, number } => match started(world, call, &job, number) {
            Some(op) => {
                // Jenkins' Run#doStop on a finished build does nothing and still succeeds.
                let _ = world.store.get_mut(op).cancel(call.now);
                StatusCode::OK.into_response()
            }
            None => no_build(&job, number),
        },
    }
}

fn trigger(world: &mut World, call: &Call<'_>, job: String) -> Response {
    let number = world.jenkins.last_number.entry(job.clone()).or_insert(0);
    *number += 1;
    let number = *number;
    let op = world
        .store
        .create(Phase::Build, &job, world.script.build.clone());
    world.store.get_mut(op).label = format!("{job}#{number}");
    world.jenkins.items.push(Item { op, job, number });
    let item = world.jenkins.items.len();
    let location = format!("{}/queue/item/{item}/", call.base);
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

fn build_url(call: &Call<'_>, job: &str, number: u64) -> String {
    format!("{}/job/{}/{number}/", call.base, segment(job))
}

fn queue_item(world: &World, call: &Call<'_>, item: u64, it: &Item) -> Value {
    let state = world.store.get(it.op).state(call.now);
    let task = json!({ "name": it.job, "url": format!("{}/job/{}/", call.base, segment(&it.job)) });
    match state {
        State::Queued => json!({
            "_class": "hudson.model.Queue$WaitingItem",
            "id": item,
            "why": "Waiting for next available executor",
            "cancelled": false,
            "executable": null,
            "task": task,
        }),
        // Cancelled before it left the queue: Jenkins keeps a LeftItem with no executable.
        State::Cancelled if !world.store.get(it.op).left_queue(call.now) => json!({
            "_class": "hudson.model.Queue$LeftItem",
            "id": item,
            "why": null,
            "cancelled": true,
            "executable": null,
            "task": task,
        }),
        _ => json!({
            "_class": "hudson.model.Queue$LeftItem",
            "id": item,
            "why": null,
            "cancelled": false,
            "executable": {
                "_class": "hudson.model.FreeStyleBuild",
                "number": it.number,
                "url": build_url(call, &it.job, it.number),
            },
            "task": task,
        }),
    }
}

/// The operation behind build `job#number`, once it has left the queue (before, the build does
/// not exist in Jenkins either).
fn started(world: &World, call: &Call<'_>, job: &str, number: u64) -> Option<OpIndex> {
    let op = world.jenkins.build(job, number)?.op;
    world.store.get(op).left_queue(call.now).then_some(op)
}

fn no_build(job: &str, number: u64) -> Response {
    reply::error(
        StatusCode::NOT_FOUND,
        format!("no build {job} #{number} (yet)"),
    )
}

fn build(world: &World, call: &Call<'_>, op: OpIndex, job: &str, number: u64) -> Value {
    let o = world.store.get(op);
    let state = o.state(call.now);
    let result = match state {
        State::Queued | State::Running => None,
        State::Succeeded => Some("SUCCESS"),
        State::Failed => Some("FAILURE"),
        State::Cancelled => Some("ABORTED"),
    };
    let duration = if state.is_terminal() {
        u64::try_from(o.ran(call.now).as_millis()).unwrap_or(u64::MAX)
    } else {
        0
    };
    json!({
        "_class": "hudson.model.FreeStyleBuild",
        "number": number,
        "displayName": format!("#{number}"),
        "fullDisplayName": format!("{job} #{number}"),
        "building": !state.is_terminal(),
        "result": result,
        "duration": duration,
        "url": build_url(call, job, number),
    })
}

/// stapler's `LargeText.doProgressText`: text from `start` up to the last complete line, the next
/// `start` in `X-Text-Size`, `X-More-Data: true` while more may come (absent once complete), and a
/// `start` beyond the end restarts from 0 ("text rolled over").
fn console(world: &World, call: &Call<'_>, op: OpIndex) -> Response {
    let start = match call.query_u64("start") {
        Ok(start) => start.unwrap_or(0),
        Err(reject) => return reject.into_response(),
    };
    let view = world.store.get(op).log(call.now);
    let start = if start > view.written { 0 } else { start };
    let (from, to) = view.window(start, world.script.max_chunk_bytes);
    let response = reply::log_text(&view.text, from, to);
    let response = reply::with_header(response, "x-text-size", &to.to_string());
    if view.complete_at(to) {
        response
    } else {
        reply::with_header(response, "x-more-data", "true")
    }
}

fn cancel_item(world: &mut World, call: &Call<'_>) -> Response {
    let item = match call.query_u64("id") {
        Ok(Some(item)) => item,
        Ok(None) => return reply::error(StatusCode::BAD_REQUEST, "missing query parameter id"),
        Err(reject) => return reject.into_response(),
    };
    let Some(op) = world.jenkins.item(item).map(|it| it.op) else {
        return reply::error(StatusCode::NOT_FOUND, format!("no queue item {item}"));
    };
    let o = world.store.get_mut(op);
    if o.state(call.now) == State::Queued {
        let _ = o.cancel(call.now);
    }
    StatusCode::NO_CONTENT.into_response()
}
