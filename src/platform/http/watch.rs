//! What the `http` backend pushes to the engine instead of being polled: the end of a live log
//! (`stream`, `websocket`: the body or the socket closes when the log is complete), and a status
//! long poll (`[<phase>.status] long_poll`): the platform holds the status request until the
//! state differs from the one ferry last read, or the wait has passed. And the platform's
//! estimate of the operation's length (`[<phase>.status] estimate`).
//!
//! Must not decide the state: a long poll's answer is kept for the next status read, which
//! classifies it as any other.

use std::time::Duration;

use url::Url;

use super::logs::state::HttpState;
use super::source::Source;
use super::spec::{LongPoll, StatusSpec};
use super::{HttpBackend, bad_source, condition};
use crate::error::Result;
use crate::platform::backend::{BackendState, Operation, Watched};

/// A wait shorter than this is not worth a long poll (a person's pace between two log reads):
/// the engine sleeps it instead.
const LONG_POLL_MIN: Duration = Duration::from_secs(2);

/// The longest a platform is asked to hold a status request (well within the request's own
/// time limit).
const LONG_POLL_MAX: Duration = Duration::from_secs(25);

/// A status answer a long poll brought: the next status read uses it instead of asking again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    pub(crate) url: Url,
    pub(crate) body: serde_json::Value,
    pub(crate) headers: Vec<(String, String)>,
}

impl HttpBackend {
    /// Waits up to `max` for a pushed change: the live log's end, else a long poll.
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
        if max < LONG_POLL_MIN {
            return Ok(Watched::Quiet);
        }
        self.long_poll(op, &spec.status, poll, max.min(LONG_POLL_MAX))
            .await
    }

    /// One long poll: the status request with the wait and the state last read.
    async fn long_poll(
        &self,
        op: &mut Operation,
        s: &StatusSpec,
        poll: &LongPoll,
        wait: Duration,
    ) -> Result<Watched> {
        let section = format!("[{}.status]", op.phase);
        let mut req = self.request(&section, "GET", &s.path, &s.headers, None, &[], &op.vars)?;
        let before = op.last_body.as_ref().map(|b| condition::describe(s, b));
        {
            let mut query = req.url.query_pairs_mut();
            query.append_pair(&poll.wait, &wait.as_secs().max(1).to_string());
            if let (Some(since), Some(before)) = (&poll.since, &before) {
                query.append_pair(since, before);
            }
        }
        let url = req.url.clone();
        let (body, headers) = self.json(req, &format!("{section} path")).await?;
        if before.as_deref() == Some(condition::describe(s, &body).as_str()) {
            return Ok(Watched::Quiet);
        }
        let pushed = Some(Pushed { url, body, headers });
        match &mut op.state {
            BackendState::Http(st) => st.pushed = pushed,
            other => {
                *other = BackendState::Http(HttpState {
                    pushed,
                    ..HttpState::default()
                });
            }
        }
        Ok(Watched::Changed)
    }
}

/// The estimate in a status answer, in seconds, when `[<phase>.status] estimate` names it and it
/// is a positive number.
pub(super) fn estimate(
    s: &StatusSpec,
    section: &str,
    op: &Operation,
    body: &serde_json::Value,
    headers: &[(String, String)],
) -> Option<Duration> {
    let text = s.estimate.as_deref()?;
    let src = Source::parse(text)
        .ok_or_else(|| bad_source(section, "estimate", text))
        .ok()?;
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
