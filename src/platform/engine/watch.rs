//! The wait between two status reads when the platform did not ask for one: on the platform's
//! watch stream while it has one ([`Backend::watch`]), otherwise a jittered sleep of the current
//! interval. A broken stream falls back to polling for that round and is tried again on the next,
//! until it has broken more than [`Timing::max_errors`] times in a row.
//!
//! Must not read the state: a change seen on the stream only makes the next status read come at
//! once.
//!
//! [`Backend::watch`]: crate::platform::backend::Backend::watch
//! [`Timing::max_errors`]: super::Timing::max_errors

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use super::stop::Failure;
use super::timing::jitter;
use crate::error::Error;
use crate::platform::backend::{Operation, Watched};
use crate::platform::event::{Level, Phase};

/// The state of the watch stream over a phase.
pub(super) struct Watch {
    phase: Phase,
    /// Whether to watch at all (until the backend says it cannot, or the stream keeps breaking).
    on: bool,
    /// Breaks in a row.
    errors: u32,
}

impl Watch {
    /// A watch for `phase`, tried until it proves unsupported.
    pub(super) fn new(phase: Phase) -> Self {
        Self {
            phase,
            on: true,
            errors: 0,
        }
    }
}

impl Engine<'_> {
    /// Waits until the next status read. Returns `true` when the platform pushed a change: read
    /// at once, and keep the interval as it is.
    pub(super) async fn wait_for_change(
        &self,
        op: &mut Operation,
        deadline: Instant,
        watch: &mut Watch,
        interval: Duration,
    ) -> Result<bool, Failure> {
        if !watch.on {
            self.pause(jitter(interval), deadline).await?;
            return Ok(false);
        }
        let max = self.timing.poll_max.max(Duration::from_secs(1));
        match self.guard(self.backend.watch(op, max), deadline).await? {
            Ok(Watched::Changed) => {
                watch.errors = 0;
                return Ok(true);
            }
            Ok(Watched::Quiet) => watch.errors = 0,
            Ok(Watched::Unsupported) => {
                watch.on = false;
                self.pause(jitter(interval), deadline).await?;
            }
            Err(e) => {
                watch.errors += 1;
                self.watch_broke(watch.phase, &e, watch.errors).await;
                if watch.errors > self.timing.max_errors {
                    watch.on = false;
                }
                self.pause(jitter(interval), deadline).await?;
            }
        }
        Ok(false)
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
}

#[cfg(test)]
mod tests {
    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs, within_jitter};
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    #[tokio::test(start_paused = true)]
    async fn a_change_on_the_stream_skips_the_sleep() {
        // Each change arrives 3 s into the watch; the state is read then, not after a sleep.
        let fake = Fake::new()
            .status_running(3)
            .then_success()
            .watch_changed_after(secs(3))
            .watch_changed_after(secs(3))
            .watch_changed_after(secs(3));
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(
            fake.times(Call::Status),
            [secs(0), secs(3), secs(6), secs(9)]
        );
        assert_eq!(fake.times(Call::Watch), [secs(0), secs(3), secs(6)]);
        // The stream is asked for at most poll_max (10 s by default).
        assert_eq!(fake.watch_limits(), [secs(10); 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_on_the_stream_does_not_grow_the_interval() {
        // Two changes pushed, then the stream breaks: the polling wait is still the first
        // interval (1 s), not 4 s.
        let timing = Timing {
            poll_initial: secs(1),
            factor: 2.0,
            ..Timing::default()
        };
        let fake = Fake::new()
            .status_running(3)
            .then_success()
            .watch_changed_after(secs(3))
            .watch_changed_after(secs(3))
            .watch_fails(503);
        Harness::new().timing(timing).run(&fake).await;
        let gaps = fake.gaps(Call::Status);
        assert_eq!(gaps[..2], [secs(3), secs(3)]);
        assert!(within_jitter(gaps[2], secs(1)), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_is_the_wait() {
        let timing = Timing {
            poll_max: secs(4),
            ..Timing::default()
        };
        let fake = Fake::new()
            .status_running(2)
            .then_success()
            .watch_quiet_forever();
        Harness::new().timing(timing).run(&fake).await;
        assert_eq!(fake.times(Call::Status), [secs(0), secs(4), secs(8)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_stream_falls_back_to_polling_and_is_tried_again() {
        let timing = Timing {
            poll_initial: secs(1),
            factor: 2.0,
            ..Timing::default()
        };
        let fake = Fake::new()
            .status_running(3)
            .then_success()
            .watch_fails(503)
            .watch_fails(503)
            .watch_changed_after(secs(5));
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let gaps = fake.gaps(Call::Status);
        // Two polling waits (1 s, then 2 s, each ± 20 %), then the stream again.
        assert!(within_jitter(gaps[0], secs(1)), "{gaps:?}");
        assert!(within_jitter(gaps[1], secs(2)), "{gaps:?}");
        assert_eq!(gaps[2], secs(5));
        assert_eq!(fake.count(Call::Watch), 3);
        // One notice for the outage, not one per break.
        let broke: Vec<&String> = ran
            .notices()
            .into_iter()
            .filter(|n| n.contains("watch stream"))
            .collect();
        assert_eq!(broke.len(), 1, "{broke:?}");
        assert!(broke[0].contains("polling until it is back"), "{broke:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_keeps_breaking_is_given_up() {
        let timing = Timing {
            max_errors: 2,
            ..Timing::default()
        };
        let fake = Fake::new()
            .status_running(6)
            .then_success()
            .watch_fails_forever(503);
        let ran = Harness::new().timing(timing).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Watch), 3);
        assert!(
            ran.notices()
                .iter()
                .any(|n| n.contains("keeps breaking") && n.contains("polling from now on")),
            "{:?}",
            ran.notices()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_backend_without_a_stream_is_asked_once() {
        let fake = Fake::new().status_running(5).then_success();
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Watch), 1);
        assert!(ran.notices().is_empty(), "{:?}", ran.notices());
    }
}
