//! Netlify's build log WebSocket, as netlify-cli reads it (`src/commands/logs/build.ts`,
//! `src/commands/logs/sources/deploy.ts`): the real one is
//! `wss://socketeer.services.netlify.com/build/logs`; here it is `GET /netlify-socketeer/build/logs`
//! on the simulator (plain `ws://`). Netlify's API description does not mention it.
//!
//! - The client's first text frame subscribes: `{"deploy_id", "site_id", "access_token"}`. With
//!   `require_token`, `access_token` must be the token; the deploy must be of that site (by id
//!   or name). Otherwise the socket closes with code 1008 and the reason.
//! - Then every log line is one text frame `{"message": line, "section": "building", "ts":
//!   RFC 3339}`, from the first line on (each connection replays the log), as lines are written.
//!   A deploy made from a zip has no build: its processing lines come with section `deploying`.
//! - When the log is finished a last frame `{"type": "report", "section": …, "message": …}` says
//!   how it ended (netlify-cli stops at `type` `report` with section `building`), then a close
//!   frame (1000).
//! - A socket the script cuts is dropped without a close frame after its first line.
//!
//! No HTTP credential is needed (netlify-cli sends none; the token travels in the first frame).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::deploy::state;
use crate::sim::call::Call;
use crate::sim::log::LINE_WIDTH;
use crate::sim::store::OpIndex;
use crate::sim::world::{Shared, World};

/// How often an open socket looks for new lines.
const POLL: Duration = Duration::from_millis(20);

/// How long the server waits for the subscription frame.
const SUBSCRIBE_WITHIN: Duration = Duration::from_secs(10);

/// Answers the upgrade and serves the socket in a task of its own.
pub(super) fn accept(
    call: &Call<'_>,
    shared: &Arc<Shared>,
    upgrade: Option<OnUpgrade>,
) -> Response {
    let wants = call
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let (Some(key), true, Some(upgrade)) = (call.header("sec-websocket-key"), wants, upgrade)
    else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            [(header::UPGRADE, "websocket")],
            "this endpoint speaks WebSocket only",
        )
            .into_response();
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        serve(ws, &shared).await;
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

async fn close(ws: &mut Socket, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = ws.send(Message::Close(Some(frame))).await;
}

/// What a subscription follows: the operation whose lines are sent and the section they are in.
struct Follow {
    op: OpIndex,
    section: &'static str,
    deploy: String,
}

/// Reads the subscription frame and checks it against the script and the deploys.
async fn subscribe(ws: &mut Socket, shared: &Shared) -> Result<Follow, String> {
    let frame = tokio::time::timeout(SUBSCRIBE_WITHIN, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return Some(text.to_string()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
    .ok_or("expected a subscription frame")?;
    let sub: Value = serde_json::from_str(&frame).map_err(|e| format!("bad subscription: {e}"))?;
    let field = |name: &str| sub.get(name).and_then(Value::as_str).unwrap_or_default();
    let world = shared.world();
    if let Some(token) = &world.script.require_token
        && field("access_token") != token
    {
        return Err("access denied: bad access_token".into());
    }
    let deploy = field("deploy_id");
    let d = world
        .netlify
        .deploys
        .get(deploy)
        .filter(|d| {
            let site = field("site_id");
            d.site == site
                || world
                    .netlify
                    .sites
                    .get(&d.site)
                    .is_some_and(|s| s.id == site)
        })
        .ok_or("no such deploy on that site")?;
    match (d.build.as_ref(), d.op) {
        (Some((_, op)), _) => Ok(Follow {
            op: *op,
            section: "building",
            deploy: deploy.to_owned(),
        }),
        (None, Some(op)) => Ok(Follow {
            op,
            section: "deploying",
            deploy: deploy.to_owned(),
        }),
        (None, None) => Err("no such deploy on that site".into()),
    }
}

async fn serve(mut ws: Socket, shared: &Shared) {
    let follow = match subscribe(&mut ws, shared).await {
        Ok(follow) => follow,
        Err(reason) => return close(&mut ws, CloseCode::Policy, &reason).await,
    };
    // Only subscriptions that were accepted count towards the sockets the script cuts.
    let cut = {
        let mut world = shared.world();
        world.netlify.opened_sockets += 1;
        world.netlify.opened_sockets <= world.script.netlify.drop_sockets
    };
    let mut sent: u64 = 0;
    loop {
        let (lines, finished, report) = {
            let mut world = shared.world();
            let now = Instant::now();
            let ts = world.netlify.wall().millis(now);
            let view = world.store.get(follow.op).log(now);
            let lines: Vec<String> = (sent..view.written / LINE_WIDTH)
                .map(|i| {
                    let line = view.text.line(i);
                    json!({ "message": line.trim_end(), "section": follow.section, "ts": ts })
                        .to_string()
                })
                .collect();
            let report = view.finished.then(|| report(&world, &follow, &ts, now));
            (lines, view.finished, report)
        };
        for line in lines {
            if ws.send(Message::text(line)).await.is_err() {
                return;
            }
            sent += 1;
            if cut {
                // Dropped without a close frame, as a lost connection.
                return;
            }
        }
        if finished {
            if let Some(report) = report {
                let _ = ws.send(Message::text(report)).await;
            }
            return close(&mut ws, CloseCode::Normal, "").await;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The last frame: how the build (or the processing) ended.
fn report(world: &World, follow: &Follow, ts: &str, now: Instant) -> String {
    let message = match world.netlify.deploys.get(&follow.deploy) {
        Some(d) => {
            if let (_, Some(error)) = state(world, d, now) {
                format!("Failed during stage '{}': {error}", follow.section)
            } else {
                let op = world.store.get(follow.op);
                format!(
                    "Finished processing build request in {:.1}s",
                    op.ran(now).as_secs_f64()
                )
            }
        }
        None => "Finished".to_owned(),
    };
    json!({ "type": "report", "section": follow.section, "message": message, "ts": ts }).to_string()
}
