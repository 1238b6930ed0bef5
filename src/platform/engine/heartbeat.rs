//! The heartbeat: a [`Event::Heartbeat`] after [`Timing::heartbeat`] of silence, so that people
//! (and CI systems that kill quiet jobs) see the phase is still waiting; and [`Activity`], the
//! clock of the last thing that happened.
//!
//! Must not talk to the platform or change the phase: it runs beside the phase as its own task,
//! only reads the activity clock, and is aborted when the phase ends.
//!
//! [`Timing::heartbeat`]: super::Timing::heartbeat

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::platform::event::{Emitter, Event, Phase};

/// How often the heartbeat task looks at the activity clock (at most).
const TICK: Duration = Duration::from_millis(500);

/// When something last happened (a log line, a state change, a heartbeat), as milliseconds
/// since the phase started: shared between the phase and its heartbeat task.
pub(super) struct Activity {
    started: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    /// A clock for a phase that started at `started` (which counts as activity).
    pub(super) fn new(started: Instant) -> Self {
        Self {
            started,
            last_ms: AtomicU64::new(0),
        }
    }

    /// Something happened now.
    pub(super) fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long nothing has happened.
    fn quiet(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// Starts the heartbeat of `phase`: every `every` of silence on `activity`, one
/// [`Event::Heartbeat`] (which counts as activity). Abort the handle when the phase ends.
pub(super) fn spawn(
    emitter: Emitter,
    every: Duration,
    phase: Phase,
    activity: Arc<Activity>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK.min(every)).await;
            if activity.quiet() >= every {
                activity.touch();
                emitter
                    .emit(Event::Heartbeat {
                        phase,
                        state: None,
                        elapsed: activity.started.elapsed(),
                    })
                    .await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, secs};
    use crate::platform::event::Event;

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_follows_each_heartbeat_of_silence() {
        let fake = Fake::new().status_running_forever();
        let ran = Harness::new().timeout(secs(65)).run(&fake).await;
        assert_eq!(ran.heartbeats(), [secs(20), secs(40), secs(60)]);
        // Each is emitted when it is due, not later.
        let at: Vec<Duration> = ran
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Heartbeat { .. }))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(at, [secs(20), secs(40), secs(60)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_state_change_puts_the_next_heartbeat_off() {
        // The state changes at 15 s (pushed through the watch, then quiet watches: the state is
        // read again 30 s later): the heartbeats come 20 s after it, not at 20 s.
        let fake = Fake::new()
            .status_state("building")
            .watch_changed_after(secs(15))
            .status_state_forever("testing")
            .watch_quiet_forever();
        let ran = Harness::new().timeout(secs(60)).run(&fake).await;
        assert_eq!(fake.times(Call::Status)[..3], [secs(0), secs(15), secs(45)]);
        assert_eq!(ran.heartbeats(), [secs(35), secs(55)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_line_puts_the_next_heartbeat_off() {
        // The state never changes after 0 s; a log line comes with the read at 15 s.
        let fake = Fake::new()
            .status_running_forever()
            .watch_changed_after(secs(15))
            .watch_quiet_forever()
            .log_quiet(1)
            .log_lines(&["step 2"])
            .log_quiet_forever();
        let ran = Harness::new().timeout(secs(60)).run(&fake).await;
        assert_eq!(fake.times(Call::Logs)[..2], [secs(0), secs(15)]);
        assert_eq!(ran.logs(), ["step 2"]);
        assert_eq!(ran.heartbeats(), [secs(35), secs(55)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_phase_that_ends_quickly_has_no_heartbeat() {
        let fake = Fake::new().status_running(3).then_success();
        let ran = Harness::new().run(&fake).await;
        assert!(ran.heartbeats().is_empty(), "{:?}", ran.heartbeats());
    }
}
