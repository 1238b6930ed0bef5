//! The forge reporter: one sink for every forge, driving an [`Adapter`] through the run. What is
//! written once here, for every forge:
//!
//! - **when**: the start-of-run calls (locate, `pending`/`running`, the deployment) run in a
//!   [`Background`] task when the first phase starts, so the dispatcher never waits for the
//!   forge; `finish` waits for them, then makes the end-of-run calls (the deployment's final
//!   status, the final commit status, the sticky comment);
//! - **what is still open**: only the kinds of report this run makes ([`Adapter::surfaces`]),
//!   and only while the forge lets ferry (a refusal closes that kind; a read-only token closes
//!   all of them; a spent rate-limit budget stops every call);
//! - **how it is said**: refusals become one [`Degraded`] notice (counted as a failed report),
//!   every other failure a [`SinkFailure`] of its own, worded `<forge> failed (<part>): …`;
//!   sentences about what was skipped (no pull request, an unknown commit) go to the log and,
//!   through the [`Findings`], to the job summary.

use std::io::Write as _;
use std::time::SystemTime;

use async_trait::async_trait;

use super::adapter::{Adapter, ForgeError, StatusChange, Surface};
use super::background::Background;
use super::degraded::Degraded;
use crate::ci::Context;
use crate::error::Result;
use crate::platform::{Command, Event, RunOutcome};
use crate::report::findings::Findings;
use crate::report::row::{Row, culprit};
use crate::report::{Sink, SinkFailure, Stamped};
use crate::secret::Redactor;
use crate::stream::Stream;

/// What the reporter needs besides the adapter.
pub(crate) struct Setup {
    /// The run's context (the CI, the job's URL, the commit shown when the adapter knows none).
    pub(crate) context: Context,
    pub(crate) command: Command,
    /// Every secret the forge's reports may meet (the row's message and log tail).
    pub(crate) redactor: Redactor,
    pub(crate) findings: Findings,
    /// Where notes and notices go (the CI log).
    pub(crate) log: Stream,
}

/// The sink reporting to one forge through its adapter. See the module docs.
pub(crate) struct ForgeReporter<A: Adapter> {
    work: Background<Reporting<A>>,
    failures: Vec<SinkFailure>,
}

impl<A: Adapter> ForgeReporter<A> {
    pub(crate) fn new(adapter: A, setup: Setup) -> Self {
        let surfaces = adapter.surfaces();
        Self {
            work: Background::new(Reporting {
                adapter,
                setup,
                surfaces,
                denied: Vec::new(),
                read_only: false,
                refusal: None,
                problems: Vec::new(),
                notes: Vec::new(),
            }),
            failures: Vec::new(),
        }
    }
}

/// The reporter's state: the adapter and what the run has met so far.
struct Reporting<A> {
    adapter: A,
    setup: Setup,
    /// The kinds of report this run makes.
    surfaces: Vec<Surface>,
    /// Kinds the forge refused (403), in the order met.
    denied: Vec<Surface>,
    /// The token can write nothing here (a fork's read-only token): no more writes this run.
    read_only: bool,
    /// The first refusal, for the notice.
    refusal: Option<ForgeError>,
    problems: Vec<SinkFailure>,
    /// Sentences for the log and the summary.
    notes: Vec<String>,
}

impl<A: Adapter> Reporting<A> {
    /// May `surface` still be written to?
    fn open(&self, surface: Surface) -> bool {
        self.surfaces.contains(&surface)
            && !self.adapter.gave_up()
            && !self.read_only
            && !self.denied.contains(&surface)
    }

    /// Records a failed call: a refusal closes its kind of report (all of them for a read-only
    /// token) and goes into the one notice; anything else is a warning of its own.
    fn failed(&mut self, surface: Surface, error: ForgeError) {
        if error.refused && surface != Surface::Lookup {
            if !self.denied.contains(&surface) {
                self.denied.push(surface);
            }
            if self.adapter.refusal_is_read_only() {
                self.read_only = true;
            }
            self.refusal.get_or_insert(error);
        } else {
            let names = A::NAMES;
            self.problems.push(
                SinkFailure::new(names.sink, error.what, error.fix).of_part(names.of(surface)),
            );
        }
    }

    /// When the first phase starts: where to report, the status, the deployment.
    async fn start(&mut self) {
        if self.locate().await {
            self.started().await;
        }
    }

    /// Finds where to report; false (and a note) when the commit is unknown, so no status or
    /// deployment can be posted.
    async fn locate(&mut self) -> bool {
        if let Err(e) = self.adapter.locate().await {
            self.failed(Surface::Lookup, e);
        }
        if self.adapter.commit().is_some() {
            return true;
        }
        let names = A::NAMES;
        let mut unposted = Vec::new();
        if self.surfaces.contains(&Surface::Status) {
            unposted.push(names.of(Surface::Status));
        }
        if self.setup.command == Command::Deploy && self.surfaces.contains(&Surface::Deployment) {
            unposted.push(names.of(Surface::Deployment));
        }
        if !unposted.is_empty() {
            self.notes.push(format!(
                "The commit is unknown here, so no {} was posted; set `sha` to report on one.",
                unposted.join(" or ")
            ));
        }
        false
    }

    /// The work started: `pending`/`running`, and the deployment of a deploy.
    async fn started(&mut self) {
        if self.open(Surface::Status) {
            let posted = self.adapter.set_status(StatusChange::Started).await;
            if let Err(e) = posted {
                self.failed(Surface::Status, e);
            }
        }
        if self.setup.command == Command::Deploy && self.open(Surface::Deployment) {
            let started = self.adapter.start_deployment().await;
            if let Err(e) = started {
                self.failed(Surface::Deployment, e);
            }
        }
    }

    /// When the run ends: the final statuses, the comment; then what to say.
    async fn finish(&mut self, outcome: &RunOutcome) -> Vec<SinkFailure> {
        let log_url = culprit(outcome)
            .or_else(|| outcome.phases.last())
            .and_then(|p| p.outputs.get("log_url").cloned())
            .or_else(|| self.setup.context.job_url.clone());
        if self.open(Surface::Deployment) {
            let finished = self
                .adapter
                .finish_deployment(outcome, log_url.as_deref())
                .await;
            if let Err(e) = finished {
                self.failed(Surface::Deployment, e);
            }
        }
        if self.adapter.commit().is_some() && self.open(Surface::Status) {
            let change = StatusChange::Finished {
                outcome,
                log_url: log_url.as_deref(),
            };
            let posted = self.adapter.set_status(change).await;
            if let Err(e) = posted {
                self.failed(Surface::Status, e);
            }
        }
        if self.open(Surface::Comment) {
            let row = self.row(outcome);
            match self.adapter.comment(&row).await {
                Ok(Some(note)) => self.notes.push(note),
                Ok(None) => {}
                Err(e) => self.failed(Surface::Comment, e),
            }
        }
        tracing::debug!(
            forge = A::NAMES.forge,
            calls = self.adapter.calls(),
            "forge requests sent"
        );
        self.verdict()
    }

    /// The row of this run, on the commit reported on, with every secret the forge may meet
    /// redacted (a platform log tail echoing a CI job token).
    fn row(&self, outcome: &RunOutcome) -> Row {
        let mut context = self.setup.context.clone();
        if let Some(sha) = self.adapter.row_commit() {
            context.sha = Some(sha);
        }
        let mut row = Row::from_outcome(outcome, &context, SystemTime::now());
        let redactor = &self.setup.redactor;
        row.message = row.message.map(|m| redactor.redact(&m));
        row.log_tail = row.log_tail.iter().map(|l| redactor.redact(l)).collect();
        row
    }

    /// Records the findings, writes the notes, and returns the failures: the degraded notice
    /// first (when the forge refused), then every other failure in the order met.
    fn verdict(&mut self) -> Vec<SinkFailure> {
        let findings = &self.setup.findings;
        findings.reported_on(self.adapter.row_commit(), self.adapter.deployment());
        for note in &self.notes {
            findings.note(note.clone());
            let _ = writeln!(self.setup.log, "note: {note}");
        }
        let mut failures = Vec::new();
        if let Some(answer) = self.refusal.take() {
            let skipped: Vec<Surface> = if self.read_only {
                self.surfaces.clone()
            } else {
                self.denied.clone()
            };
            let (why, fix) = self.adapter.refusal(&skipped, self.read_only);
            let degraded =
                Degraded::failed(A::NAMES, skipped, format!("{why} ({})", answer.what), fix);
            let ci = self.setup.context.ci;
            failures.extend(degraded.report(ci, &mut self.setup.log, findings));
        }
        failures.append(&mut self.problems);
        failures
    }
}

#[async_trait]
impl<A: Adapter> Sink for ForgeReporter<A> {
    fn name(&self) -> &'static str {
        A::NAMES.sink
    }

    async fn event(&mut self, event: Stamped<'_>) -> Result<()> {
        if matches!(event.event, Event::PhaseStarted { .. }) {
            self.work
                .begin(|mut reporting| async move { reporting.start().await });
        }
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, _: &Context) -> Result<()> {
        let begun = self.work.begun();
        let mut reporting = self.work.settle().await;
        if !begun {
            // No phase ran: nothing started, but the run's end is still reported.
            reporting.locate().await;
        }
        let failures = reporting.finish(outcome).await;
        drop(reporting);
        self.failures = failures;
        Ok(())
    }

    fn failures(&mut self) -> Vec<SinkFailure> {
        std::mem::take(&mut self.failures)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::platform::{Emitter, Level, Phase};
    use crate::report::forge::adapter::Names;
    use crate::report::{dispatch, finish_all, fixture};

    const NAMES: Names = Names {
        sink: "fakeforge",
        forge: "FakeForge",
        comment: "change-request comment",
        lookup: "change-request lookup",
    };

    type Calls = Arc<Mutex<Vec<String>>>;

    /// An adapter that records its calls, can be held at its first status until released, and
    /// refuses or fails what it is told to.
    struct Fake {
        calls: Calls,
        hold: Option<tokio::sync::oneshot::Receiver<()>>,
        refuse: Vec<&'static str>,
        fail: Vec<&'static str>,
        read_only: bool,
        deployed: bool,
    }

    impl Fake {
        fn new() -> (Self, Calls) {
            let calls = Calls::default();
            let fake = Fake {
                calls: calls.clone(),
                hold: None,
                refuse: Vec::new(),
                fail: Vec::new(),
                read_only: false,
                deployed: false,
            };
            (fake, calls)
        }

        fn call(&mut self, name: &'static str) -> std::result::Result<(), ForgeError> {
            self.calls.lock().unwrap().push(name.into());
            if self.refuse.contains(&name) {
                return Err(ForgeError {
                    refused: true,
                    what: format!("{name} answered HTTP 403"),
                    fix: None,
                });
            }
            if self.fail.contains(&name) {
                return Err(ForgeError {
                    refused: false,
                    what: format!("{name} answered HTTP 502"),
                    fix: Some("try again".into()),
                });
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Adapter for Fake {
        const NAMES: Names = NAMES;

        fn surfaces(&self) -> Vec<Surface> {
            vec![Surface::Status, Surface::Deployment, Surface::Comment]
        }

        fn commit(&self) -> Option<&str> {
            Some(fixture::SHA)
        }

        fn row_commit(&self) -> Option<String> {
            None
        }

        async fn set_status(
            &mut self,
            change: StatusChange<'_>,
        ) -> std::result::Result<(), ForgeError> {
            if let Some(hold) = self.hold.take() {
                let _ = hold.await;
            }
            match change {
                StatusChange::Started => self.call("pending"),
                StatusChange::Finished { .. } => self.call("final"),
            }
        }

        async fn start_deployment(&mut self) -> std::result::Result<(), ForgeError> {
            self.deployed = true;
            self.call("deployment")
        }

        async fn finish_deployment(
            &mut self,
            _: &RunOutcome,
            _: Option<&str>,
        ) -> std::result::Result<(), ForgeError> {
            // Like GitHub: only a deployment that was started gets a final status.
            if !self.deployed {
                return Ok(());
            }
            self.call("deployment final")
        }

        fn deployment(&self) -> Option<u64> {
            Some(7)
        }

        async fn comment(&mut self, _: &Row) -> std::result::Result<Option<String>, ForgeError> {
            self.call("comment").map(|()| None)
        }

        fn refusal(&self, missing: &[Surface], read_only: bool) -> (String, String) {
            (
                format!("refused {missing:?} read-only={read_only}"),
                "grant it".into(),
            )
        }

        fn refusal_is_read_only(&self) -> bool {
            self.read_only
        }

        fn calls(&self) -> u32 {
            u32::try_from(self.calls.lock().unwrap().len()).unwrap_or(u32::MAX)
        }
    }

    fn setup() -> (Setup, Findings) {
        let findings = Findings::default();
        let setup = Setup {
            context: fixture::context(),
            command: Command::Deploy,
            redactor: Redactor::default(),
            findings: findings.clone(),
            log: Stream::new(std::io::sink()),
        };
        (setup, findings)
    }

    /// Records when each event reached it (a stand-in for the console).
    struct Clock(Arc<Mutex<Vec<Instant>>>);

    #[async_trait]
    impl Sink for Clock {
        fn name(&self) -> &'static str {
            "clock"
        }

        async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
            self.0.lock().unwrap().push(Instant::now());
            Ok(())
        }

        async fn finish(&mut self, _: &RunOutcome, _: &Context) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_slow_forge_never_holds_the_dispatcher_and_finish_waits_for_it() {
        let (mut fake, calls) = Fake::new();
        let (release, hold) = tokio::sync::oneshot::channel();
        fake.hold = Some(hold);
        let (setup, findings) = setup();
        let seen = Arc::new(Mutex::new(Vec::new()));
        // The forge comes first, so any wait in it would delay the clock's events.
        let mut sinks: Vec<Box<dyn Sink>> = vec![
            Box::new(ForgeReporter::new(fake, setup)),
            Box::new(Clock(seen.clone())),
        ];
        let (emitter, rx) = Emitter::channel(4);
        let producer = tokio::spawn(async move {
            emitter
                .emit(Event::PhaseStarted {
                    phase: Phase::Build,
                    platform: "sim".into(),
                })
                .await;
            for i in 0..20 {
                emitter
                    .emit(Event::Notice {
                        level: Level::Info,
                        message: format!("line {i}"),
                    })
                    .await;
            }
        });
        let started = Instant::now();
        let failures = dispatch(rx, &mut sinks, started).await;
        producer.await.unwrap();
        // Every event reached the other sink while the forge's first call was still held.
        assert!(failures.is_empty());
        assert_eq!(seen.lock().unwrap().len(), 21);
        assert!(
            calls.lock().unwrap().is_empty(),
            "the forge has answered nothing yet"
        );
        assert!(started.elapsed() < Duration::from_secs(1));

        // The forge answers later; finish waits for the start-of-run calls, then goes on.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = release.send(());
        });
        let failures = finish_all(
            &mut sinks,
            &fixture::succeeded_outcome(),
            &fixture::context(),
        )
        .await;
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "pending",
                "deployment",
                "deployment final",
                "final",
                "comment"
            ]
        );
        assert_eq!(findings.get().deployment, Some(7));
    }

    async fn run(fake: Fake) -> (Vec<SinkFailure>, Findings) {
        let (setup, findings) = setup();
        let mut reporter = ForgeReporter::new(fake, setup);
        let started = Stamped {
            seq: 1,
            time: SystemTime::now(),
            elapsed: Duration::ZERO,
            event: &Event::PhaseStarted {
                phase: Phase::Deploy,
                platform: "sim".into(),
            },
        };
        reporter.event(started).await.unwrap();
        reporter
            .finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        (reporter.failures(), findings)
    }

    #[tokio::test]
    async fn without_a_phase_only_the_end_is_reported() {
        let (fake, calls) = Fake::new();
        let (setup, _) = setup();
        let mut reporter = ForgeReporter::new(fake, setup);
        reporter
            .finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        assert!(reporter.failures().is_empty());
        assert_eq!(*calls.lock().unwrap(), ["final", "comment"]);
    }

    #[tokio::test]
    async fn a_refusal_closes_its_kind_only_and_is_one_notice() {
        let (mut fake, calls) = Fake::new();
        fake.refuse = vec!["pending"];
        fake.fail = vec!["comment"];
        let (failures, findings) = run(fake).await;
        assert_eq!(
            *calls.lock().unwrap(),
            ["pending", "deployment", "deployment final", "comment"],
            "no final status after the refused pending one"
        );
        let text: Vec<String> = failures.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "fakeforge failed: FakeForge: refused [Status] read-only=false (pending answered \
                 HTTP 403), so ferry skipped the commit status; fix: grant it",
                "fakeforge failed (change-request comment): comment answered HTTP 502; fix: try \
                 again",
            ]
        );
        assert_eq!(findings.get().incomplete, ["FakeForge"]);
    }

    #[tokio::test]
    async fn a_read_only_token_stops_every_write_after_the_first_refusal() {
        let (mut fake, calls) = Fake::new();
        fake.refuse = vec!["pending"];
        fake.read_only = true;
        let (failures, _) = run(fake).await;
        assert_eq!(*calls.lock().unwrap(), ["pending"]);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].to_string().contains(
                "refused [Status, Deployment, Comment] read-only=true (pending answered HTTP \
                 403), so ferry skipped the commit status, the deployment and the \
                 change-request comment"
            ),
            "{}",
            failures[0]
        );
    }
}
