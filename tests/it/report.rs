//! The report stage through its public API: the engine's channel, the dispatcher, and real sinks
//! writing to files — what `lib::run` will wire together.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};

use ferry::platform::{
    Command, Emitter, Event, Level, Phase, PhaseOutcome, RunOutcome, StateClass, Status,
};
use ferry::testing::{Ci, Context, Forge};
use ferry::testing::{
    CommentBody, Console, EventsFile, Flavour, GITHUB_COMMENT_LIMIT, Preview, Row, RowStatus, Sink,
    State, dispatch, finish_all,
};
use serde_json::Value;

/// A writer the test can read after the sink (which owns a clone) is done.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
        .unwrap_or_default()
    }
}

fn context() -> Context {
    let mut ctx = Context::local();
    ctx.ci = Ci::Github;
    ctx.forge = Some(Forge::Github);
    ctx.repository = Some("acme/shop".into());
    ctx.sha = Some("0123456789abcdef0123456789abcdef01234567".into());
    ctx.run.server_url = Some("https://github.com".into());
    ctx
}

fn deploy_outcome() -> PhaseOutcome {
    PhaseOutcome {
        phase: Phase::Deploy,
        status: Status::Succeeded,
        id: Some("d-1".into()),
        state: Some("live".into()),
        outputs: BTreeMap::from([("url".into(), "https://pr-7.example.com".into())]),
        duration: Duration::from_millis(1_200),
        message: None,
        log_tail: Vec::new(),
        settings_error: false,
    }
}

fn outcome() -> RunOutcome {
    RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: Command::Deploy,
        environment: Some("pr-7".into()),
        status: Status::Succeeded,
        exit_code: 0,
        url: Some("https://pr-7.example.com".into()),
        phases: vec![deploy_outcome()],
        duration: Duration::from_millis(1_350),
        message: None,
    }
}

async fn produce(emitter: Emitter) {
    let phase = Phase::Deploy;
    let events = [
        Event::PhaseStarted {
            phase,
            platform: "http".into(),
        },
        Event::Triggered {
            phase,
            id: "d-1".into(),
            url: None,
            observed: false,
        },
        Event::StateChanged {
            phase,
            state: "running".into(),
            class: StateClass::Running,
        },
        Event::Log {
            phase,
            line: "::set-output name=url::https://evil.example".into(),
        },
        Event::Notice {
            level: Level::Warning,
            message: "slow".into(),
        },
        Event::StateChanged {
            phase,
            state: "live".into(),
            class: StateClass::Success,
        },
        Event::PhaseFinished(deploy_outcome()),
    ];
    for event in events {
        emitter.emit(event).await;
    }
}

#[tokio::test]
async fn events_flow_from_the_engine_channel_to_every_sink() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let events_path = dir.path().join("events.ndjson");
    let console_out = Shared::default();
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(Console::new(console_out.clone(), Flavour::GithubActions)),
        Box::new(EventsFile::create(&events_path).unwrap_or_else(|e| panic!("{e}"))),
        Box::new(Preview::new(dir.path().join("demo"))),
    ];

    let (emitter, rx) = Emitter::channel(2);
    let producer = tokio::spawn(produce(emitter));
    let failures = dispatch(rx, &mut sinks, Instant::now()).await;
    producer.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(failures.is_empty(), "{failures:?}");
    let failures = finish_all(&mut sinks, &outcome(), &context()).await;
    assert!(failures.is_empty(), "{failures:?}");

    // NDJSON: every line parses, schema and seq in order, run_finished last.
    let text = std::fs::read_to_string(&events_path).unwrap_or_default();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(records.len(), 8);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["schema"], "ferry.events/v1");
        assert_eq!(r["seq"], i as u64 + 1);
    }
    let types: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "phase_started",
            "triggered",
            "state_changed",
            "log",
            "notice",
            "state_changed",
            "phase_finished",
            "run_finished"
        ]
    );
    assert_eq!(records[7]["outcome"]["url"], "https://pr-7.example.com");

    // Console: the hostile log line sits inside a stop-commands block; the run ends well.
    let log = console_out.text();
    let line = log
        .lines()
        .position(|l| l.starts_with("::set-output"))
        .unwrap_or_else(|| panic!("{log}"));
    let before: Vec<&str> = log.lines().take(line).collect();
    let opened = before
        .iter()
        .rposition(|l| l.starts_with("::stop-commands::"));
    let closed = before
        .iter()
        .rposition(|l| l.ends_with("::") && l.len() == 36);
    assert!(opened > closed, "{log}");
    assert!(log.contains("::warning::slow\n"), "{log}");
    assert!(
        log.contains("✔ pr-7 deployed to https://pr-7.example.com in 1.3s\n"),
        "{log}"
    );

    // Preview: the comment carries this environment's row, and the summary exists.
    let comment = std::fs::read_to_string(dir.path().join("demo/comment.md")).unwrap_or_default();
    let state = CommentBody::parse(&comment).unwrap_or_else(|| panic!("{comment}"));
    assert_eq!(state.rows[0].status, RowStatus::Ready);
    assert_eq!(
        state.rows[0].url.as_deref(),
        Some("https://pr-7.example.com")
    );
    assert!(dir.path().join("demo/summary.md").is_file());
}

#[test]
fn two_jobs_share_one_comment_without_losing_rows() {
    let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_735_787_045 + s);
    // Job A (review app) posts first.
    let mut a = CommentBody::default();
    a.upsert(Row::new("review-7", RowStatus::Deploying, t(0)));
    let posted = a.render(GITHUB_COMMENT_LIMIT);

    // Job B (staging) reads the comment, adds its row.
    let mut b = CommentBody::new(CommentBody::parse(&posted).unwrap_or_default());
    b.upsert(Row::new("staging", RowStatus::Ready, t(5)));
    let posted = b.render(GITHUB_COMMENT_LIMIT);

    // Job A finishes: re-reads, replaces its own row only.
    let mut a = CommentBody::new(CommentBody::parse(&posted).unwrap_or_default());
    a.upsert(Row::new("review-7", RowStatus::Ready, t(9)));
    let state = CommentBody::parse(&a.render(GITHUB_COMMENT_LIMIT)).unwrap_or_default();
    let rows: Vec<(&str, RowStatus)> = state
        .rows
        .iter()
        .map(|r| (r.environment.as_str(), r.status))
        .collect();
    assert_eq!(
        rows,
        [
            ("review-7", RowStatus::Ready),
            ("staging", RowStatus::Ready)
        ]
    );

    // Two reads that raced are reconciled by time.
    let mut ours = State::default();
    ours.upsert(Row::new("staging", RowStatus::Failed, t(1)));
    ours.merge(state);
    assert_eq!(
        ours.row("staging").map(|r| r.status),
        Some(RowStatus::Ready)
    );
}
