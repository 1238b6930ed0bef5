//! The Render dialect, written from Render's public API description
//! (`tests/fixtures/hosted/render-openapi.json`, server `https://api.render.com/v1`), served under
//! the prefix `/render` so that its `/v1/…` paths never meet the in-house PaaS dialect's: point a
//! client at `{sim}/render/v1`.
//!
//! | request | answer |
//! |---|---|
//! | `POST /render/v1/services/{serviceId}/deploys` (`clearCache`, `commitId`, `imageUrl`, `deployMode`) | `201` with the deploy; `202 Queued` and no body when [`RenderScript::queued`] |
//! | `GET /render/v1/services/{serviceId}/deploys?limit=&cursor=&status=&createdAfter=…` | `[{"deploy": …, "cursor": …}]`, newest first |
//! | `GET /render/v1/services/{serviceId}/deploys/{deployId}` | the deploy |
//! | `POST /render/v1/services/{serviceId}/deploys/{deployId}/cancel` | the deploy, `canceled`; `400` once it finished |
//! | `GET /render/v1/services/{serviceId}` | the web service, `serviceDetails.url` where it answers once live |
//! | `GET /render/v1/logs?ownerId=&resource=&startTime=&endTime=&direction=&limit=…` | `{"hasMore", "nextStartTime", "nextEndTime", "logs": [{"id", "message", "timestamp", "labels"}]}` (see `logs`) |
//! | anything else under `/render` | `404 {"message": "not found"}` |
//!
//! A deploy builds (`Script::build`), then updates (`Script::deploy`): `created` (`queued` when
//! it was answered `202`) → `build_in_progress` → `update_in_progress` (`pre_deploy_in_progress`
//! first with [`RenderScript::pre_deploy`]) → `live`, or `build_failed` / `update_failed` /
//! `pre_deploy_failed` / `canceled`; a live deploy turns `deactivated` when a later one goes live.
//! Times are RFC 3339 with microseconds, as Render writes them. A scripted fault answers in
//! Render's error shape (`{"message"}`); a `429` carries `Ratelimit-Limit`,
//! `Ratelimit-Remaining: 0` and `Ratelimit-Reset` in UTC epoch seconds (Render's "Rate limiting"
//! page: <https://api-docs.render.com/reference/rate-limiting>), `retry_after` seconds away.
//!
//! Where the description is silent the dialect follows Render's CLI (render-oss/cli): the body
//! it sends (`pkg/deploy/repo.go`), which statuses it treats as finished and successful
//! (`pkg/deploy/util.go`: `deactivated` counts as a success), and the log query it pages with
//! (`pkg/tui/views/logview.go`: `nextStartTime`/`nextEndTime` fed back as
//! `startTime`/`endTime`).

mod logs;

use std::time::SystemTime;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::call::Call;
use super::chain::{Chain, Stage, no_build};
use super::clock::{self, Clock};
use super::fault::Fault;
use super::paas::app_url;
use super::rate_limit::hosted_fault;
use super::reply;
use super::route::Route;
use super::world::World;

/// The environment name a Render service's app page is served under (`/apps/{service}/render`).
const ENVIRONMENT: &str = "render";

/// The commit a deploy builds when the request names none (the branch's latest).
const BRANCH_HEAD: &str = "9e1d1c2b7a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d";

/// Render-only behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderScript {
    /// The services that exist (ids like `srv-…`); any other is `404`.
    pub services: Vec<String>,
    /// The workspace that owns them: `GET /logs` must name it as `ownerId`.
    pub owner: String,
    /// Answer every trigger `202 Queued` with no body, as Render does when it queues a deploy
    /// behind another: the client has to find its deploy in the list. The deploy is `queued`
    /// (instead of `created`) until it starts building.
    pub queued: bool,
    /// The services run a pre-deploy command: the first half of an update shows
    /// `pre_deploy_in_progress`, and a failing update fails as `pre_deploy_failed`.
    pub pre_deploy: bool,
}

impl Default for RenderScript {
    fn default() -> Self {
        Self {
            services: vec!["srv-sim00000000000000001".into()],
            owner: "tea-sim00000000000000001".into(),
            queued: false,
            pre_deploy: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Trigger {
        service: String,
    },
    List {
        service: String,
    },
    Get {
        service: String,
        deploy: String,
    },
    Cancel {
        service: String,
        deploy: String,
    },
    Service {
        service: String,
    },
    Logs,
    /// Any other path under `/render`: Render's `404`.
    Unknown,
}

impl Endpoint {
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::Trigger { .. } => Some(Route::Trigger),
            Endpoint::List { .. } | Endpoint::Get { .. } | Endpoint::Service { .. } => {
                Some(Route::Status)
            }
            Endpoint::Cancel { .. } => Some(Route::Cancel),
            Endpoint::Logs => Some(Route::Log),
            Endpoint::Unknown => None,
        }
    }
}

/// Every path under `/render` is this dialect's (unknown ones answer Render's `404`).
pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, super::endpoint::Miss> {
    let Some(("render", rest)) = segs.split_first().map(|(a, b)| (*a, b)) else {
        return Err(super::endpoint::Miss::NotFound);
    };
    let s = |s: &&str| (*s).to_owned();
    let endpoint = match (method, rest) {
        (&Method::POST, ["v1", "services", id, "deploys"]) => Endpoint::Trigger { service: s(id) },
        (&Method::GET, ["v1", "services", id, "deploys"]) => Endpoint::List { service: s(id) },
        (&Method::GET, ["v1", "services", id, "deploys", deploy]) => Endpoint::Get {
            service: s(id),
            deploy: s(deploy),
        },
        (&Method::POST, ["v1", "services", id, "deploys", deploy, "cancel"]) => Endpoint::Cancel {
            service: s(id),
            deploy: s(deploy),
        },
        (&Method::GET, ["v1", "services", id]) => Endpoint::Service { service: s(id) },
        (&Method::GET, ["v1", "logs"]) => Endpoint::Logs,
        _ => Endpoint::Unknown,
    };
    Ok(endpoint)
}

/// One deploy of a service.
#[derive(Debug)]
struct Deploy {
    id: String,
    service: String,
    chain: Chain,
    commit: Option<String>,
    image: Option<String>,
    /// Answered `202`: `queued` rather than `created` before it builds.
    queued: bool,
}

/// Every deploy so far, oldest first, and the clock their times are shown by.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    clock: Clock,
    deploys: Vec<Deploy>,
}

/// Render's error document.
fn error(status: StatusCode, message: &str) -> Response {
    reply::json(status, json!({ "message": message }))
}

/// The answer to a scripted fault, in Render's shape and with its rate-limit headers.
pub(crate) fn fault(fault: &Fault) -> Response {
    // Render's limit for deploys is 10 a minute per service; the simulator says so on every 429.
    hosted_fault(
        fault,
        |status| match status {
            StatusCode::TOO_MANY_REQUESTS => json!({ "message": "rate limit exceeded" }),
            status => json!({ "message": format!("simulated fault: {status}") }),
        },
        10,
    )
}

pub(crate) fn handle(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    if let Some(token) = &world.script.require_token
        && call.header("authorization") != Some(format!("Bearer {token}").as_str())
    {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let service = match &endpoint {
        Endpoint::Trigger { service }
        | Endpoint::List { service }
        | Endpoint::Get { service, .. }
        | Endpoint::Cancel { service, .. }
        | Endpoint::Service { service } => Some(service.clone()),
        Endpoint::Logs | Endpoint::Unknown => None,
    };
    if let Some(service) = &service
        && !world.script.render.services.contains(service)
    {
        return error(StatusCode::NOT_FOUND, "service not found");
    }
    match endpoint {
        Endpoint::Trigger { service } => trigger(world, call, &service),
        Endpoint::List { service } => list(world, call, &service),
        Endpoint::Get { service, deploy } => match find(world, &service, &deploy) {
            Some(i) => reply::json(StatusCode::OK, describe(world, i, call.now)),
            None => error(StatusCode::NOT_FOUND, "deploy not found"),
        },
        Endpoint::Cancel { service, deploy } => match find(world, &service, &deploy) {
            Some(i) => cancel(world, i, call.now),
            None => error(StatusCode::NOT_FOUND, "deploy not found"),
        },
        Endpoint::Service { service } => {
            reply::json(StatusCode::OK, service_doc(world, &call.base, &service))
        }
        Endpoint::Logs => logs::list(world, call),
        Endpoint::Unknown => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn find(world: &World, service: &str, id: &str) -> Option<usize> {
    world
        .render
        .deploys
        .iter()
        .position(|d| d.service == service && d.id == id)
}

/// What a trigger asks for, checked as Render documents it.
struct Request {
    commit: Option<String>,
    image: Option<String>,
    deploy_only: bool,
}

fn request(body: Option<&Value>) -> Result<Request, String> {
    let empty = Map::new();
    let body = match body {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("the request body must be a JSON object".into()),
    };
    let text = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be a string")),
    };
    let (clear, commit, image, mode) = (
        text("clearCache")?,
        text("commitId")?,
        text("imageUrl")?,
        text("deployMode")?,
    );
    if let Some(clear) = &clear
        && !matches!(clear.as_str(), "clear" | "do_not_clear")
    {
        return Err(format!(
            "clearCache must be \"clear\" or \"do_not_clear\", not {clear:?}"
        ));
    }
    if let Some(mode) = &mode {
        if !matches!(mode.as_str(), "deploy_only" | "build_and_deploy") {
            return Err(format!(
                "deployMode must be \"deploy_only\" or \"build_and_deploy\", not {mode:?}"
            ));
        }
        if clear.is_some() || commit.is_some() || image.is_some() {
            return Err(
                "deployMode cannot be combined with commitId, imageUrl or clearCache".into(),
            );
        }
    }
    Ok(Request {
        commit,
        image,
        deploy_only: mode.as_deref() == Some("deploy_only"),
    })
}

fn trigger(world: &mut World, call: &Call<'_>, service: &str) -> Response {
    let body = match call.json() {
        Ok(body) => body,
        Err(reject) => return error(StatusCode::BAD_REQUEST, &reject.1),
    };
    let asked = match request(body.as_ref()) {
        Ok(asked) => asked,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let n = world.render.deploys.len() + 1;
    let build = if asked.deploy_only {
        no_build()
    } else {
        world.script.build.clone()
    };
    let chain = Chain::start(world, service, &format!("#{n}"), ENVIRONMENT, build);
    let queued = world.script.render.queued;
    world.render.deploys.push(Deploy {
        id: format!("dep-sim{n:017}"),
        service: service.to_owned(),
        chain,
        commit: asked.commit,
        image: asked.image,
        queued,
    });
    if queued {
        // The description: `202 Queued`, no content.
        return StatusCode::ACCEPTED.into_response();
    }
    let doc = describe(world, world.render.deploys.len() - 1, call.now);
    reply::json(StatusCode::CREATED, doc)
}

/// The status word of deploy `i` at `now`.
fn status(world: &World, i: usize, now: Instant) -> &'static str {
    let d = &world.render.deploys[i];
    let store = &world.store;
    let pre_deploy = world.script.render.pre_deploy;
    match d.chain.stage(store, now) {
        Stage::Queued if d.queued => "queued",
        Stage::Queued => "created",
        Stage::Building => "build_in_progress",
        Stage::BuildFailed => "build_failed",
        Stage::PendingRelease if pre_deploy => "pre_deploy_in_progress",
        Stage::PendingRelease => "update_in_progress",
        Stage::Releasing => {
            let early = d
                .chain
                .release
                .is_some_and(|r| store.get(r).progress(now) < 0.5);
            if pre_deploy && early {
                "pre_deploy_in_progress"
            } else {
                "update_in_progress"
            }
        }
        Stage::ReleaseFailed if pre_deploy => "pre_deploy_failed",
        Stage::ReleaseFailed => "update_failed",
        Stage::Cancelled => "canceled",
        Stage::Live if superseded(world, i, now).is_some() => "deactivated",
        Stage::Live => "live",
    }
}

/// When a later deploy of the same service went live, if one did.
fn superseded(world: &World, i: usize, now: Instant) -> Option<Instant> {
    let d = &world.render.deploys[i];
    world.render.deploys[i + 1..]
        .iter()
        .filter(|later| later.service == d.service)
        .filter(|later| later.chain.stage(&world.store, now) == Stage::Live)
        .filter_map(|later| later.chain.finished_at(&world.store, now))
        .min()
}

/// The deploy document at `now` (`#/components/schemas/deploy`).
fn describe(world: &World, i: usize, now: Instant) -> Value {
    let d = &world.render.deploys[i];
    let (store, clock) = (&world.store, &world.render.clock);
    let time = |at: Instant| clock::rfc3339_micros(clock.wall(at));
    let created = d.chain.created_at(store);
    let updated = superseded(world, i, now).unwrap_or_else(|| d.chain.stage_since(store, now));
    let mut doc = json!({
        "id": d.id,
        "status": status(world, i, now),
        "trigger": "api",
        "createdAt": time(created),
        "updatedAt": time(updated),
    });
    if let Some(image) = &d.image {
        doc["image"] = json!({ "ref": image, "sha": format!("sha256:{:064x}", i + 1) });
    } else {
        let before = clock.wall(created) - std::time::Duration::from_secs(60);
        doc["commit"] = json!({
            "id": d.commit.as_deref().unwrap_or(BRANCH_HEAD),
            "message": "Deploy from ferry",
            "createdAt": clock::rfc3339_micros(before),
        });
    }
    if let Some(started) = d.chain.started_at(store, now) {
        doc["startedAt"] = json!(time(started));
    }
    if let Some(finished) = d.chain.finished_at(store, now) {
        doc["finishedAt"] = json!(time(finished));
    }
    doc
}

fn cancel(world: &mut World, i: usize, now: Instant) -> Response {
    let chain = world.render.deploys[i].chain;
    if chain.cancel(&mut world.store, now).is_ok() {
        return reply::json(StatusCode::OK, describe(world, i, now));
    }
    let message = format!(
        "deploy {} is {}; only a deploy in progress can be canceled",
        world.render.deploys[i].id,
        status(world, i, now)
    );
    error(StatusCode::BAD_REQUEST, &message)
}

/// The query parameters, in order (a parameter may repeat: `status=live&status=canceled`).
fn query_pairs(call: &Call<'_>) -> Vec<(String, String)> {
    call.query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `limit` as the description bounds it: 1–100, 20 by default (more is served as 100).
/// A malformed one is a `400` with the returned message.
fn limit(pairs: &[(String, String)]) -> Result<usize, String> {
    match pairs.iter().find(|(k, _)| k == "limit") {
        None => Ok(20),
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(100)),
            _ => Err(format!("limit must be an integer from 1 to 100, not {v:?}")),
        },
    }
}

/// A time query parameter (RFC 3339); a malformed one is a `400` with the returned message.
fn time_param(pairs: &[(String, String)], name: &str) -> Result<Option<SystemTime>, String> {
    match pairs.iter().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => clock::parse_rfc3339(v)
            .map(Some)
            .ok_or_else(|| format!("{name} must be an RFC 3339 time, not {v:?}")),
    }
}

/// `GET …/deploys`: newest first, filtered, one page from `cursor` on.
fn list(world: &World, call: &Call<'_>, service: &str) -> Response {
    let pairs = query_pairs(call);
    let limit = match limit(&pairs) {
        Ok(limit) => limit,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let statuses: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut bounds = Vec::new();
    for name in [
        "createdBefore",
        "createdAfter",
        "updatedBefore",
        "updatedAfter",
        "finishedBefore",
        "finishedAfter",
    ] {
        match time_param(&pairs, name) {
            Ok(Some(t)) => bounds.push((name, t)),
            Ok(None) => {}
            Err(message) => return error(StatusCode::BAD_REQUEST, &message),
        }
    }
    let cursor = pairs.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v);
    let mut items: Vec<Value> = Vec::new();
    let mut past_cursor = cursor.is_none();
    for i in (0..world.render.deploys.len()).rev() {
        let d = &world.render.deploys[i];
        if d.service != service {
            continue;
        }
        if !past_cursor {
            past_cursor = cursor == Some(&d.id);
            continue;
        }
        let doc = describe(world, i, call.now);
        let status_ok =
            statuses.is_empty() || statuses.contains(&doc["status"].as_str().unwrap_or(""));
        if status_ok && within(&doc, &bounds) {
            items.push(json!({ "deploy": doc, "cursor": d.id }));
            if items.len() == limit {
                break;
            }
        }
    }
    reply::json(StatusCode::OK, Value::Array(items))
}

/// Whether a deploy document's times meet every `…Before` / `…After` bound.
fn within(doc: &Value, bounds: &[(&str, SystemTime)]) -> bool {
    bounds.iter().all(|(name, bound)| {
        let (field, before) = match *name {
            "createdBefore" => ("createdAt", true),
            "createdAfter" => ("createdAt", false),
            "updatedBefore" => ("updatedAt", true),
            "updatedAfter" => ("updatedAt", false),
            "finishedBefore" => ("finishedAt", true),
            _ => ("finishedAt", false),
        };
        let Some(t) = doc[field].as_str().and_then(clock::parse_rfc3339) else {
            return false;
        };
        if before { t < *bound } else { t > *bound }
    })
}

/// `GET /services/{serviceId}`: a web service built from a repository.
fn service_doc(world: &World, base: &str, service: &str) -> Value {
    let created = clock::rfc3339_micros(
        world.render.clock.wall(Instant::now()) - std::time::Duration::from_secs(30 * 86_400),
    );
    json!({
        "id": service,
        "name": "web",
        "ownerId": world.script.render.owner,
        "type": "web_service",
        "repo": "https://github.com/example/web",
        "branch": "main",
        "autoDeploy": "no",
        "createdAt": created,
        "updatedAt": created,
        "dashboardUrl": format!("https://dashboard.render.com/web/{service}"),
        "notifyOnFail": "default",
        "rootDir": "",
        "slug": "web",
        "suspended": "not_suspended",
        "suspenders": [],
        "serviceDetails": {
            "env": "node",
            "runtime": "node",
            "envSpecificDetails": { "buildCommand": "npm ci && npm run build", "startCommand": "npm start" },
            "plan": "starter",
            "region": "oregon",
            "numInstances": 1,
            "buildPlan": "starter",
            "healthCheckPath": "/",
            "openPorts": [{ "port": 10000, "protocol": "TCP" }],
            "url": app_url(base, service, ENVIRONMENT),
        },
    })
}
