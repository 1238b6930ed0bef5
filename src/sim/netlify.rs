//! The Netlify dialect, written from Netlify's API description (Swagger 2,
//! `tests/fixtures/hosted/netlify-swagger.yml`: `createSiteBuild`, `createSiteDeploy`,
//! `getSiteBuild`, `getDeploy`, `getSiteDeploy`, `cancelSiteDeploy`, `getSite`) and, where it is
//! silent, from netlify-cli (`netlify/cli`: `src/commands/logs/build.ts` and
//! `src/commands/logs/sources/deploy.ts` read a build's log from a WebSocket;
//! `src/utils/deploy/util.ts` waits for `state` `ready`, failing on `error` with
//! `error_message`).
//!
//! Netlify is served under the prefix `/netlify`, the API at its own base path: point the platform
//! URL at `{sim}/netlify/api/v1`.
//!
//! | request | answer |
//! |---|---|
//! | `POST /netlify/api/v1/sites/{site_id}/builds` | `200` the build (`id`, `deploy_id`, `done`); no body (a build of the linked repository), a zip (`Content-Type: application/zip`, or `multipart/form-data` with a `zip` field) |
//! | `POST /netlify/api/v1/sites/{site_id}/deploys` | `200` the deploy of a zipped site (`Content-Type: application/zip`); a JSON file-digest deploy is refused (`422`, not simulated) |
//! | `GET /netlify/api/v1/builds/{build_id}` | `done` once the build ended, `error` when it failed |
//! | `GET /netlify/api/v1/deploys/{deploy_id}`, `…/sites/{site_id}/deploys/{deploy_id}` | `state`: `enqueued` → `building` → `uploading` → `uploaded` → `preparing` → `prepared` → `processing` → `ready`, or `error` with `error_message` (a zip deploy starts at `uploaded`) |
//! | `POST /netlify/api/v1/deploys/{deploy_id}/cancel` | `201` the deploy, `error` ("Canceled build"); a finished one as it is |
//! | `GET /netlify/api/v1/sites/{site_id}` | the site: `url`, `ssl_url` (`https://{name}.netlify.app`), `published_deploy` |
//! | `GET /netlify-socketeer/build/logs` (WebSocket) | the log of a deploy's build (see `socketeer`) |
//!
//! `state` words are those the description lists (the enum of `listSiteDeploys`' `state` query
//! parameter; the deploy's own `state` is a plain string); a cancelled deploy is `error` (the
//! list has no cancelled state). With `require_token`, every API request needs
//! `Authorization: Bearer <token>` (`401` otherwise). Errors are the description's `error`
//! (`{"code", "message"}`); unknown paths and ids are `404`. Every API answer carries Netlify's
//! documented `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset` (a Unix
//! time); a scripted `429` sets `X-RateLimit-Remaining: 0` and the reset `retry_after` seconds
//! ahead (1 s without it) and no `Retry-After`, which Netlify does not document.

mod deploy;
mod script;
mod socketeer;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use hyper::upgrade::OnUpgrade;
use serde_json::json;
use tokio::time::Instant;

pub use script::NetlifyScript;

use super::call::Call;
use super::endpoint::Miss;
use super::fault::Fault;
use super::reply;
use super::route::Route;
use super::stamp::{Wall, uuid_for};
use super::store::OpIndex;
use super::world::{Shared, World};

/// Requests per minute, as Netlify documents.
const RATE_LIMIT: u32 = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    CreateBuild {
        site: String,
    },
    CreateDeploy {
        site: String,
    },
    Build {
        id: String,
    },
    Deploy {
        id: String,
        site: Option<String>,
    },
    Cancel {
        id: String,
    },
    Site {
        site: String,
    },
    /// Any other request under `/netlify`.
    Unknown,
    /// The build log WebSocket.
    Socket,
}

impl Endpoint {
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::CreateBuild { .. } | Endpoint::CreateDeploy { .. } => Some(Route::Trigger),
            Endpoint::Build { .. } | Endpoint::Deploy { .. } => Some(Route::Status),
            Endpoint::Cancel { .. } => Some(Route::Cancel),
            Endpoint::Socket => Some(Route::Log),
            Endpoint::Site { .. } | Endpoint::Unknown => None,
        }
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    match segs {
        ["netlify", "api", "v1", rest @ ..] => Ok(api(method, rest)),
        ["netlify", ..] => Ok(Endpoint::Unknown),
        ["netlify-socketeer", "build", "logs"] if method == Method::GET => Ok(Endpoint::Socket),
        ["netlify-socketeer", "build", "logs"] => Err(Miss::MethodNotAllowed),
        _ => Err(Miss::NotFound),
    }
}

fn api(method: &Method, segs: &[&str]) -> Endpoint {
    let owned = |s: &str| s.to_owned();
    match (method.as_str(), segs) {
        ("POST", ["sites", site, "builds"]) => Endpoint::CreateBuild { site: owned(site) },
        ("POST", ["sites", site, "deploys"]) => Endpoint::CreateDeploy { site: owned(site) },
        ("GET", ["builds", id]) => Endpoint::Build { id: owned(id) },
        ("GET", ["deploys", id]) => Endpoint::Deploy {
            id: owned(id),
            site: None,
        },
        ("GET", ["sites", site, "deploys", id]) => Endpoint::Deploy {
            id: owned(id),
            site: Some(owned(site)),
        },
        ("POST", ["deploys", id, "cancel"]) => Endpoint::Cancel { id: owned(id) },
        ("GET", ["sites", site]) => Endpoint::Site { site: owned(site) },
        _ => Endpoint::Unknown,
    }
}

/// One site.
#[derive(Debug)]
struct Site {
    id: String,
    created: Instant,
}

/// One deploy: made by a build (then the build runs first) or by an uploaded zip.
#[derive(Debug)]
struct DeployRec {
    site: String,
    build: Option<(String, OpIndex)>,
    /// The processing after the upload; `None` when a build failed before it.
    op: Option<OpIndex>,
    created: Instant,
    title: Option<String>,
    branch: Option<String>,
}

/// Everything the Netlify dialect remembers.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    wall: Option<Wall>,
    sites: HashMap<String, Site>,
    deploys: HashMap<String, DeployRec>,
    /// Build id → its deploy's id.
    builds: HashMap<String, String>,
    opened_sockets: u32,
    api_requests: u32,
}

impl Registry {
    fn wall(&mut self) -> Wall {
        *self.wall.get_or_insert_with(Wall::now)
    }
}

/// The description's `error` document.
fn error(status: StatusCode, message: &str) -> Response {
    reply::json(
        status,
        json!({ "code": status.as_u16(), "message": message }),
    )
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    endpoint: Endpoint,
    shared: &Arc<Shared>,
    upgrade: Option<OnUpgrade>,
) -> Response {
    if endpoint == Endpoint::Socket {
        return socketeer::accept(call, shared, upgrade);
    }
    world.netlify.api_requests = world.netlify.api_requests.saturating_add(1);
    let remaining = RATE_LIMIT - world.netlify.api_requests % RATE_LIMIT;
    let reset = world
        .netlify
        .wall()
        .epoch_after(call.now, Duration::from_secs(60));
    let response = api_answer(world, call, endpoint);
    rate_headers(response, remaining, reset)
}

fn rate_headers(response: Response, remaining: u32, reset: u64) -> Response {
    let response = reply::with_header(response, "x-ratelimit-limit", &RATE_LIMIT.to_string());
    let response = reply::with_header(response, "x-ratelimit-remaining", &remaining.to_string());
    reply::with_header(response, "x-ratelimit-reset", &reset.to_string())
}

fn api_answer(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    if endpoint == Endpoint::Unknown {
        return not_found();
    }
    if let Some(token) = &world.script.require_token
        && call.header("authorization") != Some(format!("Bearer {token}").as_str())
    {
        return error(StatusCode::UNAUTHORIZED, "Access Denied");
    }
    match endpoint {
        Endpoint::CreateBuild { site } => match touch(world, &site, call.now) {
            Some(name) => deploy::create_build(world, call, &name),
            None => not_found(),
        },
        Endpoint::CreateDeploy { site } => match touch(world, &site, call.now) {
            Some(name) => deploy::create_deploy(world, call, &name),
            None => not_found(),
        },
        Endpoint::Build { id } => match deploy::build_doc(world, &id, call.now) {
            Some(doc) => reply::json(StatusCode::OK, doc),
            None => not_found(),
        },
        Endpoint::Deploy { id, site } => {
            let site = match site {
                Some(site) => match touch(world, &site, call.now) {
                    Some(name) => Some(name),
                    None => return not_found(),
                },
                None => None,
            };
            let doc = deploy::deploy_doc(world, &id, call.now)
                .filter(|_| site.is_none_or(|s| world.netlify.deploys[&id].site == s));
            match doc {
                Some(doc) => reply::json(StatusCode::OK, doc),
                None => not_found(),
            }
        }
        Endpoint::Cancel { id } => deploy::cancel(world, call, &id),
        Endpoint::Site { site } => match touch(world, &site, call.now) {
            Some(name) => reply::json(StatusCode::OK, deploy::site_doc(world, &name, call.now)),
            None => not_found(),
        },
        Endpoint::Unknown | Endpoint::Socket => not_found(),
    }
}

/// The name of the site `site` addresses (its name, `{name}.netlify.app` or its id), recorded
/// on first use; `None` when the script has no such site.
fn touch(world: &mut World, site: &str, now: Instant) -> Option<String> {
    let name = world
        .script
        .netlify
        .sites
        .iter()
        .find(|name| {
            *name == site
                || site.strip_suffix(".netlify.app") == Some(name.as_str())
                || uuid_for(name) == site
        })?
        .clone();
    world.netlify.wall();
    world
        .netlify
        .sites
        .entry(name.clone())
        .or_insert_with(|| Site {
            id: uuid_for(&name),
            created: now,
        });
    Some(name)
}

/// A scripted fault as Netlify would answer it: the description's `error` document and, for a
/// 429, Netlify's rate-limit headers with the reset `retry_after` seconds ahead.
pub(crate) fn fault(endpoint: &Endpoint, fault: &Fault) -> Response {
    if fault.body.is_some() || *endpoint == Endpoint::Socket {
        return reply::fault(fault);
    }
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = status.canonical_reason().unwrap_or("Error");
    let response = error(status, message);
    if fault.status != 429 {
        return match fault.retry_after {
            Some(secs) => reply::with_header(response, "retry-after", &secs.to_string()),
            None => response,
        };
    }
    let wait = Duration::from_secs(fault.retry_after.unwrap_or(1));
    let reset = Wall::now().epoch_after(Instant::now(), wait);
    rate_headers(response, 0, reset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_api_under_its_prefix() {
        let p = |m: Method, path: &str| {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            parse(&m, &segs)
        };
        assert_eq!(
            p(Method::POST, "/netlify/api/v1/sites/s/builds"),
            Ok(Endpoint::CreateBuild { site: "s".into() })
        );
        assert_eq!(
            p(Method::GET, "/netlify/api/v1/sites/s/deploys/d"),
            Ok(Endpoint::Deploy {
                id: "d".into(),
                site: Some("s".into())
            })
        );
        assert_eq!(p(Method::GET, "/netlify/elsewhere"), Ok(Endpoint::Unknown));
        assert_eq!(
            p(Method::GET, "/netlify-socketeer/build/logs"),
            Ok(Endpoint::Socket)
        );
        assert_eq!(p(Method::GET, "/api/v1/sites/s"), Err(Miss::NotFound));
    }
}
