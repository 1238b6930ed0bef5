//! Polling: reading the state, and the log at a person's pace, until the state is terminal.
//!
//! - **The state** is read every [`Timing::poll_initial`], growing by [`Timing::factor`] up to
//!   [`Timing::poll_max`] while nothing changes (by default a constant 5 s: a `sleep 5` loop's
//!   cadence); only the first wait is jittered, so that the later gaps stay exact. When the
//!   platform gives an estimate, reads are sparse early and dense around the expected end
//!   (`timing::status_wait`). While a watch works (a stream, a long poll), the state is read
//!   only when it pushes a change, and every 30 s in case it went quiet.
//! - **The log** is read with each status read; while it flows, again every
//!   [`Timing::log_pace`] (at once after an answer cut at the platform's size limit). A log that
//!   says whether it is complete is the signal: while it flows the state is not read, and when
//!   it says complete the state is read at once. A log that cannot say is followed by a status
//!   read as soon as it pauses.
//! - A failed read waits what the platform asked (`Retry-After`) or backs off (`retry.rs`);
//!   every other wait is on the watch or a sleep (`watch.rs`).
//!
//! Must not show the terminal state or decide the outcome: it hands the terminal observation
//! back, so that the log's tail can be read first (`drain.rs`) and the log reads in order.
//!
//! [`Timing::poll_initial`]: super::Timing::poll_initial
//! [`Timing::factor`]: super::Timing::factor
//! [`Timing::poll_max`]: super::Timing::poll_max
//! [`Timing::log_pace`]: super::Timing::log_pace

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use super::log_read::Got;
use super::log_tail::LogTail;
use super::retry::Errors;
use super::stop::Failure;
use super::timing::{Expected, Timing, WATCH_MAX, asked_wait, later, phase_jitter, status_wait};
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
    /// No log read before this either, unless the state changed meanwhile: the log flows, and
    /// is read at a person's pace.
    paced: Option<Instant>,
    last_state: Option<String>,
    watch: Watch,
    /// The end the platform expects (from the first status read that gave an estimate).
    expected: Option<Expected>,
    /// The first status wait is over (only it is jittered).
    jittered: bool,
    /// The log says whether it is complete: its end is the signal.
    log_signals: bool,
    /// The last log read brought lines.
    flowing: bool,
    /// How long a quiet log waits for its next read: the pace, doubling while it stays quiet,
    /// up to the status interval.
    quiet: Duration,
    /// The log said it is complete: the state is about to be terminal.
    log_complete: bool,
}

impl Rounds {
    /// The wait before the next status read.
    fn next_wait(&mut self, timing: &Timing) -> Duration {
        let mut wait = if self.log_complete {
            // The end is the next thing to see.
            timing.log_pace.min(self.interval)
        } else if self.watch.working() {
            WATCH_MAX
        } else {
            status_wait(self.interval, Instant::now(), self.expected)
        };
        if !std::mem::replace(&mut self.jittered, true) {
            wait = phase_jitter(wait);
        }
        wait
    }
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
            paced: None,
            last_state: None,
            watch: Watch::new(phase),
            expected: None,
            jittered: false,
            log_signals: false,
            flowing: false,
            quiet: self.timing.log_pace,
            log_complete: false,
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
            // The wait the platform asked for comes first (a plain sleep); otherwise the cadence,
            // on the watch when there is one. A pushed change is read at once, and the interval
            // stays as it is.
            let due = later(
                Instant::now(),
                asked.unwrap_or_else(|| r.next_wait(&self.timing)),
            );
            let watch = asked.is_none();
            let pushed = if r.logs_on {
                self.follow_log(op, deadline, &mut r, tail, due, watch)
                    .await?
            } else {
                self.wait_until(op, deadline, &mut r.watch, due, watch)
                    .await?
            };
            if asked.is_some() {
                // Whatever the log said meanwhile, the status is not read before the platform
                // allows.
                self.pause(due.saturating_duration_since(Instant::now()), deadline)
                    .await?;
                r.interval = self.timing.grow(r.interval);
            } else if pushed {
                // A change: the state first, then the log at once.
                r.paced = None;
            } else {
                r.interval = self.timing.grow(r.interval);
            }
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
        if r.expected.is_none()
            && let Some(estimate) = obs.estimate
        {
            r.expected = Some(Expected {
                end: later(Instant::now(), estimate),
                estimate,
            });
        }
        if r.last_state.as_deref() != Some(obs.state.as_str()) {
            self.state_changed(tail, r.phase, &obs.state, obs.class)
                .await;
            outcome.state = Some(self.redactor.redact(&obs.state));
            r.last_state = Some(obs.state);
            r.interval = self.timing.poll_initial;
            // The log may say more about the new state: read it now.
            r.paced = None;
        }
        Ok(Read::NotYet(None))
    }

    /// Reads the log until the state is due at `due`: again every [`Timing::log_pace`] while
    /// it flows (at once after a capped answer), waiting on the watch in between. Returns
    /// `true` when the state is to be read at once: the log said it is complete, a flowing log
    /// that cannot say so paused, or the platform pushed a change.
    ///
    /// [`Timing::log_pace`]: super::Timing::log_pace
    async fn follow_log(
        &self,
        op: &mut Operation,
        deadline: Instant,
        r: &mut Rounds,
        tail: &mut LogTail,
        mut due: Instant,
        watch: bool,
    ) -> Result<bool, Failure> {
        loop {
            // Not before the pace (or the wait the platform asked for) allows.
            let hold = r.logs_after.max(r.paced);
            if let Some(after) = hold.filter(|after| *after > Instant::now()) {
                if after >= due {
                    return self
                        .wait_until(op, deadline, &mut r.watch, due, watch)
                        .await;
                }
                if self
                    .wait_until(op, deadline, &mut r.watch, after, watch)
                    .await?
                {
                    return Ok(true);
                }
            }
            let Some(got) = self.read_log_once(op, deadline, r, tail).await? else {
                return self
                    .wait_until(op, deadline, &mut r.watch, due, watch)
                    .await;
            };
            if got.complete.is_some() {
                r.log_signals = true;
            }
            if got.complete == Some(true) {
                // Nothing more will come: the end is the next thing to see.
                r.logs_on = false;
                r.log_complete = true;
                return Ok(true);
            }
            if got.lines == 0 {
                // A pause: a log that cannot say it ended may have, so look now; otherwise the
                // state is read at its time, and the log again before it.
                let was_flowing = std::mem::replace(&mut r.flowing, false);
                if was_flowing && !r.log_signals {
                    return Ok(true);
                }
                // A quiet log is read again sooner than the state, less and less often (a log
                // that starts again shows within seconds); reading a live log sends nothing, so
                // it stays at the pace.
                let step = if self.backend.log_is_live(op) {
                    self.timing.log_pace
                } else {
                    let step = r.quiet.min(r.interval);
                    r.quiet = step.saturating_mul(2);
                    step
                };
                r.paced = Some(later(Instant::now(), step));
                continue;
            }
            // Flowing: a flowing log keeps the state's cadence at its start, and one that will
            // say when it is complete holds the status reads back meanwhile.
            r.flowing = true;
            r.quiet = self.timing.log_pace;
            r.interval = self.timing.poll_initial;
            if r.log_signals {
                due = due.max(later(Instant::now(), r.interval));
            }
            if got.more {
                continue;
            }
            r.paced = Some(later(Instant::now(), self.timing.log_pace));
        }
    }

    /// One read of what is new in the log, unless a wait the platform asked for holds it back;
    /// errors may stop the reading.
    async fn read_log_once(
        &self,
        op: &mut Operation,
        deadline: Instant,
        r: &mut Rounds,
        tail: &mut LogTail,
    ) -> Result<Option<Got>, Failure> {
        match self.read_logs(op, deadline, tail).await? {
            Ok(got) => {
                r.log_errors = 0;
                r.logs_after = None;
                Ok(Some(got))
            }
            Err(e) => {
                // A wait the platform asked for holds the log back, not the state.
                r.logs_after = asked_wait(&e).map(|d| later(Instant::now(), d));
                r.logs_on = self.log_error(r.phase, &e, &mut r.log_errors).await;
                Ok(None)
            }
        }
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

    /// The status reads of a run that ended at `end`: how many came before it, the expected
    /// delay to notice an end that falls anywhere within 3 s of it (from the gaps that overlap
    /// that span: Σgap² / 2Σgap), and when it was seen.
    fn measure(fake: &Fake, end: Duration) -> (usize, Duration, Duration) {
        let times = fake.times(Call::Status);
        let during = times.iter().filter(|t| **t < end).count();
        let near: Vec<Duration> = times
            .windows(2)
            .filter(|w| w[1] + secs(3) > end && w[0] < end + secs(3))
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        let sum: f64 = near.iter().map(Duration::as_secs_f64).sum();
        let squares: f64 = near.iter().map(|g| g.as_secs_f64().powi(2)).sum();
        let seen = times
            .iter()
            .find(|t| **t >= end)
            .copied()
            .unwrap_or_default();
        (during, Duration::from_secs_f64(squares / (2.0 * sum)), seen)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_build_is_read_like_a_sleep_5_loop_with_exact_gaps() {
        for length in [30, 47, 60, 91] {
            let end = secs(length);
            let fake = Fake::new().ends_at(end);
            let ran = Harness::new().run(&fake).await;
            assert_eq!(ran.outcome.status, Status::Succeeded);
            let (during, delay, seen) = measure(&fake, end);
            // No more reads than `sleep 5` makes (0, 5, 10, …) ...
            assert!(
                during as u64 <= length.div_ceil(5),
                "{during} reads in {length} s"
            );
            // ... and the end is seen within 2.5 s on average (every gap but the first is 5 s),
            // 6 s at worst.
            assert!(delay <= Duration::from_millis(2500), "{delay:?}");
            assert!(seen.saturating_sub(end) <= secs(6), "{seen:?}");
            let gaps = fake.gaps(Call::Status);
            assert!(gaps[1..].iter().all(|g| *g == secs(5)), "{gaps:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_estimate_reads_sparsely_early_and_densely_around_the_end() {
        // The platform's estimate is 10 % off either way: the window (±15 %) still holds it.
        for (length, estimate) in [(60, 60), (60, 54), (60, 66), (300, 330)] {
            let end = secs(length);
            let fake = Fake::new().ends_at(end).estimate(secs(estimate));
            Harness::new().run(&fake).await;
            let (during, delay, seen) = measure(&fake, end);
            assert!(
                during as u64 * 10 <= 3 * length,
                "{during} reads in {length} s (estimate {estimate} s)"
            );
            assert!(delay <= secs(1), "{delay:?} (estimate {estimate} s)");
            assert!(
                seen.saturating_sub(end) <= Duration::from_millis(1500),
                "{seen:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wrong_estimate_falls_back_to_the_interval() {
        let end = secs(90);
        let fake = Fake::new().ends_at(end).estimate(secs(30));
        Harness::new().run(&fake).await;
        // The window closes at 30 + 5 s: from there on, every 5 s again.
        let times = fake.times(Call::Status);
        let late: Vec<Duration> = times
            .windows(2)
            .filter(|w| w[0] >= secs(40))
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        assert!(late.iter().all(|g| *g == secs(5)), "{times:?}");
        let (_, delay, _) = measure(&fake, end);
        assert!(delay <= Duration::from_millis(2500), "{delay:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_flowing_log_that_says_when_it_ends_is_read_once_a_second_and_is_the_signal() {
        let end = secs(60);
        let fake = Fake::new().ends_at(end).log_flowing_to_the_end(Some(false));
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let logs = fake.times(Call::Logs);
        let log_reads = logs.iter().filter(|t| **t < end).count();
        // One log read a second, and no status read while the log flows (only the first).
        assert_eq!(log_reads, 60, "{logs:?}");
        assert!(
            logs.windows(2)
                .all(|w| w[1].saturating_sub(w[0]) >= secs(1)),
            "{logs:?}"
        );
        let statuses = fake.times(Call::Status);
        assert_eq!(statuses.iter().filter(|t| **t < end).count(), 1);
        // The log says it is complete at the first read after the end: the state is read at
        // once.
        assert_eq!(statuses.last(), logs.last());
        assert!(
            logs.last().unwrap().saturating_sub(end) <= secs(1),
            "{logs:?}"
        );
        assert_eq!(ran.logs().len(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flowing_log_that_cannot_say_when_it_ends_keeps_the_status_cadence() {
        let end = secs(60);
        let fake = Fake::new().ends_at(end).log_flowing_to_the_end(None);
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let statuses = fake.times(Call::Status);
        let during = statuses.iter().filter(|t| **t < end).count();
        assert!(during <= 13, "{statuses:?}");
        // Its pause after the end is looked into at once: the end is seen within a second.
        let seen = statuses.iter().find(|t| **t >= end).unwrap();
        assert!(seen.saturating_sub(end) <= secs(1), "{statuses:?}");
        let log_reads = fake.times(Call::Logs).iter().filter(|t| **t < end).count();
        assert!(log_reads <= 61, "{log_reads}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_live_log_is_read_at_the_pace_even_while_it_is_silent() {
        // Reading a stream's log sends nothing: a line after a silence shows within a second,
        // while the state is read only on its cadence.
        let fake = Fake::new()
            .status_running(3)
            .then_success()
            .live_log()
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&["late line"], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_read(&[], Some(false))
            .log_done();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let logs = fake.times(Call::Logs);
        assert_eq!(logs[..4], [secs(0), secs(1), secs(2), secs(3)]);
        assert_eq!(ran.logs(), ["late line"]);
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
    async fn new_log_lines_reset_the_interval_and_a_pause_after_them_is_looked_into() {
        // A quiet log is read again after 1 s, then 2 s: its lines come at 3 s, and the interval
        // starts again at 1 s. The log cannot say when it is complete, so its pause at the next
        // read (4 s, a second later) brings a status read at once; then 2 s, 4 s.
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
