//! Reading Jenkins' console with stapler's progressive-text protocol (`LargeText.doProgressText`):
//!
//! - `X-Text-Size` is the `start` of the next read; the body is exactly the bytes from `start` to
//!   it (so ferry trusts the header, not a count of bytes that gzip may have changed);
//! - `X-More-Data: true` only while the log may still grow; its absence means complete;
//! - while incomplete the body stops at the last newline; a log that does not exist yet is an empty
//!   200 with `X-Text-Size: 0` and `X-More-Data: true`;
//! - a `start` beyond the log's length restarts from 0 ("rolled over"): an `X-Text-Size` smaller
//!   than the `start` sent says so, and what was kept of an unfinished line is dropped.

use futures_util::StreamExt;

use crate::platform::backend::{LogCursor, LogRead, LogSink};
use crate::platform::http::lines;

/// Streams one progressive-text response into `sink`, line by line, and moves `cursor` on.
/// The error is the problem, for the caller to wrap.
pub(crate) async fn read(
    resp: reqwest::Response,
    cursor: &mut LogCursor,
    sink: &mut dyn LogSink,
) -> Result<LogRead, String> {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let size = header("x-text-size");
    let more = header("x-more-data").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let next = size
        .as_deref()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("X-Text-Size is missing or not a number ({size:?})"))?;
    if next < cursor.offset {
        // Rolled over: the text now starts from 0 again.
        cursor.carry.clear();
    }
    let mut lines = 0;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("the console response was cut off: {e}"))?;
        lines += lines::feed(&mut cursor.carry, &chunk, sink).await;
    }
    cursor.offset = next;
    if !more {
        // Complete: a last line without a newline is still a line.
        lines += lines::flush(&mut cursor.carry, sink).await;
    }
    Ok(LogRead {
        lines,
        complete: Some(!more),
    })
}
