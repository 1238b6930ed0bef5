//! Polling: reading the state, then what is new in the log, until the state is terminal. The
//! interval starts at [`Timing::poll_initial`] and grows by [`Timing::factor`] up to
//! [`Timing::poll_max`] while nothing changes; a new state or new log lines bring it back to
//! the start. A failed read waits what the platform asked (`Retry-After`) or backs off
//! (`retry.rs`); otherwise the wait is the watch stream or a jittered sleep (`watch.rs`).
//!
//! Must not show the terminal state or decide the outcome: it hands the terminal observation
//! back, so that the log's tail can be read first (`drain.rs`) and the log reads in order.
//!
//! [`Timing::poll_initial`]: super::Timing::poll_initial
//! [`Timing::factor`]: super::Timing::factor
//! [`Timing::poll_max`]: super::Timing::poll_max

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use super::log_tail::LogTail;
use super::retry::Errors;
use super::stop::Failure;
use super::timing::{asked_wait, later};
use super::watch::Watch;
use crate::platform::backend::{Observation, Operation};
use crate::platform::event::{Phase, PhaseOutcome, StateClass};

/// How polling ended: the terminal observation, and whether the log is still being read.
pub(super) struct End {
    pub(super) last: Observation,
    pub(super) logs_on: bool,
}

/// What the loop remembers from one round to the next.
struct Rounds {
    phase: Phase,
    interval: Duration,
    /// Failed status reads in a row.
    errors: Errors,
    /// Failed log reads in a row.
    log_errors: u32,
    logs_on: bool,
    /// No log read before this (the platform answered a log read with `Retry-After`).
    logs_after: Option<Instant>,
    last_state: Option<String>,
    watch: Watch,
}

/// What one status read found.
enum Read {
    /// The operation has finished.
    Terminal(Observation),
    /// Not finished (or not known); the wait the platform asked for after a failed read.
    NotYet(Option<Duration>),
}

impl Engine<'_> {
    /// Reads the state and the log until the state is terminal.
    pub(super) async fn poll(
        &self,
        op: &mut Operation,
        deadline: Instant,
        outcome: &mut PhaseOutcome,
        tail: &mut LogTail,
    ) -> Result<End, Failure> {
        let phase = outcome.phase;
        let mut r = Rounds {
            phase,
            interval: self.timing.poll_initial,
            errors: Errors::default(),
            log_errors: 0,
            logs_on: self.backend.has_logs(phase),
            logs_after: None,
            last_state: None,
            watch: Watch::new(phase),
        };
        loop {
            let asked = match self.read_state(op, deadline, &mut r, outcome, tail).await? {
                // Shown after the log's tail, so the log reads in order.
                Read::Terminal(last) => {
                    return Ok(End {
                        last,
                        logs_on: r.logs_on,
                    });
                }
                Read::NotYet(asked) => asked,
            };
            if r.logs_on {
                self.follow_log(op, deadline, &mut r, tail).await?;
            }
            // The wait the platform asked for comes first; otherwise the watch stream or a
            // sleep. A pushed change is read at once, and the interval stays as it is.
            if let Some(wait) = asked {
                self.pause(wait, deadline).await?;
            } else if self
                .wait_for_change(op, deadline, &mut r.watch, r.interval)
                .await?
            {
                continue;
            }
            r.interval = self.timing.grow(r.interval);
        }
    }

    /// Reads the state once; a new running state is shown and brings the interval back to the
    /// start.
    async fn read_state(
        &self,
        op: &mut Operation,
        deadline: Instant,
        r: &mut Rounds,
        outcome: &mut PhaseOutcome,
        tail: &LogTail,
    ) -> Result<Read, Failure> {
        let obs = match self.guard(self.backend.status(op), deadline).await? {
            Ok(obs) => obs,
            Err(e) => {
                let wait = self.tolerate(r.phase, e, &mut r.errors, r.interval).await?;
                return Ok(Read::NotYet(Some(wait)));
            }
        };
        r.errors = Errors::default();
        if obs.class != StateClass::Running {
            return Ok(Read::Terminal(obs));
        }
        if r.last_state.as_deref() != Some(obs.state.as_str()) {
            self.state_changed(tail, r.phase, &obs.state, obs.class)
                .await;
            outcome.state = Some(self.redactor.redact(&obs.state));
            r.last_state = Some(obs.state);
            r.interval = self.timing.poll_initial;
        }
        Ok(Read::NotYet(None))
    }

    /// Reads what is new in the log; lines keep the cadence fast, errors may stop the reading.
    async fn follow_log(
        &self,
        op: &mut Operation,
        deadline: Instant,
        r: &mut Rounds,
        tail: &mut LogTail,
    ) -> Result<(), Failure> {
        if r.logs_after.is_some_and(|after| Instant::now() < after) {
            return Ok(());
        }
        match self.read_logs(op, deadline, tail).await? {
            Ok(lines) => {
                r.log_errors = 0;
                r.logs_after = None;
                if lines > 0 {
                    // A flowing log keeps the cadence fast.
                    r.interval = self.timing.poll_initial;
                }
            }
            Err(e) => {
                // A wait the platform asked for holds the log back, not the state.
                r.logs_after = asked_wait(&e).map(|d| later(Instant::now(), d));
                r.logs_on = self.log_error(r.phase, &e, &mut r.log_errors).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs, within_jitter};
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    /// 1 s, doubling, up to 8 s: the ±20 % ranges of two steps never overlap.
    fn timing() -> Timing {
        Timing {
            poll_initial: secs(1),
            poll_max: secs(8),
            factor: 2.0,
            ..Timing::default()
        }
    }

    /// Asserts each gap is its expected interval (in seconds) ± 20 %.
    fn assert_intervals(gaps: &[Duration], expected: &[u64]) {
        assert_eq!(gaps.len(), expected.len(), "{gaps:?}");
        for (gap, interval) in gaps.iter().zip(expected) {
            let interval = secs(*interval);
            assert!(
                within_jitter(*gap, interval),
                "{gaps:?} should be {expected:?} s ± 20 %"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_interval_grows_by_factor_up_to_poll_max_with_jitter() {
        let fake = Fake::new().status_running(7).then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_intervals(&fake.gaps(Call::Status), &[1, 2, 4, 8, 8, 8, 8]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_jitter_varies_between_runs() {
        // Twenty runs of the same script: the waits are not all the same.
        let mut firsts = Vec::new();
        for _ in 0..20 {
            let fake = Fake::new().status_running(1).then_success();
            Harness::new().timing(timing()).run(&fake).await;
            firsts.push(fake.gaps(Call::Status)[0]);
        }
        firsts.dedup();
        assert!(firsts.len() > 1, "{firsts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_state_change_resets_the_interval() {
        let fake = Fake::new()
            .status_state("queued")
            .status_state("queued")
            .status_state("queued")
            .status_state("building")
            .status_state("building")
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_intervals(&fake.gaps(Call::Status), &[1, 2, 4, 1, 2]);
        assert_eq!(ran.states(), ["queued", "building", "done"]);
        assert_eq!(ran.outcome.state.as_deref(), Some("done"));
    }

    #[tokio::test(start_paused = true)]
    async fn new_log_lines_reset_the_interval() {
        let fake = Fake::new()
            .status_running(5)
            .then_success()
            .log_quiet(2)
            .log_lines(&["compiling"])
            .log_quiet_forever();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_intervals(&fake.gaps(Call::Status), &[1, 2, 1, 2, 4]);
        assert_eq!(ran.logs(), ["compiling"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_log_is_read_after_each_state_and_the_end_shown_after_the_log() {
        let fake = Fake::new()
            .status_running(1)
            .then_failure()
            .log_lines(&["step 1"])
            .log_lines(&["step 2"])
            .log_done();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Failed);
        let order: Vec<String> = ran
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                crate::platform::event::Event::Log { line, .. } => Some(line.clone()),
                crate::platform::event::Event::StateChanged { state, .. } => {
                    Some(format!("[{state}]"))
                }
                _ => None,
            })
            .collect();
        assert_eq!(order, ["[running]", "step 1", "step 2", "[failed]"]);
        // A failed phase keeps its log's tail for the reports.
        assert_eq!(ran.outcome.log_tail, ["step 1", "step 2"]);
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("the platform reported deploy state \"failed\"")
        );
    }
}
