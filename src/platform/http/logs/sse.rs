//! Server-Sent Events for `stream` logs with `format = "sse"`: the `data:` lines of each event
//! are the log (<https://html.spec.whatwg.org/multipage/server-sent-events.html>), the last
//! event id is what a dropped stream resumes from (`Last-Event-ID`). A stream without ids is
//! resumed from its start, its events already shown skipped by count.
//!
//! Memory is bounded: a line or an event longer than [`MAX_LINE`] is cut there.

use bytes::Bytes;

/// The longest line or event kept; the rest of it is dropped.
const MAX_LINE: usize = 1024 * 1024;

/// The parser's state across the chunks of a stream, and across the openings of one log.
#[derive(Debug, Default)]
pub(super) struct Sse {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    id: Option<String>,
    /// The id of the last event dispatched, sent as `Last-Event-ID` on resuming.
    last_id: Option<String>,
    /// Events delivered in all, and events seen in this opening (to skip on a stream without
    /// ids that starts again).
    delivered: u64,
    seen: u64,
}

impl Sse {
    /// What to send as `Last-Event-ID` when the stream is opened again.
    pub(super) fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The stream is opened again: an event cut in the middle is dropped (it comes again).
    pub(super) fn reopen(&mut self) {
        self.line.clear();
        self.data.clear();
        self.has_data = false;
        self.id = None;
        self.seen = 0;
    }

    /// Feeds a chunk; returns the data of each event it completed, each ending with a newline.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            self.push(&rest[..pos]);
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.field(&line) {
                out.push(event);
            }
            rest = &rest[pos + 1..];
        }
        self.push(rest);
        out
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// One complete line: a field, a comment, or the blank line that dispatches the event.
    fn field(&mut self, line: &[u8]) -> Option<Bytes> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.first() == Some(&b':') {
            return None;
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                let room = MAX_LINE.saturating_sub(self.data.len());
                self.data.extend_from_slice(&value[..value.len().min(room)]);
                self.has_data = true;
            }
            b"id" if !value.contains(&0) => {
                self.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Bytes> {
        if let Some(id) = self.id.take() {
            self.last_id = Some(id);
        }
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        self.seen += 1;
        if self.last_id.is_none() && self.seen <= self.delivered {
            // A stream without ids started again: this event was shown already.
            return None;
        }
        self.delivered += 1;
        data.push(b'\n');
        Some(Bytes::from(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(events: &[Bytes]) -> String {
        events
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn data_lines_across_chunks_are_the_log_and_the_rest_is_ignored() {
        let mut sse = Sse::default();
        let mut out = sse.feed(b": keep-alive\n\nevent: log\nid: 1\ndata: first\r\nda");
        assert!(out.is_empty());
        out.extend(sse.feed(b"ta:second\nretry: 10\n\ndata\n\nid: 3\ndata: x\n"));
        assert_eq!(text(&out), "first\nsecond\n\n");
        assert_eq!(sse.last_id(), Some("1"));
        // The event cut by a drop is not shown; the id it had is not taken either.
        sse.reopen();
        let out = sse.feed(b"id: 3\ndata: x\n\n");
        assert_eq!(text(&out), "x\n");
        assert_eq!(sse.last_id(), Some("3"));
    }

    #[test]
    fn a_stream_without_ids_that_starts_again_skips_what_was_shown() {
        let mut sse = Sse::default();
        let out = sse.feed(b"data: a\n\ndata: b\n\n");
        assert_eq!(text(&out), "a\nb\n");
        assert_eq!(sse.last_id(), None);
        sse.reopen();
        let out = sse.feed(b"data: a\n\ndata: b\n\ndata: c\n\n");
        assert_eq!(text(&out), "c\n");
    }

    #[test]
    fn an_endless_line_stays_bounded() {
        let mut sse = Sse::default();
        for _ in 0..40 {
            sse.feed(b"data: ");
            sse.feed(&vec![b'x'; 64 * 1024]);
        }
        assert!(sse.line.len() <= MAX_LINE);
        let out = sse.feed(b"\n\n");
        assert_eq!(out[0].len(), MAX_LINE - "data: ".len() + 1);
    }
}
