//! Draining: reading the tail of the log after the terminal state (a platform may write its last
//! lines after it says the operation ended), until the platform says the log is complete or,
//! when it cannot say, until two reads in a row bring nothing, at least a second after the end.
//! Reading stops after [`Timing::drain`] of silence, after [`Timing::drain_max`] in all, at the
//! run's deadline, or on a signal; each of these says so in a warning.
//!
//! Must not cancel the operation or change its outcome: it has finished, and whatever happens
//! here, its state stands.
//!
//! [`Timing::drain`]: super::Timing::drain
//! [`Timing::drain_max`]: super::Timing::drain_max

use std::time::Duration;

use tokio::time::Instant;

use super::log_tail::LogTail;
use super::timing::{asked_wait, later};
use super::{Engine, phase_of};
use crate::platform::backend::{LogSink, Operation};
use crate::platform::event::{Level, Phase};

/// How long a log without a completion signal must stay quiet after the end before it is
/// taken as complete.
const QUIET_TAIL: Duration = Duration::from_secs(1);

/// The first pause between two reads of the tail (it doubles up to [`MAX_PAUSE`]).
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// The longest pause between two reads of the tail.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Why reading a finished operation's log stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    Silence,
    Limit,
    Signal,
}

impl Engine<'_> {
    /// Reads the rest of a finished operation's log, within its bounds, and shows a last line
    /// that never got its newline.
    pub(super) async fn drain(&self, op: &mut Operation, deadline: Instant, tail: &mut LogTail) {
        let phase = phase_of(op);
        let started = Instant::now();
        let hard = deadline.min(later(started, self.timing.drain_max));
        if let Some(cut) = self.read_tail(op, phase, started, hard, tail).await {
            let message = self.cut_message(cut, phase, started, hard);
            self.notice(Level::Warning, message).await;
        }
        // A last line without a newline is still a line once the log is over.
        if !op.log.carry.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut op.log.carry)).into_owned();
            tail.line(line.trim_end_matches('\r')).await;
        }
    }

    /// Reads until the log is complete (`None`), or says why reading stopped early.
    async fn read_tail(
        &self,
        op: &mut Operation,
        phase: Phase,
        started: Instant,
        hard: Instant,
        tail: &mut LogTail,
    ) -> Option<Cut> {
        // The silence limit counts from the last line that arrived: a long tail keeps flowing.
        let mut until = hard.min(later(started, self.timing.drain));
        let mut empty = 0;
        let mut errors = 0;
        let mut wait = self.timing.poll_initial.min(FIRST_PAUSE);
        loop {
            if Instant::now() >= until {
                return Some(if until >= hard {
                    Cut::Limit
                } else {
                    Cut::Silence
                });
            }
            let read = tokio::select! {
                r = self.backend.logs(op, tail) => r,
                () = self.cancel.cancelled() => return Some(Cut::Signal),
                () = tokio::time::sleep_until(until) => continue,
            };
            match read {
                Ok(read) => {
                    errors = 0;
                    match read.complete {
                        Some(true) => return None,
                        Some(false) => {}
                        None if read.lines == 0 => {
                            // Without a completion signal: two empty reads in a row, at least
                            // QUIET_TAIL after the end (a platform may flush its tail late).
                            empty += 1;
                            if empty >= 2 && started.elapsed() >= QUIET_TAIL {
                                return None;
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
                        return None;
                    }
                    // A wait the platform asked for is honoured, within the drain's limits.
                    if let Some(asked) = asked_wait(&e) {
                        wait = wait.max(asked);
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(until.min(later(Instant::now(), wait))) => {}
                () = self.cancel.cancelled() => return Some(Cut::Signal),
            }
            wait = (wait * 2).min(MAX_PAUSE);
        }
    }

    /// The warning for a tail that was not read to its end.
    fn cut_message(&self, cut: Cut, phase: Phase, started: Instant, hard: Instant) -> String {
        match cut {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs};
    use crate::platform::event::Status;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_that_says_it_is_complete_ends_the_drain_at_once() {
        let fake = Fake::new()
            .then_success()
            .log_read(&["the last line"], Some(true))
            .log_quiet_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Logs), 1);
        assert_eq!(ran.took, Duration::ZERO);
        assert_eq!(ran.logs(), ["the last line"]);
        assert!(ran.notices().is_empty(), "{:?}", ran.notices());
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_completion_signal_two_empty_reads_a_second_after_the_end_end_it() {
        // The pause between reads doubles from 200 ms to 1 s; two empty reads in a row are
        // enough only once a second has passed since the end.
        let fake = Fake::new().then_success().log_quiet_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(fake.times(Call::Logs), [ms(0), ms(200), ms(600), ms(1400)]);
        assert_eq!(ran.took, ms(1400));
        assert!(ran.notices().is_empty(), "{:?}", ran.notices());
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_flushed_late_is_still_shown_and_read_again_at_once() {
        let fake = Fake::new()
            .then_success()
            .log_quiet(1)
            .log_lines(&["flushed late"])
            .log_quiet_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(
            fake.times(Call::Logs),
            [ms(0), ms(200), ms(200), ms(600), ms(1400)]
        );
        assert_eq!(ran.logs(), ["flushed late"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_silent_for_drain_is_left_with_a_warning() {
        let fake = Fake::new().then_success().log_incomplete_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(ran.took, secs(30));
        let notices = ran.notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].contains("brought nothing new") && notices[0].contains("for 30s"),
            "{notices:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_silence_counts_from_the_last_line() {
        // Reads at 0, 0.2, 0.6, 1.4, 2.4 … s: the thirteenth, at 10.4 s, brings a line.
        let mut fake = Fake::new().then_success();
        for _ in 0..12 {
            fake = fake.log_read(&[], Some(false));
        }
        let fake = fake
            .log_read(&["late"], Some(false))
            .log_incomplete_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(fake.times(Call::Logs)[12], ms(10_400));
        assert_eq!(ran.took, ms(40_400));
        assert_eq!(ran.logs(), ["late"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_that_keeps_growing_after_the_end_is_read_for_drain_max_at_most() {
        let fake = Fake::new().latency(ms(50)).then_success().log_endless();
        let ran = Harness::new().timeout(secs(3600)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Cancel), 0);
        // The status read ended at 150 ms (three calls of 50 ms): the drain took 120 s.
        assert_eq!(ran.took, ms(150) + secs(120));
        assert!(ran.logs().len() > 2000, "{}", ran.logs().len());
        assert!(
            ran.notices()
                .iter()
                .any(|n| n.contains("still growing 120s")),
            "{:?}",
            ran.notices()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_runs_deadline_cuts_the_drain_and_the_outcome_stands() {
        let fake = Fake::new().latency(ms(50)).then_success().log_endless();
        let ran = Harness::new().deadline_in(secs(10)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(ran.took, secs(10));
        assert_eq!(fake.count(Call::Cancel), 0);
        assert!(
            ran.notices()
                .iter()
                .any(|n| n.contains("at the run's time limit")),
            "{:?}",
            ran.notices()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_cuts_the_drain_and_never_cancels_a_finished_operation() {
        let fake = Fake::new().then_success().log_incomplete_forever();
        let ran = Harness::new().signal_at(secs(5)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(ran.took, secs(5));
        assert_eq!(fake.count(Call::Cancel), 0);
        assert!(ran.cancellings().is_empty());
        assert!(
            ran.notices()
                .iter()
                .any(|n| n.contains("on a signal") && n.contains("its outcome stands")),
            "{:?}",
            ran.notices()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_last_line_without_its_newline_is_shown_at_the_end() {
        let fake = Fake::new()
            .then_success()
            .log_partial("no newline at the end\r")
            .log_done();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.logs(), ["no newline at the end"]);
        assert_eq!(fake.count(Call::Logs), 2);
    }
}
