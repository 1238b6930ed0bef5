//! A DigitalOcean deployment's logs: the `…/logs` answer, the live WebSocket and the archived
//! files.
//!
//! - `GET …/deployments/{id}/logs?type=BUILD|DEPLOY` answers `{"live_url": "ws://…"}` while that
//!   log is being written (also before it starts) and `{"historic_urls": ["http://…"]}` once it
//!   is complete; `{}` for a log that will never exist (the deploy log of a failed or cancelled
//!   build, or `RUN` logs). `type` is required, as the description says.
//! - The live URL (`/digitalocean/live/{id}/{build|deploy}?follow=…&token=…`) upgrades to a
//!   WebSocket sending one text frame per line, `{"data": "{component} {time} {line}\n"}`. With
//!   `follow=true` it keeps sending until the log is complete, else it sends what is written so
//!   far; then it closes normally (1000). A missing or wrong `token` is a `403`, a request that is
//!   not a WebSocket handshake a `400` (as Go's gorilla/websocket answers).
//! - The historic URL (`/digitalocean/archive/{id}/{build|deploy}.log?signature=…`) is the
//!   complete log as `text/plain`, the same lines without the JSON; a wrong signature is a `403`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Registry, error, not_found};
use crate::platform::Phase;
use crate::sim::call::Call;
use crate::sim::clock;
use crate::sim::reply;
use crate::sim::world::{Shared, World};

/// How often a following WebSocket looks for new lines.
const POLL: Duration = Duration::from_millis(20);

/// The most lines one look sends before looking again (the world is locked while they are read).
const BATCH: u64 = 256;

fn query(call: &Call<'_>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(call.query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn segment(phase: Phase) -> &'static str {
    match phase {
        Phase::Build => "build",
        Phase::Deploy | Phase::Stop => "deploy",
    }
}

/// `GET …/deployments/{id}/logs`.
pub(super) fn urls(world: &World, call: &Call<'_>, i: usize) -> Response {
    let phase = match query(call, "type").as_deref() {
        Some("BUILD") => Some(Phase::Build),
        Some("DEPLOY") => Some(Phase::Deploy),
        Some("RUN" | "RUN_RESTARTED" | "AUTOSCALE_EVENT") => None,
        Some(other) => {
            let message = format!(
                "type must be BUILD, DEPLOY, RUN, RUN_RESTARTED or AUTOSCALE_EVENT, not {other:?}"
            );
            return error(StatusCode::BAD_REQUEST, "bad_request", &message);
        }
        None => {
            return error(StatusCode::BAD_REQUEST, "bad_request", "type is required");
        }
    };
    let follow = match query(call, "follow").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            let message = format!("follow must be true or false, not {other:?}");
            return error(StatusCode::BAD_REQUEST, "bad_request", &message);
        }
    };
    let d = &world.digitalocean.deployments[i];
    let Some(phase) = phase else {
        return reply::json(StatusCode::OK, json!({}));
    };
    // The deploy log exists only for a deploy that will (or did) run.
    let will_run = match phase {
        Phase::Build => true,
        Phase::Deploy | Phase::Stop => {
            d.chain.release.is_some() && world.store.get(d.chain.build).cancelled_at().is_none()
        }
    };
    if !will_run {
        return reply::json(StatusCode::OK, json!({}));
    }
    let complete = d
        .chain
        .log_op(&world.store, phase, call.now)
        .is_some_and(|op| world.store.get(op).log(call.now).finished);
    let log = segment(phase);
    if complete {
        let url = format!(
            "{}/digitalocean/archive/{}/{log}.log?signature={}",
            call.base, d.id, d.token
        );
        reply::json(StatusCode::OK, json!({ "historic_urls": [url] }))
    } else {
        let ws = call.base.replacen("http://", "ws://", 1);
        let url = format!(
            "{ws}/digitalocean/live/{}/{log}?follow={follow}&token={}",
            d.id, d.token
        );
        reply::json(StatusCode::OK, json!({ "live_url": url }))
    }
}

fn deployment(world: &World, id: &str) -> Option<usize> {
    world
        .digitalocean
        .deployments
        .iter()
        .position(|d| d.id == id)
}

/// The written lines `from..` (at most `max`) of deployment `i`'s `phase` log, with the prefix,
/// and whether that is the end of the complete log.
fn lines(
    world: &World,
    i: usize,
    phase: Phase,
    from: u64,
    max: u64,
    now: Instant,
) -> (Vec<String>, bool, u64) {
    let registry: &Registry = &world.digitalocean;
    let d = &registry.deployments[i];
    let component = &world.script.digitalocean.component;
    let Some(op) = d.chain.log_op(&world.store, phase, now) else {
        // No log (yet): complete only when it never will be.
        let never = d.chain.stage(&world.store, now).is_terminal();
        return (Vec::new(), never, 0);
    };
    let op = world.store.get(op);
    let view = op.log(now);
    let written = view.written / crate::sim::LINE_WIDTH;
    let to = written.min(from.saturating_add(max));
    let out = (from..to)
        .map(|index| {
            let at = clock::rfc3339_micros(registry.clock.wall(op.written_at(index)));
            format!("{component} {at} {}", view.text.line(index))
        })
        .collect();
    (out, view.finished && to >= written, written)
}

/// The live URL: a WebSocket that sends the log line by line.
pub(super) fn websocket(
    world: &World,
    call: &Call<'_>,
    id: &str,
    phase: Phase,
    shared: &Arc<Shared>,
    extensions: &Extensions,
) -> Response {
    let Some(i) = deployment(world, id) else {
        return not_found();
    };
    if query(call, "token").as_deref() != Some(world.digitalocean.deployments[i].token.as_str()) {
        return (StatusCode::FORBIDDEN, "invalid token\n").into_response();
    }
    let upgrade = call.header("connection").is_some_and(|c| {
        c.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    }) && call
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let (Some(key), Some(on_upgrade), true) = (
        call.header("sec-websocket-key"),
        extensions.get::<hyper::upgrade::OnUpgrade>().cloned(),
        upgrade,
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header\n",
        )
            .into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let follow = query(call, "follow").as_deref() == Some("true");
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        send_log(ws, &shared, i, phase, follow).await;
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Sends the log as frames until it is complete (or, not following, until it is caught up),
/// then closes normally and waits briefly for the client's close.
async fn send_log<S>(
    mut ws: WebSocketStream<S>,
    shared: &Shared,
    i: usize,
    phase: Phase,
    follow: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut sent = 0;
    loop {
        let (batch, complete, written) = {
            let world = shared.world();
            lines(&world, i, phase, sent, BATCH, Instant::now())
        };
        for line in &batch {
            let frame = json!({ "data": line }).to_string();
            if ws.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        sent += batch.len() as u64;
        let caught_up = sent >= written;
        if complete || (!follow && caught_up) {
            break;
        }
        if caught_up {
            tokio::time::sleep(POLL).await;
        }
    }
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    if ws.send(Message::Close(Some(close))).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
}

/// A historic URL: the complete log as plain text.
pub(super) fn archive(world: &World, call: &Call<'_>, id: &str, phase: Phase) -> Response {
    let Some(i) = deployment(world, id) else {
        return not_found();
    };
    if query(call, "signature").as_deref() != Some(world.digitalocean.deployments[i].token.as_str())
    {
        return (
            StatusCode::FORBIDDEN,
            "AccessDenied: the signature does not match\n",
        )
            .into_response();
    }
    let (all, complete, _) = lines(world, i, phase, 0, u64::MAX, call.now);
    if !complete {
        return (
            StatusCode::NOT_FOUND,
            "NoSuchKey: the log is not archived yet\n",
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        all.concat(),
    )
        .into_response()
}
