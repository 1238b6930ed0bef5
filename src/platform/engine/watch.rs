//! The wait until the next read when the platform did not ask for one: on the platform's watch
//! (a stream, a long poll, the end of a streamed log) while it has one ([`Backend::watch`]),
//! otherwise a sleep. A broken watch falls back to sleeping for that wait and is tried again on
//! the next, until it has broken more than [`Timing::max_errors`] times in a row.
//!
//! Must not read the state: a change seen on the watch only makes the next status read come at
//! once.
//!
//! [`Backend::watch`]: crate::platform::backend::Backend::watch
//! [`Timing::max_errors`]: super::Timing::max_errors

use tokio::time::Instant;

use super::Engine;
use super::stop::Failure;
use crate::error::Error;
use crate::platform::backend::{Operation, Watched};
use crate::platform::event::{Level, Phase};

/// The most watches in one wait (each quiet one that ended early is followed by another).
const MAX_WATCHES: usize = 100;

/// The state of the watch over a phase.
pub(super) struct Watch {
    phase: Phase,
    /// Whether to watch at all (until the backend says it cannot, or the watch keeps breaking).
    on: bool,
    /// Breaks in a row.
    errors: u32,
    /// The last wait on it ended as the backend said (a change, or quiet): a push is coming, so
    /// the state need not be read on the usual cadence.
    working: bool,
}

impl Watch {
    /// A watch for `phase`, tried until it proves unsupported.
    pub(super) fn new(phase: Phase) -> Self {
        Self {
            phase,
            on: true,
            errors: 0,
            working: false,
        }
    }

    /// Whether the platform is pushing changes now.
    pub(super) fn working(&self) -> bool {
        self.on && self.working
    }
}

impl Engine<'_> {
    /// Waits until `until` (and the next read). Returns `true` when the platform pushed a change
    /// before: read the state at once, and keep the interval as it is. `watch_now` false (the
    /// platform asked for the wait): a plain sleep.
    pub(super) async fn wait_until(
        &self,
        op: &mut Operation,
        deadline: Instant,
        watch: &mut Watch,
        until: Instant,
        watch_now: bool,
    ) -> Result<bool, Failure> {
        // A quiet watch may end before `until` (a long poll the platform answered unchanged, a
        // stream's own limit): watch again for the rest, so that no part of the wait goes
        // unwatched. The bound keeps a backend that answers at once from spinning.
        for _ in 0..MAX_WATCHES {
            let max = until.saturating_duration_since(Instant::now());
            if !watch.on || !watch_now || max.is_zero() {
                break;
            }
            let answer = self.guard(self.backend.watch(op, max), deadline).await?;
            // A wait sized for a working watch (30 s) is cut to one interval when it stops
            // working.
            let sized_for_watch = watch.working;
            watch.working = matches!(answer, Ok(Watched::Changed | Watched::Quiet));
            match answer {
                Ok(Watched::Changed) => {
                    watch.errors = 0;
                    return Ok(true);
                }
                Ok(Watched::Quiet) => {
                    watch.errors = 0;
                    continue;
                }
                // Nothing to watch (any more): poll.
                Ok(Watched::Unsupported) => watch.on = false,
                Err(e) => {
                    watch.errors += 1;
                    self.watch_broke(watch.phase, &e, watch.errors).await;
                    if watch.errors > self.timing.max_errors {
                        watch.on = false;
                    }
                }
            }
            let rest = until.saturating_duration_since(Instant::now());
            let rest = if sized_for_watch {
                rest.min(self.timing.poll_initial)
            } else {
                rest
            };
            self.pause(rest, deadline).await?;
            return Ok(false);
        }
        self.pause(until.saturating_duration_since(Instant::now()), deadline)
            .await?;
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
        // The first watch is asked for one interval (5 s, up to 20 % longer); once it works,
        // for 30 s.
        let limits = fake.watch_limits();
        assert!(limits[0] >= secs(5) && limits[0] < secs(6), "{limits:?}");
        assert_eq!(limits[1..], [secs(30); 2]);
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
    async fn a_working_quiet_watch_holds_status_reads_back_to_every_30_s() {
        let fake = Fake::new()
            .status_running(2)
            .then_success()
            .watch_quiet_forever();
        Harness::new().run(&fake).await;
        let times = fake.times(Call::Status);
        // The first wait is the interval (5 s, up to 20 % longer), on the watch; it stays
        // quiet, so it works: the next read comes 30 s later.
        assert!(times[1] >= secs(5) && times[1] < secs(6), "{times:?}");
        assert_eq!(times[2].saturating_sub(times[1]), secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_that_ends_quiet_before_the_wait_is_over_is_watched_again() {
        // The first watch is quiet for 2 s only (a long poll answered unchanged), the next one
        // sees the change 3 s later: the state is read at 5 s, not after the 5 s wait sleeps.
        let fake = Fake::new()
            .status_running(1)
            .then_success()
            .watch_quiet_after(secs(2))
            .watch_changed_after(secs(3));
        let ran = Harness::new().run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.times(Call::Watch), [secs(0), secs(2)]);
        assert_eq!(fake.times(Call::Status), [secs(0), secs(5)]);
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
        // Two polling waits (1 s, then 2 s), then the stream again.
        assert!(within_jitter(gaps[0], secs(1)), "{gaps:?}");
        assert_eq!(gaps[1], secs(2), "{gaps:?}");
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
