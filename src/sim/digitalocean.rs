//! The DigitalOcean App Platform dialect, written from DigitalOcean's public API description
//! (`tests/fixtures/hosted/digitalocean/apps.yaml` and the files it refers to, server
//! `https://api.digitalocean.com`), served under the prefix `/digitalocean`: point a client at
//! `{sim}/digitalocean` (the API's own paths start with `/v2`).
//!
//! | request | answer |
//! |---|---|
//! | `POST /digitalocean/v2/apps/{app_id}/deployments` (`force_build`) | `{"deployment": …}` |
//! | `GET /digitalocean/v2/apps/{app_id}/deployments` | `{"deployments": […], "links": {}, "meta": {"total"}}`, newest first |
//! | `GET /digitalocean/v2/apps/{app_id}/deployments/{deployment_id}` | `{"deployment": …}` |
//! | `POST /digitalocean/v2/apps/{app_id}/deployments/{deployment_id}/cancel` | `{"deployment": …}`, `CANCELED`; `400` once it finished |
//! | `GET /digitalocean/v2/apps/{id}` | `{"app": …}` with `live_url` once a deployment is `ACTIVE` |
//! | `GET /digitalocean/v2/apps/{app_id}/deployments/{deployment_id}/logs?type=BUILD\|DEPLOY&follow=` | `{"live_url"}` while that log is written, `{"historic_urls": [...]}` once it is complete |
//! | anything else under `/digitalocean` | `404 {"id": "not_found", "message": …}` |
//!
//! A deployment builds (`Script::build`), then deploys (`Script::deploy`): `PENDING_BUILD` →
//! `BUILDING` → `PENDING_DEPLOY` → `DEPLOYING` → `ACTIVE`, or `ERROR` (the failing step carries a
//! `reason`) / `CANCELED`; an `ACTIVE` one turns `SUPERSEDED` when a later one is `ACTIVE`.
//! `progress` has the description's example steps (`build` → `initialize`, `components/{name}`;
//! `deploy` → `initialize`, `components/{name}/deploy|wait`, `finalize`), counted by leaf.
//! Times are RFC 3339 in whole seconds. A scripted fault answers with DigitalOcean's error
//! document (`{"id", "message"}`); a `429` carries `ratelimit-limit`, `ratelimit-remaining: 0` and
//! `ratelimit-reset` (a Unix time, as the description's `shared/headers.yml` says),
//! `retry_after` seconds away.
//!
//! Logs (see `live`): the description only says `live_url` "may use either the `https://` or
//! `wss://` protocols and will keep pushing live logs" and that `historic_urls` are "URLs to
//! archived log files". How they are read follows `doctl apps logs` (digitalocean/doctl
//! `commands/apps.go` and `pkg/listen/listen.go`): the live URL is a WebSocket whose URL carries
//! its own `token` query parameter (no `Authorization` header is sent), each text frame is a JSON
//! object whose `data` is log text ending in a newline, and a normal close ends the log; a
//! historic URL is a plain-text file fetched without credentials. Lines read `{component}
//! {time} {text}`, the prefix `doctl apps logs --no-prefix` strips.

mod live;

use axum::http::{Extensions, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::call::Call;
use super::chain::{Chain, Stage};
use super::clock::{self, Clock};
use super::fault::Fault;
use super::paas::app_url;
use super::rate_limit::hosted_fault;
use super::reply;
use super::route::Route;
use super::world::{Shared, World};
use crate::platform::Phase;

/// The environment name an app's page is served under (`/apps/{app_id}/digitalocean`).
const ENVIRONMENT: &str = "digitalocean";

/// DigitalOcean-only behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitalOceanScript {
    /// The apps that exist (UUIDs); any other is `404`.
    pub apps: Vec<String>,
    /// The name of the app's one service component (in `progress` steps and log lines).
    pub component: String,
}

impl Default for DigitalOceanScript {
    fn default() -> Self {
        Self {
            apps: vec!["5a1d0c3e-0000-4000-8000-000000000001".into()],
            component: "web".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Create {
        app: String,
    },
    List {
        app: String,
    },
    Get {
        app: String,
        deployment: String,
    },
    Cancel {
        app: String,
        deployment: String,
    },
    App {
        app: String,
    },
    Logs {
        app: String,
        deployment: String,
    },
    /// The WebSocket a `live_url` points to: `/digitalocean/live/{deployment_id}/{build|deploy}`.
    Live {
        deployment: String,
        phase: Phase,
    },
    /// The file a `historic_urls` entry points to: `/digitalocean/archive/{deployment_id}/{build|deploy}.log`.
    Archive {
        deployment: String,
        phase: Phase,
    },
    /// Any other path under `/digitalocean`.
    Unknown,
}

impl Endpoint {
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::Create { .. } => Some(Route::Trigger),
            Endpoint::List { .. } | Endpoint::Get { .. } | Endpoint::App { .. } => {
                Some(Route::Status)
            }
            Endpoint::Cancel { .. } => Some(Route::Cancel),
            Endpoint::Logs { .. } | Endpoint::Live { .. } | Endpoint::Archive { .. } => {
                Some(Route::Log)
            }
            Endpoint::Unknown => None,
        }
    }
}

/// The log a `live`/`archive` path segment names.
fn log_phase(seg: &str) -> Option<Phase> {
    match seg {
        "build" | "build.log" => Some(Phase::Build),
        "deploy" | "deploy.log" => Some(Phase::Deploy),
        _ => None,
    }
}

/// Every path under `/digitalocean` is this dialect's (unknown ones answer DigitalOcean's `404`).
pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, super::endpoint::Miss> {
    let Some(("digitalocean", rest)) = segs.split_first().map(|(a, b)| (*a, b)) else {
        return Err(super::endpoint::Miss::NotFound);
    };
    let s = |s: &&str| (*s).to_owned();
    let endpoint = match (method, rest) {
        (&Method::POST, ["v2", "apps", app, "deployments"]) => Endpoint::Create { app: s(app) },
        (&Method::GET, ["v2", "apps", app, "deployments"]) => Endpoint::List { app: s(app) },
        (&Method::GET, ["v2", "apps", app, "deployments", id]) => Endpoint::Get {
            app: s(app),
            deployment: s(id),
        },
        (&Method::POST, ["v2", "apps", app, "deployments", id, "cancel"]) => Endpoint::Cancel {
            app: s(app),
            deployment: s(id),
        },
        (&Method::GET, ["v2", "apps", app, "deployments", id, "logs"]) => Endpoint::Logs {
            app: s(app),
            deployment: s(id),
        },
        (&Method::GET, ["v2", "apps", app]) => Endpoint::App { app: s(app) },
        (&Method::GET, ["live", id, log @ ("build" | "deploy")]) => match log_phase(log) {
            Some(phase) => Endpoint::Live {
                deployment: s(id),
                phase,
            },
            None => Endpoint::Unknown,
        },
        (&Method::GET, ["archive", id, log @ ("build.log" | "deploy.log")]) => match log_phase(log)
        {
            Some(phase) => Endpoint::Archive {
                deployment: s(id),
                phase,
            },
            None => Endpoint::Unknown,
        },
        _ => Endpoint::Unknown,
    };
    Ok(endpoint)
}

/// One deployment of an app.
#[derive(Debug)]
struct Deployment {
    id: String,
    app: String,
    chain: Chain,
    /// The secret in this deployment's log URLs.
    token: String,
}

/// Every deployment so far, oldest first, and the clock their times are shown by.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    clock: Clock,
    deployments: Vec<Deployment>,
}

/// DigitalOcean's error document.
fn error(status: StatusCode, id: &str, message: &str) -> Response {
    reply::json(status, json!({ "id": id, "message": message }))
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The resource you were accessing could not be found.",
    )
}

/// The answer to a scripted fault, in DigitalOcean's shape and with its rate-limit headers.
pub(crate) fn fault(fault: &Fault) -> Response {
    // DigitalOcean allows 5,000 requests an hour (the description's `ratelimit-limit`).
    hosted_fault(
        fault,
        |status| match status {
            StatusCode::TOO_MANY_REQUESTS => {
                json!({ "id": "too_many_requests", "message": "API rate limit exceeded." })
            }
            status => {
                json!({ "id": "server_error", "message": format!("simulated fault: {status}") })
            }
        },
        5000,
    )
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    endpoint: Endpoint,
    shared: &std::sync::Arc<Shared>,
    extensions: &Extensions,
) -> Response {
    match endpoint {
        // Log URLs carry their own secret, as pre-signed URLs do: no credential.
        Endpoint::Live { deployment, phase } => {
            return live::websocket(world, call, &deployment, phase, shared, extensions);
        }
        Endpoint::Archive { deployment, phase } => {
            return live::archive(world, call, &deployment, phase);
        }
        Endpoint::Unknown => return not_found(),
        _ => {}
    }
    if let Some(token) = &world.script.require_token
        && call.header("authorization") != Some(format!("Bearer {token}").as_str())
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unable to authenticate you.",
        );
    }
    let app = match &endpoint {
        Endpoint::Create { app }
        | Endpoint::List { app }
        | Endpoint::Get { app, .. }
        | Endpoint::Cancel { app, .. }
        | Endpoint::App { app }
        | Endpoint::Logs { app, .. } => app.clone(),
        _ => String::new(),
    };
    if !world.script.digitalocean.apps.contains(&app) {
        return not_found();
    }
    match endpoint {
        Endpoint::Create { app } => create(world, call, &app),
        Endpoint::List { app } => {
            let all: Vec<Value> = (0..world.digitalocean.deployments.len())
                .rev()
                .filter(|&i| world.digitalocean.deployments[i].app == app)
                .map(|i| describe(world, i, call.now))
                .collect();
            let total = all.len();
            reply::json(
                StatusCode::OK,
                json!({ "deployments": all, "links": {}, "meta": { "total": total } }),
            )
        }
        Endpoint::Get { app, deployment } => match find(world, &app, &deployment) {
            Some(i) => deployment_doc(world, i, call.now),
            None => not_found(),
        },
        Endpoint::Cancel { app, deployment } => match find(world, &app, &deployment) {
            Some(i) => cancel(world, i, call.now),
            None => not_found(),
        },
        Endpoint::App { app } => {
            reply::json(StatusCode::OK, app_doc(world, &call.base, &app, call.now))
        }
        Endpoint::Logs { app, deployment } => match find(world, &app, &deployment) {
            Some(i) => live::urls(world, call, i),
            None => not_found(),
        },
        Endpoint::Live { .. } | Endpoint::Archive { .. } | Endpoint::Unknown => not_found(),
    }
}

fn find(world: &World, app: &str, id: &str) -> Option<usize> {
    world
        .digitalocean
        .deployments
        .iter()
        .position(|d| d.app == app && d.id == id)
}

fn create(world: &mut World, call: &Call<'_>, app: &str) -> Response {
    let body = match call.json() {
        Ok(body) => body,
        Err(reject) => return error(StatusCode::BAD_REQUEST, "bad_request", &reject.1),
    };
    match body.as_ref().map(|b| b.get("force_build")) {
        None | Some(None | Some(Value::Bool(_) | Value::Null)) => {}
        Some(Some(other)) => {
            let message = format!("force_build must be a boolean, not {other}");
            return error(StatusCode::BAD_REQUEST, "bad_request", &message);
        }
    }
    if body.as_ref().is_some_and(|b| !b.is_object()) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request body must be a JSON object",
        );
    }
    let n = world.digitalocean.deployments.len() + 1;
    let build = world.script.build.clone();
    let chain = Chain::start(world, app, &format!("#{n}"), ENVIRONMENT, build);
    let token: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..32)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    };
    world.digitalocean.deployments.push(Deployment {
        id: format!("d0c0ffee-0000-4000-8000-{n:012}"),
        app: app.to_owned(),
        chain,
        token,
    });
    deployment_doc(world, world.digitalocean.deployments.len() - 1, call.now)
}

fn deployment_doc(world: &World, i: usize, now: Instant) -> Response {
    reply::json(
        StatusCode::OK,
        json!({ "deployment": describe(world, i, now) }),
    )
}

fn cancel(world: &mut World, i: usize, now: Instant) -> Response {
    let chain = world.digitalocean.deployments[i].chain;
    if chain.cancel(&mut world.store, now).is_ok() {
        return deployment_doc(world, i, now);
    }
    let message = format!(
        "deployment is {} and can no longer be canceled",
        phase(world, i, now)
    );
    error(StatusCode::BAD_REQUEST, "bad_request", &message)
}

/// When a later deployment of the same app became `ACTIVE`, if one did.
fn superseded(world: &World, i: usize, now: Instant) -> Option<Instant> {
    let d = &world.digitalocean.deployments[i];
    world.digitalocean.deployments[i + 1..]
        .iter()
        .filter(|later| later.app == d.app)
        .filter(|later| later.chain.stage(&world.store, now) == Stage::Live)
        .filter_map(|later| later.chain.finished_at(&world.store, now))
        .min()
}

fn phase(world: &World, i: usize, now: Instant) -> &'static str {
    match world.digitalocean.deployments[i]
        .chain
        .stage(&world.store, now)
    {
        Stage::Queued => "PENDING_BUILD",
        Stage::Building => "BUILDING",
        Stage::PendingRelease => "PENDING_DEPLOY",
        Stage::Releasing => "DEPLOYING",
        Stage::Live if superseded(world, i, now).is_some() => "SUPERSEDED",
        Stage::Live => "ACTIVE",
        Stage::BuildFailed | Stage::ReleaseFailed => "ERROR",
        Stage::Cancelled => "CANCELED",
    }
}

/// `(status, started, ended, reason)` of the `build` and the `deploy` step.
type Step = (
    &'static str,
    Option<Instant>,
    Option<Instant>,
    Option<Value>,
);

fn steps(world: &World, i: usize, now: Instant) -> (Step, Step) {
    let chain = &world.digitalocean.deployments[i].chain;
    let store = &world.store;
    let build = store.get(chain.build);
    let release = chain.release.map(|r| store.get(r));
    let build_end = Some(build.ends_at());
    let released = release.map(super::op::Op::ends_at);
    let release_started = release.map(super::op::Op::started_at);
    let reason = |code: &str, message: &str| Some(json!({ "code": code, "message": message }));
    let cancelled = || reason("DeploymentCanceled", "The deployment was canceled.");
    match chain.stage(store, now) {
        Stage::Queued => (("PENDING", None, None, None), ("PENDING", None, None, None)),
        Stage::Building => (
            ("RUNNING", Some(build.started_at()), None, None),
            ("PENDING", None, None, None),
        ),
        Stage::BuildFailed => (
            (
                "ERROR",
                Some(build.started_at()),
                build_end,
                reason(
                    "BuildJobExitNonZero",
                    "Your build job failed because it returned a non-zero exit code.",
                ),
            ),
            ("PENDING", None, None, None),
        ),
        Stage::PendingRelease => (
            ("SUCCESS", Some(build.started_at()), build_end, None),
            ("PENDING", None, None, None),
        ),
        Stage::Releasing => (
            ("SUCCESS", Some(build.started_at()), build_end, None),
            ("RUNNING", release_started, None, None),
        ),
        Stage::Live => (
            ("SUCCESS", Some(build.started_at()), build_end, None),
            ("SUCCESS", release_started, released, None),
        ),
        Stage::ReleaseFailed => (
            ("SUCCESS", Some(build.started_at()), build_end, None),
            (
                "ERROR",
                release_started,
                released,
                reason(
                    "DeployContainerHealthChecksFailed",
                    "Your deploy failed because your container failed health checks.",
                ),
            ),
        ),
        Stage::Cancelled => {
            let at = chain.stage_since(store, now);
            match build.cancelled_at() {
                Some(_) => (
                    ("ERROR", chain.started_at(store, now), Some(at), cancelled()),
                    ("PENDING", None, None, None),
                ),
                None => (
                    ("SUCCESS", Some(build.started_at()), build_end, None),
                    ("ERROR", release_started, Some(at), cancelled()),
                ),
            }
        }
    }
}

/// One step with its children (which share its status), its times and its reason.
fn step(world: &World, name: &str, s: &Step, children: Vec<Value>) -> Value {
    let time = |at: Instant| clock::rfc3339_seconds(world.digitalocean.clock.wall(at));
    let mut doc = json!({ "name": name, "status": s.0 });
    if let Some(at) = s.1 {
        doc["started_at"] = json!(time(at));
    }
    if let Some(at) = s.2 {
        doc["ended_at"] = json!(time(at));
    }
    if let Some(reason) = &s.3 {
        doc["reason"] = reason.clone();
    }
    if !children.is_empty() {
        doc["steps"] = Value::Array(children);
    }
    doc
}

/// The `progress` object: the description example's steps, counted by leaf.
fn progress(world: &World, i: usize, now: Instant) -> Value {
    let (b, d) = steps(world, i, now);
    let component = world.script.digitalocean.component.as_str();
    let leaf = |s: &Step, name: &str, message: Option<&str>| {
        let mut doc = json!({ "name": name, "status": s.0, "component_name": component });
        if let Some(message) = message {
            doc["message_base"] = json!(message);
        }
        doc
    };
    let plain = |s: &Step, name: &str| json!({ "name": name, "status": s.0 });
    let build = step(
        world,
        "build",
        &b,
        vec![
            plain(&b, "initialize"),
            json!({ "name": "components", "status": b.0, "steps": [leaf(&b, component, Some("Building service"))] }),
        ],
    );
    let deploy = step(
        world,
        "deploy",
        &d,
        vec![
            plain(&d, "initialize"),
            json!({ "name": "components", "status": d.0, "steps": [{
            "name": component, "status": d.0, "component_name": component,
            "steps": [leaf(&d, "deploy", Some("Deploying service")), leaf(&d, "wait", Some("Waiting for service"))],
        }] }),
            plain(&d, "finalize"),
        ],
    );
    // Leaves: build has 2 (initialize, the component), deploy 4 (initialize, deploy, wait,
    // finalize).
    let mut counts = [0u32; 4];
    for (status, leaves) in [(b.0, 2), (d.0, 4)] {
        let slot = match status {
            "PENDING" => 0,
            "RUNNING" => 1,
            "SUCCESS" => 2,
            _ => 3,
        };
        counts[slot] += leaves;
    }
    let mut doc = json!({ "total_steps": 6, "steps": [build, deploy] });
    for (key, count) in [
        "pending_steps",
        "running_steps",
        "success_steps",
        "error_steps",
    ]
    .into_iter()
    .zip(counts)
    {
        if count > 0 {
            doc[key] = json!(count);
        }
    }
    doc
}

/// The deployment object at `now` (`apps_deployment.yml`).
fn describe(world: &World, i: usize, now: Instant) -> Value {
    let d = &world.digitalocean.deployments[i];
    let (store, clock) = (&world.store, &world.digitalocean.clock);
    let time = |at: Instant| clock::rfc3339_seconds(clock.wall(at));
    let component = &world.script.digitalocean.component;
    let created = d.chain.created_at(store);
    let updated = superseded(world, i, now).unwrap_or_else(|| d.chain.stage_since(store, now));
    json!({
        "id": d.id,
        "cause": "manual",
        "spec": spec(world, &d.app),
        "services": [{ "name": component, "source_commit_hash": format!("{:040x}", i + 1) }],
        "phase": phase(world, i, now),
        "phase_last_updated_at": time(updated),
        "created_at": time(created),
        "updated_at": time(updated),
        "progress": progress(world, i, now),
        "tier_slug": "basic",
    })
}

/// The app spec: one service component built from a GitHub repository.
fn spec(world: &World, app: &str) -> Value {
    json!({
        "name": app_name(app),
        "region": "ams",
        "services": [{
            "name": world.script.digitalocean.component,
            "github": { "repo": "example/web", "branch": "main", "deploy_on_push": false },
            "run_command": "npm start",
            "http_port": 8080,
            "instance_count": 1,
            "instance_size_slug": "apps-s-1vcpu-0.5gb",
        }],
    })
}

/// A name the spec's pattern allows (`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`).
fn app_name(app: &str) -> String {
    let tail: String = app
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("app-{tail}")
}

/// `GET /v2/apps/{id}`: the app with its active and in-progress deployments.
fn app_doc(world: &World, base: &str, app: &str, now: Instant) -> Value {
    let clock = &world.digitalocean.clock;
    let time = |at: Instant| clock::rfc3339_seconds(clock.wall(at));
    let mine: Vec<usize> = (0..world.digitalocean.deployments.len())
        .filter(|&i| world.digitalocean.deployments[i].app == app)
        .collect();
    let stage = |i: usize| {
        world.digitalocean.deployments[i]
            .chain
            .stage(&world.store, now)
    };
    let active = mine
        .iter()
        .rev()
        .copied()
        .find(|&i| stage(i) == Stage::Live);
    let in_progress = mine
        .iter()
        .rev()
        .copied()
        .find(|&i| !stage(i).is_terminal());
    let url = app_url(base, app, ENVIRONMENT);
    let base_created = clock.wall(Instant::now()) - std::time::Duration::from_secs(30 * 86_400);
    let mut doc = json!({
        "id": app,
        "owner_uuid": "1e0f2a3b-0000-4000-8000-000000000001",
        "spec": spec(world, app),
        "default_ingress": url,
        "created_at": clock::rfc3339_seconds(base_created),
        "updated_at": clock::rfc3339_seconds(base_created),
        "tier_slug": "basic",
    });
    if let Some(&last) = mine.last() {
        doc["last_deployment_created_at"] = json!(time(
            world.digitalocean.deployments[last]
                .chain
                .created_at(&world.store)
        ));
    }
    if let Some(i) = active {
        doc["active_deployment"] = describe(world, i, now);
        doc["live_url"] = json!(url);
        doc["live_url_base"] = json!(url);
        doc["live_domain"] = json!(base.trim_start_matches("http://"));
    }
    if let Some(i) = in_progress {
        doc["in_progress_deployment"] = describe(world, i, now);
    }
    json!({ "app": doc })
}
