//! Reading an `http` platform's log, in the mode its description names (one file each in
//! `logs/`): from a byte offset, the whole log again (showing only what is new), JSON pages of
//! lines or of entries with a continuation cursor, one long answer or a WebSocket read in the
//! background while the status is polled; and the archived logs, read once after the end.
//!
//! Here: what every mode shares. Where the log is (`path`, or `url` taken from the last status
//! answer, or from the answer of a `locate` request of its own (`located.rs`): not there yet is
//! not an error), which headers go to it (a log on another origin gets
//! only `[<phase>.logs] headers`, never the platform's nor its credential), and the per-operation
//! state ([`state::HttpState`]) taken out of the operation for the length of one read.
//!
//! Must not decide when to read: the engine does. Memory stays bounded whatever the size of an
//! answer (bodies are streamed line by line, live readers hand over through a bounded channel).

mod archived;
mod cursor;
mod entries;
mod full;
mod located;
mod offset;
mod sse;
pub(crate) mod state;
mod stream;
pub(crate) mod transport;
mod websocket;

use futures_util::StreamExt;
use url::Url;

use self::located::Located;
use self::state::HttpState;
use super::client::Request;
use super::source::{Source, truthy};
use super::spec::{LogMode, LogSpec};
use super::template::{Target, render};
use super::{HttpBackend, bad_source, condition, lines, names_a_secret, secret_elsewhere};
use crate::error::{Error, Result};
use crate::platform::backend::{BackendState, LogRead, LogSink, Operation, Vars};
use crate::platform::event::StateClass;

impl HttpBackend {
    /// Reads what is new in the log, as `spec`'s mode says; once the operation has ended and
    /// the live log showed nothing, the archived logs.
    pub(super) async fn read_log(
        &self,
        op: &mut Operation,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let mut state = match std::mem::take(&mut op.state) {
            BackendState::Http(state) => state,
            _ => HttpState::default(),
        };
        let read = self.read_with(op, &mut state, spec, sink).await;
        op.state = BackendState::Http(state);
        read
    }

    async fn read_with(
        &self,
        op: &mut Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        if st.archived_done {
            return Ok(LogRead::DONE);
        }
        let section = format!("[{}.logs]", op.phase);
        // While the operation runs (or for good, with no archived logs to ask for after the end).
        if spec.locate.is_some()
            && st.live.is_none()
            && !st.live_done
            && (spec.archived.is_none() || !self.ended(op))
        {
            self.locate_live(op, st, spec, &section).await?;
        }
        let live = match spec.mode {
            Some(mode) => self.read_live(mode, op, st, spec, &section, sink).await,
            None => Ok(LogRead::default()),
        };
        if let Ok(read) = &live {
            st.shown += read.lines;
        }
        let Some(archived) = &spec.archived else {
            return live;
        };
        if st.shown > 0 || !self.ended(op) {
            return live;
        }
        // The live log showed nothing and the operation is over: the archived logs instead
        // (a live log that is gone by now is no reason to miss them).
        let answer = if spec.locate.is_some() {
            match self.locate_archived(op, st, spec, &section).await? {
                Located::Archived => st.located.as_ref().map(|(b, h)| (Some(b), h.as_slice())),
                Located::StillLive => {
                    return Ok(LogRead {
                        lines: 0,
                        complete: Some(false),
                    });
                }
                Located::Nothing => None,
            }
        } else {
            Some((op.last_body.as_ref(), op.last_headers.as_slice()))
        };
        if let Some(live) = st.live.take() {
            live.stop();
        }
        // The archive starts from its beginning: a piece of a line the live log left is not
        // part of its first line.
        op.log.carry.clear();
        st.archived_done = true;
        let Some((body, headers)) = answer else {
            return Ok(LogRead::DONE);
        };
        let (body, headers) = (body.cloned(), headers.to_vec());
        let lines = self
            .read_archived(
                op,
                (body.as_ref(), &headers),
                archived,
                &section,
                spec,
                sink,
            )
            .await?;
        Ok(LogRead {
            lines,
            complete: Some(true),
        })
    }

    async fn read_live(
        &self,
        mode: LogMode,
        op: &mut Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        match mode {
            LogMode::Offset => self.read_offset(op, st, spec, section, sink).await,
            LogMode::Full => self.read_full(op, st, spec, section, sink).await,
            LogMode::Cursor | LogMode::Entries => {
                self.read_pages(op, st, spec, section, sink).await
            }
            LogMode::Stream => self.read_stream(op, st, spec, section, sink).await,
            LogMode::Websocket => self.read_websocket(op, st, spec, section, sink).await,
        }
    }

    /// Whether the last status answer says the operation has ended.
    fn ended(&self, op: &Operation) -> bool {
        let Ok(spec) = self.spec(op.phase) else {
            return false;
        };
        op.last_body
            .as_ref()
            .and_then(|body| condition::classify(&spec.status, body))
            .is_some_and(|class| class != StateClass::Running)
    }

    /// A read while the answer does not say where the log is: nothing yet, and once the
    /// operation has ended without saying it (Heroku's release without a release phase:
    /// `output_stream_url: null`), nothing ever, so no drain waits for it.
    fn no_log_url(&self, op: &Operation) -> LogRead {
        LogRead {
            lines: 0,
            complete: self.ended(op).then_some(true),
        }
    }

    /// Where the log is now: `path` rendered, or `url` taken from the last status answer;
    /// `None` when that answer does not have it yet (the log is read later).
    fn log_url(
        &self,
        spec: &LogSpec,
        op: &Operation,
        st: &HttpState,
        vars: &Vars,
        section: &str,
    ) -> Result<Option<Url>> {
        let missing = |e: super::template::TemplateError| e.in_section(section);
        let text = if let Some(path) = &spec.path {
            render(path, vars, Target::Url).map_err(missing)?
        } else if let Some(url) = &spec.url {
            match Source::parse(url).ok_or_else(|| bad_source(section, "url", url))? {
                Source::Template(t) => render(&t, vars, Target::Url).map_err(missing)?,
                src => match located::answer(spec, op, st)
                    .and_then(|(body, headers)| src.extract(body, headers, vars))
                {
                    Some(text) if !text.trim().is_empty() => text.trim().to_string(),
                    _ => return Ok(None),
                },
            }
        } else {
            return Ok(None);
        };
        self.absolute(&text).map(Some)
    }

    /// An absolute URL from a path or URL: WebSocket URLs as they are, the rest as the platform
    /// client joins them.
    fn absolute(&self, text: &str) -> Result<Url> {
        if text.starts_with("ws://") || text.starts_with("wss://") {
            return Url::parse(text).map_err(|e| Error::BadResponse {
                platform: self.name.clone(),
                url: self.client.redact(text),
                problem: format!("not a valid URL ({e})"),
                hint: "check the log's url in ferry.toml and the answer it is read from".into(),
            });
        }
        self.client.url(text)
    }

    /// The headers a log request carries: on the platform's origin, `[platform] headers` and
    /// the log's; anywhere else, only the log's own.
    fn log_headers(
        &self,
        spec: &LogSpec,
        url: &Url,
        vars: &Vars,
        section: &str,
    ) -> Result<Vec<(String, String)>> {
        let platform = self
            .client
            .stream
            .same_origin(url)
            .then_some(&self.headers)
            .into_iter()
            .flatten();
        platform
            .chain(&spec.headers)
            .map(|(name, value)| {
                let value = render(value, vars, Target::Text).map_err(|e| e.in_section(section))?;
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// A GET of the log at `url`.
    fn log_request(&self, spec: &LogSpec, url: Url, vars: &Vars, section: &str) -> Result<Request> {
        let target = spec.path.as_deref().or(spec.url.as_deref()).unwrap_or("");
        if !self.client.stream.same_origin(&url) && names_a_secret(target, &spec.headers, None) {
            return Err(secret_elsewhere(section, &url));
        }
        let headers = self.log_headers(spec, &url, vars, section)?;
        let mut req = Request::new(reqwest::Method::GET, url);
        req.headers = headers;
        Ok(req)
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
}

/// Stops the live reader and the status long poll of a cancelled operation.
pub(super) fn stop(op: &Operation) {
    if let BackendState::Http(state) = &op.state {
        if let Some(live) = &state.live {
            live.stop();
        }
        if let Some(poller) = &state.poller {
            poller.stop();
        }
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

/// The lines of one text, at least one (an empty text is an empty line).
fn text_lines(text: &str) -> impl Iterator<Item = &str> {
    let empty = text.is_empty();
    std::iter::once("")
        .filter(move |_| empty)
        .chain(text.lines())
}

/// A JSON answer that does not fit the description: names the key and the fix.
fn misfit(
    backend: &HttpBackend,
    url: &Url,
    section: &str,
    key: &str,
    problem: &str,
    fix: &str,
) -> Error {
    Error::BadResponse {
        platform: backend.name.clone(),
        url: backend.client.redact(url.as_str()),
        problem: format!("{section} {key}: {problem}"),
        hint: fix.to_string(),
    }
}
