//! The engine's [`LogSink`]: each line a backend reads becomes an [`Event::Log`] (the emitter
//! redacts it), counts as activity for the heartbeat, and joins the last lines kept for a failure
//! report; a line too long for one event is cut where no secret is split.
//!
//! Must not read the platform or decide anything: it only passes lines on and remembers the last
//! few.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;

use super::heartbeat::Activity;
use crate::platform::backend::LogSink;
use crate::platform::event::{Emitter, Event, Phase};
use crate::secret::Redactor;

/// Last log tail lines kept for failure reports.
const TAIL_LINES: usize = 50;

/// The engine's log sink for one phase.
pub(super) struct LogTail {
    emitter: Emitter,
    phase: Phase,
    redactor: Redactor,
    lines: VecDeque<String>,
    activity: Arc<Activity>,
}

impl LogTail {
    /// A sink for `phase`'s log, marking `activity` on every line.
    pub(super) fn new(
        emitter: Emitter,
        phase: Phase,
        redactor: Redactor,
        activity: Arc<Activity>,
    ) -> Self {
        Self {
            emitter,
            phase,
            redactor,
            lines: VecDeque::new(),
            activity,
        }
    }

    /// Something other than a log line happened (a state change): no heartbeat is due yet.
    pub(super) fn touch(&self) {
        self.activity.touch();
    }

    /// The last lines, oldest first (unredacted: the phase's outcome is redacted as a whole).
    pub(super) fn into_lines(self) -> Vec<String> {
        self.lines.into_iter().collect()
    }

    /// The last kept line that reads like an error (a word `error`, `failed`, `fatal`, …), for
    /// a failure the platform did not explain: what a person scrolling the log would look for.
    pub(super) fn last_error_line(&self) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .map(|line| line.trim())
            .find(|line| looks_like_an_error(line))
    }
}

/// Whether a log line reads like an error: one of its words is `error`, `err!`, `failed`,
/// `failure`, `fatal`, `exception` or `panicked`, in any case (`0 errors` is not one).
fn looks_like_an_error(line: &str) -> bool {
    const WORDS: [&str; 8] = [
        "error",
        "err",
        "failed",
        "failure",
        "fatal",
        "exception",
        "panic",
        "panicked",
    ];
    line.split(|c: char| !c.is_alphanumeric())
        .any(|word| WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)))
}

#[async_trait]
impl LogSink for LogTail {
    async fn line(&mut self, line: &str) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
        self.activity.touch();
        self.emitter
            .emit(Event::Log {
                phase: self.phase,
                line: line.to_string(),
            })
            .await;
    }

    fn safe_cut(&self, text: &[u8], at: usize) -> Option<usize> {
        self.redactor.safe_cut(text, at)
    }
}

#[cfg(test)]
mod error_lines {
    use super::looks_like_an_error;

    #[test]
    fn error_looking_lines_are_words_not_substrings() {
        for line in [
            "error: step failed",
            "npm ERR! missing script: build",
            "FATAL: out of memory",
            "Build failed with exit code 2",
            "thread 'main' panicked at src/main.rs:1",
        ] {
            assert!(looks_like_an_error(line), "{line}");
        }
        for line in [
            "compiled with 0 errors",
            "terrorist",
            "ok",
            "failover ready",
        ] {
            assert!(!looks_like_an_error(line), "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use tokio::time::Instant;

    use super::*;

    #[tokio::test]
    async fn every_line_is_emitted_and_the_last_fifty_are_kept() {
        let (sender, mut rx) = Emitter::channel(128);
        let activity = Arc::new(Activity::new(Instant::now()));
        let mut tail = LogTail::new(sender, Phase::Build, Redactor::default(), activity);
        for n in 0..60 {
            tail.line(&format!("line {n}")).await;
        }
        let kept = tail.into_lines();
        assert_eq!(kept.len(), TAIL_LINES);
        assert_eq!(kept.first().map(String::as_str), Some("line 10"));
        assert_eq!(kept.last().map(String::as_str), Some("line 59"));
        let mut emitted = 0;
        while let Ok(event) = rx.try_recv() {
            assert!(
                matches!(
                    event,
                    Event::Log {
                        phase: Phase::Build,
                        ..
                    }
                ),
                "{event:?}"
            );
            emitted += 1;
        }
        assert_eq!(emitted, 60);
    }

    #[tokio::test]
    async fn a_long_line_is_not_cut_inside_a_secret() {
        let secret = SecretString::from("s3cr3t-t0ken-value");
        let redactor = Redactor::new([&secret]);
        let activity = Arc::new(Activity::new(Instant::now()));
        let tail = LogTail::new(Emitter::discard(), Phase::Deploy, redactor, activity);
        let text = format!("xxxxs3cr3t-t0ken-value{}", "x".repeat(100));
        // A cut in the middle of the secret moves to its start (the sink's default would cut
        // at 10, in two halves).
        assert_eq!(tail.safe_cut(text.as_bytes(), 10), Some(4));
        assert_eq!(tail.safe_cut(text.as_bytes(), 40), Some(40));
    }
}
