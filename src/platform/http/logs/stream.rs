//! `stream` mode: one long answer read line by line *while the status is still polled*. The
//! read runs in a background task (its handle lives in the operation's [`HttpState`], and the
//! task stops when the operation is cancelled or dropped); [`HttpBackend::read_stream`] hands
//! over what arrived since the last call. The channel between them is bounded, so a log faster
//! than its reader holds the stream back instead of growing memory.
//!
//! The answer has no time limit as a whole, only between two parts of it ([`READ_TIMEOUT`]). A
//! stream that drops is opened again, from where it stopped: `Range: bytes=<bytes shown>-` for
//! text (an answer `200` instead of `206` is the whole log again, its start skipped; `416`
//! means there is nothing more: the log is complete), `Last-Event-ID` for Server-Sent Events.
//! The end of an answer that was not cut off is the end of the log.
//!
//! [`READ_TIMEOUT`]: super::transport::READ_TIMEOUT

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::mpsc;
use url::Url;

use super::super::client::Request;
use super::super::log_spec::{LogSpec, StreamFormat};
use super::super::{HttpBackend, lines};
use super::sse::Sse;
use super::state::{HttpState, Live, Msg};
use super::transport::StreamClient;
use crate::error::{Error, Result};
use crate::platform::backend::{LogRead, LogSink, Operation};

/// Messages the channel holds at most (each at most [`PIECE`] bytes): about 1 MiB.
pub(super) const CHANNEL: usize = 64;

/// The largest piece of a body sent through the channel at once.
pub(super) const PIECE: usize = 16 * 1024;

/// The first wait before a dropped stream is opened again; it doubles up to [`MAX_WAIT`].
pub(super) const FIRST_WAIT: Duration = Duration::from_millis(250);

/// The longest wait before a dropped stream is opened again.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(5);

/// How many times in a row a stream may drop (or fail to open) without bringing anything before
/// the reader gives up.
pub(super) const MAX_FAILURES: u32 = 8;

/// The most messages one read takes from the channel (the engine reads again at once after a
/// large read).
const MAX_TAKE: usize = 4 * CHANNEL;

impl HttpBackend {
    pub(super) async fn read_stream(
        &self,
        op: &mut Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        if st.live.is_none() && !st.live_done {
            let vars = op.vars.clone();
            let Some(url) = self.log_url(spec, op, st, &vars, section)? else {
                return Ok(self.no_log_url(op));
            };
            let headers = self.log_headers(spec, &url, &vars, section)?;
            let opener = HttpOpener {
                client: self.client.stream.clone(),
                url,
                headers,
            };
            let format = spec.format.unwrap_or_default();
            st.live = Some(spawn(opener, format, op.log.offset));
        }
        take_live(op, st, sink).await
    }
}

/// Starts reading in the background from byte `from`.
pub(super) fn spawn(opener: impl Opener, format: StreamFormat, from: u64) -> Live {
    let (tx, rx) = mpsc::channel(CHANNEL);
    Live::spawn(rx, run(opener, format, from, tx))
}

/// Hands over what the live reader sent since the last call (`stream` and `websocket`).
pub(super) async fn take_live(
    op: &mut Operation,
    st: &mut HttpState,
    sink: &mut dyn LogSink,
) -> Result<LogRead> {
    if st.live_done {
        return Ok(LogRead::DONE);
    }
    let mut read = LogRead {
        lines: 0,
        complete: Some(false),
    };
    let Some(live) = st.live.clone() else {
        return Ok(read);
    };
    for _ in 0..MAX_TAKE {
        match live.try_recv() {
            Some(Msg::Bytes(bytes)) => {
                read.lines += lines::feed(&mut op.log.carry, &bytes, sink).await;
                op.log.offset += bytes.len() as u64;
            }
            Some(Msg::Done) => {
                read.lines += lines::flush(&mut op.log.carry, sink).await;
                st.live = None;
                st.live_done = true;
                read.complete = Some(true);
                break;
            }
            Some(Msg::Failed(e)) => {
                // Opened again on the next read if the engine tries again.
                st.live = None;
                st.shown += read.lines;
                return Err(e);
            }
            None => break,
        }
    }
    Ok(read)
}

/// One opening of a stream: where its body starts in the log, and the body.
pub(super) struct Opened {
    pub(super) status: u16,
    /// The byte of the log the body starts at (`0` for a whole answer).
    pub(super) start: u64,
    pub(super) body: BoxStream<'static, std::result::Result<Bytes, String>>,
}

/// Opens the stream (a trait, so that the reader is tested without a network).
#[async_trait]
pub(super) trait Opener: Send + Sync + 'static {
    /// Opens the log from byte `from` (text) or after the event `last_id` (SSE).
    async fn open(&self, from: u64, last_id: Option<&str>) -> Result<Opened>;

    /// The error of a stream that dropped too often.
    fn dropped(&self, message: &str) -> Error;
}

/// The real stream: a GET of the log with the stream client.
struct HttpOpener {
    client: StreamClient,
    url: Url,
    headers: Vec<(String, String)>,
}

#[async_trait]
impl Opener for HttpOpener {
    async fn open(&self, from: u64, last_id: Option<&str>) -> Result<Opened> {
        let mut req = Request::new(reqwest::Method::GET, self.url.clone());
        req.headers.clone_from(&self.headers);
        if from > 0 {
            req.headers.push(("range".into(), format!("bytes={from}-")));
        }
        if let Some(id) = last_id {
            req.headers.push(("last-event-id".into(), id.to_string()));
        }
        req.expect = vec![200, 206, 416];
        let resp = self.client.open(req, true).await?;
        let status = resp.status().as_u16();
        let start = if status == 206 {
            content_range_start(resp.headers()).unwrap_or(from)
        } else {
            0
        };
        let body = resp
            .bytes_stream()
            .map(|chunk| chunk.map_err(|e| crate::net::error_chain(&e)))
            .boxed();
        Ok(Opened {
            status,
            start,
            body,
        })
    }

    fn dropped(&self, message: &str) -> Error {
        let shown = self.client.shown(&self.url);
        self.client.unreachable(
            &shown,
            &format!("the log stream dropped {MAX_FAILURES} times in a row: {message}"),
        )
    }
}

/// `Content-Range: bytes 100-199/*` → 100.
fn content_range_start(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes")?.trim();
    range.split('-').next()?.trim().parse().ok()
}

/// How one opening ended.
pub(super) enum Pumped {
    /// The body ended: the log is complete.
    End,
    /// Nobody reads any more (the operation is gone).
    Closed,
    /// Cut off; whether it brought anything first.
    Dropped { progressed: bool, message: String },
}

/// The reopening policy both live readers (stream, WebSocket) share: a drop or a transient
/// failure to open is tried again after a wait that doubles from [`FIRST_WAIT`] to [`MAX_WAIT`],
/// reset whenever an opening brought something; [`MAX_FAILURES`] in a row end the log.
pub(super) struct Reopen {
    failures: u32,
    wait: Duration,
}

impl Reopen {
    pub(super) fn new() -> Self {
        Self {
            failures: 0,
            wait: FIRST_WAIT,
        }
    }

    /// What an opening ended with. `None`: the reader is done (the end or a lasting error was
    /// sent). `Some(message)`: it dropped, and may be opened again after [`Reopen::pause`]
    /// unless [`Reopen::exhausted`].
    pub(super) async fn settle(
        &mut self,
        ended: Result<Pumped>,
        tx: &mpsc::Sender<Msg>,
    ) -> Option<String> {
        let message = match ended {
            Ok(Pumped::End) => {
                let _ = tx.send(Msg::Done).await;
                return None;
            }
            Ok(Pumped::Closed) => return None,
            Ok(Pumped::Dropped {
                progressed,
                message,
            }) => {
                if progressed {
                    self.failures = 0;
                    self.wait = FIRST_WAIT;
                }
                message
            }
            Err(e) if e.is_transient() => e.to_string(),
            Err(e) => {
                let _ = tx.send(Msg::Failed(e)).await;
                return None;
            }
        };
        self.failures += 1;
        Some(message)
    }

    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    pub(super) fn exhausted(&self) -> bool {
        self.failures >= MAX_FAILURES
    }

    pub(super) async fn pause(&mut self) {
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(MAX_WAIT);
    }
}

/// The background reader: opens, pumps, opens again where it stopped, until the end.
async fn run(opener: impl Opener, format: StreamFormat, from: u64, tx: mpsc::Sender<Msg>) {
    let mut shown = from;
    let mut sse = Sse::default();
    let mut reopen = Reopen::new();
    loop {
        let last_id = (format == StreamFormat::Sse)
            .then(|| sse.last_id().map(str::to_string))
            .flatten();
        let from = if format == StreamFormat::Text {
            shown
        } else {
            0
        };
        let ended = match opener.open(from, last_id.as_deref()).await {
            // Past the end: everything was shown.
            Ok(answer) if answer.status == 416 => Ok(Pumped::End),
            Ok(answer) => {
                sse.reopen();
                Ok(pump(answer, format, &mut shown, &mut sse, &tx).await)
            }
            Err(e) => Err(e),
        };
        let Some(message) = reopen.settle(ended, &tx).await else {
            return;
        };
        let failures = reopen.failures();
        tracing::debug!(failures, %message, "log stream dropped; opening it again");
        if reopen.exhausted() {
            let _ = tx.send(Msg::Failed(opener.dropped(&message))).await;
            return;
        }
        reopen.pause().await;
    }
}

/// Sends one opening's body through the channel, waiting while the channel is full.
async fn pump(
    opened: Opened,
    format: StreamFormat,
    shown: &mut u64,
    sse: &mut Sse,
    tx: &mpsc::Sender<Msg>,
) -> Pumped {
    let Opened {
        start, mut body, ..
    } = opened;
    let mut pos = start;
    let mut progressed = false;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(message) => {
                return Pumped::Dropped {
                    progressed,
                    message,
                };
            }
        };
        let pieces = match format {
            StreamFormat::Text => {
                // Skip what was shown already (an answer that started before it).
                let end = pos + chunk.len() as u64;
                let skip = usize::try_from(shown.saturating_sub(pos)).unwrap_or(usize::MAX);
                pos = end;
                if skip >= chunk.len() {
                    continue;
                }
                *shown = end;
                vec![chunk.slice(skip..)]
            }
            StreamFormat::Sse => sse.feed(&chunk),
        };
        for piece in pieces {
            progressed = true;
            for part in piece.chunks(PIECE) {
                if tx.send(Msg::Bytes(piece.slice_ref(part))).await.is_err() {
                    return Pumped::Closed;
                }
            }
        }
    }
    Pumped::End
}

#[cfg(test)]
mod tests;
