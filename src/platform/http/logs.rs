//! Reading an `http` platform's log, in the mode its description names: from a byte offset, the
//! whole log again (showing only what is new), or JSON pages with a continuation cursor.
//!
//! Must not decide when to read: the engine does. Memory stays at one line whatever the size of
//! an answer (bodies are streamed line by line).

use futures_util::StreamExt;

use super::source::{Source, truthy};
use super::spec::{LogMode, LogSpec};
use super::{HttpBackend, bad_source, header_list, lines, source};
use crate::error::{Error, Result};
use crate::platform::backend::{LogRead, LogSink, Operation, Vars};

impl HttpBackend {
    /// Reads what is new in the log, as `spec`'s mode says.
    pub(super) async fn read_log(
        &self,
        op: &mut Operation,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        match spec.mode {
            LogMode::Offset => self.read_offset(op, spec, sink).await,
            LogMode::Full => self.read_full(op, spec, sink).await,
            LogMode::Cursor => self.read_cursor(op, spec, sink).await,
        }
    }

    async fn read_offset(
        &self,
        op: &mut Operation,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let mut vars = op.vars.clone();
        vars.insert("offset".into(), op.log.offset.to_string());
        let req = self.request("[logs]", "GET", &spec.path, &spec.headers, None, &[], &vars)?;
        let url = self.client.redact(req.url.as_str());
        let resp = self.client.send(req).await?;
        let headers = header_list(resp.headers());
        let (read, mut lines) = self
            .stream_lines(resp, &url, 0, &mut op.log.carry, sink)
            .await?;
        let next = match &spec.next_offset {
            Some(src) => {
                let src =
                    Source::parse(src).ok_or_else(|| bad_source("[logs]", "next_offset", src))?;
                let text = src.extract(None, &headers, &vars);
                text.as_deref().and_then(|t| t.trim().parse::<u64>().ok()).ok_or_else(|| Error::BadResponse {
                    platform: self.name.clone(),
                    url: url.clone(),
                    problem: format!("next_offset {src:?} is missing or not a number ({text:?})"),
                    hint: "point next_offset at the header holding the next offset, or remove it to count bytes".into(),
                })?
            }
            None => op.log.offset + read,
        };
        if next < op.log.offset {
            // The log restarted (Jenkins "rolled over"): the next read starts at `next`.
            op.log.carry.clear();
        }
        op.log.offset = next;
        let complete = completion(spec, None, &headers, &vars);
        if complete == Some(true) {
            lines += lines::flush(&mut op.log.carry, sink).await;
        }
        Ok(LogRead { lines, complete })
    }

    /// Streams a response body into `sink` line by line, skipping its first `skip` bytes.
    /// Returns the body's size and the lines delivered; memory stays at one line whatever the
    /// body's size.
    async fn stream_lines(
        &self,
        resp: reqwest::Response,
        url: &str,
        skip: u64,
        carry: &mut Vec<u8>,
        sink: &mut dyn LogSink,
    ) -> Result<(u64, u64)> {
        let mut total: u64 = 0;
        let mut lines = 0;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::Unreachable {
                platform: self.name.clone(),
                url: url.to_string(),
                message: format!("the log response was cut off: {e}"),
                hint: crate::error::UNREACHABLE_FIX.into(),
            })?;
            let start = total;
            total += chunk.len() as u64;
            if total <= skip {
                continue;
            }
            let from = usize::try_from(skip.saturating_sub(start)).unwrap_or(0);
            lines += lines::feed(carry, &chunk[from..], sink).await;
        }
        Ok((total, lines))
    }

    async fn read_full(
        &self,
        op: &mut Operation,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let req = self.request(
            "[logs]",
            "GET",
            &spec.path,
            &spec.headers,
            None,
            &[],
            &op.vars,
        )?;
        let url = self.client.redact(req.url.as_str());
        let resp = self.client.send(req).await?;
        let headers = header_list(resp.headers());
        let seen = op.log.offset;
        let mut carry = std::mem::take(&mut op.log.carry);
        let (total, mut lines) = self
            .stream_lines(resp, &url, seen, &mut carry, sink)
            .await?;
        if total < seen {
            // Shorter than what was shown: the platform started the log again. Show it anew
            // next time rather than guess.
            carry.clear();
            op.log.offset = 0;
        } else {
            op.log.offset = total;
        }
        op.log.carry = carry;
        let complete = completion(spec, None, &headers, &op.vars);
        if complete == Some(true) {
            lines += lines::flush(&mut op.log.carry, sink).await;
        }
        Ok(LogRead { lines, complete })
    }

    async fn read_cursor(
        &self,
        op: &mut Operation,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let mut vars = op.vars.clone();
        vars.insert("cursor".into(), op.log.cursor.clone().unwrap_or_default());
        let req = self.request("[logs]", "GET", &spec.path, &spec.headers, None, &[], &vars)?;
        let (body, headers) = self.json(req, "[logs] path").await?;
        let mut lines = 0;
        let pointer = spec.lines.as_deref().unwrap_or("");
        match body.pointer(pointer) {
            Some(serde_json::Value::Array(items)) => {
                for item in items {
                    let text = source::value_text(item).unwrap_or_default();
                    for line in text.lines() {
                        sink.line(line).await;
                        lines += 1;
                    }
                }
            }
            Some(serde_json::Value::String(text)) => {
                for line in text.lines() {
                    sink.line(line).await;
                    lines += 1;
                }
            }
            _ => {}
        }
        if let Some(src) = &spec.cursor {
            let src = Source::parse(src).ok_or_else(|| bad_source("[logs]", "cursor", src))?;
            if let Some(next) = src.extract(Some(&body), &headers, &vars) {
                op.log.cursor = Some(next);
            }
        }
        let complete = completion(spec, Some(&body), &headers, &vars);
        Ok(LogRead { lines, complete })
    }
}

/// Whether the log is complete, from `complete` or `more`; `None` when neither is described.
fn completion(
    spec: &LogSpec,
    body: Option<&serde_json::Value>,
    headers: &[(String, String)],
    vars: &Vars,
) -> Option<bool> {
    if let Some(src) = spec.complete.as_deref().and_then(Source::parse) {
        return Some(truthy(src.extract(body, headers, vars).as_deref()));
    }
    if let Some(src) = spec.more.as_deref().and_then(Source::parse) {
        return Some(!truthy(src.extract(body, headers, vars).as_deref()));
    }
    None
}
