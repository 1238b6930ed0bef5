//! The engine: drives one backend through a phase with the behaviour every platform shares.
//!
//! Polling starts fast and backs off with jitter, honouring `Retry-After`; safe requests are
//! retried, a trigger only when the platform honours an idempotency key (or answered 429, which
//! means it did nothing); a heartbeat is emitted while nothing happens; a signal or a time limit
//! cancels the remote operation — even one whose trigger was still in flight, when the backend can
//! find it ([`Backend::recover`]) — but never one that already finished. Progress leaves only as
//! [`Event`]s, redacted on the way out; no arithmetic on instants can overflow, whatever the
//! durations.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backend::{Backend, LogSink, Operation, Resolved, Vars, Watched};
use super::event::{CancelReason, Emitter, Event, Level, Phase, PhaseOutcome, StateClass, Status};
use crate::error::Error;
use crate::secret::Redactor;

/// Cadence and limits of the engine.
#[derive(Clone, Debug)]
pub struct Timing {
    /// First poll interval.
    pub poll_initial: Duration,
    /// Longest poll interval.
    pub poll_max: Duration,
    /// Growth of the interval while nothing changes.
    pub factor: f64,
    /// Longest silence before a heartbeat.
    pub heartbeat: Duration,
    /// Consecutive failed requests tolerated while waiting.
    pub max_errors: u32,
    /// Time allowed for the cancel request.
    pub cancel_grace: Duration,
    /// After the terminal state, how long the log may stay silent before its tail is taken as
    /// complete (when the platform cannot say).
    pub drain: Duration,
    /// After the terminal state, the longest time spent reading the rest of the log, however
    /// much keeps coming.
    pub drain_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(10),
            factor: 1.5,
            heartbeat: Duration::from_secs(20),
            max_errors: 8,
            cancel_grace: Duration::from_secs(5),
            drain: Duration::from_secs(30),
            drain_max: Duration::from_secs(120),
        }
    }
}

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

/// Why waiting stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Cancelled,
    TimedOut,
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

/// A log read at least this large may have been cut by the platform's cap on one response.
const CAPPED_READ: u64 = 64 * 1024;

/// How long a log without a completion signal must stay quiet after the end before it is
/// taken as complete.
const QUIET_TAIL: Duration = Duration::from_secs(1);

/// Last log tail lines kept for failure reports.
const TAIL_LINES: usize = 50;

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
        let activity = Arc::new(Activity::new());
        let heartbeat = self.spawn_heartbeat(req.phase, started, Arc::clone(&activity));
        let mut tail = LogTail {
            emitter: self.emitter.clone(),
            phase: req.phase,
            redactor: self.redactor.clone(),
            lines: VecDeque::new(),
            activity: Arc::clone(&activity),
            started,
        };
        let mut outcome = PhaseOutcome {
            phase: req.phase,
            status: Status::Errored,
            id: None,
            state: None,
            outputs: BTreeMap::new(),
            duration: Duration::ZERO,
            message: None,
            log_tail: Vec::new(),
        };
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
            outcome.log_tail = tail.lines.into_iter().collect();
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
            Err(Failure::Stop(stop)) => {
                // Nothing was started (a pause between attempts): nothing to cancel.
                outcome.status = stop_status(stop);
                outcome.message = Some(stop_message(stop, phase, false));
                return;
            }
            Err(Failure::InFlight(stop)) => {
                // The trigger was abandoned before its answer: the platform may have started it.
                outcome.status = stop_status(stop);
                outcome.message = Some(self.recover_and_cancel(req, stop, outcome).await);
                return;
            }
            Err(Failure::Error(e)) => {
                outcome.message = Some(self.redactor.redact(&format!("{e}")));
                return;
            }
        };
        outcome.id = Some(op.id.clone());
        self.emitter
            .emit(Event::Triggered {
                phase,
                id: op.id.clone(),
                url: op.web_url.clone(),
            })
            .await;
        if req.detach {
            outcome.status = Status::Detached;
            outcome.outputs = self.backend.outputs(&op).unwrap_or_default();
            return;
        }
        let result = self.observe(&mut op, deadline, outcome, tail).await;
        match result {
            Ok(()) => {}
            Err(Failure::Stop(stop) | Failure::InFlight(stop)) => {
                self.cancel_remote(&op, stop).await;
                outcome.status = stop_status(stop);
                outcome.message = Some(stop_message(stop, phase, true));
            }
            Err(Failure::Error(e)) => {
                outcome.status = Status::Errored;
                outcome.message = Some(self.redactor.redact(&format!("{e}")));
            }
        }
    }

    async fn trigger(&self, req: &PhaseRequest, deadline: Instant) -> Result<Operation, Failure> {
        let idempotent = self.backend.trigger_replay(req.phase).is_safe();
        let mut attempt = 0;
        let mut wait = self.timing.poll_initial;
        loop {
            attempt += 1;
            // A trigger in flight is abandoned at once on a signal or the deadline (GitHub kills
            // the job 7.5 s after its first signal); what it may have started is looked for
            // and cancelled by the caller.
            let result = tokio::select! {
                r = self.backend.trigger(req.phase, &req.vars) => r,
                () = self.cancel.cancelled() => return Err(Failure::InFlight(Stop::Cancelled)),
                () = tokio::time::sleep_until(deadline) => return Err(Failure::InFlight(Stop::TimedOut)),
            };
            match result {
                Ok(op) => return Ok(op),
                Err(e) => {
                    let rejected = matches!(e, Error::PlatformApi { status: 429, .. });
                    let safe = e.is_transient() && (idempotent || rejected);
                    if !safe || attempt > self.timing.max_errors {
                        if e.is_transient() && !idempotent && !rejected {
                            return Err(Failure::Error(Error::BadResponse {
                                platform: self.backend.name().to_string(),
                                url: String::from("the trigger"),
                                problem: format!(
                                    "{e}; it was not retried, because repeating a trigger that may have started an operation could start a second one"
                                ),
                                hint: format!(
                                    "if the platform honours an idempotency key, send {{{{ idempotency_key }}}} in a [{}.trigger] header (e.g. Idempotency-Key) and ferry will retry safely",
                                    req.phase
                                ),
                            }));
                        }
                        return Err(Failure::Error(e));
                    }
                    wait = self.backoff_after(&e, wait);
                    self.retrying(req.phase, attempt, wait, &e).await;
                    self.pause(wait, deadline).await.map_err(Failure::Stop)?;
                    wait = self.grow(wait);
                }
            }
        }
    }

    async fn observe(
        &self,
        op: &mut Operation,
        deadline: Instant,
        outcome: &mut PhaseOutcome,
        tail: &mut LogTail,
    ) -> Result<(), Failure> {
        let phase = outcome.phase;
        // Resolve: wait until the operation can be observed (a queue item becomes a build).
        let mut interval = self.timing.poll_initial;
        let mut errors = 0;
        let mut last_why: Option<Option<String>> = None;
        let mut asked: Option<Duration> = None;
        loop {
            match self.guard(self.backend.resolve(op), deadline).await? {
                Ok(Resolved::Ready) => break,
                Ok(Resolved::Waiting(why)) => {
                    errors = 0;
                    if last_why.as_ref() != Some(&why) {
                        let state = why.clone().unwrap_or_else(|| "queued".into());
                        tail.activity.touch(tail.started);
                        self.emitter
                            .emit(Event::StateChanged {
                                phase,
                                state: self.redactor.redact(&state),
                                class: StateClass::Running,
                            })
                            .await;
                        last_why = Some(why);
                    }
                }
                Ok(Resolved::Failed(message)) => {
                    outcome.status = Status::Failed;
                    outcome.message = Some(self.redactor.redact(&message));
                    return Ok(());
                }
                Err(e) => {
                    asked = Some(self.tolerate(phase, e, &mut errors, interval).await?);
                }
            }
            let wait = asked.take().unwrap_or_else(|| jitter(interval));
            self.pause(wait, deadline).await.map_err(Failure::Stop)?;
            interval = self.grow(interval);
        }
        // Observe: logs, then state, until the state is terminal.
        let has_logs = self.backend.has_logs(phase);
        let mut interval = self.timing.poll_initial;
        let mut errors = 0;
        let mut log_errors = 0;
        let mut logs_on = has_logs;
        let mut last_state: Option<String> = None;
        let mut asked: Option<Duration> = None;
        let mut watching = true;
        let mut watch_errors = 0;
        let last = loop {
            match self.guard(self.backend.status(op), deadline).await? {
                Ok(obs) => {
                    errors = 0;
                    if obs.class != StateClass::Running {
                        // Shown after the log's tail, so the log reads in order.
                        break obs;
                    }
                    if last_state.as_deref() != Some(obs.state.as_str()) {
                        tail.activity.touch(tail.started);
                        self.emitter
                            .emit(Event::StateChanged {
                                phase,
                                state: self.redactor.redact(&obs.state),
                                class: obs.class,
                            })
                            .await;
                        outcome.state = Some(self.redactor.redact(&obs.state));
                        last_state = Some(obs.state);
                        interval = self.timing.poll_initial;
                    }
                }
                Err(e) => {
                    asked = Some(self.tolerate(phase, e, &mut errors, interval).await?);
                }
            }
            if logs_on {
                match self.read_logs(op, deadline, tail).await? {
                    Ok(lines) => {
                        log_errors = 0;
                        if lines > 0 {
                            // A flowing log keeps the cadence fast.
                            interval = self.timing.poll_initial;
                        }
                    }
                    Err(e) => logs_on = self.log_error(phase, &e, &mut log_errors).await,
                }
            }
            if let Some(wait) = asked.take() {
                self.pause(wait, deadline).await.map_err(Failure::Stop)?;
            } else if watching {
                // A platform that pushes changes is watched instead of slept on; a broken watch
                // falls back to polling and is tried again on the next round.
                let max = self.timing.poll_max.max(Duration::from_secs(1));
                match self.guard(self.backend.watch(op, max), deadline).await? {
                    Ok(Watched::Changed) => {
                        watch_errors = 0;
                        continue;
                    }
                    Ok(Watched::Quiet) => watch_errors = 0,
                    Ok(Watched::Unsupported) => {
                        watching = false;
                        self.pause(jitter(interval), deadline)
                            .await
                            .map_err(Failure::Stop)?;
                    }
                    Err(e) => {
                        watch_errors += 1;
                        self.watch_broke(phase, &e, watch_errors).await;
                        if watch_errors > self.timing.max_errors {
                            watching = false;
                        }
                        self.pause(jitter(interval), deadline)
                            .await
                            .map_err(Failure::Stop)?;
                    }
                }
            } else {
                let wait = jitter(interval);
                self.pause(wait, deadline).await.map_err(Failure::Stop)?;
            }
            interval = self.grow(interval);
        };

        // Drain: the tail of a log may be written after the terminal state.
        if logs_on {
            self.drain(op, deadline, tail).await;
            // A last line without a newline is still a line once the log is over.
            if !op.log.carry.is_empty() {
                let line = String::from_utf8_lossy(&std::mem::take(&mut op.log.carry)).into_owned();
                tail.line(line.trim_end_matches('\r')).await;
            }
        }
        let class = last.class;
        tail.activity.touch(tail.started);
        self.emitter
            .emit(Event::StateChanged {
                phase,
                state: self.redactor.redact(&last.state),
                class,
            })
            .await;
        outcome.state = Some(self.redactor.redact(&last.state));
        outcome.outputs = self.backend.outputs(op).map_err(Failure::Error)?;
        outcome.status = if class == StateClass::Success {
            Status::Succeeded
        } else {
            outcome.message = Some(format!(
                "the platform reported {phase} state {:?}",
                outcome.state.clone().unwrap_or_default()
            ));
            Status::Failed
        };
        Ok(())
    }

    /// Reads what the log has now: repeated reads while they bring lines (a platform may cap
    /// each response), within a bound so that the state stays fresh. Returns the lines read.
    async fn read_logs(
        &self,
        op: &mut Operation,
        deadline: Instant,
        tail: &mut LogTail,
    ) -> Result<Result<u64, Error>, Failure> {
        let until = later(
            Instant::now(),
            self.timing.poll_max.max(Duration::from_secs(1)),
        );
        let mut total = 0;
        for _ in 0..1024 {
            let before = op.log.offset;
            match self.guard(self.backend.logs(op, tail), deadline).await? {
                Ok(read) => {
                    total += read.lines;
                    // Only a large answer may have been cut by the platform's cap: read again at
                    // once. Anything smaller was all there was; wait for the next tick.
                    let grew = op.log.offset.saturating_sub(before);
                    if read.lines == 0
                        || read.complete == Some(true)
                        || grew < CAPPED_READ
                        || Instant::now() >= until
                    {
                        break;
                    }
                }
                Err(e) if total == 0 => return Ok(Err(e)),
                Err(_) => break,
            }
        }
        Ok(Ok(total))
    }

    /// Reads the log until the platform says it is complete, or (when it cannot say) until
    /// two reads in a row bring nothing new. The operation has finished: nothing here cancels
    /// it or changes its outcome. Reading stops after [`Timing::drain`] of silence, after
    /// [`Timing::drain_max`] in all, at the run's deadline, or on a signal; each says so.
    async fn drain(&self, op: &mut Operation, deadline: Instant, tail: &mut LogTail) {
        let phase = op.phase;
        let started = Instant::now();
        let hard = deadline.min(later(started, self.timing.drain_max));
        // The silence limit counts from the last line that arrived: a long tail keeps flowing.
        let mut until = hard.min(later(started, self.timing.drain));
        let mut empty = 0;
        let mut errors = 0;
        let mut wait = self.timing.poll_initial.min(Duration::from_millis(200));
        let why = loop {
            if Instant::now() >= until {
                break if until >= hard {
                    Cut::Limit
                } else {
                    Cut::Silence
                };
            }
            let read = tokio::select! {
                r = self.backend.logs(op, tail) => r,
                () = self.cancel.cancelled() => break Cut::Signal,
                () = tokio::time::sleep_until(until) => continue,
            };
            match read {
                Ok(read) => {
                    errors = 0;
                    match read.complete {
                        Some(true) => return,
                        Some(false) => {}
                        None if read.lines == 0 => {
                            // Without a completion signal: two empty reads in a row, at least
                            // QUIET_TAIL after the end (a platform may flush its tail late).
                            empty += 1;
                            if empty >= 2 && started.elapsed() >= QUIET_TAIL {
                                return;
                            }
                        }
                        None => empty = 0,
                    }
                    if read.lines > 0 {
                        until = hard.min(later(Instant::now(), self.timing.drain));
                        continue;
                    }
                }
                Err(e) => {
                    if !self.log_error(phase, &e, &mut errors).await {
                        return;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(until.min(later(Instant::now(), wait))) => {}
                () = self.cancel.cancelled() => break Cut::Signal,
            }
            wait = (wait * 2).min(Duration::from_secs(1));
        };
        let message = match why {
            Cut::Silence => format!(
                "the {phase} log brought nothing new and did not say it was complete for {}s after the {phase} ended; its last lines may be missing",
                self.timing.drain.as_secs()
            ),
            Cut::Limit if hard < later(started, self.timing.drain_max) => format!(
                "stopped reading the {phase} log at the run's time limit, after the {phase} ended; its last lines may be missing"
            ),
            Cut::Limit => format!(
                "the {phase} log was still growing {}s after the {phase} ended; ferry stopped reading it there (the {phase}'s outcome stands)",
                self.timing.drain_max.as_secs()
            ),
            Cut::Signal => format!(
                "stopped reading the {phase} log on a signal, after the {phase} ended; its outcome stands"
            ),
        };
        self.notice(Level::Warning, message).await;
    }

    /// Handles a failed request while waiting: transient errors are retried up to a limit.
    async fn tolerate(
        &self,
        phase: Phase,
        e: Error,
        errors: &mut u32,
        interval: Duration,
    ) -> Result<Duration, Failure> {
        if !e.is_transient() {
            return Err(Failure::Error(e));
        }
        *errors += 1;
        if *errors > self.timing.max_errors {
            return Err(Failure::Error(e));
        }
        let wait = self.backoff_after(&e, interval);
        self.retrying(phase, *errors, wait, &e).await;
        // The caller pauses for exactly this long before the next attempt.
        Ok(wait)
    }

    /// A failed log read: warn, retry transient errors a few times, then stop reading logs
    /// (the state still decides the outcome). Returns whether to keep reading.
    async fn log_error(&self, phase: Phase, e: &Error, errors: &mut u32) -> bool {
        *errors += 1;
        if e.is_transient() && *errors <= self.timing.max_errors {
            tracing::debug!(error = %self.redactor.redact(&e.to_string()), "log read failed; will retry");
            return true;
        }
        self.notice(
            Level::Warning,
            format!(
                "stopped reading the {phase} log: {}",
                self.redactor.redact(&e.to_string())
            ),
        )
        .await;
        false
    }

    /// A broken watch: say so once per outage (ferry polls meanwhile), and once more if ferry
    /// gives up watching for the rest of the phase.
    async fn watch_broke(&self, phase: Phase, e: &Error, errors: u32) {
        let why = self.redactor.redact(&e.to_string());
        if errors == 1 {
            self.notice(
                Level::Info,
                format!("the {phase} watch stream broke ({why}); polling until it is back"),
            )
            .await;
        } else if errors == self.timing.max_errors + 1 {
            self.notice(
                Level::Warning,
                format!("the {phase} watch stream keeps breaking ({why}); polling from now on"),
            )
            .await;
        }
    }

    /// After a trigger was abandoned in flight: finds what it may have started and cancels it,
    /// within the cancel grace; returns the phase's message, which says plainly when ferry could
    /// not.
    async fn recover_and_cancel(
        &self,
        req: &PhaseRequest,
        stop: Stop,
        outcome: &mut PhaseOutcome,
    ) -> String {
        let phase = req.phase;
        let reason = match stop {
            Stop::Cancelled => CancelReason::Signal,
            Stop::TimedOut => CancelReason::Timeout,
        };
        let why = match stop {
            Stop::Cancelled => "was cancelled by a signal",
            Stop::TimedOut => "ran out of time",
        };
        self.emitter.emit(Event::Cancelling { phase, reason }).await;
        let found = tokio::time::timeout(self.timing.cancel_grace, async {
            let Some(op) = self.backend.recover(phase, &req.vars).await? else {
                return Ok(None);
            };
            self.backend.cancel(&op).await?;
            Ok::<_, Error>(Some(op.id))
        })
        .await;
        let (level, said) = match found {
            Ok(Ok(Some(id))) => {
                outcome.id = Some(id.clone());
                return format!(
                    "the {phase} {why} while its trigger was in flight; ferry found {phase} {id} and asked the platform to cancel it"
                );
            }
            Ok(Ok(None)) => (
                Level::Warning,
                format!(
                    "the {phase} {why} while its trigger request was in flight: ferry cannot tell whether the platform started it, and this platform gives no way to find it. Check the platform and cancel it there if it runs (a trigger that sends {{{{ idempotency_key }}}} lets ferry find and cancel it)"
                ),
            ),
            Ok(Err(e)) => (
                Level::Warning,
                format!(
                    "the {phase} {why} while its trigger request was in flight, and ferry could not find or cancel what it may have started: {}. Check the platform and cancel it there if it runs",
                    self.redactor.redact(&e.to_string())
                ),
            ),
            Err(_) => (
                Level::Warning,
                format!(
                    "the {phase} {why} while its trigger request was in flight, and the platform did not answer ferry's search for it within {}s. Check the platform and cancel it there if it runs",
                    self.timing.cancel_grace.as_secs()
                ),
            ),
        };
        self.notice(level, said.clone()).await;
        said
    }

    async fn cancel_remote(&self, op: &Operation, stop: Stop) {
        let phase = op.phase;
        let reason = match stop {
            Stop::Cancelled => CancelReason::Signal,
            Stop::TimedOut => CancelReason::Timeout,
        };
        self.emitter.emit(Event::Cancelling { phase, reason }).await;
        match tokio::time::timeout(self.timing.cancel_grace, self.backend.cancel(op)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.notice(
                    Level::Warning,
                    format!(
                        "could not cancel {phase} {}: {}; it may still be running on the platform",
                        op.id,
                        self.redactor.redact(&e.to_string())
                    ),
                )
                .await;
            }
            Err(_) => {
                self.notice(
                    Level::Warning,
                    format!("the platform did not answer the cancel request for {phase} {} within {}s; it may still be running", op.id, self.timing.cancel_grace.as_secs()),
                )
                .await;
            }
        }
    }

    async fn retrying(&self, phase: Phase, attempt: u32, wait: Duration, e: &Error) {
        let reason = match e {
            Error::PlatformApi { status, .. } => format!("HTTP {status}"),
            other => self.redactor.redact(&other.to_string()),
        };
        self.emitter
            .emit(Event::Retrying {
                phase,
                attempt,
                wait,
                reason,
            })
            .await;
    }

    async fn notice(&self, level: Level, message: String) {
        self.emitter.emit(Event::Notice { level, message }).await;
    }

    fn grow(&self, d: Duration) -> Duration {
        scale(d, self.timing.factor).min(self.timing.poll_max)
    }

    /// The wait after a failed request: the platform's `Retry-After` when it gave one (capped at
    /// five minutes), otherwise the next back-off step.
    fn backoff_after(&self, e: &Error, current: Duration) -> Duration {
        match e.retry_after() {
            Some(d) => d.min(Duration::from_secs(300)),
            None => jitter(self.grow(current.max(Duration::from_millis(500)))),
        }
    }

    /// Sleeps, unless the run is cancelled or the deadline comes first.
    async fn pause(&self, d: Duration, deadline: Instant) -> Result<(), Stop> {
        let wake = later(Instant::now(), d).min(deadline);
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {
                if Instant::now() >= deadline { Err(Stop::TimedOut) } else { Ok(()) }
            }
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
        }
    }

    /// Runs a safe request, abandoning it on cancel or deadline.
    async fn guard<T>(
        &self,
        fut: impl std::future::Future<Output = T>,
        deadline: Instant,
    ) -> Result<T, Failure> {
        tokio::select! {
            r = fut => Ok(r),
            () = self.cancel.cancelled() => Err(Failure::Stop(Stop::Cancelled)),
            () = tokio::time::sleep_until(deadline) => Err(Failure::Stop(Stop::TimedOut)),
        }
    }

    fn spawn_heartbeat(
        &self,
        phase: Phase,
        started: Instant,
        activity: Arc<Activity>,
    ) -> tokio::task::JoinHandle<()> {
        let emitter = self.emitter.clone();
        let every = self.timing.heartbeat;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500).min(every)).await;
                let quiet = started.elapsed().saturating_sub(activity.last());
                if quiet >= every {
                    activity.touch(started);
                    emitter
                        .emit(Event::Heartbeat {
                            phase,
                            state: None,
                            elapsed: started.elapsed(),
                        })
                        .await;
                }
            }
        })
    }
}

/// Why reading a finished operation's log stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    Silence,
    Limit,
    Signal,
}

enum Failure {
    /// Stopped while nothing was in flight.
    Stop(Stop),
    /// Stopped while the trigger request was in flight (it may have started something).
    InFlight(Stop),
    Error(Error),
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Self {
        Failure::Stop(s)
    }
}

fn stop_status(stop: Stop) -> Status {
    match stop {
        Stop::Cancelled => Status::Cancelled,
        Stop::TimedOut => Status::TimedOut,
    }
}

fn stop_message(stop: Stop, phase: Phase, asked_platform: bool) -> String {
    let then = if asked_platform {
        "; ferry asked the platform to cancel it"
    } else {
        ""
    };
    match stop {
        Stop::Cancelled => format!("the {phase} was cancelled by a signal{then}"),
        Stop::TimedOut => format!(
            "the {phase} ran out of time{then} (raise `timeout` or the phase's own timeout)"
        ),
    }
}

/// ±20 % randomness, so that many jobs polling one platform spread out.
fn jitter(d: Duration) -> Duration {
    scale(d, rand::random_range(0.8..1.2))
}

/// `d × factor`, saturating instead of panicking on overflow.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// About thirty years: "never" for a deadline.
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `from + d`, or a time far in the future when `d` is beyond what an instant can hold (a
/// duration given by an embedding program is not bounded like a setting).
pub(crate) fn later(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .or_else(|| from.checked_add(FAR))
        .unwrap_or(from)
}

/// When something last happened, as milliseconds since the phase started.
struct Activity(AtomicU64);

impl Activity {
    fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    fn touch(&self, started: Instant) {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed))
    }
}

/// The engine's log sink: emits (the emitter redacts), keeps the tail, marks activity, and cuts
/// long lines where no secret is split.
struct LogTail {
    emitter: Emitter,
    phase: Phase,
    redactor: Redactor,
    lines: VecDeque<String>,
    activity: Arc<Activity>,
    started: Instant,
}

#[async_trait]
impl LogSink for LogTail {
    async fn line(&mut self, line: &str) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
        self.activity.touch(self.started);
        self.emitter
            .emit(Event::Log {
                phase: self.phase,
                line: line.to_string(),
            })
            .await;
    }

    fn safe_cut(&self, text: &[u8], at: usize) -> Option<usize> {
        self.redactor.safe_cut(text, at)
    }
}

#[cfg(test)]
mod tests {
    //! The engine against a scripted backend, in paused time: what happens when, without the
    //! binary or a server.

    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::error::Result;
    use crate::platform::backend::{LogRead, Observation};

    /// A backend whose answers are set by the test.
    #[derive(Default)]
    struct Scripted {
        /// The trigger never answers.
        trigger_hangs: bool,
        /// What `recover` finds.
        recoverable: bool,
        /// Every log read brings a new line, and never says the log is complete.
        endless_log: bool,
        cancels: AtomicU32,
        log_reads: AtomicU32,
    }

    fn op(phase: Phase) -> Operation {
        Operation::new(phase, "op-1", Vars::new())
    }

    #[async_trait]
    impl Backend for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn trigger_replay(&self, _: Phase) -> crate::net::Replay {
            crate::net::Replay::Never
        }
        async fn trigger(&self, phase: Phase, _: &Vars) -> Result<Operation> {
            if self.trigger_hangs {
                std::future::pending::<()>().await;
            }
            Ok(op(phase))
        }
        async fn recover(&self, phase: Phase, _: &Vars) -> Result<Option<Operation>> {
            Ok(self.recoverable.then(|| op(phase)))
        }
        async fn resolve(&self, _: &mut Operation) -> Result<Resolved> {
            Ok(Resolved::Ready)
        }
        async fn status(&self, _: &mut Operation) -> Result<Observation> {
            Ok(Observation {
                state: "done".into(),
                class: StateClass::Success,
            })
        }
        fn has_logs(&self, _: Phase) -> bool {
            self.endless_log
        }
        async fn logs(&self, _: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead> {
            // A request takes a little time, as on a network.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let n = self.log_reads.fetch_add(1, Ordering::SeqCst);
            sink.line(&format!("line {n}")).await;
            Ok(LogRead {
                lines: 1,
                complete: None,
            })
        }
        async fn cancel(&self, _: &Operation) -> Result<()> {
            self.cancels.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn outputs(&self, _: &Operation) -> Result<BTreeMap<String, String>> {
            Ok(BTreeMap::new())
        }
    }

    /// Runs one deploy phase; returns the run and the notices emitted.
    async fn run(
        backend: &Scripted,
        timing: Timing,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> (PhaseRun, Vec<String>) {
        let (emitter, mut rx) = Emitter::channel(64);
        let collector = tokio::spawn(async move {
            let mut notices = Vec::new();
            while let Some(event) = rx.recv().await {
                if let Event::Notice { message, .. } = event {
                    notices.push(message);
                }
            }
            notices
        });
        let engine = Engine::new(backend, emitter, cancel, Redactor::default(), timing);
        let run = engine
            .run_phase(PhaseRequest {
                phase: Phase::Deploy,
                vars: Vars::new(),
                timeout,
                deadline: later(Instant::now(), timeout),
                detach: false,
            })
            .await;
        drop(engine);
        let notices = collector.await.unwrap_or_default();
        (run, notices)
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_that_keeps_growing_after_the_end_is_read_for_drain_max_at_most() {
        let backend = Scripted {
            endless_log: true,
            ..Scripted::default()
        };
        let started = Instant::now();
        let (run, notices) = run(
            &backend,
            Timing::default(),
            Duration::from_secs(3600),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(run.outcome.status, Status::Succeeded);
        assert_eq!(backend.cancels.load(Ordering::SeqCst), 0);
        let spent = started.elapsed();
        assert!(
            spent >= Duration::from_secs(120) && spent < Duration::from_secs(125),
            "{spent:?}"
        );
        assert!(
            notices.iter().any(|n| n.contains("still growing 120s")),
            "{notices:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn durations_beyond_what_an_instant_holds_do_not_panic() {
        let backend = Scripted::default();
        let timing = Timing {
            poll_initial: Duration::MAX,
            poll_max: Duration::MAX,
            factor: 10.0,
            drain: Duration::MAX,
            drain_max: Duration::MAX,
            ..Timing::default()
        };
        let (run, _) = run(&backend, timing, Duration::MAX, CancellationToken::new()).await;
        assert_eq!(run.outcome.status, Status::Succeeded);
        assert_eq!(scale(Duration::MAX, 1.5), Duration::MAX);
        assert!(later(Instant::now(), Duration::MAX) > Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_abandons_a_hanging_trigger_and_cancels_what_it_finds() {
        for recoverable in [true, false] {
            let backend = Scripted {
                trigger_hangs: true,
                recoverable,
                ..Scripted::default()
            };
            let cancel = CancellationToken::new();
            let signal = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                signal.cancel();
            });
            let started = Instant::now();
            let (run, notices) = run(
                &backend,
                Timing::default(),
                Duration::from_secs(3600),
                cancel,
            )
            .await;
            assert!(started.elapsed() < Duration::from_secs(2));
            assert_eq!(run.outcome.status, Status::Cancelled);
            let message = run.outcome.message.unwrap_or_default();
            if recoverable {
                assert_eq!(backend.cancels.load(Ordering::SeqCst), 1);
                assert!(message.contains("found deploy op-1"), "{message}");
                assert_eq!(run.outcome.id.as_deref(), Some("op-1"));
            } else {
                assert_eq!(backend.cancels.load(Ordering::SeqCst), 0);
                assert!(message.contains("cannot tell"), "{message}");
                assert!(notices.iter().any(|n| n.contains("cannot tell")));
            }
        }
    }
}
