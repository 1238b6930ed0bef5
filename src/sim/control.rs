//! Control endpoints for other processes (the real binary, a benchmark driver): read the request
//! log, replace the script. Never recorded, never behind the token, never faulted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::recorded::RecordedRequest;
use super::reply;
use super::script::Script;
use super::world::Shared;

/// `GET /_sim/requests`: every recorded request, in order.
pub(crate) async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(shared.records())
}

/// `PUT /_sim/script`: a TOML or JSON [`Script`] replaces the current one.
pub(crate) async fn script(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed = std::str::from_utf8(&body)
        .map_err(|e| format!("script is not UTF-8: {e}"))
        .and_then(Script::parse);
    match parsed {
        Ok(script) => {
            shared.world().set_script(script);
            reply::json(StatusCode::OK, json!({ "ok": true }))
        }
        Err(message) => reply::error(StatusCode::BAD_REQUEST, message),
    }
}
