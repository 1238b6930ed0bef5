//! The engine's cadence and limits ([`Timing`]), and the arithmetic on durations and instants
//! that every wait uses: growth of the poll interval, the waits shaped by a platform's estimate,
//! ±20 % jitter, the back-off after a failed request, and instants that cannot overflow.
//!
//! Pure: nothing here sleeps, sends a request or emits an event. Nothing here can panic,
//! whatever the durations (an embedding program may pass `Duration::MAX`).

use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// Cadence and limits of the engine.
#[derive(Clone, Debug)]
pub struct Timing {
    /// First interval between two status reads.
    pub poll_initial: Duration,
    /// Longest interval between two status reads.
    pub poll_max: Duration,
    /// Growth of the interval while nothing changes.
    pub factor: f64,
    /// Longest silence before a heartbeat.
    pub heartbeat: Duration,
    /// Consecutive failed requests tolerated while waiting.
    pub max_errors: u32,
    /// Time allowed for the cancel request.
    pub cancel_grace: Duration,
    /// After the terminal state, how long the log may stay silent before its tail is taken as
    /// complete (when the platform cannot say).
    pub drain: Duration,
    /// After the terminal state, the longest time spent reading the rest of the log, however
    /// much keeps coming.
    pub drain_max: Duration,
    /// While the log flows, the shortest time between two reads of it (a person's reading
    /// pace); an answer the platform cut at its size limit is followed at once.
    pub log_pace: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            // A `sleep 5` loop's cadence: never worse than one, on a platform that offers nothing
            // better (no push, no estimate, no log that says when it ends).
            poll_initial: Duration::from_secs(5),
            poll_max: Duration::from_secs(5),
            factor: 1.5,
            heartbeat: Duration::from_secs(20),
            max_errors: 8,
            cancel_grace: Duration::from_secs(5),
            drain: Duration::from_secs(30),
            drain_max: Duration::from_secs(120),
            log_pace: Duration::from_secs(1),
        }
    }
}

/// While a watch (a stream or a long poll) works, the state is still read this often, in case
/// the push went quiet without breaking.
pub(super) const WATCH_MAX: Duration = Duration::from_secs(30);

/// Around an expected end, status reads come this often (at most the interval): the end is
/// seen within half of it, on average.
const DENSE: Duration = Duration::from_millis(1500);

/// The window of dense reads: this share of the estimate on each side of the expected end, and
/// at least [`WINDOW_MIN`] (an estimate is rarely exact).
const WINDOW_SHARE: f64 = 0.15;
const WINDOW_MIN: Duration = Duration::from_secs(5);

/// Before the window, a third of the time left to it, never longer than this (an early failure
/// is still seen within it).
const SPARSE_MAX: Duration = Duration::from_secs(15);

/// The end a platform expects: when, and the estimate it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Expected {
    pub(super) end: Instant,
    pub(super) estimate: Duration,
}

/// The longest `Retry-After` honoured: a platform asking for more is asked again after this.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(300);

/// The shortest base of the back-off after a failed request (a fast first poll interval must
/// not turn into a burst of retries).
const BACKOFF_FLOOR: Duration = Duration::from_millis(500);

impl Timing {
    /// The next interval while nothing changes: `d × factor`, at most [`Timing::poll_max`].
    pub(super) fn grow(&self, d: Duration) -> Duration {
        scale(d, self.factor).min(self.poll_max)
    }

    /// The wait after a failed request: the platform's `Retry-After` when it gave one (capped at
    /// five minutes), otherwise the next back-off step.
    pub(super) fn backoff_after(&self, e: &Error, current: Duration) -> Duration {
        match asked_wait(e) {
            Some(d) => d,
            None => jitter(self.grow(current.max(BACKOFF_FLOOR))),
        }
    }
}

/// The wait before the next status read at `now`, `interval` being the current one: with
/// no estimate, the interval; with one, sparse reads (a third of the time left, between the
/// interval and 15 s) until a window of ±15 % (at least ±5 s) around the expected end,
/// dense reads (1.5 s, or the interval when shorter) inside it, and the interval again once
/// the window has passed (the estimate was wrong).
pub(super) fn status_wait(
    interval: Duration,
    now: Instant,
    expected: Option<Expected>,
) -> Duration {
    let Some(Expected { end, estimate }) = expected else {
        return interval;
    };
    let window = WINDOW_MIN.max(scale(estimate, WINDOW_SHARE));
    let opens = end.checked_sub(window).unwrap_or(now);
    if now >= later(end, window) {
        return interval;
    }
    if now >= opens {
        return DENSE.min(interval);
    }
    let before = opens - now;
    if before < interval.saturating_mul(2) {
        // Land on the window's start rather than just short of it.
        return before;
    }
    (before / 3).clamp(interval, SPARSE_MAX.max(interval))
}

/// The wait the platform asked for with a failed answer (`Retry-After`, a rate-limit reset),
/// capped at five minutes.
pub(super) fn asked_wait(e: &Error) -> Option<Duration> {
    e.retry_after().map(|d| d.min(RETRY_AFTER_CAP))
}

/// ±20 % randomness, so that many jobs polling one platform spread out.
pub(super) fn jitter(d: Duration) -> Duration {
    scale(d, rand::random_range(0.8..1.2))
}

/// 0 to 20 % longer: the first wait of a phase, so that jobs started together spread out while
/// every later gap stays exactly the interval (the expected delay to notice the end is then half
/// of it, as with a fixed loop, where jittering every gap would add to it).
pub(super) fn phase_jitter(d: Duration) -> Duration {
    scale(d, rand::random_range(1.0..1.2))
}

/// `d × factor`, saturating instead of panicking on overflow.
pub(super) fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// About thirty years: "never" for a deadline.
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `from + d`, or a time far in the future when `d` is beyond what an instant can hold (a
/// duration given by an embedding program is not bounded like a setting).
pub(crate) fn later(from: Instant, d: Duration) -> Instant {
    from.checked_add(d)
        .or_else(|| from.checked_add(FAR))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, retry_after: Option<Duration>) -> Error {
        Error::PlatformApi {
            platform: "test".into(),
            method: "GET".into(),
            url: "https://paas.example.com/status".into(),
            status,
            body: String::new(),
            retry_after,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn jitter_stays_within_20_percent_and_spreads() {
        let base = Duration::from_secs(10);
        let samples: Vec<Duration> = (0..2000).map(|_| jitter(base)).collect();
        for s in &samples {
            assert!(*s >= ms(8000) && *s < ms(12_000), "{s:?}");
        }
        // Both halves of the range are used (chance of failing: 0.75^2000 each).
        assert!(samples.iter().any(|s| *s < ms(9000)));
        assert!(samples.iter().any(|s| *s > ms(11_000)));
    }

    #[test]
    fn the_interval_grows_by_factor_up_to_poll_max() {
        let timing = Timing {
            factor: 2.0,
            poll_max: Duration::from_secs(5),
            ..Timing::default()
        };
        let mut d = Duration::from_secs(1);
        let mut seen = Vec::new();
        for _ in 0..5 {
            d = timing.grow(d);
            seen.push(d.as_secs());
        }
        assert_eq!(seen, [2, 4, 5, 5, 5]);
    }

    #[test]
    fn retry_after_is_honoured_exactly_and_capped_at_five_minutes() {
        let timing = Timing::default();
        let asked = timing.backoff_after(&api(503, Some(ms(7_300))), ms(250));
        assert_eq!(asked, ms(7_300));
        let greedy = timing.backoff_after(&api(429, Some(Duration::from_secs(3600))), ms(250));
        assert_eq!(greedy, Duration::from_secs(300));
        let huge = timing.backoff_after(&api(429, Some(Duration::MAX)), ms(250));
        assert_eq!(huge, Duration::from_secs(300));
    }

    #[test]
    fn without_retry_after_the_back_off_grows_from_at_least_half_a_second() {
        let timing = Timing {
            poll_max: Duration::from_secs(10),
            ..Timing::default()
        };
        for _ in 0..200 {
            // 250 ms is raised to 500 ms, then × 1.5 = 750 ms, ± 20 %.
            let first = timing.backoff_after(&api(503, None), ms(250));
            assert!(first >= ms(600) && first < ms(900), "{first:?}");
            // 4 s × 1.5 = 6 s, ± 20 %.
            let later_step = timing.backoff_after(&api(503, None), Duration::from_secs(4));
            assert!(
                later_step >= ms(4800) && later_step < ms(7200),
                "{later_step:?}"
            );
            // Never beyond poll_max (10 s here) + 20 %.
            let top = timing.backoff_after(&api(503, None), Duration::from_secs(60));
            assert!(top >= ms(8000) && top < ms(12_000), "{top:?}");
        }
    }

    #[test]
    fn the_default_cadence_is_a_sleep_5_loops() {
        let timing = Timing::default();
        let now = Instant::now();
        assert_eq!(status_wait(timing.poll_initial, now, None), ms(5000));
        assert_eq!(timing.grow(timing.poll_initial), ms(5000));
        for _ in 0..200 {
            let first = phase_jitter(ms(5000));
            assert!(first >= ms(5000) && first < ms(6000), "{first:?}");
        }
    }

    #[test]
    fn an_estimate_makes_reads_sparse_early_and_dense_around_the_end() {
        let start = Instant::now();
        let expected = Some(Expected {
            end: start + Duration::from_secs(60),
            estimate: Duration::from_secs(60),
        });
        // Walk a 90 s timeline: the window is 60 s ± 9 s.
        let mut at = Duration::ZERO;
        let mut reads = vec![at];
        while at < Duration::from_secs(90) {
            at += status_wait(ms(5000), start + at, expected);
            reads.push(at);
        }
        let secs: Vec<f64> = reads.iter().map(Duration::as_secs_f64).collect();
        // Sparse early: a third of the time left to the window (51 s), between 5 and 15 s.
        assert_eq!(secs[..3], [0.0, 15.0, 27.0]);
        let before_window = reads.iter().filter(|d| d.as_secs() < 51).count();
        assert_eq!(before_window, 6, "{secs:?}");
        // Dense inside the window: every 1.5 s from 51 s to 69 s.
        let inside: Vec<&Duration> = reads
            .iter()
            .filter(|d| **d >= Duration::from_secs(51) && **d < Duration::from_secs(69))
            .collect();
        assert_eq!(inside.len(), 12, "{secs:?}");
        assert!(
            inside
                .windows(2)
                .all(|w| w[1].saturating_sub(*w[0]) == ms(1500))
        );
        // After the window, the interval again.
        let last = &reads[reads.len() - 2..];
        assert_eq!(last[1].saturating_sub(last[0]), ms(5000), "{secs:?}");
        // Reads before the end: at most 0.3 a second; the end is seen within 1.5 s.
        let during = reads.iter().filter(|d| d.as_secs() < 60).count();
        assert!(during <= 18, "{during} reads in 60 s: {secs:?}");
    }

    #[test]
    fn a_short_interval_is_kept_inside_the_window() {
        let now = Instant::now();
        let expected = Some(Expected {
            end: now,
            estimate: Duration::from_secs(10),
        });
        assert_eq!(status_wait(ms(100), now, expected), ms(100));
        assert_eq!(status_wait(ms(5000), now, expected), ms(1500));
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(scale(Duration::MAX, 1.5), Duration::MAX);
        assert_eq!(scale(Duration::from_secs(2), 1.5), ms(3000));
        let timing = Timing {
            poll_max: Duration::MAX,
            factor: 10.0,
            ..Timing::default()
        };
        assert_eq!(timing.grow(Duration::MAX), Duration::MAX);
        let now = Instant::now();
        assert!(later(now, Duration::MAX) >= later(now, FAR));
        assert!(later(now, Duration::MAX) > now);
        assert_eq!(later(now, ms(5)), now + ms(5));
        let far = Some(Expected {
            end: later(now, Duration::MAX),
            estimate: Duration::MAX,
        });
        assert!(status_wait(ms(5000), now, far) > Duration::ZERO);
    }
}
