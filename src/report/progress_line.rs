//! The live line at the bottom of a terminal (`⠋ build  RUNNING  12s`), redrawn in place with
//! `\r` and "erase line" while a phase runs; everything else is printed above it.
//!
//! It is kept short (the state is cut at [`STATE_CHARS`]) so it never wraps on an 80-column
//! terminal: a wrapped line cannot be redrawn with `\r`.

use std::time::Duration;

use super::human_duration::HumanDuration;
use super::markdown::shorten;
use super::paint::{Paint, Tone};
use super::sanitize;
use crate::platform::{Phase, StateClass};

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STATE_CHARS: usize = 30;
/// Return to column 0 and erase the line.
const ERASE: &str = "\r\x1b[2K";

/// The state of the live line.
#[derive(Debug, Default)]
pub(crate) struct ProgressLine {
    phase: Option<Phase>,
    phase_start: Duration,
    state: Option<(String, StateClass)>,
    now: Duration,
    frame: usize,
    drawn: bool,
}

impl ProgressLine {
    /// A phase started at `at` (time since the run started).
    pub(crate) fn begin(&mut self, phase: Phase, at: Duration) {
        self.phase = Some(phase);
        self.phase_start = at;
        self.now = at;
        self.state = None;
    }

    /// The phase ended: nothing to draw until the next one.
    pub(crate) fn end(&mut self) {
        self.phase = None;
        self.state = None;
    }

    /// The platform's latest state (untrusted: cleaned and shortened here).
    pub(crate) fn set_state(&mut self, state: &str, class: StateClass) {
        let state = shorten(&sanitize::inline(state), STATE_CHARS).into_owned();
        self.state = Some((state, class));
    }

    /// The time since the run started; also advances the spinner.
    pub(crate) fn set_now(&mut self, now: Duration) {
        self.now = self.now.max(now);
        self.frame = self.frame.wrapping_add(1);
    }

    /// Erases the line if it is on screen, so a normal line can be printed.
    pub(crate) fn clear(&mut self, out: &mut String) {
        if self.drawn {
            out.push_str(ERASE);
            self.drawn = false;
        }
    }

    /// Draws the line (no newline) if a phase is running.
    pub(crate) fn draw(&mut self, out: &mut String, paint: Paint) {
        let Some(phase) = self.phase else {
            self.clear(out);
            return;
        };
        out.push_str(ERASE);
        out.push_str(&paint.paint(
            Tone::Active,
            &SPINNER[self.frame % SPINNER.len()].to_string(),
        ));
        out.push(' ');
        out.push_str(&paint.paint(Tone::Bold, phase.as_str()));
        if let Some((state, class)) = &self.state {
            let tone = match class {
                StateClass::Running => Tone::Warn,
                StateClass::Success => Tone::Good,
                StateClass::Failure => Tone::Bad,
            };
            out.push_str("  ");
            out.push_str(&paint.paint(tone, state));
        }
        out.push_str("  ");
        let elapsed = self.now.saturating_sub(self.phase_start);
        out.push_str(&paint.paint(Tone::Dim, &HumanDuration(elapsed).to_string()));
        self.drawn = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_phase_state_and_elapsed() {
        let mut line = ProgressLine::default();
        let mut out = String::new();
        line.begin(Phase::Build, Duration::from_secs(3));
        line.set_state("running\x1b[2J", StateClass::Running);
        line.set_now(Duration::from_secs(15));
        line.draw(&mut out, Paint { color: false });
        assert_eq!(out, "\r\x1b[2K⠙ build  running  12s");
        out.clear();
        line.clear(&mut out);
        line.clear(&mut out);
        assert_eq!(out, ERASE, "erased once");
    }

    #[test]
    fn nothing_drawn_between_phases() {
        let mut line = ProgressLine::default();
        let mut out = String::new();
        line.draw(&mut out, Paint { color: true });
        assert!(out.is_empty());
    }
}
