//! Typed progress events and outcomes: the engine's only way of telling anyone anything.
//!
//! Everything that shows progress or reports results (terminal, CI log, `--events` NDJSON, the
//! forge reporters) is a sink consuming these. The serialised form is a public, versioned schema
//! ([`EVENTS_SCHEMA`]); add fields, never rename or remove them within a version.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::secret::Redactor;

/// The schema name written in every `--events` record.
pub const EVENTS_SCHEMA: &str = "ferry.events/v1";

/// One remote operation of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Build,
    Deploy,
    Stop,
}

impl Phase {
    /// The lowercase name (`build`, `deploy`, `stop`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Build => "build",
            Phase::Deploy => "deploy",
            Phase::Stop => "stop",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a platform state means, once classified by the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StateClass {
    /// Not finished yet (queued, running, progressing, …).
    Running,
    /// Finished well.
    Success,
    /// Finished badly.
    Failure,
}

/// How a phase (or the whole run) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The platform reported success.
    Succeeded,
    /// The platform reported failure.
    Failed,
    /// Cancelled on request (a signal); the remote operation was asked to stop.
    Cancelled,
    /// A time limit ran out; the remote operation was asked to stop.
    TimedOut,
    /// ferry could not talk to the platform (unreachable, API errors after retries, bad answers).
    Errored,
    /// Triggered and left running (`--detach`).
    Detached,
    /// Not run (an earlier phase did not succeed).
    Skipped,
}

impl Status {
    /// The lowercase name used in outputs (`succeeded`, `failed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::TimedOut => "timed_out",
            Status::Errored => "errored",
            Status::Detached => "detached",
            Status::Skipped => "skipped",
        }
    }

    /// True for the statuses that let the run go on.
    pub fn is_good(self) -> bool {
        matches!(self, Status::Succeeded | Status::Detached)
    }
}

/// Why the engine is cancelling a remote operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// SIGINT, SIGTERM or SIGHUP (the CI cancelled the job).
    Signal,
    /// A phase or the overall timeout ran out.
    Timeout,
}

/// Severity of a [`Event::Notice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
}

/// One thing that happened. Serialised with a `type` tag in snake_case.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A phase is about to trigger its remote operation.
    PhaseStarted { phase: Phase, platform: String },
    /// The remote operation exists; `id` is the platform's id for it.
    Triggered {
        phase: Phase,
        id: String,
        /// A human link to the operation, when the platform gives one.
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// Started elsewhere (`[<phase>.observe]`): ferry follows it, and started nothing.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        observed: bool,
    },
    /// The platform's state changed (raw value as the platform spells it, and its meaning).
    StateChanged {
        phase: Phase,
        state: String,
        class: StateClass,
    },
    /// One line of the platform's log (secrets redacted, no trailing newline).
    Log { phase: Phase, line: String },
    /// Still waiting; sent at least every 30 s while nothing else happens.
    Heartbeat {
        phase: Phase,
        state: Option<String>,
        #[serde(with = "duration_ms", rename = "elapsed_ms")]
        elapsed: Duration,
    },
    /// A request failed in a way that is safe to retry; ferry waits, then tries again.
    Retrying {
        phase: Phase,
        attempt: u32,
        #[serde(with = "duration_ms", rename = "wait_ms")]
        wait: Duration,
        /// Why, in one short line (`cannot reach paas.example.com: connection refused`,
        /// `HTTP 503`): the full error and its fix come once, with the phase's outcome.
        reason: String,
        /// How much of the retry budget this failure used (absent for a wait the platform asked
        /// for, a rate limit, which does not count).
        #[serde(skip_serializing_if = "Option::is_none")]
        budget: Option<RetryBudget>,
    },
    /// Something people should know that is not a state change.
    Notice { level: Level, message: String },
    /// ferry is asking the platform to stop the remote operation.
    Cancelling { phase: Phase, reason: CancelReason },
    /// The phase ended.
    PhaseFinished(PhaseOutcome),
}

/// Failed requests in a row that count toward the limit: `used` of at most `max` retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RetryBudget {
    pub used: u32,
    pub max: u32,
}

/// How one phase ended, with what it produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseOutcome {
    pub phase: Phase,
    pub status: Status,
    /// The platform's id of the remote operation, once triggered.
    pub id: Option<String>,
    /// The last state the platform reported, as spelled by it.
    pub state: Option<String>,
    /// Captured outputs (`url`, `artifact`, `log_url`, …), passed to later phases.
    pub outputs: BTreeMap<String, String>,
    #[serde(with = "duration_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Why the phase did not succeed, for people.
    pub message: Option<String>,
    /// The last lines of the log (kept for failure reports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    /// It errored on a settings mistake the platform revealed (a credential it refused): the
    /// run's exit code is 2, not 3.
    #[serde(skip)]
    pub settings_error: bool,
}

impl PhaseOutcome {
    /// Removes every secret `redactor` knows from the texts (ids, states, outputs, messages, the
    /// log tail): the form every output receives.
    pub fn redact(&mut self, redactor: &Redactor) {
        for text in self
            .id
            .iter_mut()
            .chain(self.state.iter_mut())
            .chain(self.outputs.values_mut())
            .chain(self.message.iter_mut())
            .chain(self.log_tail.iter_mut())
        {
            redactor.redact_in_place(text);
        }
    }

    /// The environment URL this phase produced, if any.
    pub fn url(&self) -> Option<&str> {
        self.outputs.get("url").map(String::as_str)
    }
}

impl Event {
    /// Removes every secret `redactor` knows from the event's texts.
    pub fn redact(&mut self, redactor: &Redactor) {
        let clean = |text: &mut String| redactor.redact_in_place(text);
        match self {
            Event::PhaseStarted { platform, .. } => clean(platform),
            Event::Triggered { id, url, .. } => {
                clean(id);
                url.iter_mut().for_each(clean);
            }
            Event::StateChanged { state, .. } => clean(state),
            Event::Log { line, .. } => clean(line),
            Event::Heartbeat { state, .. } => state.iter_mut().for_each(clean),
            Event::Retrying { reason, .. } => clean(reason),
            Event::Notice { message, .. } => clean(message),
            Event::Cancelling { .. } => {}
            Event::PhaseFinished(outcome) => outcome.redact(redactor),
        }
    }
}

/// Serialises a [`Duration`] as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Where the engine sends its events: a bounded channel, so a slow sink slows the producer
/// instead of growing memory (a 1 GB log must not be buffered). With a redactor, every event is
/// redacted here, on its way out: the one place no secret can pass.
#[derive(Clone, Debug)]
pub struct Emitter {
    tx: Option<mpsc::Sender<Event>>,
    redactor: Option<Redactor>,
}

impl Emitter {
    /// An emitter and the receiving end for the sinks.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            Self {
                tx: Some(tx),
                redactor: None,
            },
            rx,
        )
    }

    /// An emitter that drops everything (for callers that need no progress).
    pub fn discard() -> Self {
        Self {
            tx: None,
            redactor: None,
        }
    }

    /// The same channel, redacting every event with `redactor` before it is sent.
    #[must_use]
    pub fn redacting(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Sends one event, waiting if the sinks are behind. A closed channel drops the event.
    pub async fn emit(&self, mut event: Event) {
        if let Some(tx) = &self.tx {
            if let Some(redactor) = &self.redactor {
                event.redact(redactor);
            }
            let _ = tx.send(event).await;
        }
    }
}
