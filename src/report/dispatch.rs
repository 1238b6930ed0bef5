//! Feeding the engine's events to every sink, in order, stamped once.
//!
//! [`dispatch`] runs until the engine drops its [`crate::platform::Emitter`]; [`finish_all`] then
//! hands every sink the outcome. A failing sink never stops the others: its error is collected
//! as a [`SinkFailure`] for the caller to show as a warning (or to turn into exit code 5 with
//! `fail_on_report_error`), and so is every failure a sink hands back from
//! [`Sink::failures`] after `finish` (a forge reporter may meet several). After its first failed
//! event a sink gets no more events (a full disk would otherwise give one warning per log line),
//! but it is still asked to `finish`.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::Receiver;
use tokio::time::MissedTickBehavior;

use super::{Sink, SinkFailure, Stamped};
use crate::ci::Context;
use crate::platform::{Event, RunOutcome};

/// How often sinks get a [`Sink::tick`] (the terminal's live line redraws its elapsed time).
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// Stamps each event from `rx` (seq from 1, wall-clock time, time since `started`) and feeds it
/// to every sink in order, ticking them every [`TICK`] meanwhile. Returns when `rx` is closed and
/// drained, with the failures seen (at most one per sink).
pub async fn dispatch(
    mut rx: Receiver<Event>,
    sinks: &mut [Box<dyn Sink>],
    started: Instant,
) -> Vec<SinkFailure> {
    let mut failures = Vec::new();
    let mut broken = vec![false; sinks.len()];
    let mut seq = 0;
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            // Events first: a tick never delays one.
            biased;
            event = rx.recv() => {
                let Some(event) = event else { break };
                seq += 1;
                let stamped = Stamped {
                    seq,
                    time: SystemTime::now(),
                    elapsed: started.elapsed(),
                    event: &event,
                };
                for (i, sink) in sinks.iter_mut().enumerate() {
                    if broken[i] {
                        continue;
                    }
                    if let Err(error) = sink.event(stamped).await {
                        broken[i] = true;
                        failures.push(SinkFailure::from_error(sink.name(), &error));
                    }
                }
            }
            _ = ticks.tick() => {
                let elapsed = started.elapsed();
                for (i, sink) in sinks.iter_mut().enumerate() {
                    if broken[i] {
                        continue;
                    }
                    if let Err(error) = sink.tick(elapsed).await {
                        broken[i] = true;
                        failures.push(SinkFailure::from_error(sink.name(), &error));
                    }
                }
            }
        }
    }
    failures
}

/// Hands every sink the outcome, in order; one sink's failure does not stop the others. Returns
/// each sink's failures: the error `finish` returned, then those from [`Sink::failures`].
pub async fn finish_all(
    sinks: &mut [Box<dyn Sink>],
    outcome: &RunOutcome,
    context: &Context,
) -> Vec<SinkFailure> {
    let mut failures = Vec::new();
    for sink in sinks.iter_mut() {
        if let Err(error) = sink.finish(outcome, context).await {
            failures.push(SinkFailure::from_error(sink.name(), &error));
        }
        failures.extend(sink.failures());
    }
    failures
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::*;
    use crate::error::{Error, Result};
    use crate::platform::{Emitter, Level};
    use crate::report::fixture;

    /// Records what it sees; fails on the event with `fail_at` seq.
    struct Probe {
        seen: Arc<Mutex<Vec<u64>>>,
        finished: Arc<Mutex<bool>>,
        fail_at: Option<u64>,
    }

    #[async_trait]
    impl Sink for Probe {
        fn name(&self) -> &'static str {
            "probe"
        }

        async fn event(&mut self, event: Stamped<'_>) -> Result<()> {
            if self.fail_at == Some(event.seq) {
                return Err(Error::Unsupported {
                    what: "probe".into(),
                    hint: "none".into(),
                });
            }
            self.seen.lock().map_err(|_| poisoned())?.push(event.seq);
            Ok(())
        }

        async fn finish(&mut self, _: &RunOutcome, _: &Context) -> Result<()> {
            *self.finished.lock().map_err(|_| poisoned())? = true;
            Ok(())
        }
    }

    fn poisoned() -> Error {
        Error::Unsupported {
            what: "poisoned lock".into(),
            hint: "none".into(),
        }
    }

    type Seen = Arc<Mutex<Vec<u64>>>;
    type Finished = Arc<Mutex<bool>>;

    fn probe(fail_at: Option<u64>) -> (Box<dyn Sink>, Seen, Finished) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let finished = Arc::new(Mutex::new(false));
        let sink = Probe {
            seen: seen.clone(),
            finished: finished.clone(),
            fail_at,
        };
        (Box::new(sink), seen, finished)
    }

    #[test]
    fn dispatching_can_run_on_another_task() {
        fn assert_send<T: Send>(_: &T) {}
        let (_emitter, rx) = Emitter::channel(1);
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let fut = dispatch(rx, &mut sinks, Instant::now());
        assert_send(&fut);
        let outcome = fixture::failed_outcome();
        let context = fixture::context();
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        assert_send(&finish_all(&mut sinks, &outcome, &context));
    }

    #[tokio::test]
    async fn a_failing_sink_does_not_stop_the_others() {
        let (failing, failing_seen, failing_finished) = probe(Some(2));
        let (healthy, healthy_seen, healthy_finished) = probe(None);
        let mut sinks = vec![failing, healthy];
        let (emitter, rx) = Emitter::channel(4);
        let producer = tokio::spawn(async move {
            for i in 0..5 {
                emitter
                    .emit(Event::Notice {
                        level: Level::Info,
                        message: format!("n{i}"),
                    })
                    .await;
            }
        });
        let failures = dispatch(rx, &mut sinks, Instant::now()).await;
        producer.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].sink, "probe");
        assert!(
            failures[0]
                .to_string()
                .starts_with("probe failed: probe is not supported")
        );
        assert_eq!(
            *failing_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            [1]
        );
        assert_eq!(
            *healthy_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            [1, 2, 3, 4, 5]
        );

        let failures =
            finish_all(&mut sinks, &fixture::failed_outcome(), &fixture::context()).await;
        assert!(failures.is_empty());
        assert!(
            *failing_finished
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        );
        assert!(
            *healthy_finished
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        );
    }
}
