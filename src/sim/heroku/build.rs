//! Heroku's sources, builds, releases and apps: the requests that change them and the documents
//! they are answered with (field names and states as `heroku-schema.json` has them).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Blob, BuildRec, ReleaseRec, error, not_found};
use crate::platform::Phase;
use crate::sim::call::Call;
use crate::sim::op::State;
use crate::sim::op_script::Outcome;
use crate::sim::reply::{self, Reject};
use crate::sim::stamp::{hex, uuid};
use crate::sim::world::World;

/// The access key in the pre-signed URLs (AWS's documentation example key).
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// Who the simulated account is.
const USER_EMAIL: &str = "ferry@example.com";

fn user() -> Value {
    json!({ "id": crate::sim::stamp::uuid_for(USER_EMAIL), "email": USER_EMAIL })
}

/// `POST /sources`: two pre-signed URLs for one new object.
pub(super) fn create_source(world: &mut World, call: &Call<'_>) -> Response {
    let id = uuid();
    let blob = Blob {
        put: format!("{}{}", hex(32), hex(32)),
        get: format!("{}{}", hex(32), hex(32)),
        data: None,
    };
    let stamp: String = world
        .heroku
        .wall()
        .seconds(call.now)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let url = |signature: &str| {
        format!(
            "{base}/s3/heroku-sources/{id}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential={ACCESS_KEY}%2F{day}%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date={stamp}&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
             &X-Amz-Signature={signature}",
            base = super::other_origin(&call.base),
            day = &stamp[..8],
        )
    };
    let doc = json!({ "source_blob": { "get_url": url(&blob.get), "put_url": url(&blob.put) } });
    world.heroku.blobs.insert(id, blob);
    reply::json(StatusCode::CREATED, doc)
}

/// S3's XML error document.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `PUT` or `GET` of an object with one of its pre-signed URLs (the signature is per method).
pub(super) fn blob(world: &mut World, call: &Call<'_>, id: &str, put: bool) -> Response {
    let Some(blob) = world.heroku.blobs.get_mut(id) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if call.header("authorization").is_some() {
        // S3 refuses a pre-signed URL that also carries a credential of its own.
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let expected = if put { &blob.put } else { &blob.get };
    if query_value(call.query, "X-Amz-Signature").as_deref() != Some(expected.as_str())
        || query_value(call.query, "X-Amz-Credential")
            .is_none_or(|c| !c.starts_with(&format!("{ACCESS_KEY}/")))
    {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );
    }
    if put {
        blob.data = Some(call.body.clone());
        let mut response = StatusCode::OK.into_response();
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", hex(32))) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        return response;
    }
    match &blob.data {
        Some(data) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            data.clone(),
        )
            .into_response(),
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}

/// Whether a build can fetch `url`: any URL elsewhere can be; one of our objects only with its
/// `get_url` signature and once it was uploaded.
fn fetchable(world: &World, url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let Some(id) = parsed.path().strip_prefix("/s3/heroku-sources/") else {
        return true;
    };
    world.heroku.blobs.get(id).is_some_and(|blob| {
        blob.data.is_some()
            && query_value(parsed.query(), "X-Amz-Signature").as_deref() == Some(blob.get.as_str())
    })
}

/// `POST /apps/{app}/builds`.
pub(super) fn create_build(world: &mut World, call: &Call<'_>, app: &str) -> Response {
    let body = match call.json() {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(Reject(status, message)) => return error(status, "bad_request", &message),
    };
    let Some(url) = body.pointer("/source_blob/url").and_then(Value::as_str) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Missing required params: source_blob.url",
        );
    };
    let mut script = world.script.build.clone();
    if !fetchable(world, url) {
        // Heroku accepts the build and fails it when it cannot download the source.
        script.outcome = Outcome::Failure;
    }
    let id = uuid();
    let op = world.store.create(Phase::Build, app, script.clone());
    id[..8].clone_into(&mut world.store.get_mut(op).label);
    let release = (script.outcome == Outcome::Success).then(|| {
        let release_id = uuid();
        let version = world.heroku.apps.get(app).map_or(0, |a| a.releases.len()) as u64 + 2;
        let phase = world.script.heroku.release_phase.then(|| {
            let mut deploy = world.script.deploy.clone();
            deploy.queue = script.terminal_after().saturating_add(deploy.queue);
            let op = world.store.create(Phase::Deploy, app, deploy);
            world.store.get_mut(op).label = format!("v{version}");
            world.heroku.streams.insert(release_id.clone(), op);
            op
        });
        world.heroku.releases.insert(
            release_id.clone(),
            ReleaseRec {
                build: id.clone(),
                version,
                op: phase,
                slug: uuid(),
            },
        );
        if let Some(a) = world.heroku.apps.get_mut(app) {
            a.releases.push(release_id.clone());
        }
        release_id
    });
    let source = json!({
        "checksum": body.pointer("/source_blob/checksum").cloned().unwrap_or(Value::Null),
        "url": url,
        "version": body.pointer("/source_blob/version").cloned().unwrap_or(Value::Null),
        "version_description": body.pointer("/source_blob/version_description").cloned().unwrap_or(Value::Null),
    });
    let buildpacks = body
        .get("buildpacks")
        .cloned()
        .filter(|b| !b.is_null())
        .unwrap_or_else(|| json!([{ "url": "heroku/nodejs", "name": "heroku/nodejs" }]));
    world.heroku.streams.insert(id.clone(), op);
    world.heroku.builds.insert(
        id.clone(),
        BuildRec {
            app: app.to_owned(),
            op,
            release,
            source,
            buildpacks,
            created: call.now,
        },
    );
    match build_doc(world, &call.base, app, &id, call.now) {
        Some(doc) => reply::json(StatusCode::CREATED, doc),
        None => not_found("build"),
    }
}

fn stream_url(base: &str, id: &str) -> String {
    format!("{}/heroku-output/streams/{id}", super::other_origin(base))
}

/// The build's state in Heroku's words (a cancelled build is `failed`).
fn build_status(state: State) -> &'static str {
    match state {
        State::Queued | State::Running => "pending",
        State::Succeeded => "succeeded",
        State::Failed | State::Cancelled => "failed",
    }
}

/// The build document, if `id` is a build of `app`.
pub(super) fn build_doc(
    world: &mut World,
    base: &str,
    app: &str,
    id: &str,
    now: Instant,
) -> Option<Value> {
    let wall = world.heroku.wall();
    let rec = world.heroku.builds.get(id).filter(|b| b.app == app)?;
    let op = world.store.get(rec.op);
    let state = op.state(now);
    let release = rec
        .release
        .as_ref()
        .filter(|_| state == State::Succeeded)
        .and_then(|r| world.heroku.releases.get(r).map(|rel| (r, rel)));
    let created = rec.created;
    let updated = if state.is_terminal() {
        op.ends_at().min(now)
    } else {
        created.min(now)
    };
    let app_id = world.heroku.apps.get(app).map(|a| a.id.clone());
    Some(json!({
        "app": { "id": app_id },
        "buildpacks": rec.buildpacks,
        "created_at": wall.seconds(created),
        "id": id,
        "output_stream_url": stream_url(base, id),
        "release": release.map(|(r, _)| json!({ "id": r })),
        "slug": release.map(|(_, rel)| json!({ "id": rel.slug })),
        "source_blob": rec.source,
        "stack": "heroku-24",
        "status": build_status(state),
        "updated_at": wall.seconds(updated),
        "user": user(),
    }))
}

/// `DELETE /apps/{app}/builds/{id}`: stops a pending build and with it the release it would make.
pub(super) fn cancel_build(world: &mut World, call: &Call<'_>, app: &str, id: &str) -> Response {
    let Some(rec) = world.heroku.builds.get(id).filter(|b| b.app == app) else {
        return not_found("build");
    };
    let (op, release) = (rec.op, rec.release.clone());
    if world.store.get_mut(op).cancel(call.now).is_ok()
        && let Some(rel) = release.and_then(|r| world.heroku.releases.get(&r))
        && let Some(phase) = rel.op
    {
        let _ = world.store.get_mut(phase).cancel(call.now);
    }
    match build_doc(world, &call.base, app, id, call.now) {
        Some(doc) => reply::json(StatusCode::OK, doc),
        None => not_found("build"),
    }
}

/// The release's state in Heroku's words.
fn release_status(world: &World, rel: &ReleaseRec, now: Instant) -> &'static str {
    match rel.op.map(|op| world.store.get(op).state(now)) {
        None | Some(State::Succeeded) => "succeeded",
        Some(State::Queued | State::Running) => "pending",
        Some(State::Failed | State::Cancelled) => "failed",
    }
}

/// The releases of `app` that exist at `now` (their build succeeded), in version order.
fn releases<'w>(world: &'w World, app: &str, now: Instant) -> Vec<(&'w String, &'w ReleaseRec)> {
    let Some(a) = world.heroku.apps.get(app) else {
        return Vec::new();
    };
    a.releases
        .iter()
        .filter_map(|id| world.heroku.releases.get_key_value(id))
        .filter(|(_, rel)| {
            world
                .heroku
                .builds
                .get(&rel.build)
                .is_some_and(|b| world.store.get(b.op).state(now) == State::Succeeded)
        })
        .collect()
}

/// The release document, if `id` (an id or a version number) is an existing release of `app`.
pub(super) fn release_doc(
    world: &mut World,
    base: &str,
    app: &str,
    id: &str,
    now: Instant,
) -> Option<Value> {
    let wall = world.heroku.wall();
    let all = releases(world, app, now);
    let (rid, rel) = *all
        .iter()
        .find(|(rid, rel)| *rid == id || id.parse::<u64>().is_ok_and(|v| v == rel.version))?;
    let build_op = world.store.get(world.heroku.builds.get(&rel.build)?.op);
    let created = build_op.ends_at();
    let status = release_status(world, rel, now);
    let updated = match rel.op.map(|op| world.store.get(op)) {
        Some(op) if status != "pending" => op.ends_at().min(now),
        _ => created,
    };
    let current = all
        .iter()
        .rev()
        .find(|(_, r)| release_status(world, r, now) == "succeeded")
        .is_some_and(|(r, _)| *r == rid);
    let version = world
        .heroku
        .builds
        .get(&rel.build)
        .and_then(|b| b.source.get("version").and_then(Value::as_str))
        .unwrap_or("source");
    Some(json!({
        "addon_plan_names": [],
        "artifacts": [{ "type": "slug", "id": rel.slug }],
        "app": { "name": app, "id": world.heroku.apps.get(app).map(|a| a.id.clone()) },
        "created_at": wall.seconds(created),
        "description": format!("Deploy {}", version.chars().take(8).collect::<String>()),
        "id": rid,
        "updated_at": wall.seconds(updated),
        "slug": { "id": rel.slug },
        "status": status,
        "user": user(),
        "version": rel.version,
        "current": current,
        "output_stream_url": rel.op.map(|_| stream_url(base, rid)),
        "eligible_for_rollback": true,
    }))
}

/// The app document; `web_url` is where Heroku serves it.
pub(super) fn app_doc(world: &mut World, app: &str, now: Instant) -> Value {
    let wall = world.heroku.wall();
    let released = releases(world, app, now)
        .iter()
        .rev()
        .find(|(_, r)| release_status(world, r, now) == "succeeded")
        .and_then(|(_, r)| {
            let op =
                r.op.map_or_else(|| world.heroku.builds.get(&r.build).map(|b| b.op), Some)?;
            Some(world.store.get(op).ends_at())
        });
    let Some(a) = world.heroku.apps.get(app) else {
        return Value::Null;
    };
    let stack = json!({ "id": crate::sim::stamp::uuid_for("heroku-24"), "name": "heroku-24" });
    json!({
        "acm": false,
        "archived_at": null,
        "buildpack_provided_description": "Node.js",
        "build_stack": stack,
        "created_at": wall.seconds(a.created),
        "git_url": format!("https://git.heroku.com/{app}.git"),
        "id": a.id,
        "maintenance": false,
        "name": app,
        "owner": user(),
        "organization": null,
        "team": null,
        "region": { "id": crate::sim::stamp::uuid_for("us"), "name": "us" },
        "released_at": wall.seconds(released.unwrap_or(a.created)),
        "repo_size": null,
        "slug_size": null,
        "space": null,
        "stack": stack,
        "updated_at": wall.seconds(released.unwrap_or(a.created)),
        "web_url": format!("https://{}.herokuapp.com/", a.host),
    })
}
