//! Stage 5 — how we report: sinks that consume the engine's events and the final outcome.
//!
//! Each sink has one audience: the terminal, the CI log, the `--events` file, the job's outputs,
//! a forge. Sinks never decide what happened; they only show it. A failing sink is a warning
//! (unless `fail_on_report_error`), never a reason to change the deploy's result.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::ci::Context;
use crate::error::Result;
use crate::platform::{Event, RunOutcome};

/// An event with the time it was seen, as sinks receive it.
#[derive(Clone, Copy, Debug)]
pub struct Stamped<'a> {
    /// 1-based order of the event in the run.
    pub seq: u64,
    /// Wall-clock time the event was dispatched.
    pub time: SystemTime,
    /// Time since the run started.
    pub elapsed: Duration,
    pub event: &'a Event,
}

/// A consumer of events and of the final outcome.
#[async_trait]
pub trait Sink: Send {
    /// A short name for warnings (`terminal`, `events file`, `github`, …).
    fn name(&self) -> &'static str;

    /// Called for every event, in order.
    async fn event(&mut self, event: Stamped<'_>) -> Result<()>;

    /// Called once at the end with the run's outcome and context.
    async fn finish(&mut self, outcome: &RunOutcome, context: &Context) -> Result<()>;
}
