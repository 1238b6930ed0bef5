//! One simulated operation and its state machine: queued → running → succeeded | failed, or
//! cancelled. Everything is a function of the time elapsed since creation, computed on demand.

use std::time::Duration;

use tokio::time::Instant;

use super::log::{LINE_WIDTH, LogText};
use super::op_script::{OpScript, Outcome};
use crate::platform::Phase;

/// Where an operation is in its life. Dialects map it to their own words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl State {
    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, State::Succeeded | State::Failed | State::Cancelled)
    }
}

/// A cancel request that reached a live operation.
#[derive(Clone, Copy, Debug)]
struct Cancel {
    /// Time since creation when it arrived: the operation's clock stops there.
    at: Duration,
    /// Normal log lines written when it arrived.
    written: u64,
}

/// What part of an operation's log exists at a given moment.
#[derive(Clone, Debug)]
pub(crate) struct LogView {
    pub(crate) text: LogText,
    /// Bytes written so far (always whole lines).
    pub(crate) written: u64,
    /// Whether nothing more will ever be written.
    pub(crate) finished: bool,
}

impl LogView {
    /// The byte range one read starting at `from` returns: up to what is written, at most `max`
    /// bytes cut back to a line boundary (but at least to the end of the line `from` is in, so a
    /// reader always progresses). `from` at or beyond the end gives an empty range at `from`.
    pub(crate) fn window(&self, from: u64, max: u64) -> (u64, u64) {
        if from >= self.written {
            return (from, from);
        }
        let mut to = from.saturating_add(max) / LINE_WIDTH * LINE_WIDTH;
        if to <= from {
            to = (from / LINE_WIDTH + 1) * LINE_WIDTH;
        }
        (from, to.min(self.written))
    }

    /// Whether a reader that has everything up to `next` has the whole, finished log.
    pub(crate) fn complete_at(&self, next: u64) -> bool {
        self.finished && next >= self.written
    }
}

/// One operation: a build, a deploy or a stop, whatever the dialect that started it.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    /// `b-1`, `d-2`, `s-3`.
    pub(crate) id: String,
    pub(crate) phase: Phase,
    /// Names the operation in its log lines.
    pub(crate) label: String,
    pub(crate) app: String,
    pub(crate) environment: Option<String>,
    /// What a deploy deploys.
    pub(crate) artifact: Option<String>,
    script: OpScript,
    created: Instant,
    cancel: Option<Cancel>,
}

impl Op {
    /// How long it takes, queue included, when nobody cancels it.
    pub(crate) fn length(&self) -> std::time::Duration {
        self.script.terminal_after()
    }

    /// How long it runs, after its queue.
    pub(crate) fn running_time(&self) -> std::time::Duration {
        self.script.duration
    }

    pub(crate) fn new(id: String, phase: Phase, app: String, script: OpScript) -> Self {
        Self {
            label: id.clone(),
            id,
            phase,
            app,
            environment: None,
            artifact: None,
            script,
            created: Instant::now(),
            cancel: None,
        }
    }

    /// Time since creation, stopped at a cancel.
    fn elapsed(&self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.created);
        match self.cancel {
            Some(cancel) => elapsed.min(cancel.at),
            None => elapsed,
        }
    }

    /// Whether the operation got out of its queue (a cancel may have come first).
    pub(crate) fn left_queue(&self, now: Instant) -> bool {
        self.elapsed(now) >= self.script.queue
    }

    /// The state at `now`.
    pub(crate) fn state(&self, now: Instant) -> State {
        if self.cancel.is_some() {
            return State::Cancelled;
        }
        let elapsed = self.elapsed(now);
        if elapsed < self.script.queue {
            State::Queued
        } else if elapsed < self.script.terminal_after() {
            State::Running
        } else {
            match self.script.outcome {
                Outcome::Success => State::Succeeded,
                Outcome::Failure => State::Failed,
            }
        }
    }

    /// How far through its run the operation is at `now`, from 0 (queued) to 1 (terminal).
    pub(crate) fn progress(&self, now: Instant) -> f64 {
        let ran = self.elapsed(now).saturating_sub(self.script.queue);
        if ran >= self.script.duration {
            1.0
        } else {
            ran.as_secs_f64() / self.script.duration.as_secs_f64()
        }
    }

    /// How far through its queue time the operation is at `now`, from 0 to 1.
    pub(crate) fn queue_progress(&self, now: Instant) -> f64 {
        let waited = self.elapsed(now);
        if waited >= self.script.queue {
            1.0
        } else {
            waited.as_secs_f64() / self.script.queue.as_secs_f64()
        }
    }

    /// The run time so far (zero while queued), for dialects that report a duration.
    pub(crate) fn ran(&self, now: Instant) -> Duration {
        self.elapsed(now)
            .saturating_sub(self.script.queue)
            .min(self.script.duration)
    }

    /// Normal and tail lines written at `now`, ignoring any cancel.
    fn lines_at(&self, now: Instant) -> u64 {
        let s = &self.script;
        let elapsed = self.elapsed(now);
        if elapsed < s.queue {
            return 0;
        }
        let ran = elapsed.saturating_sub(s.queue);
        if ran < s.duration {
            // Evenly spread: line i (1-based) appears at queue + duration * i / n.
            let lines = u128::from(s.log_lines) * ran.as_nanos() / s.duration.as_nanos();
            return u64::try_from(lines).unwrap_or(s.log_lines);
        }
        if s.tail_lines > 0 && ran.saturating_sub(s.duration) >= s.tail_delay {
            s.log_lines + s.tail_lines
        } else {
            s.log_lines
        }
    }

    /// The log as it stands at `now`.
    pub(crate) fn log(&self, now: Instant) -> LogView {
        let text = LogText::new(self.phase, &self.label, &self.script);
        if let Some(cancel) = self.cancel {
            let text = text.cancelled(cancel.written);
            let written = text.total_lines() * LINE_WIDTH;
            return LogView {
                text,
                written,
                finished: true,
            };
        }
        let lines = self.lines_at(now);
        LogView {
            finished: self.state(now).is_terminal() && lines == text.total_lines(),
            written: lines * LINE_WIDTH,
            text,
        }
    }

    /// Cancels a queued or running operation; a terminal one is left alone and its state returned.
    pub(crate) fn cancel(&mut self, now: Instant) -> Result<(), State> {
        let state = self.state(now);
        if state.is_terminal() {
            return Err(state);
        }
        self.cancel = Some(Cancel {
            at: self.elapsed(now),
            written: self.lines_at(now),
        });
        Ok(())
    }

    /// When the operation left (or will leave) its queue and started running.
    pub(crate) fn started_at(&self) -> Instant {
        self.created + self.script.queue
    }

    /// When the operation turned (or will turn) terminal without a cancel, for ordering deploys
    /// and stops of one environment.
    pub(crate) fn ends_at(&self) -> Instant {
        self.created + self.script.terminal_after()
    }

    /// When the operation was created.
    pub(crate) fn created_at(&self) -> Instant {
        self.created
    }

    /// When a cancel stopped the operation, if one did.
    pub(crate) fn cancelled_at(&self) -> Option<Instant> {
        self.cancel.map(|cancel| self.created + cancel.at)
    }

    /// When line `index` (0-based) of the log was or will be written, so that a dialect can stamp
    /// log entries with times: exactly the moment [`Op::log`] starts including it (the cancel
    /// line at the cancel, tail lines `tail_delay` after the terminal state).
    pub(crate) fn written_at(&self, index: u64) -> Instant {
        let s = &self.script;
        if let Some(cancel) = self.cancel
            && index >= cancel.written
        {
            return self.created + cancel.at;
        }
        let run = self.created + s.queue;
        if index < s.log_lines {
            // Line i is in `lines_at` once log_lines * ran >= duration * (i + 1): round up.
            let n = u128::from(s.log_lines);
            let nanos = (s.duration.as_nanos() * u128::from(index + 1)).div_ceil(n);
            return run + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        }
        run + s.duration + s.tail_delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(script: OpScript) -> Op {
        Op::new("b-1".into(), Phase::Build, "app".into(), script)
    }

    #[test]
    fn follows_the_script_in_time() {
        let script = OpScript {
            queue: Duration::from_millis(100),
            duration: Duration::from_secs(1),
            log_lines: 10,
            outcome: Outcome::Failure,
            tail_lines: 2,
            tail_delay: Duration::from_millis(500),
        };
        let op = op(script);
        let t0 = op.created;
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(op.state(at(50)), State::Queued);
        assert_eq!(op.log(at(50)).written, 0);
        assert_eq!(op.state(at(100)), State::Running);
        assert_eq!(op.log(at(199)).written, 0);
        assert_eq!(op.log(at(200)).written, LINE_WIDTH);
        assert_eq!(op.log(at(650)).written, 5 * LINE_WIDTH);
        assert_eq!(op.state(at(1100)), State::Failed);
        let view = op.log(at(1100));
        assert_eq!((view.written, view.finished), (10 * LINE_WIDTH, false));
        let view = op.log(at(1600));
        assert_eq!((view.written, view.finished), (12 * LINE_WIDTH, true));
    }

    #[test]
    fn cancel_adds_one_line_and_finishes() {
        let mut op = op(OpScript {
            queue: Duration::ZERO,
            duration: Duration::from_secs(1),
            log_lines: 10,
            ..OpScript::fast()
        });
        let t0 = op.created;
        op.cancel(t0 + Duration::from_millis(450)).unwrap();
        let view = op.log(t0 + Duration::from_secs(5));
        assert_eq!((view.written, view.finished), (5 * LINE_WIDTH, true));
        assert!(view.text.line(4).contains("cancelled by request"));
        assert_eq!(op.cancel(t0), Err(State::Cancelled));
    }

    #[test]
    fn written_at_is_when_the_log_first_shows_the_line() {
        let mut op = op(OpScript {
            queue: Duration::from_millis(7),
            duration: Duration::from_millis(90),
            log_lines: 7,
            tail_lines: 2,
            tail_delay: Duration::from_millis(5),
            ..OpScript::fast()
        });
        for i in 0..9 {
            let at = op.written_at(i);
            assert!(op.log(at).written > i * LINE_WIDTH, "line {i}");
            let before = at - Duration::from_nanos(1);
            assert!(op.log(before).written <= i * LINE_WIDTH, "line {i}");
        }
        let t0 = op.created;
        op.cancel(t0 + Duration::from_millis(40)).unwrap();
        assert_eq!(op.cancelled_at(), Some(t0 + Duration::from_millis(40)));
        assert_eq!(op.written_at(3), t0 + Duration::from_millis(40));
    }

    #[test]
    fn no_tail_finishes_at_the_terminal_state() {
        let op = op(OpScript {
            tail_lines: 0,
            ..OpScript::fast()
        });
        let view = op.log(op.ends_at());
        assert!(view.finished);
    }
}
