//! Netlify's builds, deploys and sites: the requests that start and stop them and the documents
//! they are answered with (field names and `state` words as `netlify-swagger.yml` has them).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{DeployRec, error, not_found};
use crate::platform::Phase;
use crate::sim::call::Call;
use crate::sim::op::State;
use crate::sim::op_script::OpScript;
use crate::sim::reply;
use crate::sim::stamp::{object_id, uuid_for};
use crate::sim::world::World;

/// The branch a site builds for production.
const MAIN_BRANCH: &str = "main";

/// What a failed build's deploy says.
pub(super) const BUILD_FAILED: &str = "Build script returned non-zero exit code: 2";

/// What a cancelled deploy says.
const CANCELLED: &str = "Canceled build";

fn query(call: &Call<'_>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(call.query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `bytes` start like a zip archive (a local file header, or the end record of an empty
/// archive).
fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The upload of a build or deploy request: `Ok(true)` a zip, `Ok(false)` none, or the
/// refusal (`422`).
fn upload(call: &Call<'_>, multipart: bool) -> Result<bool, Box<Response>> {
    let kind = call.header("content-type").unwrap_or_default();
    let empty = call.body.is_empty();
    if kind.starts_with("application/zip") {
        return if is_zip(call.body) {
            Ok(true)
        } else {
            Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body is not a zip archive",
            )))
        };
    }
    if multipart && kind.starts_with("multipart/form-data") {
        let text = String::from_utf8_lossy(call.body);
        return if text.contains("name=\"zip\"") {
            Ok(true)
        } else {
            Err(Box::new(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the form has no zip field",
            )))
        };
    }
    if empty {
        return Ok(false);
    }
    Err(Box::new(error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "send the site as a zip archive (Content-Type: application/zip)",
    )))
}

fn new_deploy(world: &mut World, call: &Call<'_>, site: &str) -> (String, DeployRec) {
    let branch = query(call, "branch");
    let record = DeployRec {
        site: site.to_owned(),
        build: None,
        op: None,
        created: call.now,
        title: query(call, "title"),
        branch,
    };
    world.netlify.wall();
    (object_id(), record)
}

/// `POST /sites/{site_id}/builds`: a build, then the processing of what it built.
pub(super) fn create_build(world: &mut World, call: &Call<'_>, site: &str) -> Response {
    if let Err(refused) = upload(call, true) {
        return *refused;
    }
    let (deploy_id, mut record) = new_deploy(world, call, site);
    let build_id = object_id();
    let script = world.script.build.clone();
    let build = world.store.create(Phase::Build, site, script.clone());
    build_id[..8].clone_into(&mut world.store.get_mut(build).label);
    if script.outcome == crate::sim::Outcome::Success {
        let mut processing = world.script.deploy.clone();
        processing.queue = script.terminal_after().saturating_add(processing.queue);
        record.op = Some(processing_op(world, site, &deploy_id, processing));
    }
    record.build = Some((build_id.clone(), build));
    world.netlify.deploys.insert(deploy_id.clone(), record);
    world.netlify.builds.insert(build_id.clone(), deploy_id);
    match build_doc(world, &build_id, call.now) {
        Some(doc) => reply::json(StatusCode::OK, doc),
        None => not_found(),
    }
}

fn processing_op(world: &mut World, site: &str, deploy_id: &str, script: OpScript) -> usize {
    let op = world.store.create(Phase::Deploy, site, script);
    deploy_id[..8].clone_into(&mut world.store.get_mut(op).label);
    op
}

/// `POST /sites/{site_id}/deploys` with a zipped site.
pub(super) fn create_deploy(world: &mut World, call: &Call<'_>, site: &str) -> Response {
    match upload(call, false) {
        Ok(true) => {}
        Ok(false) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "file digest deploys are not simulated: send the site as a zip archive (Content-Type: application/zip)",
            );
        }
        Err(refused) => return *refused,
    }
    let (deploy_id, mut record) = new_deploy(world, call, site);
    let script = world.script.deploy.clone();
    record.op = Some(processing_op(world, site, &deploy_id, script));
    world.netlify.deploys.insert(deploy_id.clone(), record);
    match deploy_doc(world, &deploy_id, call.now) {
        Some(doc) => reply::json(StatusCode::OK, doc),
        None => not_found(),
    }
}

/// A deploy's `state` and `error_message` at `now`.
pub(super) fn state(
    world: &World,
    d: &DeployRec,
    now: Instant,
) -> (&'static str, Option<&'static str>) {
    if let Some((_, build)) = d.build {
        match world.store.get(build).state(now) {
            State::Queued => return ("enqueued", None),
            State::Running => return ("building", None),
            State::Failed => return ("error", Some(BUILD_FAILED)),
            State::Cancelled => return ("error", Some(CANCELLED)),
            State::Succeeded => {}
        }
    }
    let Some(op) = d.op.map(|op| world.store.get(op)) else {
        return ("error", Some(BUILD_FAILED));
    };
    match op.state(now) {
        State::Queued if d.build.is_some() => ("uploading", None),
        State::Queued => ("uploaded", None),
        State::Running => {
            let p = op.progress(now);
            let step = if p < 0.25 {
                "uploaded"
            } else if p < 0.5 {
                "preparing"
            } else if p < 0.75 {
                "prepared"
            } else {
                "processing"
            };
            (step, None)
        }
        State::Succeeded => ("ready", None),
        State::Failed => (
            "error",
            Some("Failed during stage 'deploying site': Deploy did not succeed"),
        ),
        State::Cancelled => ("error", Some(CANCELLED)),
    }
}

/// The deploy document.
pub(super) fn deploy_doc(world: &mut World, id: &str, now: Instant) -> Option<Value> {
    let wall = world.netlify.wall();
    let d = world.netlify.deploys.get(id)?;
    let site = world.netlify.sites.get(&d.site)?;
    let (state, message) = state(world, d, now);
    let name = &d.site;
    let ended =
        d.op.or(d.build.as_ref().map(|(_, op)| *op))
            .map(|op| world.store.get(op).ends_at());
    let updated = match (state, ended) {
        ("ready" | "error", Some(at)) => at.min(now),
        _ => now,
    };
    let production = d.branch.as_deref().is_none_or(|b| b == MAIN_BRANCH);
    let mut doc = json!({
        "id": id,
        "site_id": site.id,
        "user_id": uuid_for("ferry@example.com"),
        "state": state,
        "name": name,
        "url": format!("http://{name}.netlify.app"),
        "ssl_url": format!("https://{name}.netlify.app"),
        "admin_url": format!("https://app.netlify.com/projects/{name}"),
        "deploy_url": format!("http://{id}--{name}.netlify.app"),
        "deploy_ssl_url": format!("https://{id}--{name}.netlify.app"),
        "required": [],
        "required_functions": [],
        "draft": false,
        "skipped": false,
        "locked": false,
        "branch": d.branch.as_deref().unwrap_or(MAIN_BRANCH),
        "context": if production { "production" } else { "branch-deploy" },
        "created_at": wall.millis(d.created),
        "updated_at": wall.millis(updated),
    });
    if let Some((build, _)) = &d.build {
        doc["build_id"] = json!(build);
    }
    if let Some(title) = &d.title {
        doc["title"] = json!(title);
    }
    if let Some(message) = message {
        doc["error_message"] = json!(message);
    }
    if state == "ready" && production {
        doc["published_at"] = json!(wall.millis(updated));
    }
    Some(doc)
}

/// The build document.
pub(super) fn build_doc(world: &mut World, id: &str, now: Instant) -> Option<Value> {
    let wall = world.netlify.wall();
    let deploy_id = world.netlify.builds.get(id)?;
    let d = world.netlify.deploys.get(deploy_id)?;
    let (_, op) = d.build.as_ref()?;
    let state = world.store.get(*op).state(now);
    let mut doc = json!({
        "id": id,
        "deploy_id": deploy_id,
        "done": state.is_terminal(),
        "created_at": wall.millis(d.created),
    });
    match state {
        State::Failed => doc["error"] = json!(BUILD_FAILED),
        State::Cancelled => doc["error"] = json!(CANCELLED),
        _ => {}
    }
    Some(doc)
}

/// `POST /deploys/{deploy_id}/cancel`: stops the build and the processing; a finished deploy is
/// answered as it is.
pub(super) fn cancel(world: &mut World, call: &Call<'_>, id: &str) -> Response {
    let Some(d) = world.netlify.deploys.get(id) else {
        return not_found();
    };
    let ops: Vec<usize> = d.build.iter().map(|(_, op)| *op).chain(d.op).collect();
    for op in ops {
        // A finished operation stays as it is; the processing after a build is queued behind it.
        let _ = world.store.get_mut(op).cancel(call.now);
    }
    match deploy_doc(world, id, call.now) {
        Some(doc) => reply::json(StatusCode::CREATED, doc),
        None => not_found(),
    }
}

/// The site document, with its latest ready production deploy as `published_deploy`.
pub(super) fn site_doc(world: &mut World, name: &str, now: Instant) -> Value {
    let wall = world.netlify.wall();
    let mut published: Vec<(Instant, String)> = world
        .netlify
        .deploys
        .iter()
        .filter(|(_, d)| d.site == name && d.branch.as_deref().is_none_or(|b| b == MAIN_BRANCH))
        .filter(|(_, d)| state(world, d, now).0 == "ready")
        .map(|(id, d)| (d.created, id.clone()))
        .collect();
    published.sort();
    let published = published
        .last()
        .and_then(|(_, id)| deploy_doc(world, id, now));
    let Some(site) = world.netlify.sites.get(name) else {
        return Value::Null;
    };
    let mut doc = json!({
        "id": site.id,
        "state": "current",
        "plan": "nf_team_dev",
        "name": name,
        "url": format!("http://{name}.netlify.app"),
        "ssl_url": format!("https://{name}.netlify.app"),
        "admin_url": format!("https://app.netlify.com/projects/{name}"),
        "created_at": wall.millis(site.created),
        "updated_at": wall.millis(now),
        "user_id": uuid_for("ferry@example.com"),
        "ssl": true,
        "force_ssl": true,
        "managed_dns": true,
        "deploy_url": format!("http://{MAIN_BRANCH}--{name}.netlify.app"),
        "account_id": uuid_for("account"),
        "account_name": "ferry",
        "account_slug": "ferry",
        "build_settings": { "repo_branch": MAIN_BRANCH, "cmd": "npm run build", "dir": "dist" },
        "id_domain": format!("{}.netlify.app", site.id),
    });
    if let Some(deploy) = published {
        doc["published_deploy"] = deploy;
    }
    doc
}
