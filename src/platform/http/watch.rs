//! What the `http` backend pushes to the engine instead of being polled: the end of a live log
//! (`stream`, `websocket`: the body or the socket closes when the log is complete), and a status
//! long poll (`[<phase>.status] long_poll`): the platform holds the status request until the
//! state differs from the one ferry last read, or the wait has passed. And the platform's
//! estimate of the operation's length: said in the status answer (`[<phase>.status] estimate`),
//! or how long its newest fitting earlier operation took (`[<phase>.history]`).
//!
//! Must not decide the state: a long poll's answer is kept for the next status read, which
//! classifies it as any other.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use url::Url;

use super::logs::state::HttpState;
use super::search::{self, Wanted};
use super::source::Source;
use super::spec::{HistorySpec, LongPoll, StatusSpec};
use super::{HttpBackend, condition, json_answer};
use crate::error::{Error, Result};
use crate::platform::backend::{BackendState, Operation, Watched};

/// How long the platform is asked to hold a status request (well within a request's own time
/// limit of 60 s).
const LONG_POLL_WAIT: Duration = Duration::from_secs(25);

/// A status answer a long poll brought: the next status read uses it instead of asking again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    pub(crate) url: Url,
    pub(crate) body: serde_json::Value,
    pub(crate) headers: Vec<(String, String)>,
}

impl HttpBackend {
    /// Waits up to `max` for a pushed change: the live log's end, else the status long poll.
    pub(super) async fn watch_op(&self, op: &mut Operation, max: Duration) -> Result<Watched> {
        if let BackendState::Http(st) = &op.state
            && let Some(live) = st.live.clone()
        {
            return Ok(if live.ended_within(max).await {
                Watched::Changed
            } else {
                Watched::Quiet
            });
        }
        let spec = self.spec(op.phase)?;
        let Some(poll) = &spec.status.long_poll else {
            return Ok(Watched::Unsupported);
        };
        let s = &spec.status;
        let last = op.last_body.as_ref().map(|b| condition::describe(s, b));
        let poller = if let Some(poller) = with_state(op, |st| st.poller.clone()) {
            poller
        } else {
            let poller = self.hold(op, s, poll, last.as_deref())?;
            with_state(op, |st| st.poller = Some(poller.clone()));
            poller
        };
        let Some(answer) = poller.answer_within(max).await else {
            return Ok(Watched::Quiet);
        };
        // This poll is over, whatever it brought; the next wait holds a new one.
        with_state(op, |st| st.poller = None);
        let pushed = answer?;
        if last.as_deref() == Some(condition::describe(s, &pushed.body).as_str()) {
            return Ok(Watched::Quiet);
        }
        with_state(op, |st| st.pushed = Some(pushed));
        Ok(Watched::Changed)
    }

    /// Sends the status request with the wait and the state last read, in a task of its own:
    /// it stays in flight across the engine's waits (a person's pace between two log reads
    /// included), so that it costs one request per change or per [`LONG_POLL_WAIT`].
    fn hold(
        &self,
        op: &Operation,
        s: &StatusSpec,
        poll: &LongPoll,
        last: Option<&str>,
    ) -> Result<Poller> {
        let section = format!("[{}.status]", op.phase);
        let mut req = self.request(&section, "GET", &s.path, &s.headers, None, &[], &op.vars)?;
        {
            let mut query = req.url.query_pairs_mut();
            query.append_pair(&poll.wait, &LONG_POLL_WAIT.as_secs().to_string());
            if let (Some(since), Some(last)) = (&poll.since, last) {
                query.append_pair(since, last);
            }
        }
        let (client, name) = (self.client.clone(), self.name.clone());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let url = req.url.clone();
            let answer = json_answer(&client, &name, req, None, &format!("{section} path"))
                .await
                .map(|(body, headers)| Pushed { url, body, headers });
            let _ = tx.send(answer);
        });
        Ok(Poller(Arc::new(Held {
            answer: tokio::sync::Mutex::new(rx),
            task: task.abort_handle(),
        })))
    }

    /// How long the newest fitting earlier operation took (`[<phase>.history]`), read at the
    /// first status read and kept. A history that cannot be read gives no estimate (and says
    /// why in the debug log): the cadence without one is still a `sleep 5` loop's.
    pub(super) async fn history_estimate(
        &self,
        op: &mut Operation,
        h: &HistorySpec,
    ) -> Option<Duration> {
        if let Some(known) = with_state(op, |st| st.history_read.then_some(st.history)) {
            return known;
        }
        let section = format!("[{}.history]", op.phase);
        let estimate = match self.read_history(op, h, &section).await {
            Ok(estimate) => estimate,
            Err(e) => {
                let why = self.client.redact(&e.to_string());
                tracing::debug!(error = %why, "{section}: no estimate");
                None
            }
        };
        with_state(op, |st| {
            st.history_read = true;
            st.history = estimate;
        });
        estimate
    }

    async fn read_history(
        &self,
        op: &Operation,
        h: &HistorySpec,
        section: &str,
    ) -> Result<Option<Duration>> {
        let req = self.request(section, "GET", &h.path, &h.headers, None, &[], &op.vars)?;
        let (body, _) = self.json(req, &format!("{section} path")).await?;
        let wanted = Wanted {
            items: &h.items,
            matches: search::matches(section, &h.matches, &op.vars)?,
            newest: Some(&h.started),
            after: None,
        };
        let Ok(Some(item)) = search::pick(&body, &wanted) else {
            return Ok(None);
        };
        let at = |pointer: &str| item.pointer(pointer).and_then(search::time);
        let (Some(started), Some(finished)) = (at(&h.started), at(&h.finished)) else {
            return Ok(None);
        };
        Ok(finished
            .duration_since(started)
            .ok()
            .filter(|d| !d.is_zero()))
    }
}

/// A status long poll in flight.
#[derive(Clone)]
pub(crate) struct Poller(Arc<Held>);

struct Held {
    answer: tokio::sync::Mutex<oneshot::Receiver<Result<Pushed>>>,
    task: tokio::task::AbortHandle,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Poller {
    /// Its answer, if it comes within `max`.
    async fn answer_within(&self, max: Duration) -> Option<Result<Pushed>> {
        let mut rx = self.0.answer.lock().await;
        match tokio::time::timeout(max, &mut *rx).await {
            Err(_) => None,
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(_)) => Some(Err(Error::Internal {
                what: "the status long poll stopped without an answer".into(),
            })),
        }
    }

    /// Stops it (a cancelled operation).
    pub(crate) fn stop(&self) {
        self.0.task.abort();
    }
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Poller(..)")
    }
}

impl PartialEq for Poller {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Poller {}

/// Runs `f` on the `http` state of `op` (made when there is none yet).
fn with_state<T>(op: &mut Operation, f: impl FnOnce(&mut HttpState) -> T) -> T {
    let mut st = match std::mem::take(&mut op.state) {
        BackendState::Http(st) => st,
        _ => HttpState::default(),
    };
    let out = f(&mut st);
    op.state = BackendState::Http(st);
    out
}

/// The estimate in a status answer, in seconds, when `[<phase>.status] estimate` names it and it
/// is a positive number.
pub(super) fn estimate(
    s: &StatusSpec,
    op: &Operation,
    body: &serde_json::Value,
    headers: &[(String, String)],
) -> Option<Duration> {
    // `ferry check` refused a key that is not a value source when the file was read.
    let src = Source::parse(s.estimate.as_deref()?)?;
    let said = src.extract(Some(body), headers, &op.vars)?;
    let secs: f64 = said.trim().parse().ok()?;
    (secs > 0.0)
        .then(|| Duration::try_from_secs_f64(secs).ok())
        .flatten()
}

/// The answer a long poll brought, taken (it is read once).
pub(super) fn take_pushed(op: &mut Operation) -> Option<Pushed> {
    match &mut op.state {
        BackendState::Http(st) => st.pushed.take(),
        _ => None,
    }
}

/// Whether the log is read from a live reader in the background (reading it sends nothing).
pub(super) fn live(op: &Operation) -> bool {
    matches!(&op.state, BackendState::Http(st) if st.live.is_some())
}
