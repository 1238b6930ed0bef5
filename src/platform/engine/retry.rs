//! A failed request while waiting for the operation (resolve, status, fetch): transient errors
//! are tolerated up to [`Timing::max_errors`] in a row, each followed by the platform's
//! `Retry-After` or the next back-off step, announced as an [`Event::Retrying`]. A failure the
//! platform answered with a wait (a rate limit: `Retry-After`, a reset header) does not count
//! toward that limit: ferry waits as asked (at most 5 minutes each time, never past the deadline)
//! as often as the platform asks, rather than give up and leave the remote work running.
//!
//! Must not sleep (the caller pauses for the returned wait, so that a signal can cut it short),
//! and must not retry a trigger: whether repeating a trigger is safe is `trigger.rs`'s rule.
//!
//! [`Timing::max_errors`]: super::Timing::max_errors

use std::time::Duration;

use super::Engine;
use super::stop::Failure;
use super::timing::asked_wait;
use crate::error::Error;
use crate::platform::event::{Event, Phase, RetryBudget};

/// Failed requests in a row, as [`Engine::tolerate`] counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Errors {
    /// Those that count toward the limit: every failure the platform did not answer with a wait.
    counted: u32,
    /// Every failure (the attempt number shown).
    all: u32,
}

impl Errors {
    /// Whether `e` is one failure too many, counting it.
    pub(super) fn one_too_many(&mut self, e: &Error, max: u32) -> bool {
        self.all += 1;
        if asked_wait(e).is_some() {
            return false;
        }
        self.counted += 1;
        self.counted > max
    }

    /// The number of the failure last counted, as the retry announces it.
    pub(super) fn attempt(self) -> u32 {
        self.all
    }

    /// How much of the budget of `max` retries the last failure, `e`, used (none for a wait the
    /// platform asked for: that does not count).
    pub(super) fn budget(self, e: &Error, max: u32) -> Option<RetryBudget> {
        asked_wait(e).is_none().then_some(RetryBudget {
            used: self.counted,
            max,
        })
    }
}

/// A failed request in one short line, for a retry: the status, or for a platform that cannot be
/// reached its host and the last cause (`cannot reach paas.example.com: connection refused`).
/// The full error chain and its fix come once, with the phase's outcome.
pub(super) fn short_reason(e: &Error) -> String {
    match e {
        Error::PlatformApi { status, .. } => format!("HTTP {status}"),
        Error::Unreachable { url, message, .. } => {
            format!("cannot reach {}: {}", host_of(url), last_cause(message))
        }
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The host (and port) of `url`, or `url` itself when it is not an absolute URL.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| url.to_string())
}

/// The innermost cause of an error chain written as one line (`…: tcp connect error: Connection
/// refused (os error 111)` → `connection refused`).
fn last_cause(chain: &str) -> String {
    let last = chain.rsplit(": ").next().unwrap_or(chain).trim();
    let last = match last.rfind(" (os error ") {
        Some(at) if last.ends_with(')') => &last[..at],
        _ => last,
    };
    let mut chars = last.chars();
    match chars.next() {
        // "Connection refused" reads as the middle of a sentence; "DNS" stays as it is.
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => last.to_string(),
    }
}

impl Engine<'_> {
    /// Handles a failed request while waiting: transient errors are retried up to a limit (a
    /// rate limit's wait is never counted). Returns how long to wait before the next attempt.
    pub(super) async fn tolerate(
        &self,
        phase: Phase,
        e: Error,
        errors: &mut Errors,
        interval: Duration,
    ) -> Result<Duration, Failure> {
        if !e.is_transient() || errors.one_too_many(&e, self.timing.max_errors) {
            return Err(Failure::Error(e));
        }
        let wait = self.timing.backoff_after(&e, interval);
        let budget = errors.budget(&e, self.timing.max_errors);
        self.retrying(phase, errors.attempt(), budget, wait, &e)
            .await;
        // The caller pauses for exactly this long before the next attempt.
        Ok(wait)
    }

    /// Says, in one short line, that a request failed and will be sent again after `wait`.
    pub(super) async fn retrying(
        &self,
        phase: Phase,
        attempt: u32,
        budget: Option<RetryBudget>,
        wait: Duration,
        e: &Error,
    ) {
        let reason = self.redactor.redact(&short_reason(e));
        self.emitter
            .emit(Event::Retrying {
                phase,
                attempt,
                wait,
                reason,
                budget,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    //! Tolerance as the status loop uses it (the resolve loop shares it).

    use std::time::Duration;

    use super::super::fake::{Call, Fake};
    use super::super::harness::{Harness, tick, within_jitter};
    use super::super::timing::Timing;
    use crate::platform::event::Status;

    fn timing() -> Timing {
        Timing {
            poll_initial: Duration::from_secs(1),
            max_errors: 3,
            ..Timing::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_tolerated_up_to_max_errors() {
        let fake = Fake::new()
            .status_fails(503)
            .status_fails(502)
            .status_unreachable()
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Status), 4);
        let attempts: Vec<u32> = ran.retries().iter().map(|(a, _, _)| *a).collect();
        assert_eq!(attempts, [1, 2, 3]);
        let reasons: Vec<String> = ran.retries().into_iter().map(|(_, _, r)| r).collect();
        assert_eq!(reasons[..2], ["HTTP 503", "HTTP 502"]);
        assert!(reasons[2].contains("cannot reach"), "{reasons:?}");
        // One short line: no fix, no second line.
        assert!(!reasons[2].contains("fix:"), "{reasons:?}");
        assert!(!reasons[2].contains('\n'), "{reasons:?}");
        // Each wait is the one announced (to tokio's millisecond).
        let waits: Vec<Duration> = ran.retries().iter().map(|(_, w, _)| tick(*w)).collect();
        assert_eq!(fake.gaps(Call::Status), waits);
    }

    #[test]
    fn an_unreachable_platform_reads_as_its_host_and_last_cause() {
        let e = crate::error::Error::Unreachable {
            platform: "paas".into(),
            url: "https://paas.example.com:8443/v1/builds".into(),
            message: "error sending request for url (https://paas.example.com:8443/v1/builds): client error (Connect): tcp connect error: Connection refused (os error 111)".into(),
            hint: "check `platform_url`".into(),
        };
        assert_eq!(
            super::short_reason(&e),
            "cannot reach paas.example.com:8443: connection refused"
        );
        let dns = crate::error::Error::Unreachable {
            platform: "paas".into(),
            url: "/api/v1/stream".into(),
            message: "dns error: DNS lookup failed".into(),
            hint: String::new(),
        };
        assert_eq!(
            super::short_reason(&dns),
            "cannot reach /api/v1/stream: DNS lookup failed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_show_the_budget_a_rate_limit_does_not_use() {
        let fake = Fake::new()
            .status_fails(503)
            .status_fails_after(429, Duration::from_secs(5))
            .status_fails(503)
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        let budgets: Vec<Option<(u32, u32)>> = ran
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                crate::platform::Event::Retrying { budget, .. } => {
                    Some(budget.map(|b| (b.used, b.max)))
                }
                _ => None,
            })
            .collect();
        assert_eq!(budgets, [Some((1, 3)), None, Some((2, 3))]);
    }

    #[tokio::test(start_paused = true)]
    async fn one_error_more_than_max_errors_ends_the_phase() {
        let fake = Fake::new()
            .status_fails(503)
            .status_fails(503)
            .status_fails(503)
            .status_fails(503)
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Errored);
        assert_eq!(fake.count(Call::Status), 4);
        assert_eq!(ran.retries().len(), 3);
        let message = ran.outcome.message.unwrap_or_default();
        assert!(message.contains("HTTP 503"), "{message}");
        // A failed request is not a reason to cancel: the operation may be fine.
        assert_eq!(fake.count(Call::Cancel), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_good_answer_resets_the_count_of_errors() {
        let fake = Fake::new()
            .status_fails(503)
            .status_fails(503)
            .status_fails(503)
            .status_running(1)
            .status_fails(503)
            .status_fails(503)
            .status_fails(503)
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        let attempts: Vec<u32> = ran.retries().iter().map(|(a, _, _)| *a).collect();
        assert_eq!(attempts, [1, 2, 3, 1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_transient_error_ends_the_phase_at_once() {
        for status in [400, 401, 403, 404, 409, 422] {
            let fake = Fake::new().status_fails(status).then_success();
            let ran = Harness::new().timing(timing()).run(&fake).await;
            assert_eq!(ran.outcome.status, Status::Errored);
            assert_eq!(fake.count(Call::Status), 1);
            assert!(ran.retries().is_empty());
            assert_eq!(ran.took, Duration::ZERO);
            let message = ran.outcome.message.unwrap_or_default();
            assert!(message.contains(&format!("HTTP {status}")), "{message}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_after_an_error_is_retry_after_exactly() {
        let fake = Fake::new()
            .status_fails_after(503, Duration::from_millis(7_300))
            .status_fails_after(429, Duration::from_secs(3_600))
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(
            fake.gaps(Call::Status),
            [Duration::from_millis(7_300), Duration::from_secs(300)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_retry_after_the_wait_backs_off_with_jitter() {
        // The interval is 1 s: the first wait is 1 s × 1.5 ± 20 %, the next one grows from the
        // grown interval (1.5 s × 1.5 ± 20 %).
        let fake = Fake::new()
            .status_fails(503)
            .status_fails(503)
            .then_success();
        Harness::new().timing(timing()).run(&fake).await;
        let gaps = fake.gaps(Call::Status);
        assert!(
            within_jitter(gaps[0], Duration::from_millis(1500)),
            "{gaps:?}"
        );
        assert!(
            within_jitter(gaps[1], Duration::from_millis(2250)),
            "{gaps:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_is_waited_out_however_often_it_comes() {
        // Twenty rate-limited answers in a row, with max_errors = 3: ferry waits each time as
        // asked, and the operation is followed to its end.
        let mut fake = Fake::new();
        for _ in 0..20 {
            fake = fake.status_fails_after(429, Duration::from_secs(30));
        }
        let fake = fake.status_running(1).then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Succeeded);
        assert_eq!(fake.count(Call::Status), 22);
        assert_eq!(fake.gaps(Call::Status)[..20], [Duration::from_secs(30); 20]);
        let attempts: Vec<u32> = ran.retries().iter().map(|(a, _, _)| *a).collect();
        assert_eq!(attempts, (1..=20).collect::<Vec<u32>>());
        assert_eq!(fake.count(Call::Cancel), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_neither_resets_nor_adds_to_the_count_of_errors() {
        // 503, 429 (wait), 503, 429 (wait), 503: three errors that count, within max_errors.
        // One more 503 is one too many.
        let fake = Fake::new()
            .status_fails(503)
            .status_fails_after(429, Duration::from_secs(5))
            .status_fails(503)
            .status_fails_after(503, Duration::from_secs(5))
            .status_fails(503)
            .status_fails(503)
            .then_success();
        let ran = Harness::new().timing(timing()).run(&fake).await;
        assert_eq!(ran.outcome.status, Status::Errored);
        assert_eq!(fake.count(Call::Status), 6);
        assert_eq!(ran.retries().len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_never_keeps_ferry_past_the_deadline() {
        // The platform keeps asking for five minutes (and more): ferry waits within the phase's
        // limit, then times out and cancels the operation it was following.
        let fake = Fake::new()
            .status_running(1)
            .status_rate_limited_forever(Duration::from_secs(3_600));
        let ran = Harness::new()
            .timing(timing())
            .timeout(Duration::from_secs(1_000))
            .run(&fake)
            .await;
        assert_eq!(ran.outcome.status, Status::TimedOut);
        assert_eq!(ran.took, Duration::from_secs(1_000));
        // 5 min at most each time.
        let gaps = fake.gaps(Call::Status);
        assert!(
            gaps[1..].iter().all(|g| *g == Duration::from_secs(300)),
            "{gaps:?}"
        );
        assert_eq!(fake.count(Call::Cancel), 1);
    }
}
