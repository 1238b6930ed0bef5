//! Resolving: waiting until a triggered operation can be observed (a queue item becomes a
//! build), polling the backend's resolve step with the same back-off, jitter and tolerance of
//! errors as the status; each new reason for waiting is shown as a state.
//!
//! Must not read the status or the log, and must not decide the outcome: a platform that says
//! the operation will never start is reported back to the phase as [`Start::Never`].

use tokio::time::Instant;

use super::Engine;
use super::log_tail::LogTail;
use super::retry::Errors;
use super::stop::Failure;
use super::timing::jitter;
use crate::platform::backend::{Operation, Resolved};
use crate::platform::event::{Phase, StateClass};

/// How waiting for the operation to become observable ended.
pub(super) enum Start {
    /// It can be observed now.
    Ready,
    /// It will never start; the platform's reason.
    Never(String),
}

impl Engine<'_> {
    /// Polls the resolve step until the operation is ready, or will never start.
    pub(super) async fn resolve(
        &self,
        op: &mut Operation,
        deadline: Instant,
        phase: Phase,
        tail: &LogTail,
    ) -> Result<Start, Failure> {
        let mut interval = self.timing.poll_initial;
        let mut errors = Errors::default();
        let mut last_why: Option<Option<String>> = None;
        loop {
            let mut asked = None;
            match self.guard(self.backend.resolve(op), deadline).await? {
                Ok(Resolved::Ready) => return Ok(Start::Ready),
                Ok(Resolved::Waiting(why)) => {
                    errors = Errors::default();
                    if last_why.as_ref() != Some(&why) {
                        let state = why.clone().unwrap_or_else(|| "queued".into());
                        self.state_changed(tail, phase, &state, StateClass::Running)
                            .await;
                        last_why = Some(why);
                    }
                }
                Ok(Resolved::Failed(message)) => return Ok(Start::Never(message)),
                Err(e) => {
                    asked = Some(self.tolerate(phase, e, &mut errors, interval).await?);
                }
            }
            let wait = asked.unwrap_or_else(|| jitter(interval));
            self.pause(wait, deadline).await?;
            interval = self.timing.grow(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, within_jitter};
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    #[tokio::test(start_paused = true)]
    async fn a_queued_operation_is_waited_for_then_observed() {
        let timing = Timing {
            poll_initial: Duration::from_secs(1),
            factor: 2.0,
            ..Timing::default()
        };
        let fake = Fake::new()
            .resolve_waiting(Some("waiting for an executor"))
            .resolve_waiting(Some("waiting for an executor"))
            .resolve_waiting(None)
            .then_success();
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let resolves = fake.times(Call::Resolve);
        assert_eq!(resolves.len(), 4);
        let gaps = fake.gaps(Call::Resolve);
        for (gap, interval) in gaps.iter().zip([1, 2, 4]) {
            assert!(
                within_jitter(*gap, Duration::from_secs(interval)),
                "{gaps:?}"
            );
        }
        // The status is read once the operation is ready, not before.
        assert_eq!(fake.times(Call::Status), [resolves[3]]);
        // Each new reason once, then the platform's state.
        assert_eq!(ran.states(), ["waiting for an executor", "queued", "done"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_will_never_start_fails_the_phase() {
        let fake = Fake::new()
            .resolve_waiting(None)
            .resolve_fails("removed from the queue by alice");
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Failed);
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some("removed from the queue by alice")
        );
        assert_eq!(fake.count(Call::Status), 0);
        assert_eq!(fake.count(Call::Cancel), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn resolve_errors_are_tolerated_like_status_errors() {
        let fake = Fake::new()
            .resolve_fails_after(503, Duration::from_secs(2))
            .resolve_waiting(None)
            .then_success();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.gaps(Call::Resolve)[0], Duration::from_secs(2));
        assert_eq!(ran.retries().len(), 1);
    }
}
