//! Scripted faults as hosted platforms answer them: their own error document, and on a `429` the
//! rate-limit headers Render and DigitalOcean both send (`Ratelimit-Limit`,
//! `Ratelimit-Remaining`, `Ratelimit-Reset` as a Unix time), without the generic `Retry-After`.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::clock;
use super::fault::Fault;
use super::reply;

/// The answer to `fault`: `document(status)` as JSON unless the fault brings its own body. A
/// `429` says the limit resets `retry_after` seconds from now (1 when unset), in epoch seconds
/// rounded up, with `limit` requests per window and none remaining.
pub(crate) fn hosted_fault(
    fault: &Fault,
    document: impl FnOnce(StatusCode) -> Value,
    limit: u32,
) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = if fault.body.is_some() {
        reply::fault(fault)
    } else {
        let mut response = reply::json(status, document(status));
        if let Some(secs) = fault.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    };
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = Duration::from_secs(fault.retry_after.unwrap_or(1));
        let reset = clock::epoch_seconds_ceil(SystemTime::now() + wait);
        let headers = response.headers_mut();
        headers.remove(header::RETRY_AFTER);
        headers.insert("ratelimit-limit", HeaderValue::from(limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(0));
        headers.insert("ratelimit-reset", HeaderValue::from(reset));
    }
    response
}
