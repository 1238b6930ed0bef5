//! Building responses the way the simulated platform answers: JSON documents, JSON errors,
//! streamed log text, scripted faults.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::fault::Fault;
use super::log::LogText;

/// `status` with a JSON document.
pub(crate) fn json(status: StatusCode, value: Value) -> Response {
    (status, Json(value)).into_response()
}

/// `status` with `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, json!({ "error": message.into() }))
}

/// A request refused before any work: a status and a message, answered as a JSON error.
#[derive(Debug)]
pub(crate) struct Reject(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// `200 text/plain` with bytes `from..to` of a log, generated while the body is sent.
pub(crate) fn log_text(text: &LogText, from: u64, to: u64) -> Response {
    let length = to.saturating_sub(from);
    let body = if length == 0 {
        Body::empty()
    } else {
        let chunks = text.bytes(from, to).map(Ok::<_, Infallible>);
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The response a fault answers with.
pub(crate) fn fault(fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match &fault.body {
        Some(body) => {
            let kind = if body.trim_start().starts_with('<') {
                "text/html; charset=utf-8"
            } else {
                "application/json"
            };
            (status, [(header::CONTENT_TYPE, kind)], body.clone()).into_response()
        }
        None => error(status, format!("simulated fault: {status}")),
    };
    if let Some(secs) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Adds a header whose value we produced ourselves (numbers, `true`, URLs built from the Host).
pub(crate) fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}
