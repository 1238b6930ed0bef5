//! A scripted backend for the engine's tests: every answer is written by the test, in order,
//! with intent-named builders (`.status_running(3).then_success()`), and every call is recorded
//! with when it happened, in tokio's (paused) virtual time since the fake was made.
//!
//! Must not be clever: each kind of call takes the next answer of its own script; once a script
//! is used up, the call gets the answer set with a `…_forever` builder, or the backend's plain
//! default (the trigger succeeds, the operation is ready, the log is quiet, there is no watch
//! stream) — except the status, which has no default: an unscripted status read fails the test
//! loudly.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::platform::backend::{
    Backend, LogRead, LogSink, Observation, Operation, Resolved, Vars, Watched,
};
use crate::platform::event::{Phase, StateClass};

/// A call the engine made to the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Call {
    Trigger,
    Recover,
    Resolve,
    Status,
    Logs,
    Watch,
    Fetch,
    Cancel,
}

/// A failed request, built afresh for each answer (an [`Error`] cannot be cloned).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The platform answered this HTTP status, with this `Retry-After`.
    Api(u16, Option<Duration>),
    /// The platform could not be reached.
    Unreachable,
}

impl Fault {
    fn error(self, call: Call) -> Error {
        let url = format!("https://paas.example.com/{call:?}").to_lowercase();
        match self {
            Fault::Api(status, retry_after) => Error::PlatformApi {
                platform: "fake".into(),
                method: "POST".into(),
                url,
                status,
                body: String::new(),
                retry_after,
            },
            Fault::Unreachable => Error::Unreachable {
                platform: "fake".into(),
                url,
                message: "connection refused".into(),
                hint: crate::error::UNREACHABLE_FIX.into(),
            },
        }
    }
}

#[derive(Clone, Debug)]
enum Trigger {
    Fails(Fault),
    Hangs,
}

#[derive(Clone, Debug)]
enum Status {
    Is(String, StateClass),
    Fails(Fault),
    Hangs,
}

#[derive(Clone, Debug)]
enum Resolve {
    Is(Resolved),
    Fails(Fault),
}

#[derive(Clone, Debug)]
enum Log {
    /// These lines; the cursor moves by `bytes`; `complete` as the platform says.
    Read {
        lines: Vec<String>,
        bytes: u64,
        complete: Option<bool>,
    },
    /// A new numbered line every read, never complete.
    Endless,
    /// Text without its newline yet (kept in the cursor's carry).
    Partial(String),
    Fails(Fault),
}

#[derive(Clone, Debug)]
enum Watch {
    ChangedAfter(Duration),
    /// Nothing changes: the whole time allowed passes.
    Quiet,
    /// Nothing changes, and the watch ends after this long (or the time allowed, if shorter).
    QuietAfter(Duration),
    Fails(Fault),
}

/// One kind of call's answers: the queue, then the answer given forever after.
struct Script<A> {
    queue: VecDeque<A>,
    forever: Option<A>,
}

impl<A: Clone> Script<A> {
    fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            forever: None,
        }
    }

    fn push(&mut self, answer: A) {
        self.queue.push_back(answer);
    }

    fn next(&mut self) -> Option<A> {
        self.queue.pop_front().or_else(|| self.forever.clone())
    }
}

/// The scripted backend.
pub(super) struct Fake {
    start: Instant,
    calls: Mutex<Vec<(Call, Duration)>>,
    watch_limits: Mutex<Vec<Duration>>,
    log_count: Mutex<u64>,
    idempotent: bool,
    has_logs: bool,
    /// Whether the backend reads anything after a success (else `fetch` is the trait's
    /// default: nothing read, no call recorded).
    fetches: bool,
    latency: Duration,
    trigger: Mutex<Script<Trigger>>,
    status: Mutex<Script<Status>>,
    resolve: Mutex<Script<Resolve>>,
    logs: Mutex<Script<Log>>,
    watch: Mutex<Script<Watch>>,
    fetch: Mutex<Script<Fault>>,
    recover: Option<Result<(), Fault>>,
    cancel: Option<Fault>,
    cancel_hangs: bool,
    outputs: BTreeMap<String, String>,
    message: Option<String>,
    /// The estimate every running status read carries.
    estimate: Option<Duration>,
    /// A timeline instead of a script: running until this long after the start, then `done`.
    ends_at: Option<Duration>,
    /// A timeline for the log: a line at every read until `ends_at`, then nothing more.
    log_timeline: bool,
    /// With `log_timeline`: whether the log says it is complete.
    log_says_end: bool,
    /// The log is read from a live reader (reading it sends nothing).
    live: bool,
}

/// The operation every trigger starts (and `recover` finds).
fn operation(phase: Phase) -> Operation {
    let mut op = Operation::new(phase, "op-1", Vars::new());
    op.web_url = Some("https://paas.example.com/ops/op-1".into());
    op
}

/// Builders: each adds to the script of one kind of call.
impl Fake {
    /// A backend whose trigger succeeds at once, whose operation is ready at once, without a
    /// log or a watch stream, and whose status is not scripted yet.
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            calls: Mutex::new(Vec::new()),
            watch_limits: Mutex::new(Vec::new()),
            log_count: Mutex::new(0),
            idempotent: false,
            has_logs: false,
            fetches: false,
            latency: Duration::ZERO,
            trigger: Mutex::new(Script::new()),
            status: Mutex::new(Script::new()),
            resolve: Mutex::new(Script::new()),
            logs: Mutex::new(Script::new()),
            watch: Mutex::new(Script::new()),
            fetch: Mutex::new(Script::new()),
            recover: None,
            cancel: None,
            cancel_hangs: false,
            outputs: BTreeMap::new(),
            message: None,
            estimate: None,
            ends_at: None,
            log_timeline: false,
            log_says_end: false,
            live: false,
        }
    }

    /// Every running status read says the operation should take `d` in all.
    pub(super) fn estimate(mut self, d: Duration) -> Self {
        self.estimate = Some(d);
        self
    }

    /// Running (`running`) until `d` after the start, then `done`, whatever the number of reads.
    pub(super) fn ends_at(mut self, d: Duration) -> Self {
        self.ends_at = Some(d);
        self
    }

    /// With [`Fake::ends_at`]: a log that brings a line at every read until the end, and then
    /// nothing; `complete` says whether it tells (`Some(false)` until the end, `Some(true)`
    /// after) or cannot (`None`).
    pub(super) fn log_flowing_to_the_end(mut self, complete: Option<bool>) -> Self {
        self.has_logs = true;
        self.log_timeline = true;
        self.log_says_end = complete.is_some();
        self
    }

    /// The log is read from a live reader, as a stream's: reading it sends nothing.
    pub(super) fn live_log(mut self) -> Self {
        self.live = true;
        self
    }

    /// Every call takes this long before it answers, as on a network.
    pub(super) fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    fn trigger_answer(self, answer: Trigger) -> Self {
        lock(&self.trigger).push(answer);
        self
    }

    /// The platform honours an idempotency key: a trigger may be sent again.
    pub(super) fn trigger_idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// The next trigger answers HTTP `status`.
    pub(super) fn trigger_fails(self, status: u16) -> Self {
        self.trigger_answer(Trigger::Fails(Fault::Api(status, None)))
    }

    /// The next trigger answers HTTP `status` with a `Retry-After`.
    pub(super) fn trigger_fails_after(self, status: u16, retry_after: Duration) -> Self {
        self.trigger_answer(Trigger::Fails(Fault::Api(status, Some(retry_after))))
    }

    /// The next trigger cannot reach the platform.
    pub(super) fn trigger_unreachable(self) -> Self {
        self.trigger_answer(Trigger::Fails(Fault::Unreachable))
    }

    /// The next trigger never answers.
    pub(super) fn trigger_hangs(self) -> Self {
        self.trigger_answer(Trigger::Hangs)
    }

    fn status_answer(self, answer: Status) -> Self {
        lock(&self.status).push(answer);
        self
    }

    /// `n` status reads find the operation `running`.
    pub(super) fn status_running(mut self, n: usize) -> Self {
        for _ in 0..n {
            self = self.status_state("running");
        }
        self
    }

    /// The next status read finds the operation running, in this state.
    pub(super) fn status_state(self, state: &str) -> Self {
        self.status_answer(Status::Is(state.into(), StateClass::Running))
    }

    /// Every status read after the scripted ones finds the operation `running`.
    pub(super) fn status_running_forever(self) -> Self {
        self.status_state_forever("running")
    }

    /// Every status read after the scripted ones finds the operation running, in this state.
    pub(super) fn status_state_forever(self, state: &str) -> Self {
        lock(&self.status).forever = Some(Status::Is(state.into(), StateClass::Running));
        self
    }

    /// The next status read finds it `done`, a success.
    pub(super) fn then_success(self) -> Self {
        self.status_answer(Status::Is("done".into(), StateClass::Success))
    }

    /// The next status read finds it `failed`, a failure.
    pub(super) fn then_failure(self) -> Self {
        self.status_answer(Status::Is("failed".into(), StateClass::Failure))
    }

    /// The next status read answers HTTP `status`.
    pub(super) fn status_fails(self, status: u16) -> Self {
        self.status_answer(Status::Fails(Fault::Api(status, None)))
    }

    /// The next status read answers HTTP `status` with a `Retry-After`.
    pub(super) fn status_fails_after(self, status: u16, retry_after: Duration) -> Self {
        self.status_answer(Status::Fails(Fault::Api(status, Some(retry_after))))
    }

    /// After the scripted reads, every status read answers 429 with this `Retry-After`.
    pub(super) fn status_rate_limited_forever(self, retry_after: Duration) -> Self {
        lock(&self.status).forever = Some(Status::Fails(Fault::Api(429, Some(retry_after))));
        self
    }

    /// The next status read never answers.
    pub(super) fn status_hangs(self) -> Self {
        self.status_answer(Status::Hangs)
    }

    /// The next status read cannot reach the platform.
    pub(super) fn status_unreachable(self) -> Self {
        self.status_answer(Status::Fails(Fault::Unreachable))
    }

    fn resolve_answer(self, answer: Resolve) -> Self {
        lock(&self.resolve).push(answer);
        self
    }

    /// The next resolve check finds the operation still queued, for this reason.
    pub(super) fn resolve_waiting(self, why: Option<&str>) -> Self {
        self.resolve_answer(Resolve::Is(Resolved::Waiting(why.map(String::from))))
    }

    /// The next resolve check finds that the operation will never start.
    pub(super) fn resolve_fails(self, message: &str) -> Self {
        self.resolve_answer(Resolve::Is(Resolved::Failed(message.into())))
    }

    /// The next resolve check answers HTTP `status` with a `Retry-After`.
    pub(super) fn resolve_fails_after(self, status: u16, retry_after: Duration) -> Self {
        self.resolve_answer(Resolve::Fails(Fault::Api(status, Some(retry_after))))
    }

    fn log_answer(mut self, answer: Log) -> Self {
        self.has_logs = true;
        lock(&self.logs).push(answer);
        self
    }

    fn log_forever(mut self, answer: Log) -> Self {
        self.has_logs = true;
        lock(&self.logs).forever = Some(answer);
        self
    }

    /// The next log read brings these lines, a small answer, without saying whether the log is
    /// complete.
    pub(super) fn log_lines(self, lines: &[&str]) -> Self {
        self.log_read(lines, None)
    }

    /// The next log read brings these lines and says whether the log is complete.
    pub(super) fn log_read(self, lines: &[&str], complete: Option<bool>) -> Self {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
        let bytes = lines.iter().map(|l| l.len() as u64 + 1).sum();
        self.log_answer(Log::Read {
            lines,
            bytes,
            complete,
        })
    }

    /// The next log read brings these lines in an answer of `bytes` bytes.
    pub(super) fn log_page(self, lines: &[&str], bytes: u64) -> Self {
        self.log_answer(Log::Read {
            lines: lines.iter().map(|l| (*l).to_string()).collect(),
            bytes,
            complete: None,
        })
    }

    /// `n` log reads bring nothing, without saying whether the log is complete.
    pub(super) fn log_quiet(mut self, n: usize) -> Self {
        for _ in 0..n {
            self = self.log_read(&[], None);
        }
        self
    }

    /// The next log read brings nothing and says the log is complete.
    pub(super) fn log_done(self) -> Self {
        self.log_read(&[], Some(true))
    }

    /// The next log read brings text without its newline.
    pub(super) fn log_partial(self, text: &str) -> Self {
        self.log_answer(Log::Partial(text.into()))
    }

    /// After the scripted reads, the log brings nothing, without saying whether it is complete.
    pub(super) fn log_quiet_forever(self) -> Self {
        self.log_forever(Log::Read {
            lines: Vec::new(),
            bytes: 0,
            complete: None,
        })
    }

    /// After the scripted reads, the log brings nothing and says it is not complete.
    pub(super) fn log_incomplete_forever(self) -> Self {
        self.log_forever(Log::Read {
            lines: Vec::new(),
            bytes: 0,
            complete: Some(false),
        })
    }

    /// After the scripted reads, every log read brings a new line.
    pub(super) fn log_endless(self) -> Self {
        self.log_forever(Log::Endless)
    }

    /// The next log read answers HTTP `status` with `Retry-After`.
    pub(super) fn log_fails_after(self, status: u16, retry_after: Duration) -> Self {
        self.log_answer(Log::Fails(Fault::Api(status, Some(retry_after))))
    }

    /// After the scripted reads, every log read answers HTTP `status`.
    pub(super) fn log_fails_forever(self, status: u16) -> Self {
        self.log_forever(Log::Fails(Fault::Api(status, None)))
    }

    /// The next watch sees a change after `d`.
    pub(super) fn watch_changed_after(self, d: Duration) -> Self {
        lock(&self.watch).push(Watch::ChangedAfter(d));
        self
    }

    /// After the scripted watches, every watch sees no change in the time allowed.
    /// The next watch is quiet and ends after `d`.
    pub(super) fn watch_quiet_after(self, d: Duration) -> Self {
        lock(&self.watch).push(Watch::QuietAfter(d));
        self
    }

    pub(super) fn watch_quiet_forever(self) -> Self {
        lock(&self.watch).forever = Some(Watch::Quiet);
        self
    }

    /// The next watch stream breaks with HTTP `status`.
    pub(super) fn watch_fails(self, status: u16) -> Self {
        lock(&self.watch).push(Watch::Fails(Fault::Api(status, None)));
        self
    }

    /// After the scripted watches, every watch stream breaks with HTTP `status`.
    pub(super) fn watch_fails_forever(self, status: u16) -> Self {
        lock(&self.watch).forever = Some(Watch::Fails(Fault::Api(status, None)));
        self
    }

    /// The backend reads something after a success; each read succeeds unless scripted.
    pub(super) fn fetching(mut self) -> Self {
        self.fetches = true;
        self
    }

    /// The next read after a success answers HTTP `status`.
    pub(super) fn fetch_fails(self, status: u16) -> Self {
        lock(&self.fetch).push(Fault::Api(status, None));
        self.fetching()
    }

    /// The next read after a success answers HTTP `status` with a `Retry-After`.
    pub(super) fn fetch_fails_after(self, status: u16, retry_after: Duration) -> Self {
        lock(&self.fetch).push(Fault::Api(status, Some(retry_after)));
        self.fetching()
    }

    /// The platform's words about how the operation ended.
    pub(super) fn message(mut self, message: &str) -> Self {
        self.message = Some(message.into());
        self
    }

    /// `recover` finds the operation an abandoned trigger started.
    pub(super) fn recoverable(mut self) -> Self {
        self.recover = Some(Ok(()));
        self
    }

    /// `recover` answers HTTP `status`.
    pub(super) fn recover_fails(mut self, status: u16) -> Self {
        self.recover = Some(Err(Fault::Api(status, None)));
        self
    }

    /// The cancel request answers HTTP `status`.
    pub(super) fn cancel_fails(mut self, status: u16) -> Self {
        self.cancel = Some(Fault::Api(status, None));
        self
    }

    /// The cancel request never answers.
    pub(super) fn cancel_hangs(mut self) -> Self {
        self.cancel_hangs = true;
        self
    }

    /// The phase's outputs.
    pub(super) fn outputs(mut self, outputs: &[(&str, &str)]) -> Self {
        self.outputs = outputs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        self
    }
}

/// What the engine did, for assertions.
impl Fake {
    /// Every call, with when it started.
    pub(super) fn calls(&self) -> Vec<(Call, Duration)> {
        lock(&self.calls).clone()
    }

    /// When each call of this kind started.
    pub(super) fn times(&self, call: Call) -> Vec<Duration> {
        lock(&self.calls)
            .iter()
            .filter(|(c, _)| *c == call)
            .map(|(_, t)| *t)
            .collect()
    }

    /// The time between two calls of this kind in a row.
    pub(super) fn gaps(&self, call: Call) -> Vec<Duration> {
        self.times(call)
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect()
    }

    /// How many calls of this kind were made.
    pub(super) fn count(&self, call: Call) -> usize {
        self.times(call).len()
    }

    /// The time allowed to each watch.
    pub(super) fn watch_limits(&self) -> Vec<Duration> {
        lock(&self.watch_limits).clone()
    }

    /// Records the call, then waits the latency.
    async fn called(&self, call: Call) {
        lock(&self.calls).push((call, self.start.elapsed()));
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl Backend for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn trigger_replay(&self, _: Phase) -> crate::net::Replay {
        if self.idempotent {
            crate::net::Replay::Safe
        } else {
            crate::net::Replay::Never
        }
    }

    async fn trigger(&self, phase: Phase, _: &Vars) -> Result<Operation> {
        self.called(Call::Trigger).await;
        let answer = lock(&self.trigger).next();
        match answer {
            None => Ok(operation(phase)),
            Some(Trigger::Fails(fault)) => Err(fault.error(Call::Trigger)),
            Some(Trigger::Hangs) => std::future::pending().await,
        }
    }

    async fn recover(&self, phase: Phase, _: &Vars) -> Result<Option<Operation>> {
        self.called(Call::Recover).await;
        match self.recover {
            None => Ok(None),
            Some(Ok(())) => Ok(Some(operation(phase))),
            Some(Err(fault)) => Err(fault.error(Call::Recover)),
        }
    }

    async fn resolve(&self, _: &mut Operation) -> Result<Resolved> {
        self.called(Call::Resolve).await;
        let answer = lock(&self.resolve).next();
        match answer {
            None => Ok(Resolved::Ready),
            Some(Resolve::Is(resolved)) => Ok(resolved),
            Some(Resolve::Fails(fault)) => Err(fault.error(Call::Resolve)),
        }
    }

    async fn status(&self, _: &mut Operation) -> Result<Observation> {
        self.called(Call::Status).await;
        if let Some(end) = self.ends_at {
            let class = if self.start.elapsed() >= end {
                StateClass::Success
            } else {
                StateClass::Running
            };
            let state = if class == StateClass::Success {
                "done"
            } else {
                "running"
            };
            return Ok(Observation {
                state: state.into(),
                class,
                estimate: self.estimate,
            });
        }
        let answer = lock(&self.status).next();
        match answer {
            None => panic!(
                "unexpected status read at {:?}: the script has no answer left",
                self.start.elapsed()
            ),
            Some(Status::Is(state, class)) => Ok(Observation {
                state,
                class,
                estimate: self.estimate,
            }),
            Some(Status::Fails(fault)) => Err(fault.error(Call::Status)),
            Some(Status::Hangs) => std::future::pending().await,
        }
    }

    fn has_logs(&self, _: Phase) -> bool {
        self.has_logs
    }

    fn log_is_live(&self, _: &Operation) -> bool {
        self.live
    }

    async fn logs(&self, op: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead> {
        self.called(Call::Logs).await;
        if let (Some(end), true) = (self.ends_at, self.log_timeline) {
            let over = self.start.elapsed() >= end;
            if !over {
                sink.line("step").await;
                op.log.offset += 5;
            }
            return Ok(LogRead {
                lines: u64::from(!over),
                complete: self.log_says_end.then_some(over),
            });
        }
        let answer = lock(&self.logs).next();
        let quiet = LogRead {
            lines: 0,
            complete: None,
        };
        match answer {
            None => Ok(quiet),
            Some(Log::Read {
                lines,
                bytes,
                complete,
            }) => {
                for line in &lines {
                    sink.line(line).await;
                }
                op.log.offset += bytes;
                Ok(LogRead {
                    lines: lines.len() as u64,
                    complete,
                })
            }
            Some(Log::Endless) => {
                let n = {
                    let mut count = lock(&self.log_count);
                    *count += 1;
                    *count
                };
                sink.line(&format!("line {n}")).await;
                Ok(LogRead {
                    lines: 1,
                    complete: None,
                })
            }
            Some(Log::Partial(text)) => {
                op.log.carry.extend_from_slice(text.as_bytes());
                Ok(quiet)
            }
            Some(Log::Fails(fault)) => Err(fault.error(Call::Logs)),
        }
    }

    async fn watch(&self, _: &mut Operation, max: Duration) -> Result<Watched> {
        self.called(Call::Watch).await;
        lock(&self.watch_limits).push(max);
        let answer = lock(&self.watch).next();
        match answer {
            None => Ok(Watched::Unsupported),
            Some(Watch::ChangedAfter(d)) => {
                tokio::time::sleep(d).await;
                Ok(Watched::Changed)
            }
            Some(Watch::Quiet) => {
                tokio::time::sleep(max).await;
                Ok(Watched::Quiet)
            }
            Some(Watch::QuietAfter(d)) => {
                tokio::time::sleep(d.min(max)).await;
                Ok(Watched::Quiet)
            }
            Some(Watch::Fails(fault)) => Err(fault.error(Call::Watch)),
        }
    }

    async fn cancel(&self, _: &Operation) -> Result<()> {
        self.called(Call::Cancel).await;
        if self.cancel_hangs {
            std::future::pending::<()>().await;
        }
        match self.cancel {
            None => Ok(()),
            Some(fault) => Err(fault.error(Call::Cancel)),
        }
    }

    async fn fetch(&self, _: &mut Operation) -> Result<()> {
        if !self.fetches {
            return Ok(());
        }
        self.called(Call::Fetch).await;
        let answer = lock(&self.fetch).next();
        match answer {
            None => Ok(()),
            Some(fault) => Err(fault.error(Call::Fetch)),
        }
    }

    fn outputs(&self, _: &Operation) -> Result<BTreeMap<String, String>> {
        Ok(self.outputs.clone())
    }

    fn message(&self, _: &Operation) -> Option<String> {
        self.message.clone()
    }
}
