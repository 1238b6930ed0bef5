//! The Jenkins-like dialect: a trigger answers only with a queue item `Location`; the item gains an
//! `executable` once out of the queue; the build reports `building`/`result`; the console is read
//! with stapler's progressive-text protocol (`X-Text-Size`, `X-More-Data` absent once complete).
//! The real semantics it follows: Jenkins core (`hudson.model.Queue`, `ParametersDefinitionProperty`) and stapler's `LargeText` (progressive text).

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
    /// `POST /job/{job}/buildWithParameters` (`jenkins`: one of Jenkins' own paths, where an
    /// identical queued request is merged). Folders nest: `/job/a/job/b/build` is job `a/b`.
    Trigger { job: String, jenkins: bool },
    /// `GET /queue/item/{n}/api/json`.
    QueueItem { item: u64 },
    /// `POST /queue/cancelItem?id={n}`.
    CancelItem,
    /// `GET /job/{job}/{k}/api/json`.
    Build { job: String, number: u64 },
    /// `GET /job/{job}/api/json`: the job itself (every job exists here).
    Job { job: String },
    /// `GET|POST /job/{job}/{k}/logText/progressiveText?start=N`.
    Console { job: String, number: u64 },
    /// `POST /job/{job}/{k}/stop`.
    Stop { job: String, number: u64 },
}

impl Endpoint {
    pub(crate) fn route(&self) -> Route {
        match self {
            Endpoint::Trigger { .. } => Route::Trigger,
            Endpoint::QueueItem { .. } | Endpoint::Build { .. } | Endpoint::Job { .. } => {
                Route::Status
            }
            Endpoint::Console { .. } => Route::Log,
            Endpoint::CancelItem | Endpoint::Stop { .. } => Route::Cancel,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    match segs {
        ["queue", "job", job, "build"] => only(method, &Method::POST, || Endpoint::Trigger {
            job: (*job).to_owned(),
            jenkins: false,
        }),
        ["queue", "item", item, "api", "json"] => {
            let item = number(item)?;
            only(method, &Method::GET, || Endpoint::QueueItem { item })
        }
        ["queue", "cancelItem"] => only(method, &Method::POST, || Endpoint::CancelItem),
        ["job", ..] => parse_job(method, segs),
        _ => Err(Miss::NotFound),
    }
}

/// `job/a/job/b/…` then what follows: folders (and multibranch branches) are nested jobs, and
/// the full name joins the (decoded) names with `/`, as Jenkins' `getFullName` does.
fn parse_job(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let mut names = Vec::new();
    let mut rest = segs;
    while let ["job", name, tail @ ..] = rest {
        names.push(*name);
        rest = tail;
    }
    if names.is_empty() {
        return Err(Miss::NotFound);
    }
    let job = names.join("/");
    match rest {
        ["build" | "buildWithParameters"] => only(method, &Method::POST, || Endpoint::Trigger {
            job,
            jenkins: true,
        }),
        ["api", "json"] => only(method, &Method::GET, || Endpoint::Job { job }),
        [k, "api", "json"] => {
            let number = number(k)?;
            only(method, &Method::GET, || Endpoint::Build { job, number })
        }
        [k, "logText", "progressiveText"] => {
            let number = number(k)?;
            if method == Method::GET || method == Method::POST {
                Ok(Endpoint::Console { job, number })
            } else {
                Err(Miss::MethodNotAllowed)
            }
        }
        [k, "stop"] => {
            let number = number(k)?;
            only(method, &Method::POST, || Endpoint::Stop { job, number })
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
    /// The build parameters, sorted (query and form body).
    params: Vec<(String, String)>,
    /// Whether an identical request may be merged into it while it is queued.
    mergeable: bool,
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
    if let Some(refused) = authenticate(world, call) {
        return refused;
    }
    match endpoint {
        Endpoint::Trigger { job, jenkins } => trigger(world, call, job, jenkins),
        Endpoint::QueueItem { item } => match world.jenkins.item(item) {
            Some(it) => reply::json(StatusCode::OK, queue_item(world, call, item, it)),
            None => reply::error(StatusCode::NOT_FOUND, format!("no queue item {item}")),
        },
        Endpoint::CancelItem => cancel_item(world, call),
        Endpoint::Job { job } => reply::json(StatusCode::OK, job_info(call, &job)),
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

/// A job as `GET /job/{job}/api/json` shows it (Jenkins' `Job` API: a buildable job).
fn job_info(call: &Call<'_>, job: &str) -> Value {
    let path = job.split('/').fold(String::new(), |mut out, n| {
        out.push_str("job/");
        out.push_str(n);
        out.push('/');
        out
    });
    let name = job.rsplit('/').next().unwrap_or(job);
    json!({
        "_class": "hudson.model.FreeStyleProject",
        "name": name,
        "fullName": job,
        "url": format!("{}/{path}", call.base.trim_end_matches('/')),
        "buildable": true,
        "inQueue": false,
    })
}

/// With users configured, Jenkins wants HTTP Basic with a user's API token: anonymous requests
/// are refused with 403 (no Overall/Read, and no crumb for a POST), a wrong token with 401.
/// An API token needs no crumb (Jenkins 2.96 and later).
fn authenticate(world: &World, call: &Call<'_>) -> Option<Response> {
    use base64::Engine as _;
    let users = &world.script.jenkins.users;
    if users.is_empty() {
        return None;
    }
    let given = call
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let Some(given) = given else {
        let message = if call.method == Method::POST {
            "No valid crumb was included in the request"
        } else {
            "Authentication required"
        };
        return Some(plain(StatusCode::FORBIDDEN, message));
    };
    let (user, token) = given.split_once(':').unwrap_or((given.as_str(), ""));
    if users.get(user).is_some_and(|t| t == token) {
        None
    } else {
        Some(plain(
            StatusCode::UNAUTHORIZED,
            &format!("Invalid password/token for user: {user}"),
        ))
    }
}

/// Jenkins answers errors as HTML pages; a short one is enough.
fn plain(status: StatusCode, message: &str) -> Response {
    let page = format!(
        "<html><head><title>Error {}</title></head><body><h2>HTTP ERROR {}</h2><p>{}</p></body></html>\n",
        status.as_u16(),
        status.as_u16(),
        message.replace('<', "&lt;")
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
        page,
    )
        .into_response()
}

/// The parameters of a trigger: the query string and a form body, sorted.
fn parameters(call: &Call<'_>) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = call
        .query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "delay" && k != "token")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let form = call
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        params.extend(
            url::form_urlencoded::parse(call.body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    params.sort();
    params
}

/// `ParametersDefinitionProperty` / `ParameterizedJobMixIn`: 201 and a new queue item, or 303
/// with the item an identical request (same job, same parameters) is still waiting in.
fn trigger(world: &mut World, call: &Call<'_>, job: String, jenkins: bool) -> Response {
    let params = parameters(call);
    if jenkins {
        let merged = world.jenkins.items.iter().position(|it| {
            it.mergeable
                && it.job == job
                && it.params == params
                && world.store.get(it.op).state(call.now) == State::Queued
        });
        if let Some(index) = merged {
            let location = format!("{}/queue/item/{}/", call.base, index + 1);
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
    }
    let number = world.jenkins.last_number.entry(job.clone()).or_insert(0);
    *number += 1;
    let number = *number;
    let op = world
        .store
        .create(Phase::Build, &job, world.script.build.clone());
    world.store.get_mut(op).label = format!("{job}#{number}");
    world.jenkins.items.push(Item {
        op,
        job,
        number,
        params,
        mergeable: jenkins,
    });
    let item = world.jenkins.items.len();
    let location = format!("{}/queue/item/{item}/", call.base);
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

/// `job/a/job/b/` for the full name `a/b` (each name encoded once more, as Jenkins does).
fn job_url(call: &Call<'_>, job: &str) -> String {
    let mut path = String::new();
    for name in job.split('/') {
        path.push_str("job/");
        path.push_str(&segment(name));
        path.push('/');
    }
    format!("{}/{path}", call.base)
}

fn build_url(call: &Call<'_>, job: &str, number: u64) -> String {
    format!("{}{number}/", job_url(call, job))
}

fn queue_item(world: &World, call: &Call<'_>, item: u64, it: &Item) -> Value {
    let state = world.store.get(it.op).state(call.now);
    let name = it.job.rsplit('/').next().unwrap_or(&it.job);
    let task = json!({ "name": name, "url": job_url(call, &it.job) });
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
    let script = &world.script.jenkins;
    let result = match state {
        State::Queued | State::Running => None,
        State::Cancelled => Some("ABORTED"),
        // A scripted result (UNSTABLE, NOT_BUILT) replaces SUCCESS / FAILURE.
        State::Succeeded | State::Failed if script.result.is_some() => script.result.as_deref(),
        State::Succeeded => Some("SUCCESS"),
        State::Failed => Some("FAILURE"),
    };
    let duration = if state.is_terminal() {
        u64::try_from(o.ran(call.now).as_millis()).unwrap_or(u64::MAX)
    } else {
        0
    };
    // Jenkins estimates from the job's recent builds; -1 when it has none to go by.
    let estimated = world.script.estimate_percent.map_or(-1, |percent| {
        let ms = o.running_time().as_millis() * u128::from(percent) / 100;
        i64::try_from(ms).unwrap_or(i64::MAX)
    });
    let params: Vec<Value> = world
        .jenkins
        .build(job, number)
        .map(|it| {
            it.params
                .iter()
                .map(|(name, value)| json!({ "_class": "hudson.model.StringParameterValue", "name": name, "value": value }))
                .collect()
        })
        .unwrap_or_default();
    let mut actions = vec![json!({ "_class": "hudson.model.CauseAction" })];
    if !params.is_empty() {
        actions.push(json!({ "_class": "hudson.model.ParametersAction", "parameters": params }));
    }
    // Artifacts are archived when the build ends.
    let artifacts: Vec<Value> = if state.is_terminal() {
        script
            .artifacts
            .iter()
            .map(|path| {
                let path = path.replace("{number}", &number.to_string());
                let file = path.rsplit('/').next().unwrap_or(&path).to_owned();
                json!({ "displayPath": file, "fileName": file, "relativePath": path })
            })
            .collect()
    } else {
        Vec::new()
    };
    let description = script
        .description
        .as_ref()
        .map(|d| d.replace("{number}", &number.to_string()));
    json!({
        "_class": "hudson.model.FreeStyleBuild",
        "actions": actions,
        "artifacts": artifacts,
        "number": number,
        "displayName": format!("#{number}"),
        "fullDisplayName": format!("{} #{number}", job.replace('/', " » ")),
        "description": description,
        "building": !state.is_terminal(),
        "result": result,
        "duration": duration,
        "estimatedDuration": estimated,
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
