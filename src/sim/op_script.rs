//! How one simulated operation behaves: how long it waits in a queue, how long it runs, how much
//! log it writes, how it ends. Pure data; the state machine that follows it lives in `op`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::duration;

/// How a simulated operation ends when nobody cancels it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `succeeded`, `live`, `stopped`, `SUCCESS`, `Healthy`, `success`, depending on the dialect.
    #[default]
    Success,
    /// `failed`, `FAILURE`, `Degraded`; the last normal log line says `error: step failed`.
    Failure,
}

/// The timeline of one kind of operation (build, deploy or stop).
///
/// An operation is queued for `queue`, then runs for `duration` while writing `log_lines` lines at
/// an even rate, then turns terminal per `outcome`. `tail_lines` more lines appear `tail_delay`
/// after the terminal state, so a client has to keep reading the log after the final status.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpScript {
    /// Time spent queued before running.
    #[serde(deserialize_with = "duration::required")]
    pub queue: Duration,
    /// Time spent running; the operation is terminal at `queue + duration`.
    #[serde(deserialize_with = "duration::required")]
    pub duration: Duration,
    /// Log lines written while running.
    pub log_lines: u64,
    /// How the operation ends.
    pub outcome: Outcome,
    /// Log lines that appear only after the terminal state.
    pub tail_lines: u64,
    /// How long after the terminal state the tail lines appear.
    #[serde(deserialize_with = "duration::required")]
    pub tail_delay: Duration,
}

impl Default for OpScript {
    /// The demo build: the same as [`OpScript::build`].
    fn default() -> Self {
        Self::build()
    }
}

impl OpScript {
    /// The demo build: queued 300 ms, runs 2 s writing 30 lines, 3 tail lines 300 ms later.
    pub fn build() -> Self {
        Self {
            queue: Duration::from_millis(300),
            duration: Duration::from_secs(2),
            log_lines: 30,
            outcome: Outcome::Success,
            tail_lines: 3,
            tail_delay: Duration::from_millis(300),
        }
    }

    /// The demo deploy: pending 200 ms, deploys 1.5 s writing 15 lines, 2 tail lines 200 ms later.
    pub fn deploy() -> Self {
        Self {
            queue: Duration::from_millis(200),
            duration: Duration::from_millis(1500),
            log_lines: 15,
            outcome: Outcome::Success,
            tail_lines: 2,
            tail_delay: Duration::from_millis(200),
        }
    }

    /// The demo stop: quick, no tail.
    pub fn stop() -> Self {
        Self {
            queue: Duration::from_millis(100),
            duration: Duration::from_millis(400),
            log_lines: 3,
            outcome: Outcome::Success,
            tail_lines: 0,
            tail_delay: Duration::ZERO,
        }
    }

    /// A test-speed operation: tens of milliseconds for everything.
    pub fn fast() -> Self {
        Self {
            queue: Duration::from_millis(20),
            duration: Duration::from_millis(60),
            log_lines: 6,
            outcome: Outcome::Success,
            tail_lines: 2,
            tail_delay: Duration::from_millis(30),
        }
    }

    /// The same script ending in `outcome`.
    #[must_use]
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// When the operation turns terminal, counted from its creation.
    pub fn terminal_after(&self) -> Duration {
        self.queue.saturating_add(self.duration)
    }
}

/// An `OpScript` table as written in a file: every key optional, missing keys taken from the
/// default of the operation kind it describes (so `[deploy] outcome = "failure"` keeps the deploy
/// timings rather than the build's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    #[serde(default, deserialize_with = "duration::optional")]
    queue: Option<Duration>,
    #[serde(default, deserialize_with = "duration::optional")]
    duration: Option<Duration>,
    log_lines: Option<u64>,
    outcome: Option<Outcome>,
    tail_lines: Option<u64>,
    #[serde(default, deserialize_with = "duration::optional")]
    tail_delay: Option<Duration>,
}

impl Partial {
    fn over(self, base: &OpScript) -> OpScript {
        OpScript {
            queue: self.queue.unwrap_or(base.queue),
            duration: self.duration.unwrap_or(base.duration),
            log_lines: self.log_lines.unwrap_or(base.log_lines),
            outcome: self.outcome.unwrap_or(base.outcome),
            tail_lines: self.tail_lines.unwrap_or(base.tail_lines),
            tail_delay: self.tail_delay.unwrap_or(base.tail_delay),
        }
    }
}

/// `Script::build` from a file: missing keys from [`OpScript::build`].
pub(crate) fn build_table<'de, D: Deserializer<'de>>(de: D) -> Result<OpScript, D::Error> {
    Partial::deserialize(de).map(|p| p.over(&OpScript::build()))
}

/// `Script::deploy` from a file: missing keys from [`OpScript::deploy`].
pub(crate) fn deploy_table<'de, D: Deserializer<'de>>(de: D) -> Result<OpScript, D::Error> {
    Partial::deserialize(de).map(|p| p.over(&OpScript::deploy()))
}

/// `Script::stop` from a file: missing keys from [`OpScript::stop`].
pub(crate) fn stop_table<'de, D: Deserializer<'de>>(de: D) -> Result<OpScript, D::Error> {
    Partial::deserialize(de).map(|p| p.over(&OpScript::stop()))
}
