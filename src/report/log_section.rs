//! GitLab CI collapsible log sections around each phase's streamed platform log.
//!
//! Format (GitLab docs, "Custom collapsible sections"; the `0` in `\e[0K` is mandatory):
//! `\e[0Ksection_start:<unix ts>:<name>[collapsed=true]\r\e[0K<header>` …
//! `\e[0Ksection_end:<unix ts>:<name>\r\e[0K`, names limited to `[A-Za-z0-9_.-]`.
//! A platform log line cannot forge one: [`super::sanitize`] removes `ESC` and `\r` from it.
//!
//! Whether a section starts collapsed is fixed by its start marker, written before the phase's
//! outcome is known, and GitLab has no marker to expand it later. So each phase's log section
//! starts collapsed (a successful log stays out of the way), and a failed phase's last log lines
//! are written again after it, in an expanded `ferry_<phase>_failure` section: what went wrong is
//! on screen when the job log opens, and the whole log is one click away.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::platform::Phase;

/// One collapsible section of the job log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogSection {
    name: String,
}

impl LogSection {
    /// The section holding `phase`'s platform log (`ferry_build_log`, …).
    pub(crate) fn for_phase(phase: Phase) -> Self {
        Self::named(&format!("ferry_{}_log", phase.as_str()))
    }

    /// A section with `name`, keeping only the characters GitLab allows.
    pub(crate) fn named(name: &str) -> Self {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .collect();
        Self { name }
    }

    /// Writes the start marker, collapsed, with a (trusted, one-line) header.
    pub(crate) fn start(&self, out: &mut String, time: SystemTime, header: &str) {
        let _ = writeln!(
            out,
            "\x1b[0Ksection_start:{}:{}[collapsed=true]\r\x1b[0K{header}",
            unix(time),
            self.name
        );
    }

    /// Writes the start marker of a section shown expanded (a failure's log lines: the one part
    /// of the job log people must see without a click), with a (trusted, one-line) header.
    pub(crate) fn start_expanded(&self, out: &mut String, time: SystemTime, header: &str) {
        let _ = writeln!(
            out,
            "\x1b[0Ksection_start:{}:{}\r\x1b[0K{header}",
            unix(time),
            self.name
        );
    }

    /// Writes the end marker.
    pub(crate) fn end(&self, out: &mut String, time: SystemTime) {
        let _ = writeln!(
            out,
            "\x1b[0Ksection_end:{}:{}\r\x1b[0K",
            unix(time),
            self.name
        );
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn markers_follow_the_documented_format() {
        let s = LogSection::for_phase(Phase::Build);
        let t = UNIX_EPOCH + Duration::from_secs(1_735_787_045);
        let mut out = String::new();
        s.start(&mut out, t, "build log");
        s.end(&mut out, t + Duration::from_secs(3));
        assert_eq!(
            out,
            "\x1b[0Ksection_start:1735787045:ferry_build_log[collapsed=true]\r\x1b[0Kbuild log\n\
             \x1b[0Ksection_end:1735787048:ferry_build_log\r\x1b[0K\n"
        );
    }

    #[test]
    fn an_expanded_section_has_no_collapsed_option() {
        let mut out = String::new();
        LogSection::named("ferry_build_failure").start_expanded(&mut out, UNIX_EPOCH, "why");
        assert_eq!(
            out,
            "\x1b[0Ksection_start:0:ferry_build_failure\r\x1b[0Kwhy\n"
        );
    }

    #[test]
    fn names_keep_allowed_characters_only() {
        assert_eq!(LogSection::named("a b:c[d]e_f.g-h").name, "abcde_f.g-h");
    }
}
