//! How ferry waits, driven as a user runs it: the real binary with `examples/simulator.toml` as
//! shipped (the default cadence), against the simulator's builds, and the variants the
//! simulator offers: a streamed log, a status long poll, an estimate. Each test counts the
//! requests the simulator received during the build and checks when the end was seen; the
//! numbers side by side with `sleep` loops are in BENCHMARKS.md ("Polling").

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{OpScript, Outcome, RecordedRequest, Route, Script, expected_log};

use crate::support::{Run, Sim, Workdir, run};

/// The example as shipped: the default cadence.
const SHIPPED: &str = include_str!("../../examples/simulator.toml");

/// The build's log as the example reads it (by byte offset, with a completion header).
const OFFSET_LOG: &str = r#"[build.logs]
mode = "offset"
path = "/v1/builds/{{ id }}/log?offset={{ offset }}"
next_offset = "header:X-Log-Offset"
complete = "header:X-Log-Complete"
"#;

/// A build queued 200 ms that runs `secs` writing `lines` lines (no tail), then a quick deploy.
fn script(secs: u64, lines: u64) -> Script {
    let mut script = Script::fast();
    script.build = OpScript {
        queue: Duration::from_millis(200),
        duration: Duration::from_secs(secs),
        log_lines: lines,
        outcome: Outcome::Success,
        tail_lines: 0,
        tail_delay: Duration::ZERO,
    };
    script
}

/// The shipped example with the build's log described by `logs` instead (empty: no log) and
/// `status` added to `[build.status]`.
fn variant(logs: &str, status: &str) -> String {
    let anchor = "failure = [\"failed\", \"cancelled\"]\n\n[build.logs]";
    assert!(
        SHIPPED.contains(OFFSET_LOG) && SHIPPED.contains(anchor),
        "the example's build changed"
    );
    SHIPPED
        .replacen(
            anchor,
            &format!("failure = [\"failed\", \"cancelled\"]\n{status}\n\n[build.logs]"),
            1,
        )
        .replacen(OFFSET_LOG, logs, 1)
}

/// Deploys with `config` against a simulator running `script`: what ferry said, and the build's
/// requests.
fn deploy(script: &Script, config: &str) -> (Run, Build) {
    let sim = Sim::start(script.clone());
    let work = Workdir::with_config(config);
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(0);
    let build = Build::of(&sim, script);
    (r, build)
}

/// The build's requests, and when it ended (ms since the simulator started).
struct Build {
    requests: Vec<RecordedRequest>,
    end_ms: u64,
}

impl Build {
    fn of(sim: &Sim, script: &Script) -> Self {
        Self::nth(sim, script, 1)
    }

    /// The `n`th build the simulator ran (`b-<n>`).
    fn nth(sim: &Sim, script: &Script, n: usize) -> Self {
        let id = format!("/v1/builds/b-{n}");
        let all = sim.requests();
        let triggered_ms = all
            .iter()
            .filter(|r| r.route == Some(Route::Trigger) && r.path.ends_with("/builds"))
            .nth(n - 1)
            .expect("the build was triggered")
            .at_ms;
        let requests: Vec<RecordedRequest> = all
            .into_iter()
            .filter(|r| r.path.starts_with(&id))
            .collect();
        let length = script.build.terminal_after().as_millis();
        let end_ms = triggered_ms + u64::try_from(length).unwrap();
        Self { requests, end_ms }
    }

    /// Requests of `route` during the build (after its trigger, before its end).
    fn during(&self, route: Route) -> Vec<&RecordedRequest> {
        self.requests
            .iter()
            .filter(|r| r.route == Some(route) && r.at_ms < self.end_ms)
            .collect()
    }

    /// How long after the end the last request for the build came (when ferry saw it).
    fn seen_after(&self) -> Duration {
        let last = self.requests.iter().map(|r| r.at_ms).max().unwrap();
        Duration::from_millis(last.saturating_sub(self.end_ms))
    }
}

/// Whether every line of the build's log was shown.
fn assert_every_line_shown(r: &Run, script: &Script) {
    let mut expected = expected_log(Phase::Build, "b-1", &script.build).peekable();
    assert!(expected.peek().is_some());
    for line in expected {
        assert!(
            r.stderr.contains(&line),
            "{line:?} not shown:\n{}",
            r.stderr
        );
    }
}

#[test]
fn a_flowing_log_that_says_when_it_is_complete_is_read_once_a_second_and_is_the_signal() {
    let script = script(4, 40);
    let (r, build) = deploy(&script, SHIPPED);
    // 4.2 s of build: about one log read a second (not one every 100 ms), and the status only
    // once at the start (the log says when it is complete).
    let logs = build.during(Route::Log).len();
    assert!((3..=6).contains(&logs), "{logs} log reads");
    assert_eq!(build.during(Route::Status).len(), 1);
    // Every line shown; the end seen at the next log read.
    assert_every_line_shown(&r, &script);
    assert!(build.seen_after() <= Duration::from_millis(1500));
}

#[test]
fn a_streamed_log_is_one_request_and_its_end_is_seen_at_once() {
    let script = script(4, 40);
    let (r, build) = deploy(
        &script,
        &variant(
            "[build.logs]\nmode = \"stream\"\nurl = \"/log_stream_url\"\n",
            "",
        ),
    );
    let logs: Vec<&RecordedRequest> = build.during(Route::Log);
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert!(logs[0].path.ends_with("/log/stream"), "{}", logs[0].path);
    assert_eq!(build.during(Route::Status).len(), 1);
    assert_every_line_shown(&r, &script);
    // The stream ends with the log: the status is read at once.
    assert!(build.seen_after() <= Duration::from_millis(500));
}

#[test]
fn a_status_long_poll_replaces_the_polling() {
    let script = script(4, 0);
    let (_, build) = deploy(
        &script,
        &variant("", "long_poll = { wait = \"wait\", since = \"since\" }"),
    );
    let statuses = build.during(Route::Status);
    // The first read, then held requests that the platform answers on each change (queued →
    // running, running → succeeded): no polling in between.
    assert!(statuses.len() <= 3, "{statuses:#?}");
    let held: Vec<&str> = statuses
        .iter()
        .filter(|r| r.path.contains("wait="))
        .map(|r| r.path.as_str())
        .collect();
    assert!(held.iter().any(|p| p.contains("since=running")), "{held:?}");
    assert!(build.seen_after() <= Duration::from_millis(500));
}

#[test]
fn an_estimate_reads_sparsely_early_and_densely_around_the_end() {
    let mut script = script(10, 0);
    script.estimate_percent = Some(100);
    let (_, build) = deploy(&script, &variant("", "estimate = \"/estimated_seconds\""));
    let reads: Vec<u64> = build
        .requests
        .iter()
        .filter(|r| r.route == Some(Route::Status))
        .map(|r| r.at_ms)
        .collect();
    let gaps: Vec<u64> = reads.windows(2).map(|w| w[1] - w[0]).collect();
    // The window opens 5 s before the expected end (10.2 s): one read there, then every 1.5 s.
    assert!(gaps[0] >= 4500, "{gaps:?}");
    assert!(
        gaps[1..].iter().all(|g| (1400..2000).contains(g)),
        "{gaps:?}"
    );
    assert!(build.seen_after() <= Duration::from_millis(1600));
}

#[test]
fn a_long_poll_stays_in_flight_while_a_flowing_log_is_read_once_a_second() {
    let script = script(4, 40);
    let (r, build) = deploy(
        &script,
        &variant(
            OFFSET_LOG,
            "long_poll = { wait = \"wait\", since = \"since\" }",
        ),
    );
    // One held request per change of state (queued → running → succeeded), not one per log
    // read: the poll outlives the waits between two reads of the log.
    let held = build
        .during(Route::Status)
        .into_iter()
        .filter(|r| r.path.contains("wait="))
        .count();
    assert!((1..=3).contains(&held), "{held} long polls");
    let logs = build.during(Route::Log).len();
    assert!((3..=6).contains(&logs), "{logs} log reads");
    assert_every_line_shown(&r, &script);
    assert!(build.seen_after() <= Duration::from_millis(1500));
}

#[test]
fn the_last_successful_builds_length_is_the_next_ones_estimate() {
    let script = script(10, 0);
    let sim = Sim::start(script.clone());
    let history = "\n[build.history]\npath = \"/v1/apps/{{ vars.app }}/builds\"\nitems = \"/builds\"\nmatch = { \"/status\" = [\"succeeded\"] }\nstarted = \"/created_at\"\nfinished = \"/finished_at\"\n";
    let work = Workdir::with_config(&format!("{}{history}", variant("", "")));
    for _ in 0..2 {
        run(work
            .ferry()
            .args(["deploy", "--json"])
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"))
        .assert_code(0);
    }
    let reads = |build: &Build| -> Vec<u64> {
        build
            .requests
            .iter()
            .filter(|r| r.route == Some(Route::Status))
            .map(|r| r.at_ms)
            .collect()
    };
    // The first build has no earlier one: a read every 5 s.
    let first = Build::nth(&sim, &script, 1);
    let gaps: Vec<u64> = reads(&first).windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= 4900), "{gaps:?}");
    // The second reads the list once, and is read densely around 10.2 s.
    let lists = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/v1/apps/demo-app/builds")
        .count();
    assert_eq!(lists, 2, "one history read per build");
    let second = Build::nth(&sim, &script, 2);
    let gaps: Vec<u64> = reads(&second).windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[1..].iter().all(|g| (1400..2000).contains(g)),
        "{gaps:?}"
    );
    assert!(second.seen_after() <= Duration::from_millis(1600));
}
