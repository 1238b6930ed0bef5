//! An operation's log served as one long response that grows while the operation runs and ends
//! when its log is finished: Heroku's `output_stream_url` for builds and releases.
//!
//! Heroku's description (`build.output_stream_url`, `release.output_stream_url`): "The stream is
//! available as either `text/plain` or `text/event-stream`. Clients should be prepared to handle
//! disconnects and can resume the stream by sending a `Range` header (for `text/plain`) or a
//! `Last-Event-Id` header (for `text/event-stream`)." What it leaves open is settled so:
//!
//! - `Range: bytes=N-` starts the body at byte N and answers `206 Partial Content` (with
//!   `Content-Range: bytes N-L/T` when the log is already complete; an open-ended body has no last
//!   byte to name, so a live one has none). Other range forms are ignored (a `200` from byte 0).
//! - A range at or past the end of a *complete* log is `416` with `Content-Range: bytes */T`; on a
//!   live log the body waits for byte N to be written.
//! - With `Accept: text/event-stream`, each line is one event whose `id` is the byte offset after
//!   it, `data` the line without its newline; `Last-Event-ID` resumes after that offset.
//! - The body ends when the log is finished (its tail lines included), whatever the status says.
//! - A stream the script cuts ends with a transport error after its first chunk.
//!
//! The stream takes no credential (Heroku's stream URLs are capabilities on another host).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::time::Instant;

use super::call::Call;
use super::log::LogText;
use super::store::OpIndex;
use super::world::{Shared, World};

/// The most bytes one chunk of the body carries.
const CHUNK: u64 = 64 * 1024;

/// How often a live stream looks for new lines.
const POLL: Duration = Duration::from_millis(20);

/// The answer to a `GET` of operation `op`'s stream; `cut` ends it abruptly after one chunk.
pub(crate) fn serve(
    world: &World,
    shared: &Arc<Shared>,
    call: &Call<'_>,
    op: OpIndex,
    cut: bool,
) -> Response {
    let sse = call
        .header("accept")
        .is_some_and(|a| a.contains("text/event-stream"));
    let from = if sse {
        call.header("last-event-id")
            .and_then(|id| id.trim().parse::<u64>().ok())
    } else {
        call.header("range").and_then(open_range)
    };
    let view = world.store.get(op).log(call.now);
    let mut status = StatusCode::OK;
    let mut range = None;
    if let (Some(from), false) = (from, sse) {
        if view.finished && from >= view.written {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            set(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{}", view.written),
            );
            return response;
        }
        status = StatusCode::PARTIAL_CONTENT;
        if view.finished {
            range = Some(format!(
                "bytes {from}-{}/{}",
                view.written - 1,
                view.written
            ));
        }
    }
    let reader = Reader {
        shared: Arc::clone(shared),
        op,
        pos: from.unwrap_or(0),
        sse,
        cut,
        sent: false,
        done: false,
    };
    let mut response = Response::new(Body::from_stream(futures_util::stream::unfold(
        reader,
        Reader::next,
    )));
    *response.status_mut() = status;
    let kind = if sse {
        "text/event-stream"
    } else {
        "text/plain; charset=utf-8"
    };
    set(&mut response, header::CONTENT_TYPE, kind);
    set(&mut response, header::CACHE_CONTROL, "no-cache");
    if let Some(range) = range {
        set(&mut response, header::CONTENT_RANGE, &range);
    }
    response
}

/// `N` of `bytes=N-`; any other range form is ignored.
fn open_range(value: &str) -> Option<u64> {
    let start = value.trim().strip_prefix("bytes=")?.strip_suffix('-')?;
    start.trim().parse().ok()
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Where one open stream is.
struct Reader {
    shared: Arc<Shared>,
    op: OpIndex,
    pos: u64,
    sse: bool,
    cut: bool,
    sent: bool,
    done: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if self.done {
            return None;
        }
        if self.cut && self.sent {
            self.done = true;
            // Let the server flush the head and the first chunk before the connection breaks
            // (an error polled at once would lose them with it).
            tokio::time::sleep(POLL).await;
            let error = std::io::Error::other("stream cut by the script");
            return Some((Err(error), self));
        }
        loop {
            let next = {
                let world = self.shared.world();
                let view = world.store.get(self.op).log(Instant::now());
                if self.pos < view.written {
                    let (from, to) = view.window(self.pos, CHUNK);
                    Some(Some((view.text, from, to)))
                } else if view.finished {
                    Some(None)
                } else {
                    None
                }
            };
            match next {
                Some(Some((text, from, to))) => {
                    self.pos = to;
                    self.sent = true;
                    let bytes = if self.sse {
                        events(&text, from, to)
                    } else {
                        text.bytes(from, to).flat_map(|b| b.to_vec()).collect()
                    };
                    return Some((Ok(Bytes::from(bytes)), self));
                }
                Some(None) => return None,
                None => tokio::time::sleep(POLL).await,
            }
        }
    }
}

/// Bytes `from..to` of a log as server-sent events, one per line, each with the offset after it.
fn events(text: &LogText, from: u64, to: u64) -> Vec<u8> {
    let raw: Vec<u8> = text.bytes(from, to).flat_map(|b| b.to_vec()).collect();
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 4);
    let mut offset = from;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        offset += line.len() as u64;
        out.extend_from_slice(format!("id: {offset}\ndata: ").as_bytes());
        out.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        out.extend_from_slice(b"\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_byte_ranges_count() {
        assert_eq!(open_range("bytes=300-"), Some(300));
        assert_eq!(open_range(" bytes=0- "), Some(0));
        assert_eq!(open_range("bytes=0-99"), None);
        assert_eq!(open_range("bytes=-5"), None);
        assert_eq!(open_range("items=3-"), None);
    }
}
