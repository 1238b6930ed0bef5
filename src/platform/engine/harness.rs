//! Runs one phase of the engine against the scripted backend (`fake.rs`), the way `lib::run`
//! does, and keeps everything it emitted with when, in tokio's (paused) virtual time since the
//! run started.
//!
//! Must not hide what happened: assertions read the outcome, the events and the fake's calls.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fake::Fake;
use super::timing::later;
use super::{Captured, Engine, PhaseRequest, Timing};
use crate::platform::backend::Vars;
use crate::platform::event::{CancelReason, Emitter, Event, Phase, PhaseOutcome};
use crate::secret::Redactor;

/// How to run the phase.
/// `n` seconds: the unit of every engine test's timeline.
pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) struct Harness {
    timing: Timing,
    timeout: Duration,
    deadline: Option<Duration>,
    detach: bool,
    signal_at: Option<Duration>,
}

/// What a run did.
pub(super) struct Ran {
    pub(super) outcome: PhaseOutcome,
    pub(super) captured: Captured,
    /// Every event, with when it was emitted.
    pub(super) events: Vec<(Duration, Event)>,
    /// How long `run_phase` took.
    pub(super) took: Duration,
}

impl Harness {
    /// A deploy phase with the default timing, an hour's timeout and no other deadline.
    pub(super) fn new() -> Self {
        Self {
            timing: Timing::default(),
            timeout: Duration::from_secs(3600),
            deadline: None,
            detach: false,
            signal_at: None,
        }
    }

    pub(super) fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The phase's own time limit.
    pub(super) fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The whole run's deadline, this long after the start (else the phase's timeout).
    pub(super) fn deadline_in(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Trigger, then return (`--detach`).
    pub(super) fn detach(mut self) -> Self {
        self.detach = true;
        self
    }

    /// A signal arrives this long after the start.
    pub(super) fn signal_at(mut self, d: Duration) -> Self {
        self.signal_at = Some(d);
        self
    }

    /// Runs the phase against `fake`.
    pub(super) async fn run(self, fake: &Fake) -> Ran {
        let start = Instant::now();
        let (emitter, mut rx) = Emitter::channel(1024);
        let collector = tokio::spawn(async move {
            let mut events = Vec::new();
            while let Some(event) = rx.recv().await {
                events.push((start.elapsed(), event));
            }
            events
        });
        let cancel = CancellationToken::new();
        if let Some(at) = self.signal_at {
            let signal = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                signal.cancel();
            });
        }
        let engine = Engine::new(fake, emitter, cancel, Redactor::default(), self.timing);
        let run = engine
            .run_phase(PhaseRequest {
                phase: Phase::Deploy,
                vars: Vars::new(),
                timeout: self.timeout,
                deadline: later(start, self.deadline.unwrap_or(self.timeout)),
                detach: self.detach,
            })
            .await;
        let took = start.elapsed();
        drop(engine);
        let events = collector.await.unwrap_or_default();
        Ran {
            outcome: run.outcome,
            captured: run.captured,
            events,
            took,
        }
    }
}

/// Whether `gap`, a wait the engine slept, is `interval` ± 20 % (as tokio sleeps it).
pub(super) fn within_jitter(gap: Duration, interval: Duration) -> bool {
    gap >= interval.mul_f64(0.8) && gap <= tick(interval.mul_f64(1.2))
}

/// `d` as tokio's timer sleeps it: rounded up to a whole millisecond.
pub(super) fn tick(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl Ran {
    /// The notices' messages.
    pub(super) fn notices(&self) -> Vec<&String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Notice { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// The states shown, in order.
    pub(super) fn states(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::StateChanged { state, .. } => Some(state.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The log lines shown, in order.
    pub(super) fn logs(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Log { line, .. } => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Each retry's attempt, wait and reason.
    pub(super) fn retries(&self) -> Vec<(u32, Duration, String)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Retrying {
                    attempt,
                    wait,
                    reason,
                    ..
                } => Some((*attempt, *wait, reason.clone())),
                _ => None,
            })
            .collect()
    }

    /// Each heartbeat's time since the phase started.
    pub(super) fn heartbeats(&self) -> Vec<Duration> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Heartbeat { elapsed, .. } => Some(*elapsed),
                _ => None,
            })
            .collect()
    }

    /// Each cancellation's reason, with when ferry started it.
    pub(super) fn cancellings(&self) -> Vec<(Duration, CancelReason)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Cancelling { reason, .. } => Some((*t, *reason)),
                _ => None,
            })
            .collect()
    }
}
