//! Wall-clock times for the dialects that show them (hosted platforms stamp every object and log
//! entry): operations run on tokio's monotonic clock, and a [`Clock`] taken once maps those
//! instants to times, so every time a dialect shows is consistent with every other.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// One moment seen on both clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    instant: Instant,
    wall: SystemTime,
}

impl Default for Clock {
    /// Now.
    fn default() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

impl Clock {
    /// The wall-clock time of `at`.
    pub(crate) fn wall(&self, at: Instant) -> SystemTime {
        if at >= self.instant {
            self.wall + (at - self.instant)
        } else {
            self.wall - (self.instant - at)
        }
    }

    /// Microseconds since the Unix epoch of `at`, rounded down.
    pub(crate) fn micros(&self, at: Instant) -> u64 {
        micros(self.wall(at))
    }
}

/// Microseconds since the Unix epoch, rounded down (0 before it).
pub(crate) fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The time `micros` microseconds after the Unix epoch.
pub(crate) fn from_micros(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros)
}

/// Seconds since the Unix epoch, rounded up: a reset time a client may wait for.
pub(crate) fn epoch_seconds_ceil(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// RFC 3339 in UTC with microseconds (`2026-01-02T03:04:05.123456Z`).
pub(crate) fn rfc3339_micros(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// RFC 3339 in UTC with whole seconds (`2026-01-02T03:04:05Z`).
pub(crate) fn rfc3339_seconds(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// An RFC 3339 time: `Z` or a numeric offset (`-07:00`), with or without a fraction.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(utc) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    // `…±hh:mm`: parse the local part as UTC, then move it by the offset.
    let split = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..split)?, text.get(split..)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset.get(1..)?.split_once(':')?;
    let (hours, minutes): (u64, u64) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    let local = humantime::parse_rfc3339_weak(local).ok()?;
    // 10:00-07:00 is 17:00 UTC.
    if sign > 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_offsets() {
        let t = from_micros(1_700_000_000_123_456);
        assert_eq!(rfc3339_micros(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339_seconds(t), "2023-11-14T22:13:20Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.123456Z"), Some(t));
        assert_eq!(
            parse_rfc3339("2023-11-14T15:13:20.123456-07:00"),
            Some(t),
            "an offset moves the time"
        );
        assert_eq!(parse_rfc3339("2023-11-15T00:13:20.123456+02:00"), Some(t));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2023-11-14T15:13:20+25:00"), None);
        assert_eq!(epoch_seconds_ceil(t), 1_700_000_001);
    }

    #[test]
    fn instants_map_both_ways_around_the_anchor() {
        let clock = Clock::default();
        let later = clock.instant + Duration::from_millis(1500);
        assert_eq!(
            clock.wall(later).duration_since(clock.wall).unwrap(),
            Duration::from_millis(1500)
        );
        let earlier = clock.instant.checked_sub(Duration::from_secs(2)).unwrap();
        assert_eq!(
            clock.wall.duration_since(clock.wall(earlier)).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(clock.micros(later) - clock.micros(clock.instant), 1_500_000);
    }
}
