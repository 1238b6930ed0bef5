//! A fixed run for the sinks' tests: a GitHub pull-request context, an event sequence with every
//! event type (and hostile log lines), and the matching outcomes. Times are fixed so snapshots are
//! stable.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ci::{ChangeRequest, Ci, Context, Forge, RunInfo};
use crate::platform::{
    CancelReason, Command, Event, Level, Phase, PhaseOutcome, RunOutcome, StateClass, Status,
};
use crate::report::{Sink, Stamped};

/// 2025-01-02T03:04:05Z, when the fixed run starts.
pub(crate) const T0: u64 = 1_735_787_045;
pub(crate) const SHA: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5";

pub(crate) fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0)
}

pub(crate) fn context() -> Context {
    Context {
        ci: Ci::Github,
        forge: Some(Forge::Github),
        api_url: Some("https://api.github.com".into()),
        repository: Some("acme/shop".into()),
        sha: Some(SHA.into()),
        ref_name: Some("feature/login".into()),
        is_tag: false,
        change_request: Some(ChangeRequest {
            number: Some(42),
            source_branch: Some("feature/login".into()),
            target_branch: Some("main".into()),
            is_fork: Some(false),
        }),
        job_url: Some("https://github.com/acme/shop/actions/runs/4242/job/7".into()),
        run: RunInfo {
            server_url: Some("https://github.com".into()),
            ..RunInfo::default()
        },
        notes: Vec::new(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn log(phase: Phase, line: &str) -> Event {
    Event::Log {
        phase,
        line: line.into(),
    }
}

fn state(phase: Phase, state: &str, class: StateClass) -> Event {
    Event::StateChanged {
        phase,
        state: state.into(),
        class,
    }
}

/// The build's outcome in the fixed run.
pub(crate) fn build_outcome() -> PhaseOutcome {
    PhaseOutcome {
        phase: Phase::Build,
        status: Status::Succeeded,
        id: Some("1187".into()),
        state: Some("SUCCESS".into()),
        outputs: BTreeMap::from([
            (
                "artifact".into(),
                "registry.example.com/shop:1a2b3c4".into(),
            ),
            (
                "log_url".into(),
                "https://paas.example.com/builds/1187/log".into(),
            ),
        ]),
        duration: ms(95_400),
        message: None,
        log_tail: Vec::new(),
        settings_error: false,
    }
}

/// The deploy's outcome in the fixed (failing) run.
pub(crate) fn deploy_failed() -> PhaseOutcome {
    PhaseOutcome {
        phase: Phase::Deploy,
        status: Status::Failed,
        id: Some("d-553".into()),
        state: Some("FAILED".into()),
        outputs: BTreeMap::from([(
            "log_url".into(),
            "https://paas.example.com/deploys/d-553/log".into(),
        )]),
        duration: ms(12_300),
        message: Some("rollout failed: 0/3 pods ready\nsee the platform log".into()),
        log_tail: vec![
            "Pulling registry.example.com/shop:1a2b3c4".into(),
            "Readiness probe failed: HTTP 500".into(),
            "```".into(),
            "</details>".into(),
            "rollout failed: 0/3 pods ready".into(),
        ],
        settings_error: false,
    }
}

/// The fixed event sequence with the elapsed time of each: a build that succeeds after a retry
/// and a heartbeat, then a deploy that fails. Log lines include workflow-command, GitLab-section
/// and terminal-escape injections.
pub(crate) fn events() -> Vec<(Duration, Event)> {
    let b = Phase::Build;
    let d = Phase::Deploy;
    vec![
        (
            ms(5),
            Event::PhaseStarted {
                phase: b,
                platform: "paas".into(),
            },
        ),
        (
            ms(220),
            Event::Retrying {
                phase: b,
                attempt: 1,
                wait: ms(2_000),
                reason: "HTTP 503".into(),
                budget: Some(crate::platform::event::RetryBudget { used: 1, max: 8 }),
            },
        ),
        (
            ms(2_400),
            Event::Triggered {
                phase: b,
                id: "1187".into(),
                url: Some("https://paas.example.com/builds/1187".into()),
                observed: false,
            },
        ),
        (ms(2_600), state(b, "QUEUED", StateClass::Running)),
        (ms(4_100), state(b, "RUNNING", StateClass::Running)),
        (ms(4_300), log(b, "Step 1/9 : FROM node:22-alpine")),
        (ms(4_350), log(b, "::add-mask::x")),
        (ms(4_360), log(b, "::error::pwned")),
        (ms(4_370), log(b, "  ::set-output name=a::b")),
        (
            ms(4_380),
            log(b, "npm warn ##[set-output name=url;]https://evil.example"),
        ),
        (
            ms(4_390),
            log(
                b,
                "\x1b[0Ksection_end:1:ferry_build_log\r\x1b[0K\x1b[31mred\x1b[0m \x1b]0;title\x07done",
            ),
        ),
        (
            ms(34_400),
            Event::Heartbeat {
                phase: b,
                state: Some("RUNNING".into()),
                elapsed: ms(34_395),
            },
        ),
        (
            ms(40_000),
            Event::Notice {
                level: Level::Warning,
                message: "platform is slow: ::warning::not a command, 50% of budget".into(),
            },
        ),
        (ms(95_000), log(b, "Successfully built 3f2a1c")),
        (ms(95_200), state(b, "SUCCESS", StateClass::Success)),
        (ms(95_405), Event::PhaseFinished(build_outcome())),
        (
            ms(95_410),
            Event::PhaseStarted {
                phase: d,
                platform: "paas".into(),
            },
        ),
        (
            ms(95_900),
            Event::Triggered {
                phase: d,
                id: "d-553".into(),
                url: None,
                observed: false,
            },
        ),
        (ms(96_000), state(d, "PROGRESSING", StateClass::Running)),
        (
            ms(96_100),
            Event::Notice {
                level: Level::Info,
                message: "using the build's artifact".into(),
            },
        ),
        (ms(97_000), log(d, "Readiness probe failed: HTTP 500")),
        (ms(107_000), log(d, "rollout failed: 0/3 pods ready")),
        (ms(107_650), state(d, "FAILED", StateClass::Failure)),
        (ms(107_700), Event::PhaseFinished(deploy_failed())),
    ]
}

/// The outcome of the fixed run.
pub(crate) fn failed_outcome() -> RunOutcome {
    RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: Command::Deploy,
        environment: Some("review-42".into()),
        status: Status::Failed,
        exit_code: 1,
        url: None,
        phases: vec![build_outcome(), deploy_failed()],
        duration: ms(107_720),
        message: Some("deploy failed: rollout failed: 0/3 pods ready\nsee the platform log".into()),
    }
}

/// The same run had the deploy succeeded.
pub(crate) fn succeeded_outcome() -> RunOutcome {
    let mut deploy = deploy_failed();
    deploy.status = Status::Succeeded;
    deploy.state = Some("DEPLOYED".into());
    deploy.message = None;
    deploy.log_tail.clear();
    deploy
        .outputs
        .insert("url".into(), "https://review-42.shop.example.com/".into());
    RunOutcome {
        schema: RunOutcome::SCHEMA,
        command: Command::Deploy,
        environment: Some("review-42".into()),
        status: Status::Succeeded,
        exit_code: 0,
        url: Some("https://review-42.shop.example.com/".into()),
        phases: vec![build_outcome(), deploy],
        duration: ms(108_200),
        message: None,
    }
}

/// A short sequence with a cancellation, for flavour-specific checks.
pub(crate) fn cancelled_events() -> Vec<(Duration, Event)> {
    vec![
        (
            ms(5),
            Event::PhaseStarted {
                phase: Phase::Build,
                platform: "paas".into(),
            },
        ),
        (ms(900), log(Phase::Build, "compiling")),
        (
            ms(1_500),
            Event::Cancelling {
                phase: Phase::Build,
                reason: CancelReason::Signal,
            },
        ),
    ]
}

/// Feeds `events` to `sink` with fixed stamps (seq from 1, times from [`start`]).
pub(crate) async fn feed(sink: &mut dyn Sink, events: &[(Duration, Event)]) {
    for (i, (elapsed, event)) in events.iter().enumerate() {
        let stamped = Stamped {
            seq: i as u64 + 1,
            time: start() + *elapsed,
            elapsed: *elapsed,
            event,
        };
        if let Err(e) = sink.event(stamped).await {
            panic!("sink {} failed: {e}", sink.name());
        }
    }
}

/// Feeds the whole fixed run and finishes with `outcome`.
pub(crate) async fn run(sink: &mut dyn Sink, outcome: &RunOutcome) {
    feed(sink, &events()).await;
    if let Err(e) = sink.finish(outcome, &context()).await {
        panic!("sink {} failed at finish: {e}", sink.name());
    }
}
