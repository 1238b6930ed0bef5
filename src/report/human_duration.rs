//! Durations as people read them in progress lines, comments and summaries (`8.2s`, `1m 30s`).
//!
//! Not `humantime::format_duration`: that prints every unit down to nanoseconds
//! (`1m 30s 123ms 456us`), which is precise and unreadable in a progress line.

use std::fmt;
use std::time::Duration;

/// A [`Duration`] displayed with at most two units: `0.4s`, `8.2s`, `12s`, `1m 30s`, `2h 05m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let secs = d.as_secs();
        if secs < 10 {
            // Tenths, truncated: 9.99 s shows as 9.9s, never as a misleading 10.0s.
            let tenths = d.as_millis() / 100;
            write!(f, "{}.{}s", tenths / 10, tenths % 10)
        } else if secs < 60 {
            write!(f, "{secs}s")
        } else if secs < 3600 {
            write!(f, "{}m {:02}s", secs / 60, secs % 60)
        } else {
            write!(f, "{}h {:02}m", secs / 3600, (secs % 3600) / 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(ms: u64) -> String {
        HumanDuration(Duration::from_millis(ms)).to_string()
    }

    #[test]
    fn picks_two_units_at_most() {
        assert_eq!(show(0), "0.0s");
        assert_eq!(show(420), "0.4s");
        assert_eq!(show(8_250), "8.2s");
        assert_eq!(show(9_999), "9.9s");
        assert_eq!(show(12_700), "12s");
        assert_eq!(show(90_000), "1m 30s");
        assert_eq!(show(3_599_000), "59m 59s");
        assert_eq!(show(7_500_000), "2h 05m");
    }
}
