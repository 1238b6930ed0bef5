//! Stopping early: why waiting stopped (a signal or a time limit), how a step failed, and the
//! two ways of waiting that notice a stop — a pause and a guarded request.
//!
//! Must not cancel anything: it only says that waiting stopped; the phase decides what to cancel
//! (see `cancel.rs`). Must not sleep past the deadline.

use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use super::timing::later;
use crate::error::Error;
use crate::platform::event::{CancelReason, Phase, Status};

/// Why waiting stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// A signal (the run's cancellation token).
    Cancelled,
    /// The phase's timeout or the run's deadline.
    TimedOut,
}

/// Why a step of the phase did not complete.
pub(super) enum Failure {
    /// Stopped while nothing was in flight.
    Stop(Stop),
    /// Stopped while the trigger request was in flight (it may have started something).
    InFlight(Stop),
    /// A request failed for good.
    Error(Error),
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Self {
        Failure::Stop(s)
    }
}

impl Stop {
    /// How the phase ends.
    pub(super) fn status(self) -> Status {
        match self {
            Stop::Cancelled => Status::Cancelled,
            Stop::TimedOut => Status::TimedOut,
        }
    }

    /// Why the remote operation is being cancelled.
    pub(super) fn reason(self) -> CancelReason {
        match self {
            Stop::Cancelled => CancelReason::Signal,
            Stop::TimedOut => CancelReason::Timeout,
        }
    }

    /// What happened to the phase, as the middle of a sentence ("the deploy …").
    pub(super) fn what_happened(self) -> &'static str {
        match self {
            Stop::Cancelled => "was cancelled by a signal",
            Stop::TimedOut => "ran out of time",
        }
    }

    /// The phase's message; `asked_platform` when ferry asked the platform to cancel.
    pub(super) fn message(self, phase: Phase, asked_platform: bool) -> String {
        let then = if asked_platform {
            "; ferry asked the platform to cancel it"
        } else {
            ""
        };
        match self {
            Stop::Cancelled => format!("the {phase} was cancelled by a signal{then}"),
            Stop::TimedOut => format!(
                "the {phase} ran out of time{then} (raise `timeout` or the phase's own timeout)"
            ),
        }
    }
}

impl Engine<'_> {
    /// Sleeps, unless the run is cancelled or the deadline comes first.
    pub(super) async fn pause(&self, d: Duration, deadline: Instant) -> Result<(), Stop> {
        let wake = later(Instant::now(), d).min(deadline);
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {
                if Instant::now() >= deadline { Err(Stop::TimedOut) } else { Ok(()) }
            }
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
        }
    }

    /// Runs a safe request, abandoning it on cancel or deadline.
    pub(super) async fn guard<T>(
        &self,
        fut: impl std::future::Future<Output = T>,
        deadline: Instant,
    ) -> Result<T, Failure> {
        tokio::select! {
            r = fut => Ok(r),
            () = self.cancel.cancelled() => Err(Failure::Stop(Stop::Cancelled)),
            () = tokio::time::sleep_until(deadline) => Err(Failure::Stop(Stop::TimedOut)),
        }
    }
}
