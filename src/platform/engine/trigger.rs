//! Starting the remote operation, and when a failed trigger may be sent again: only when that
//! cannot start a second operation — the backend's trigger is idempotent (the platform honours an
//! idempotency key) and the error is transient, or the platform answered 429 (it did nothing).
//! A rate limit's wait (`Retry-After`) is honoured as often as the platform asks, within the
//! deadline; only the other failures count toward [`Timing::max_errors`].
//!
//! Must not wait on a trigger in flight past a signal or the deadline: it is abandoned at once
//! and reported as [`Failure::InFlight`], so that the phase can look for what it may have
//! started (`cancel.rs`).
//!
//! [`Timing::max_errors`]: super::Timing::max_errors

use tokio::time::Instant;

use super::retry::Errors;
use super::stop::{Failure, Stop};
use super::{Engine, PhaseRequest};
use crate::error::Error;
use crate::platform::backend::Operation;
use crate::platform::event::Phase;

impl Engine<'_> {
    /// Triggers the phase's operation, retrying only what is safe to repeat.
    pub(super) async fn trigger(
        &self,
        req: &PhaseRequest,
        deadline: Instant,
    ) -> Result<Operation, Failure> {
        let idempotent = self.backend.trigger_replay(req.phase).is_safe();
        let mut errors = Errors::default();
        let mut wait = self.timing.poll_initial;
        loop {
            // A trigger in flight is abandoned at once on a signal or the deadline (GitHub kills
            // the job 7.5 s after its first signal); what it may have started is looked for
            // and cancelled by the caller.
            let result = tokio::select! {
                r = self.backend.trigger(req.phase, &req.vars) => r,
                () = self.cancel.cancelled() => return Err(Failure::InFlight(Stop::Cancelled)),
                () = tokio::time::sleep_until(deadline) => return Err(Failure::InFlight(Stop::TimedOut)),
            };
            let e = match result {
                Ok(op) => return Ok(op),
                Err(e) => e,
            };
            let rejected = matches!(e, Error::PlatformApi { status: 429, .. });
            let safe = e.is_transient() && (idempotent || rejected);
            if e.is_transient() && !safe {
                return Err(Failure::Error(self.not_retried(&e, req.phase)));
            }
            // A rate limit's wait is not counted: ferry waits as often as it is asked.
            if !safe || errors.one_too_many(&e, self.timing.max_errors) {
                return Err(Failure::Error(e));
            }
            wait = self.timing.backoff_after(&e, wait);
            let budget = errors.budget(&e, self.timing.max_errors);
            self.retrying(req.phase, errors.attempt(), budget, wait, &e)
                .await;
            self.pause(wait, deadline).await?;
            wait = self.timing.grow(wait);
        }
    }

    /// The error for a transient failure of a trigger that is not safe to repeat: why it was not
    /// retried, and how to make it safe.
    fn not_retried(&self, e: &Error, phase: Phase) -> Error {
        Error::BadResponse {
            platform: self.backend.name().to_string(),
            url: String::from("the trigger"),
            problem: format!(
                "{e}; it was not retried, because repeating a trigger that may have started an operation could start a second one"
            ),
            hint: format!(
                "if the platform honours an idempotency key, send {{{{ idempotency_key }}}} in a [{phase}.trigger] header (e.g. Idempotency-Key) and ferry will retry safely"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs, tick, within_jitter};
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    /// A cadence that starts at 250 ms and grows up to 10 s, so that each back-off step shows.
    fn quick() -> Timing {
        Timing {
            poll_initial: Duration::from_millis(250),
            poll_max: secs(10),
            ..Timing::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_is_retried_even_when_the_trigger_is_not_idempotent() {
        let fake = Fake::new()
            .trigger_fails_after(429, secs(3))
            .trigger_fails(429)
            .then_success();
        let ran = Harness::new().timing(quick()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let gaps = fake.gaps(Call::Trigger);
        // Retry-After exactly; then, without it, the back-off grown from there (3 s × 1.5
        // = 4.5 s, × 1.5 again, ± 20 %).
        assert_eq!(gaps[0], secs(3));
        let next = Duration::from_secs_f64(4.5 * 1.5);
        assert!(within_jitter(gaps[1], next), "{gaps:?}");
        let waits: Vec<Duration> = ran.retries().iter().map(|(_, w, _)| tick(*w)).collect();
        assert_eq!(waits, gaps);
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_error_is_retried_when_the_trigger_is_idempotent() {
        let fake = Fake::new()
            .trigger_idempotent()
            .trigger_fails(503)
            .trigger_unreachable()
            .then_success();
        let ran = Harness::new().timing(quick()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Trigger), 3);
        let gaps = fake.gaps(Call::Trigger);
        // 250 ms is raised to 500 ms, × 1.5 = 750 ms ± 20 %.
        assert!(
            within_jitter(gaps[0], Duration::from_millis(750)),
            "{gaps:?}"
        );
        let attempts: Vec<u32> = ran.retries().iter().map(|(a, _, _)| *a).collect();
        assert_eq!(attempts, [1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_error_is_not_retried_when_the_trigger_is_not_idempotent() {
        for fault in [
            Fake::new().trigger_fails(503),
            Fake::new().trigger_unreachable(),
        ] {
            let fake = fault.then_success();
            let ran = Harness::new().run(&fake).await;
            assert_eq!(ran.outcome.status, Status::Errored);
            assert_eq!(fake.calls(), [(Call::Trigger, Duration::ZERO)]);
            assert!(ran.retries().is_empty());
            let message = ran.outcome.message.unwrap_or_default();
            assert!(message.contains("it was not retried"), "{message}");
            assert!(
                message.contains("{{ idempotency_key }}") && message.contains("[deploy.trigger]"),
                "{message}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_trigger_is_never_retried() {
        for idempotent in [false, true] {
            let fake = Fake::new().trigger_fails(400).then_success();
            let fake = if idempotent {
                fake.trigger_idempotent()
            } else {
                fake
            };
            let ran = Harness::new().run(&fake).await;
            assert_eq!(ran.outcome.status, Status::Errored);
            assert_eq!(fake.count(Call::Trigger), 1);
            let message = ran.outcome.message.unwrap_or_default();
            assert!(message.contains("HTTP 400"), "{message}");
            // Repeating would not help: no advice about idempotency keys.
            assert!(!message.contains("idempotency"), "{message}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_after_max_errors() {
        let timing = Timing {
            max_errors: 2,
            ..Timing::default()
        };
        let fake = Fake::new()
            .trigger_idempotent()
            .trigger_fails(503)
            .trigger_fails(503)
            .trigger_fails(503)
            .then_success();
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Errored);
        assert_eq!(fake.count(Call::Trigger), 3);
        assert_eq!(ran.retries().len(), 2);
        assert_eq!(fake.count(Call::Status), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_time_limit_between_two_attempts_cancels_nothing() {
        let fake = Fake::new()
            .trigger_fails_after(429, secs(60))
            .then_success();
        let ran = Harness::new().timeout(secs(10)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, secs(10));
        assert_eq!(fake.count(Call::Trigger), 1);
        assert_eq!(fake.count(Call::Recover), 0);
        assert!(ran.cancellings().is_empty());
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("the deploy ran out of time (raise `timeout` or the phase's own timeout)")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_between_two_attempts_cancels_nothing() {
        // Nothing was started (the platform said 429): nothing to look for or cancel.
        let fake = Fake::new()
            .trigger_fails_after(429, secs(60))
            .then_success();
        let ran = Harness::new().signal_at(secs(10)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Cancelled);
        assert_eq!(ran.took, secs(10));
        assert_eq!(fake.count(Call::Trigger), 1);
        assert_eq!(fake.count(Call::Recover), 0);
        assert_eq!(fake.count(Call::Cancel), 0);
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("the deploy was cancelled by a signal")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_trigger_is_sent_again_as_often_as_the_platform_asks() {
        let timing = Timing {
            max_errors: 2,
            ..Timing::default()
        };
        let mut fake = Fake::new();
        for _ in 0..10 {
            fake = fake.trigger_fails_after(429, secs(20));
        }
        let fake = fake.then_success();
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Trigger), 11);
        assert_eq!(fake.gaps(Call::Trigger), [secs(20); 10]);
        let attempts: Vec<u32> = ran.retries().iter().map(|(a, _, _)| *a).collect();
        assert_eq!(attempts, (1..=10).collect::<Vec<u32>>());
    }
}
