//! Fetching: once the operation has succeeded, reading what its outputs need besides the last
//! state ([`Backend::fetch`], e.g. the app whose URL is the environment's), with the tolerance of
//! errors of a status read (`retry.rs`).
//!
//! Must not cancel the operation or change its outcome: it has succeeded. A signal or the time
//! limit while reading cuts the reading short with a warning; the outputs then miss what was
//! not read.
//!
//! [`Backend::fetch`]: crate::platform::backend::Backend::fetch

use tokio::time::Instant;

use super::retry::Errors;
use super::stop::{Failure, Stop};
use super::{Engine, phase_of};
use crate::platform::backend::Operation;
use crate::platform::event::{Level, Phase};

impl Engine<'_> {
    /// Reads what the outputs need; an error that is not worth retrying (or one too many) is
    /// the phase's error.
    pub(super) async fn fetch(&self, op: &mut Operation, deadline: Instant) -> Result<(), Failure> {
        let phase = phase_of(op);
        let mut errors = Errors::default();
        let mut interval = self.timing.poll_initial;
        loop {
            let e = match self.guard(self.backend.fetch(op), deadline).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e,
                Err(Failure::Stop(stop) | Failure::InFlight(stop)) => {
                    self.fetch_cut(phase, stop).await;
                    return Ok(());
                }
                Err(failure @ Failure::Error(_)) => return Err(failure),
            };
            let wait = self.tolerate(phase, e, &mut errors, interval).await?;
            if let Err(stop) = self.pause(wait, deadline).await {
                self.fetch_cut(phase, stop).await;
                return Ok(());
            }
            interval = self.timing.grow(interval);
        }
    }

    /// Says that the outputs may miss what was not read.
    async fn fetch_cut(&self, phase: Phase, stop: Stop) {
        self.notice(
            Level::Warning,
            format!(
                "the {phase} succeeded, but it {} while ferry read its outputs: some may be missing",
                stop.what_happened()
            ),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs};
    use crate::platform::event::Status;

    #[tokio::test(start_paused = true)]
    async fn a_success_is_fetched_once_and_a_failure_never() {
        let fake = Fake::new().then_success().fetching();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Fetch), 1);
        let fake = Fake::new().then_failure().fetching();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Failed);
        assert_eq!(fake.count(Call::Fetch), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_retried_like_a_status_read() {
        let fake = Fake::new()
            .then_success()
            .fetch_fails_after(429, secs(7))
            .fetch_fails(503);
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Fetch), 3);
        assert_eq!(fake.gaps(Call::Fetch)[0], secs(7));
        assert_eq!(ran.retries().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_the_platform_refuses_errors_the_phase_without_cancelling() {
        let fake = Fake::new().then_success().fetch_fails(404);
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Errored);
        let message = ran.outcome.message.unwrap_or_default();
        assert!(message.contains("HTTP 404"), "{message}");
        assert_eq!(fake.count(Call::Cancel), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_while_fetching_keeps_the_success_and_cancels_nothing() {
        let fake = Fake::new().then_success().fetch_fails_after(503, secs(60));
        let ran = Harness::new().signal_at(secs(10)).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(ran.took, secs(10));
        assert_eq!(fake.count(Call::Cancel), 0);
        assert_eq!(
            ran.notices(),
            [
                "the deploy succeeded, but it was cancelled by a signal while ferry read its outputs: some may be missing"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_phase_reports_no_url_and_says_why_in_the_platforms_words() {
        let fake = Fake::new()
            .then_failure()
            .outputs(&[("url", "https://staging.example.com"), ("id", "r-1")])
            .message("the release command exited with status 1");
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Failed);
        assert_eq!(ran.outcome.url(), None);
        assert_eq!(ran.outcome.outputs["id"], "r-1");
        assert_eq!(
            ran.outcome.message.as_deref(),
            Some(
                "the platform reported deploy state \"failed\": the release command exited with status 1"
            )
        );
    }
}
