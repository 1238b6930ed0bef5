//! The engine: drives one backend through a phase with the behaviour every platform shares.
//!
//! A phase flows through these steps, one file each:
//!
//! 1. `trigger.rs` — start the remote operation. A failed trigger is sent again only when that
//!    cannot start a second operation: the platform honours an idempotency key, or it answered
//!    429 (it did nothing). With `--detach`, the phase ends here.
//! 2. `resolve.rs` — wait until the operation can be observed (a queue item becomes a build).
//! 3. `poll.rs` — read the state, and the log at a person's pace (`log_read.rs`), until the state
//!    is terminal. By default the state every 5 s with exact gaps (only the first wait jittered),
//!    densely around a platform's estimate (`timing.rs`); a log that says when it is complete is
//!    the signal while it flows; a failed read waits what the platform asked (`Retry-After`, at
//!    most 5 min) or backs off, a few times in a row at most (`retry.rs`); every other wait is on
//!    the platform's push when it has one (a watch, a long poll, a streamed log's end:
//!    `watch.rs`).
//! 4. `drain.rs` — read the log's tail after the end, bounded, never touching the outcome.
//! 5. `fetch.rs` — after a success, read once what the outputs need besides the last state.
//! 6. The verdict ([`Engine::run_phase`]): the terminal state, the outputs (a failed phase never
//!    reports the environment's `url`), the status and the platform's own words on a failure.
//!
//! Throughout, a signal or a time limit stops the waiting (`stop.rs`) and cancels the remote
//! operation (`cancel.rs`) — even one whose trigger was still in flight, when the backend can
//! find it ([`Backend::recover`]) — but never one that already finished; a heartbeat is emitted
//! while nothing happens (`heartbeat.rs`). Progress leaves only as [`Event`]s, redacted on the
//! way out (log lines through `log_tail.rs`); no arithmetic on instants can overflow, whatever
//! the durations.
//!
//! The engine must not know which platform runs (only [`Backend`]), print, or import `report`.

mod cancel;
mod drain;
mod fetch;
mod heartbeat;
mod log_read;
mod log_tail;
mod poll;
mod resolve;
mod retry;
mod stop;
mod timing;
mod trigger;
mod watch;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::heartbeat::Activity;
use self::log_tail::LogTail;
use self::resolve::Start;
use self::stop::Failure;
pub use self::timing::Timing;
pub(crate) use self::timing::later;
use super::backend::{Backend, Observation, Operation, Vars};
use super::event::{Emitter, Event, Level, Phase, PhaseOutcome, StateClass, Status};
use crate::net::shorten;
use crate::secret::Redactor;

/// What to run.
#[derive(Clone, Debug)]
pub struct PhaseRequest {
    pub phase: Phase,
    /// Template variables for this phase's requests.
    pub vars: Vars,
    /// This phase's own limit.
    pub timeout: Duration,
    /// The whole run's deadline.
    pub deadline: Instant,
    /// Trigger, then return without waiting.
    pub detach: bool,
}

/// Drives a backend. One engine per run; phases run one after another.
pub struct Engine<'a> {
    backend: &'a dyn Backend,
    emitter: Emitter,
    cancel: CancellationToken,
    redactor: Redactor,
    timing: Timing,
}

/// What a phase produced for the phases after it, unredacted: templates need the real values
/// (an id or a URL may hold a token the platform put there).
#[derive(Clone, Debug, Default)]
pub struct Captured {
    pub id: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

/// A phase's end: the outcome as every output shows it (redacted), and what later phases use.
#[derive(Clone, Debug)]
pub struct PhaseRun {
    pub outcome: PhaseOutcome,
    pub captured: Captured,
}

/// The phase an operation belongs to: the one place the engine reads [`Operation::phase`].
fn phase_of(op: &Operation) -> Phase {
    op.phase
}

impl<'a> Engine<'a> {
    /// An engine for `backend`, reporting to `emitter` (every event redacted with `redactor`),
    /// stopping when `cancel` fires.
    pub fn new(
        backend: &'a dyn Backend,
        emitter: Emitter,
        cancel: CancellationToken,
        redactor: Redactor,
        timing: Timing,
    ) -> Self {
        Self {
            backend,
            emitter: emitter.redacting(redactor.clone()),
            cancel,
            redactor,
            timing,
        }
    }

    /// Runs one phase to its end and says how it went. Never panics, never returns early
    /// without a [`Event::PhaseFinished`].
    #[tracing::instrument(skip_all, fields(phase = %req.phase))]
    pub async fn run_phase(&self, req: PhaseRequest) -> PhaseRun {
        let started = Instant::now();
        let deadline = req.deadline.min(later(started, req.timeout));
        let activity = Arc::new(Activity::new(started));
        let heartbeat = heartbeat::spawn(
            self.emitter.clone(),
            self.timing.heartbeat,
            req.phase,
            Arc::clone(&activity),
        );
        let mut tail = LogTail::new(
            self.emitter.clone(),
            req.phase,
            self.redactor.clone(),
            activity,
        );
        let mut outcome = unfinished(req.phase);
        self.emitter
            .emit(Event::PhaseStarted {
                phase: req.phase,
                platform: self.backend.name().to_string(),
            })
            .await;
        self.drive(&req, deadline, &mut outcome, &mut tail).await;
        heartbeat.abort();
        outcome.duration = started.elapsed();
        if !matches!(outcome.status, Status::Succeeded | Status::Detached) {
            outcome.log_tail = tail.into_lines();
        }
        let captured = Captured {
            id: outcome.id.clone(),
            outputs: outcome.outputs.clone(),
        };
        outcome.redact(&self.redactor);
        self.emitter
            .emit(Event::PhaseFinished(outcome.clone()))
            .await;
        PhaseRun { outcome, captured }
    }

    /// Triggers, then (unless detached) observes the operation to its end; a stop while
    /// observing cancels it.
    async fn drive(
        &self,
        req: &PhaseRequest,
        deadline: Instant,
        outcome: &mut PhaseOutcome,
        tail: &mut LogTail,
    ) {
        let phase = req.phase;
        let mut op = match self.trigger(req, deadline).await {
            Ok(op) => op,
            Err(failure) => return self.not_triggered(req, failure, outcome).await,
        };
        outcome.id = Some(op.id.clone());
        self.emitter
            .emit(Event::Triggered {
                phase,
                id: op.id.clone(),
                url: op.web_url.clone(),
                observed: op.observed,
            })
            .await;
        if req.detach {
            outcome.status = Status::Detached;
            outcome.outputs = self.backend.outputs(&op).unwrap_or_default();
            return;
        }
        match self.observe(&mut op, deadline, outcome, tail).await {
            Ok(()) => {}
            Err(Failure::Stop(stop) | Failure::InFlight(stop)) => {
                let asked = self.cancel_remote(&op, stop).await;
                outcome.status = stop.status();
                outcome.message = Some(stop.message(phase, asked));
            }
            Err(Failure::Error(e)) => {
                outcome.status = Status::Errored;
                outcome.settings_error = e.exit_code() == crate::exit::ExitCode::Usage;
                outcome.message = Some(self.redactor.redact(&format!("{e}")));
            }
        }
    }

    /// The trigger gave no operation: says why; after a trigger abandoned in flight, looks for
    /// what it may have started and cancels it.
    async fn not_triggered(
        &self,
        req: &PhaseRequest,
        failure: Failure,
        outcome: &mut PhaseOutcome,
    ) {
        match failure {
            Failure::Stop(stop) => {
                // Nothing was started (a pause between attempts): nothing to cancel.
                outcome.status = stop.status();
                outcome.message = Some(stop.message(req.phase, false));
            }
            Failure::InFlight(stop) => {
                // The trigger was abandoned before its answer: the platform may have started it.
                outcome.status = stop.status();
                outcome.message = Some(self.recover_and_cancel(req, stop, outcome).await);
            }
            Failure::Error(e) => {
                outcome.settings_error = e.exit_code() == crate::exit::ExitCode::Usage;
                outcome.message = Some(self.redactor.redact(&format!("{e}")));
            }
        }
    }

    /// From a triggered operation to its verdict: resolve, poll, drain, then the end.
    async fn observe(
        &self,
        op: &mut Operation,
        deadline: Instant,
        outcome: &mut PhaseOutcome,
        tail: &mut LogTail,
    ) -> Result<(), Failure> {
        let phase = outcome.phase;
        if let Start::Never(message) = self.resolve(op, deadline, phase, tail).await? {
            outcome.status = Status::Failed;
            outcome.message = Some(self.redactor.redact(&message));
            return Ok(());
        }
        let end = self.poll(op, deadline, outcome, tail).await?;
        // The tail of a log may be written after the terminal state.
        if end.logs_on {
            self.drain(op, deadline, tail).await;
        }
        self.conclude(op, &end.last, deadline, outcome, tail).await
    }

    /// The terminal state (shown after the log's tail, so the log reads in order), the outputs,
    /// and the status.
    async fn conclude(
        &self,
        op: &mut Operation,
        last: &Observation,
        deadline: Instant,
        outcome: &mut PhaseOutcome,
        tail: &LogTail,
    ) -> Result<(), Failure> {
        let phase = outcome.phase;
        self.state_changed(tail, phase, &last.state, last.class)
            .await;
        outcome.state = Some(self.redactor.redact(&last.state));
        let succeeded = last.class == StateClass::Success;
        if succeeded {
            self.fetch(op, deadline).await?;
        }
        outcome.outputs = self.backend.outputs(op).map_err(Failure::Error)?;
        outcome.status = if succeeded {
            Status::Succeeded
        } else {
            // A failed phase's `url` is not the environment's.
            outcome.outputs.remove("url");
            // The platform's own words, else the log's last error-looking line (the engine
            // keeps the last lines already, so every output gets the same message).
            let said = match self.backend.message(op) {
                Some(m) => format!(": {m}"),
                None => tail
                    .last_error_line()
                    .map(|line| format!("; the log's last error: {}", shorten(line, 300)))
                    .unwrap_or_default(),
            };
            outcome.message = Some(format!(
                "the platform reported {phase} state {:?}{said}",
                outcome.state.clone().unwrap_or_default()
            ));
            Status::Failed
        };
        Ok(())
    }

    /// Shows a state of the platform; that counts as activity (no heartbeat is due).
    async fn state_changed(&self, tail: &LogTail, phase: Phase, state: &str, class: StateClass) {
        tail.touch();
        self.emitter
            .emit(Event::StateChanged {
                phase,
                state: self.redactor.redact(state),
                class,
            })
            .await;
    }

    async fn notice(&self, level: Level, message: String) {
        self.emitter.emit(Event::Notice { level, message }).await;
    }
}

/// A phase's outcome before anything happened: errored until it says otherwise.
fn unfinished(phase: Phase) -> PhaseOutcome {
    PhaseOutcome {
        phase,
        status: Status::Errored,
        id: None,
        state: None,
        outputs: BTreeMap::new(),
        duration: Duration::ZERO,
        message: None,
        log_tail: Vec::new(),
        settings_error: false,
    }
}

#[cfg(test)]
mod tests {
    //! The phase as a whole; each step has its own tests beside it.

    use std::time::Duration;

    use super::fake::{Call, Fake};
    use super::harness::Harness;
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn detach_returns_after_the_trigger_without_polling() {
        let fake = Fake::new().outputs(&[("url", "https://review-42.example.com")]);
        let ran = Harness::new().detach().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Detached);
        assert_eq!(fake.calls(), [(Call::Trigger, Duration::ZERO)]);
        assert_eq!(ran.outcome.url(), Some("https://review-42.example.com"));
        assert_eq!(ran.captured.id.as_deref(), Some("op-1"));
        let kinds: Vec<&str> = ran.events.iter().map(|(_, e)| kind(e)).collect();
        assert_eq!(kinds, ["phase_started", "triggered", "phase_finished"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_phase_runs_from_trigger_to_verdict_in_order() {
        let fake = Fake::new()
            .status_state("deploying")
            .then_success()
            .log_lines(&["pulling image"])
            .log_done()
            .outputs(&[("url", "https://staging.example.com")]);
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let calls: Vec<Call> = fake.calls().into_iter().map(|(c, _)| c).collect();
        assert_eq!(
            calls,
            [
                Call::Trigger,
                Call::Resolve,
                Call::Status,
                Call::Logs,
                Call::Watch,
                // A second later (a person's pace), the log says it is complete: the state is
                // read at once.
                Call::Logs,
                Call::Status
            ]
        );
        let kinds: Vec<&str> = ran.events.iter().map(|(_, e)| kind(e)).collect();
        assert_eq!(
            kinds,
            [
                "phase_started",
                "triggered",
                "state_changed",
                "log",
                "state_changed",
                "phase_finished"
            ]
        );
        assert_eq!(ran.outcome.state.as_deref(), Some("done"));
        assert_eq!(ran.captured.outputs["url"], "https://staging.example.com");
        // A phase that succeeded keeps no log tail.
        assert!(ran.outcome.log_tail.is_empty());
        assert_eq!(ran.outcome.duration, ran.took);
    }

    #[tokio::test(start_paused = true)]
    async fn durations_beyond_what_an_instant_holds_do_not_panic() {
        let fake = Fake::new().then_success();
        let timing = Timing {
            poll_initial: Duration::MAX,
            poll_max: Duration::MAX,
            factor: 10.0,
            drain: Duration::MAX,
            drain_max: Duration::MAX,
            ..Timing::default()
        };
        let ran = Harness::new()
            .timing(timing)
            .timeout(Duration::MAX)
            .run(&fake)
            .await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert!(later(Instant::now(), Duration::MAX) > Instant::now());
    }

    /// The event's `type`, as in the events file.
    fn kind(event: &Event) -> &'static str {
        match event {
            Event::PhaseStarted { .. } => "phase_started",
            Event::Triggered { .. } => "triggered",
            Event::StateChanged { .. } => "state_changed",
            Event::Log { .. } => "log",
            Event::Heartbeat { .. } => "heartbeat",
            Event::Retrying { .. } => "retrying",
            Event::Notice { .. } => "notice",
            Event::Cancelling { .. } => "cancelling",
            Event::PhaseFinished(_) => "phase_finished",
        }
    }
}
