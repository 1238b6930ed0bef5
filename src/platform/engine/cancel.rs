//! Cancelling the remote operation after a signal or a time limit: the operation ferry knows,
//! or — when the trigger was abandoned in flight — the one the backend can find
//! ([`Backend::recover`]). Each attempt is bounded by [`Timing::cancel_grace`], and a cancel that
//! fails or does not answer is reported as a warning that says what may still run.
//!
//! Must not be called for an operation that finished (the phase only cancels after a stop while
//! waiting), and must not retry: a job being killed has seconds left.
//!
//! [`Backend::recover`]: crate::platform::backend::Backend::recover
//! [`Timing::cancel_grace`]: super::Timing::cancel_grace

use super::stop::Stop;
use super::{Engine, PhaseRequest, phase_of};
use crate::error::Error;
use crate::platform::backend::Operation;
use crate::platform::event::{Event, Level, PhaseOutcome};

impl Engine<'_> {
    /// Asks the platform to stop `op`, within the cancel grace; whether the platform took the
    /// request (when it did not, or cannot be asked, a warning says what may still run).
    pub(super) async fn cancel_remote(&self, op: &Operation, stop: Stop) -> bool {
        let phase = phase_of(op);
        let reason = stop.reason();
        self.emitter.emit(Event::Cancelling { phase, reason }).await;
        let warning = match tokio::time::timeout(self.timing.cancel_grace, self.backend.cancel(op))
            .await
        {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => format!(
                "could not cancel {phase} {}: {}; it may still be running on the platform",
                op.id,
                self.redactor.redact(&e.to_string())
            ),
            Err(_) => format!(
                "the platform did not answer the cancel request for {phase} {} within {}s; it may still be running",
                op.id,
                self.timing.cancel_grace.as_secs()
            ),
        };
        self.notice(Level::Warning, warning).await;
        false
    }

    /// After a trigger was abandoned in flight: finds what it may have started and cancels it,
    /// within the cancel grace; returns the phase's message, which says plainly when ferry could
    /// not.
    pub(super) async fn recover_and_cancel(
        &self,
        req: &PhaseRequest,
        stop: Stop,
        outcome: &mut PhaseOutcome,
    ) -> String {
        let phase = req.phase;
        let why = stop.what_happened();
        self.emitter
            .emit(Event::Cancelling {
                phase,
                reason: stop.reason(),
            })
            .await;
        let found = tokio::time::timeout(self.timing.cancel_grace, self.find_and_cancel(req)).await;
        let said = match found {
            Ok(Ok(Some(id))) => {
                let said = format!(
                    "the {phase} {why} while its trigger was in flight; ferry found {phase} {id} and asked the platform to cancel it"
                );
                outcome.id = Some(id);
                return said;
            }
            Ok(Ok(None)) => format!(
                "the {phase} {why} while its trigger request was in flight: ferry cannot tell whether the platform started it, and this platform gives no way to find it. Check the platform and cancel it there if it runs (a trigger that sends {{{{ idempotency_key }}}} lets ferry find and cancel it)"
            ),
            Ok(Err(e)) => format!(
                "the {phase} {why} while its trigger request was in flight, and ferry could not find or cancel what it may have started: {}. Check the platform and cancel it there if it runs",
                self.redactor.redact(&e.to_string())
            ),
            Err(_) => format!(
                "the {phase} {why} while its trigger request was in flight, and the platform did not answer ferry's search for it within {}s. Check the platform and cancel it there if it runs",
                self.timing.cancel_grace.as_secs()
            ),
        };
        self.notice(Level::Warning, said.clone()).await;
        said
    }

    /// Looks for the operation an abandoned trigger may have started, and cancels it; returns
    /// its id, or `None` when the backend cannot look.
    async fn find_and_cancel(&self, req: &PhaseRequest) -> Result<Option<String>, Error> {
        let Some(op) = self.backend.recover(req.phase, &req.vars).await? else {
            return Ok(None);
        };
        self.backend.cancel(&op).await?;
        Ok(Some(op.id))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs};
    use crate::platform::event::{CancelReason, Status};

    #[tokio::test(start_paused = true)]
    async fn a_signal_while_polling_cancels_the_operation_once() {
        let fake = Fake::new().status_running_forever();
        let ran = Harness::new().signal_at(secs(5)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Cancelled);
        assert_eq!(ran.took, secs(5));
        assert_eq!(fake.times(Call::Cancel), [secs(5)]);
        assert_eq!(ran.cancellings(), [(secs(5), CancelReason::Signal)]);
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("the deploy was cancelled by a signal; ferry asked the platform to cancel it")
        );
        assert!(ran.notices().is_empty(), "{:?}", ran.notices());
    }

    #[tokio::test(start_paused = true)]
    async fn the_phase_timeout_cancels_and_times_out() {
        let fake = Fake::new().status_running_forever();
        let ran = Harness::new()
            .timeout(secs(10))
            .deadline_in(secs(60))
            .run(&fake)
            .await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(10));
        assert_eq!(fake.times(Call::Cancel), [secs(10)]);
        assert_eq!(ran.cancellings(), [(secs(10), CancelReason::Timeout)]);
        let message = ran.outcome.message.unwrap_or_default();
        assert!(
            message
                .starts_with("the deploy ran out of time; ferry asked the platform to cancel it"),
            "{message}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_runs_deadline_wins_over_a_longer_phase_timeout() {
        let fake = Fake::new().status_running_forever();
        let ran = Harness::new()
            .timeout(secs(3600))
            .deadline_in(secs(7))
            .run(&fake)
            .await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(7));
        assert_eq!(fake.times(Call::Cancel), [secs(7)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_time_limit_cuts_a_hanging_request_and_a_long_retry_after() {
        // A status read that takes an hour, and a Retry-After of five minutes: neither keeps
        // ferry past the limit.
        let slow = Fake::new().status_hangs();
        let ran = Harness::new().timeout(secs(10)).run(&slow).await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(10));
        let asked = Fake::new()
            .status_fails_after(503, Duration::from_secs(300))
            .status_running_forever();
        let ran = Harness::new().timeout(secs(10)).run(&asked).await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(10));
        assert_eq!(asked.count(Call::Status), 1);
        assert_eq!(asked.count(Call::Cancel), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_that_fails_or_does_not_answer_is_reported() {
        let refused = Fake::new().status_running_forever().cancel_fails(409);
        let ran = Harness::new().signal_at(secs(5)).run(&refused).await;
        assert_eq!(ran.outcome.status, Status::Cancelled);
        let notices = ran.notices();
        assert!(
            notices.len() == 1 && notices[0].starts_with("could not cancel deploy op-1: "),
            "{notices:?}"
        );
        assert!(notices[0].contains("HTTP 409"), "{notices:?}");
        // A cancel the platform did not take is not claimed in the phase's message.
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("the deploy was cancelled by a signal")
        );

        let silent = Fake::new().status_running_forever().cancel_hangs();
        let ran = Harness::new().signal_at(secs(5)).run(&silent).await;
        assert_eq!(ran.outcome.status, Status::Cancelled);
        // The cancel grace (5 s), no more.
        assert_eq!(ran.took, secs(10));
        assert_eq!(
            ran.notices(),
            [
                "the platform did not answer the cancel request for deploy op-1 within 5s; it may still be running"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_abandons_a_hanging_trigger_and_cancels_what_it_finds() {
        for recoverable in [true, false] {
            let fake = Fake::new().trigger_hangs();
            let fake = if recoverable {
                fake.recoverable()
            } else {
                fake
            };
            let ran = Harness::new().signal_at(secs(1)).run(&fake).await;
            assert_eq!(ran.took, secs(1));
            assert_eq!(ran.outcome.status, Status::Cancelled);
            assert_eq!(ran.cancellings(), [(secs(1), CancelReason::Signal)]);
            assert_eq!(fake.times(Call::Recover), [secs(1)]);
            let message = ran.outcome.message.clone().unwrap_or_default();
            if recoverable {
                assert_eq!(fake.count(Call::Cancel), 1);
                assert!(message.contains("found deploy op-1"), "{message}");
                assert_eq!(ran.outcome.id.as_deref(), Some("op-1"));
            } else {
                assert_eq!(fake.count(Call::Cancel), 0);
                assert!(message.contains("cannot tell"), "{message}");
                assert!(ran.notices().iter().any(|n| n.contains("cannot tell")));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_time_limit_during_a_hanging_trigger_looks_for_what_it_started() {
        let fake = Fake::new().trigger_hangs().recover_fails(502);
        let ran = Harness::new().timeout(secs(30)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(30));
        assert_eq!(ran.cancellings(), [(secs(30), CancelReason::Timeout)]);
        assert_eq!(fake.count(Call::Cancel), 0);
        let message = ran.outcome.message.unwrap_or_default();
        assert!(
            message.starts_with("the deploy ran out of time while its trigger request was in flight, and ferry could not find or cancel what it may have started"),
            "{message}"
        );
        assert!(message.contains("HTTP 502"), "{message}");
    }
}
