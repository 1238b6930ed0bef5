//! The Heroku dialect, written from Heroku's Platform API description (JSON Hyper-Schema,
//! `tests/fixtures/hosted/heroku-schema.json`: the `source`, `build`, `release` and `app`
//! resources) and, where it is silent, from the Heroku CLI (`heroku/cli`: `src/lib/ci/source.ts`
//! uploads a source with a plain `PUT` of `put_url`; `src/lib/container/streamer.ts` and
//! `src/commands/releases/output.ts` read `output_stream_url` as one streamed body).
//!
//! Heroku is served under the prefix `/heroku` (the sim's own `GET /apps/{app}/{environment}`
//! would otherwise take `GET /apps/{app}/builds`): point the platform URL at `{sim}/heroku`. The
//! two other hosts Heroku hands URLs for (the object store and the output streams) are simulated
//! on the same server, but on another origin, as on Heroku: their URLs name the loopback address
//! by its other name (`127.0.0.1` ↔ `localhost`, see `other_origin`), so a client that keeps its
//! credential to the API's origin sends none to them.
//!
//! | request | answer |
//! |---|---|
//! | `POST /heroku/sources` | `201` `source_blob.get_url` / `put_url`: pre-signed URLs on the object store below |
//! | `PUT /s3/heroku-sources/{id}?X-Amz-…&X-Amz-Signature=…` | `200` with an `ETag`; no credential, the archive as is; `403 SignatureDoesNotMatch` (S3's XML) for another signature, `400 InvalidArgument` with an `Authorization` header (a token sent along) |
//! | `GET /s3/heroku-sources/{id}?…` | the uploaded archive (with `get_url`'s signature) |
//! | `POST /heroku/apps/{app}/builds` | `201` the build, `status` `pending`; a `source_blob.url` of this store that was never uploaded makes the build fail |
//! | `GET /heroku/apps/{app}/builds/{id}` | `pending` → `succeeded` (with `release.id`, `slug.id`) or `failed` |
//! | `DELETE /heroku/apps/{app}/builds/{id}` | cancels a pending build (`failed`, the log ends with a cancel line); a finished one is answered as it is |
//! | `GET /heroku/apps/{app}/releases/{id or version}` | once the build succeeded: `pending` while the release phase runs, then `succeeded` / `failed`; `output_stream_url` for the release phase (`null` without one) |
//! | `GET /heroku/apps/{app}` | the app, with `web_url` (`https://{app}-{12 hex}.herokuapp.com/`) |
//! | `GET /heroku-output/streams/{id}` | a build's or release's log as it is written (see `output_stream`) |
//!
//! Every API request needs `Accept: application/vnd.heroku+json; version=3` (else `406
//! not_acceptable`) and, with `require_token`, `Authorization: Bearer <token>` (else `401
//! unauthorized`). Errors are Heroku's `{"id", "message"}` (`resource` on `not_found`); an
//! unknown endpoint is `404 not_found`. Every API answer carries `RateLimit-Remaining` (a pool of
//! 4500 requests, as Heroku documents); a scripted `429` answers `rate_limit` with
//! `RateLimit-Remaining: 0` and `Retry-After` when the fault sets `retry_after` (Heroku documents
//! only `RateLimit-Remaining`). Builds run the `build` script, release phases the `deploy` script.

mod build;
mod script;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::time::Instant;

pub use script::HerokuScript;

use super::call::Call;
use super::endpoint::Miss;
use super::fault::Fault;
use super::output_stream;
use super::reply;
use super::route::Route;
use super::stamp::{Wall, uuid_for};
use super::store::OpIndex;
use super::world::{Shared, World};

/// The size of Heroku's request-token pool.
const RATE_LIMIT_POOL: u32 = 4500;

/// What Heroku answers for a path or method it does not serve.
const NO_ENDPOINT: &str = "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    CreateSource,
    CreateBuild {
        app: String,
    },
    Build {
        app: String,
        id: String,
    },
    CancelBuild {
        app: String,
        id: String,
    },
    Release {
        app: String,
        id: String,
    },
    App {
        app: String,
    },
    /// Any other request under `/heroku`.
    Unknown,
    /// A `PUT` (upload) or `GET` of a source on the simulated object store.
    Blob {
        id: String,
        put: bool,
    },
    /// A build's or release's output stream.
    Output {
        id: String,
    },
}

impl Endpoint {
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::CreateBuild { .. } => Some(Route::Trigger),
            Endpoint::Build { .. } | Endpoint::Release { .. } => Some(Route::Status),
            Endpoint::CancelBuild { .. } => Some(Route::Cancel),
            Endpoint::Output { .. } => Some(Route::Log),
            Endpoint::CreateSource
            | Endpoint::App { .. }
            | Endpoint::Unknown
            | Endpoint::Blob { .. } => None,
        }
    }

    /// Whether this is a request to the Platform API (not the object store or a stream).
    fn is_api(&self) -> bool {
        !matches!(self, Endpoint::Blob { .. } | Endpoint::Output { .. })
    }
}

pub(crate) fn parse(method: &Method, segs: &[&str]) -> Result<Endpoint, Miss> {
    let owned = |s: &str| s.to_owned();
    match segs {
        ["heroku", rest @ ..] => Ok(api(method, rest)),
        ["s3", "heroku-sources", id] if method == Method::PUT || method == Method::GET => {
            Ok(Endpoint::Blob {
                id: owned(id),
                put: method == Method::PUT,
            })
        }
        ["heroku-output", "streams", id] if method == Method::GET => {
            Ok(Endpoint::Output { id: owned(id) })
        }
        ["s3", "heroku-sources", _] | ["heroku-output", "streams", _] => {
            Err(Miss::MethodNotAllowed)
        }
        _ => Err(Miss::NotFound),
    }
}

fn api(method: &Method, segs: &[&str]) -> Endpoint {
    let owned = |s: &str| s.to_owned();
    match (method.as_str(), segs) {
        ("POST", ["sources"]) => Endpoint::CreateSource,
        ("POST", ["apps", app, "builds"]) => Endpoint::CreateBuild { app: owned(app) },
        ("GET", ["apps", app, "builds", id]) => Endpoint::Build {
            app: owned(app),
            id: owned(id),
        },
        ("DELETE", ["apps", app, "builds", id]) => Endpoint::CancelBuild {
            app: owned(app),
            id: owned(id),
        },
        ("GET", ["apps", app, "releases", id]) => Endpoint::Release {
            app: owned(app),
            id: owned(id),
        },
        ("GET", ["apps", app]) => Endpoint::App { app: owned(app) },
        _ => Endpoint::Unknown,
    }
}

/// One app's life.
#[derive(Debug)]
struct App {
    id: String,
    created: Instant,
    /// `{app}-{12 hex}`: the host of `web_url`.
    host: String,
    /// Release ids in version order.
    releases: Vec<String>,
}

/// One build.
#[derive(Debug)]
struct BuildRec {
    app: String,
    op: OpIndex,
    release: Option<String>,
    /// `source_blob` as requested (`url`, `version`, `checksum`, `version_description`).
    source: Value,
    buildpacks: Value,
    created: Instant,
}

/// One release, made by a build; it exists once the build succeeded.
#[derive(Debug)]
struct ReleaseRec {
    build: String,
    version: u64,
    /// The release phase; `None` when the app has none.
    op: Option<OpIndex>,
    slug: String,
}

/// A source on the object store, with the signatures of its two URLs.
#[derive(Debug)]
struct Blob {
    put: String,
    get: String,
    data: Option<Bytes>,
}

/// Everything the Heroku dialect remembers.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    wall: Option<Wall>,
    apps: HashMap<String, App>,
    builds: HashMap<String, BuildRec>,
    releases: HashMap<String, ReleaseRec>,
    blobs: HashMap<String, Blob>,
    /// Output stream id (a build's or release's id) → the operation it follows.
    streams: HashMap<String, OpIndex>,
    opened_streams: u32,
    api_requests: u32,
}

impl Registry {
    fn wall(&mut self) -> Wall {
        *self.wall.get_or_insert_with(Wall::now)
    }
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    reply::json(status, json!({ "id": id, "message": message }))
}

fn not_found(resource: &str) -> Response {
    reply::json(
        StatusCode::NOT_FOUND,
        json!({
            "id": "not_found",
            "message": format!("Couldn't find that {resource}."),
            "resource": resource,
        }),
    )
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    endpoint: Endpoint,
    shared: &Arc<Shared>,
) -> Response {
    match endpoint {
        Endpoint::Blob { id, put } => build::blob(world, call, &id, put),
        Endpoint::Output { id } => {
            let Some(&op) = world.heroku.streams.get(&id) else {
                return reply::error(StatusCode::NOT_FOUND, "no such stream");
            };
            world.heroku.opened_streams += 1;
            let cut = world.heroku.opened_streams <= world.script.heroku.drop_streams;
            output_stream::serve(world, shared, call, op, cut)
        }
        endpoint => {
            world.heroku.api_requests = world.heroku.api_requests.saturating_add(1);
            let remaining = RATE_LIMIT_POOL.saturating_sub(world.heroku.api_requests);
            let response = api_answer(world, call, endpoint);
            reply::with_header(response, "ratelimit-remaining", &remaining.to_string())
        }
    }
}

fn api_answer(world: &mut World, call: &Call<'_>, endpoint: Endpoint) -> Response {
    if endpoint == Endpoint::Unknown {
        return error(StatusCode::NOT_FOUND, "not_found", NO_ENDPOINT);
    }
    if let Some(refused) = refuse(world, call) {
        return refused;
    }
    if let Endpoint::CreateSource = endpoint {
        return build::create_source(world, call);
    }
    let (Endpoint::CreateBuild { app }
    | Endpoint::Build { app, .. }
    | Endpoint::CancelBuild { app, .. }
    | Endpoint::Release { app, .. }
    | Endpoint::App { app }) = &endpoint
    else {
        return error(StatusCode::NOT_FOUND, "not_found", NO_ENDPOINT);
    };
    let Some(name) = touch(world, app, call.now) else {
        return not_found("app");
    };
    match endpoint {
        Endpoint::CreateBuild { .. } => build::create_build(world, call, &name),
        Endpoint::Build { id, .. } => {
            match build::build_doc(world, &call.base, &name, &id, call.now) {
                Some(doc) => reply::json(StatusCode::OK, doc),
                None => not_found("build"),
            }
        }
        Endpoint::CancelBuild { id, .. } => build::cancel_build(world, call, &name, &id),
        Endpoint::Release { id, .. } => {
            match build::release_doc(world, &call.base, &name, &id, call.now) {
                Some(doc) => reply::json(StatusCode::OK, doc),
                None => not_found("release"),
            }
        }
        _ => reply::json(StatusCode::OK, build::app_doc(world, &name, call.now)),
    }
}

/// Heroku wants its versioned media type, then (when a token is scripted) the bearer token.
fn refuse(world: &World, call: &Call<'_>) -> Option<Response> {
    let accept = call.header("accept").unwrap_or_default();
    if !(accept.contains("application/vnd.heroku+json") && accept.contains("version=3")) {
        return Some(error(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
        ));
    }
    let token = world.script.require_token.as_ref()?;
    match call.header("authorization") {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "There were no credentials in your `Authorization` header. Try `Authorization: Bearer <OAuth access token>`.",
        )),
        Some(given) if given != format!("Bearer {token}") => Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid credentials provided.",
        )),
        Some(_) => None,
    }
}

/// `base` (`http://host:port`, as the API was reached) under another origin that reaches this
/// same server: the loopback address by its other name. Any other host is kept as it is.
pub(crate) fn other_origin(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("http://127.0.0.1") {
        format!("http://localhost{rest}")
    } else if let Some(rest) = base.strip_prefix("http://localhost") {
        format!("http://127.0.0.1{rest}")
    } else {
        base.to_owned()
    }
}

/// The app named (or whose id is) `app`, recorded on first use; `None` when the script has no
/// such app.
fn touch(world: &mut World, app: &str, now: Instant) -> Option<String> {
    let name = world
        .script
        .heroku
        .apps
        .iter()
        .find(|name| *name == app || uuid_for(name) == app)?
        .clone();
    world.heroku.wall();
    world
        .heroku
        .apps
        .entry(name.clone())
        .or_insert_with(|| App {
            id: uuid_for(&name),
            created: now,
            host: format!("{name}-{}", &uuid_for(&format!("host {name}"))[24..]),
            releases: Vec::new(),
        });
    Some(name)
}

/// A scripted fault as Heroku would answer it: its error document (`rate_limit` with
/// `RateLimit-Remaining: 0` for a 429). The object store and the streams answer plainly.
pub(crate) fn fault(endpoint: &Endpoint, fault: &Fault) -> Response {
    if fault.body.is_some() || !endpoint.is_api() {
        return reply::fault(fault);
    }
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (id, message) = match fault.status {
        429 => (
            "rate_limit",
            "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
        ),
        401 => ("unauthorized", "Invalid credentials provided."),
        403 => ("forbidden", "You do not have access to this resource."),
        404 => ("not_found", NO_ENDPOINT),
        409 => ("conflict", "The request conflicts with the current state."),
        422 => ("invalid_params", "The request parameters are invalid."),
        503 => ("unavailable", "The service is temporarily unavailable."),
        s if s >= 500 => ("internal_server_error", "Internal server error."),
        _ => ("bad_request", "The request could not be understood."),
    };
    let mut body = json!({ "id": id, "message": message });
    if fault.status == 429 {
        body["url"] =
            json!("https://devcenter.heroku.com/articles/platform-api-reference#rate-limits");
    }
    let mut response = reply::json(status, body);
    if fault.status == 429 {
        response = reply::with_header(response, "ratelimit-remaining", "0");
    }
    match fault.retry_after {
        Some(secs) => reply::with_header(response, "retry-after", &secs.to_string()),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_hosts_are_another_origin_of_the_same_server() {
        assert_eq!(
            other_origin("http://127.0.0.1:4000"),
            "http://localhost:4000"
        );
        assert_eq!(
            other_origin("http://localhost:4000"),
            "http://127.0.0.1:4000"
        );
        assert_eq!(other_origin("http://sim.test:80"), "http://sim.test:80");
    }

    #[test]
    fn parses_the_api_under_its_prefix_and_the_other_hosts() {
        let p = |m: Method, path: &str| {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            parse(&m, &segs)
        };
        assert_eq!(
            p(Method::POST, "/heroku/apps/web/builds"),
            Ok(Endpoint::CreateBuild { app: "web".into() })
        );
        assert_eq!(
            p(Method::GET, "/heroku/apps/web/builds"),
            Ok(Endpoint::Unknown)
        );
        assert_eq!(
            p(Method::PUT, "/s3/heroku-sources/x"),
            Ok(Endpoint::Blob {
                id: "x".into(),
                put: true
            })
        );
        assert_eq!(
            p(Method::POST, "/heroku-output/streams/x"),
            Err(Miss::MethodNotAllowed)
        );
        assert_eq!(p(Method::GET, "/apps/web/builds"), Err(Miss::NotFound));
    }
}
