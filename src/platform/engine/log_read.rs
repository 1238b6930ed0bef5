//! Reading the log while the operation runs: what the log has now, in as many reads as a
//! platform that caps each response needs, within a bound so that the state stays fresh; and
//! what a failed log read means (shared with the drain).
//!
//! Must not decide the outcome: a log that cannot be read only stops being read, with a warning;
//! the state decides.

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use super::log_tail::LogTail;
use super::stop::Failure;
use super::timing::{asked_wait, later};
use crate::error::Error;
use crate::platform::backend::Operation;
use crate::platform::event::{Level, Phase};

/// A log read at least this large may have been cut by the platform's cap on one response.
const CAPPED_READ: u64 = 64 * 1024;

/// The most reads in one go, however the platform answers.
const MAX_READS: usize = 1024;

/// What reading the log now found.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Got {
    /// Lines shown.
    pub(super) lines: u64,
    /// Whether the platform says the log is complete (its last answer); `None` when it cannot
    /// say.
    pub(super) complete: Option<bool>,
    /// The reads stopped at their time bound while answers were still cut at the platform's
    /// size limit: read on at once.
    pub(super) more: bool,
}

impl Engine<'_> {
    /// Reads what the log has now: repeated reads while they bring lines (a platform may cap
    /// each response), within a bound so that the state stays fresh. Returns what was read, or
    /// the error of a first read that failed.
    pub(super) async fn read_logs(
        &self,
        op: &mut Operation,
        deadline: Instant,
        tail: &mut LogTail,
    ) -> Result<Result<Got, Error>, Failure> {
        let until = later(
            Instant::now(),
            self.timing.poll_max.max(Duration::from_secs(1)),
        );
        let mut got = Got::default();
        for _ in 0..MAX_READS {
            let before = op.log.offset;
            match self.guard(self.backend.logs(op, tail), deadline).await? {
                Ok(read) => {
                    got.lines += read.lines;
                    got.complete = read.complete;
                    // Only a large answer may have been cut by the platform's cap: read again at
                    // once. Anything smaller was all there was; wait for the next tick.
                    let grew = op.log.offset.saturating_sub(before);
                    got.more = false;
                    if read.lines == 0 || read.complete == Some(true) || grew < CAPPED_READ {
                        break;
                    }
                    got.more = true;
                    if Instant::now() >= until {
                        break;
                    }
                }
                Err(e) if got.lines == 0 => return Ok(Err(e)),
                Err(_) => break,
            }
        }
        Ok(Ok(got))
    }

    /// A failed log read: warn, retry transient errors a few times, then stop reading logs
    /// (the state still decides the outcome). Returns whether to keep reading.
    pub(super) async fn log_error(&self, phase: Phase, e: &Error, errors: &mut u32) -> bool {
        // A rate limit's wait is honoured by the caller and not counted (as in `retry.rs`).
        if asked_wait(e).is_none() {
            *errors += 1;
        }
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::Harness;
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    #[tokio::test(start_paused = true)]
    async fn a_capped_answer_is_read_again_at_once_a_small_one_waits_for_the_next_tick() {
        // Two full pages (the platform's cap), then the rest, all in the first tick.
        let fake = Fake::new()
            .status_running(2)
            .then_success()
            .log_page(&["page 1"], 64 * 1024)
            .log_page(&["page 2"], 64 * 1024)
            .log_page(&["rest"], 10)
            .log_quiet_forever();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let logs = fake.times(Call::Logs);
        assert_eq!(logs[..3], [Duration::ZERO; 3]);
        // The next read comes with the next status read.
        assert_eq!(logs[3], fake.times(Call::Status)[1]);
        assert_eq!(ran.logs(), ["page 1", "page 2", "rest"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_that_keeps_failing_stops_being_read_and_the_state_decides() {
        let timing = Timing {
            max_errors: 2,
            ..Timing::default()
        };
        let fake = Fake::new()
            .status_running(5)
            .then_success()
            .log_fails_forever(503);
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        // Tolerated twice, given up on the third failure: no drain after the end either.
        assert_eq!(fake.count(Call::Logs), 3);
        assert_eq!(
            ran.notices()
                .iter()
                .filter(|n| n.starts_with("stopped reading the deploy log"))
                .count(),
            1,
            "{:?}",
            ran.notices()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_that_is_not_there_stops_being_read_at_once() {
        let fake = Fake::new()
            .status_running(3)
            .then_success()
            .log_fails_forever(404);
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Logs), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_read_refused_with_retry_after_waits_while_the_state_is_still_read() {
        let fake = Fake::new()
            .status_running(30)
            .then_success()
            .log_fails_after(429, Duration::from_secs(3))
            .log_quiet_forever();
        let timing = Timing {
            poll_initial: Duration::from_secs(1),
            ..Timing::default()
        };
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let logs = fake.times(Call::Logs);
        assert!(logs.len() >= 2, "{logs:?}");
        let waited = logs[1].saturating_sub(logs[0]);
        assert!(
            waited >= Duration::from_secs(3),
            "the next log read came {waited:?} after the 429"
        );
        // Meanwhile the state was read at its own cadence.
        let statuses_between = fake
            .times(Call::Status)
            .iter()
            .filter(|t| **t > logs[0] && **t < logs[1])
            .count();
        assert!(statuses_between >= 2, "{statuses_between}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_log_is_read_again_however_often_the_platform_asks() {
        // Five rate-limited answers with max_errors = 2: each wait is honoured and none counts,
        // so the log is still read when it answers.
        let timing = Timing {
            max_errors: 2,
            ..Timing::default()
        };
        let mut fake = Fake::new().status_running(60).then_success();
        for _ in 0..5 {
            fake = fake.log_fails_after(429, Duration::from_secs(1));
        }
        let fake = fake.log_lines(&["built"]).log_done();
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(ran.logs(), ["built"]);
        assert!(
            !ran.notices()
                .iter()
                .any(|n| n.starts_with("stopped reading")),
            "{:?}",
            ran.notices()
        );
    }
}
