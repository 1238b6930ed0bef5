//! GitHub's rate limits, read from an answer: how long to wait, or that there is no limit.
//!
//! GitHub's documented rules ("Rate limits for the REST API", best practices):
//!
//! 1. a `retry-after` header (seconds) says how long to wait;
//! 2. else `x-ratelimit-remaining: 0` means the primary limit: wait until `x-ratelimit-reset`
//!    (epoch seconds);
//! 3. else a 403 or 429 whose message mentions a *secondary rate limit* (or abuse detection):
//!    wait at least a minute, longer each time.
//!
//! A 403 that is none of these is a permission problem, not a limit. A refused request was not
//! carried out, so it may be sent again after the wait, whatever its method. The [`Budget`]
//! bounds how long one run waits in total: past it, ferry gives up with a warning rather than
//! hold the CI job.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// What an answer says about rate limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Limited {
    No,
    Wait { wait: Duration, what: &'static str },
}

/// The least wait for a secondary limit without `retry-after` (GitHub: "at least one minute").
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// Classifies a failed answer.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> Limited {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return Limited::No;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let lower = body.to_ascii_lowercase();
    let secondary = lower.contains("secondary rate limit") || lower.contains("abuse");
    let what = if secondary {
        "GitHub's secondary rate limit"
    } else {
        "GitHub's rate limit"
    };
    if let Some(wait) = header("retry-after").and_then(retry_after) {
        return Limited::Wait { wait, what };
    }
    if header("x-ratelimit-remaining").map(str::trim) == Some("0") {
        let wait = crate::net::reset_wait(headers, SystemTime::now()).unwrap_or_default()
            // The reset is whole seconds; a second more makes sure it has passed.
            + Duration::from_secs(1);
        return Limited::Wait {
            wait,
            what: "GitHub's primary rate limit",
        };
    }
    if secondary || status == StatusCode::TOO_MANY_REQUESTS {
        return Limited::Wait {
            wait: SECONDARY_WAIT,
            what,
        };
    }
    Limited::No
}

/// `retry-after` in seconds, or as an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    crate::net::retry_after_value(value, SystemTime::now())
}

/// How long one run may wait for GitHub's rate limits, in total and at once.
#[derive(Debug)]
pub(crate) struct Budget {
    longest: Duration,
    left: Mutex<Duration>,
}

impl Default for Budget {
    /// Up to 90 s at once and 2 min in total: enough for a secondary limit's minute, short
    /// enough not to hold a CI job for an hourly reset.
    fn default() -> Self {
        Self::new(Duration::from_secs(90), Duration::from_secs(120))
    }
}

impl Budget {
    pub(crate) fn new(longest: Duration, total: Duration) -> Self {
        Self {
            longest,
            left: Mutex::new(total),
        }
    }

    /// Takes `wait` from the budget; false (and nothing taken) when it does not fit.
    pub(crate) fn take(&self, wait: Duration) -> bool {
        let mut left = self
            .left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if wait > self.longest || wait > *left {
            return false;
        }
        *left -= wait;
        true
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        h
    }

    #[test]
    fn retry_after_wins() {
        let got = classify(
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "3")]),
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        );
        assert_eq!(
            got,
            Limited::Wait {
                wait: Duration::from_secs(3),
                what: "GitHub's secondary rate limit"
            }
        );
    }

    #[test]
    fn primary_limit_waits_for_the_reset() {
        let reset = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + 3600;
        let got = classify(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset.to_string()),
            ]),
            r#"{"message":"API rate limit exceeded"}"#,
        );
        let Limited::Wait { wait, .. } = got else {
            panic!("{got:?}")
        };
        assert!(wait > Duration::from_secs(3590), "{wait:?}");
        assert!(!Budget::default().take(wait), "an hour is over the budget");
    }

    #[test]
    fn secondary_without_headers_waits_a_minute() {
        let got = classify(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            r#"{"message":"You have exceeded a secondary rate limit and have been temporarily blocked"}"#,
        );
        assert_eq!(
            got,
            Limited::Wait {
                wait: SECONDARY_WAIT,
                what: "GitHub's secondary rate limit"
            }
        );
    }

    #[test]
    fn a_permission_403_is_not_a_limit() {
        let got = classify(
            StatusCode::FORBIDDEN,
            &headers(&[("x-ratelimit-remaining", "4999")]),
            r#"{"message":"Resource not accessible by integration"}"#,
        );
        assert_eq!(got, Limited::No);
        assert_eq!(
            classify(StatusCode::NOT_FOUND, &HeaderMap::new(), ""),
            Limited::No
        );
    }

    #[test]
    fn the_budget_runs_out() {
        let b = Budget::new(Duration::from_secs(10), Duration::from_secs(15));
        assert!(b.take(Duration::from_secs(10)));
        assert!(!b.take(Duration::from_secs(11)));
        assert!(!b.take(Duration::from_secs(6)));
        assert!(b.take(Duration::from_secs(5)));
    }
}
