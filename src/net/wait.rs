//! Waits a server asks for: `Retry-After` (seconds or an HTTP date), and the rate-limit reset
//! headers (`RateLimit-Reset`, `X-RateLimit-Reset`).
//!
//! The reset headers are spelled differently by every API: the IETF draft's `RateLimit-Reset` is
//! a number of seconds to wait, GitLab's `RateLimit-Reset` and GitHub's `X-RateLimit-Reset` are
//! Unix times. A value larger than [`EPOCH_FLOOR`] can only be a time (no server asks for a wait
//! of 30 years), anything smaller is a wait; so one reading serves them all.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// The wait asked for by `Retry-After` (seconds or an HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_value(
        headers.get("retry-after")?.to_str().ok()?,
        SystemTime::now(),
    )
}

/// A `Retry-After` value (seconds or an HTTP date) as the wait from `now`.
pub(crate) fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Values of a reset header at or above this (2001-09-09) are Unix times, below it seconds.
pub(crate) const EPOCH_FLOOR: u64 = 1_000_000_000;

/// The wait until a rate limit resets, from `RateLimit-Reset` or `X-RateLimit-Reset` (seconds
/// or a Unix time, see the module docs).
pub(crate) fn reset_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = ["ratelimit-reset", "x-ratelimit-reset"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        })?;
    if value >= EPOCH_FLOOR {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(value);
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    } else {
        Some(Duration::from_secs(value))
    }
}

/// What the server asked for: `Retry-After` first, else a reset header.
pub(crate) fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after_value(v, now))
        .or_else(|| reset_wait(headers, now))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn reset_headers_are_seconds_or_unix_times() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(server_wait(&h, now), None);
        h.insert("ratelimit-reset", HeaderValue::from_static("1700000007"));
        assert_eq!(server_wait(&h, now), Some(Duration::from_secs(7)));
        h.insert("ratelimit-reset", HeaderValue::from_static("12"));
        assert_eq!(server_wait(&h, now), Some(Duration::from_secs(12)));
        h.remove("ratelimit-reset");
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1699999990"));
        assert_eq!(server_wait(&h, now), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(server_wait(&h, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let got = retry_after(&h).unwrap();
        assert!(
            got > Duration::from_secs(100) && got <= Duration::from_secs(120),
            "{got:?}"
        );
    }
}
