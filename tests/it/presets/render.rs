//! The `render` preset (`examples/platforms/render.toml`) as a user runs it: a `ferry.toml` with
//! `[platform] preset = "render"`, the ids in `[vars]` and the platform URL pointed at the
//! simulator's Render dialect, the real binary, and every request it sent checked against
//! Render's own OpenAPI description (`support/openapi3.rs`).

use std::time::{Duration, Instant};

use ferry::platform::Phase;
use ferry::sim::{
    Fault, OpScript, Outcome, RecordedRequest, RenderScript, Route, Script, expected_log,
};
use serde_json::Value;

use crate::support::openapi3;
use crate::support::{Run, Sim, Workdir, run, signal, spawn};

const TOKEN: &str = "rnd_T0kenForTheRenderPreset0123";
const SERVICE: &str = "srv-sim00000000000000001";
const OWNER: &str = "tea-sim00000000000000001";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// What a user writes: the preset, the ids, and (here) the simulator as the platform's URL.
fn work(sim: &Sim) -> Workdir {
    work_polling(sim, "20ms", "150ms")
}

/// [`work`], polling as `initial` and `max` say.
fn work_polling(sim: &Sim, initial: &str, max: &str) -> Workdir {
    Workdir::with_config(&format!(
        r#"
[platform]
preset = "render"
url = "{}/render/v1"

[platform.poll]
initial = "{initial}"
max = "{max}"

[vars]
service = "{SERVICE}"
owner = "{OWNER}"
"#,
        sim.url().trim_end_matches('/')
    ))
}

/// The simulator, requiring the token, with Render's ids.
fn start(script: Script) -> Sim {
    Sim::start(Script {
        require_token: Some(TOKEN.into()),
        render: RenderScript {
            services: vec![SERVICE.into()],
            owner: OWNER.into(),
            ..script.render
        },
        ..script
    })
}

fn ferry(work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json"])
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

/// A deploy slow enough to be seen building, then updating, with a build log whose tail is
/// written after the build ended.
fn script() -> Script {
    Script {
        build: OpScript {
            queue: Duration::from_millis(60),
            duration: Duration::from_millis(400),
            log_lines: 7,
            tail_lines: 2,
            tail_delay: Duration::from_millis(30),
            outcome: Outcome::Success,
        },
        deploy: OpScript {
            queue: Duration::from_millis(40),
            duration: Duration::from_millis(300),
            log_lines: 4,
            tail_lines: 0,
            tail_delay: Duration::ZERO,
            outcome: Outcome::Success,
        },
        ..Script::fast()
    }
}

/// Every request ferry sent, checked against Render's description; the token went with each.
#[track_caller]
fn assert_requests_follow_the_description(sim: &Sim) -> Vec<RecordedRequest> {
    let requests = sim.requests();
    assert!(!requests.is_empty());
    let mut problems = Vec::new();
    for req in &requests {
        problems.extend(
            openapi3::render()
                .check_recorded("/render", req)
                .into_iter()
                .map(|p| format!("{} {}: {p}", req.method, req.path)),
        );
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            req.method,
            req.path
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
    requests
}

/// The log lines ferry showed (`  | <time> <text>`), without their times.
fn shown(r: &Run) -> Vec<String> {
    r.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .map(|l| l.split_once(' ').map_or(l, |(_, text)| text).to_owned())
        .collect()
}

fn expected(script: &Script, label: &str, deploy: bool) -> Vec<String> {
    let build = expected_log(Phase::Build, label, &script.build);
    let update = expected_log(Phase::Deploy, label, &script.deploy).filter(|_| deploy);
    build
        .chain(update)
        .map(|l| l.trim_end_matches('\n').to_owned())
        .collect()
}

fn count(requests: &[RecordedRequest], method: &str, part: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method == method && r.path.contains(part))
        .count()
}

/// Reads of the service itself (`GET /services/{serviceId}`).
fn service_reads(requests: &[RecordedRequest]) -> usize {
    let path = format!("/render/v1/services/{SERVICE}");
    requests.iter().filter(|r| r.path == path).count()
}

#[test]
fn render_preset_builds_goes_live_and_reports_the_service_url() {
    let script = script();
    let sim = start(script.clone());
    let work = work(&sim);
    let r = run(&mut ferry(&work));
    r.assert_code(0);
    let out = r.json();
    let url = format!("{}/apps/{SERVICE}/render", sim.url().trim_end_matches('/'));
    assert_eq!(out["url"], url.as_str(), "{out}");
    let (build, deploy) = (&out["phases"][0], &out["phases"][1]);
    assert_eq!(build["phase"], "build");
    assert_eq!(build["status"], "succeeded");
    let id = build["id"].as_str().unwrap();
    assert!(id.starts_with("dep-"), "{id}");
    // One Render deploy, seen as two phases: the deploy phase follows the same one.
    assert_eq!(build["outputs"]["deploy"], id);
    assert_eq!(deploy["id"], id);
    assert_eq!(deploy["state"], "live");
    assert_eq!(deploy["outputs"]["url"], url.as_str());
    assert!(
        r.stderr.contains(&format!("deployed to {url}")),
        "{}",
        r.stderr
    );

    // The build log, then the update's, line for line, nothing twice.
    assert_eq!(shown(&r), expected(&script, "#1", true), "{}", r.stderr);

    let requests = assert_requests_follow_the_description(&sim);
    let trigger = requests
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/deploys"))
        .unwrap();
    let body: Value = serde_json::from_str(&trigger.body).unwrap();
    assert_eq!(body["commitId"], SHA);
    assert_eq!(
        count(&requests, "POST", "/deploys"),
        1,
        "one deploy triggered"
    );
    assert_eq!(
        service_reads(&requests),
        2,
        "the service is read before the trigger (its workspace) and after success (its URL)"
    );
    assert_eq!(count(&requests, "POST", "/cancel"), 0);
}

/// Polled slowly, the build phase sees the deploy first when it is already live: the deploy
/// phase still shows the whole update's log (it starts from the deploy's creation).
#[test]
fn render_preset_shows_the_whole_log_of_a_deploy_first_seen_live() {
    let script = script();
    let sim = start(script.clone());
    let r = run(&mut ferry(&work_polling(&sim, "1500ms", "1500ms")));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["phases"][0]["state"], "live", "{out}");
    assert_eq!(shown(&r), expected(&script, "#1", true), "{}", r.stderr);
    assert_requests_follow_the_description(&sim);
}

#[test]
fn render_preset_build_failure_stops_before_the_update_and_reports_no_url() {
    let mut script = script();
    script.build.outcome = Outcome::Failure;
    let sim = start(script.clone());
    let r = run(&mut ferry(&work(&sim)));
    r.assert_code(1);
    let out = r.json();
    assert!(out["url"].is_null(), "{out}");
    let phases = out["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1, "{out}");
    assert_eq!(phases[0]["state"], "build_failed");
    let message = phases[0]["message"].as_str().unwrap();
    assert!(message.contains("build_failed"), "{message}");
    assert!(r.stderr.contains("build_failed"), "{}", r.stderr);
    assert_eq!(shown(&r), expected(&script, "#1", false), "{}", r.stderr);
    let requests = assert_requests_follow_the_description(&sim);
    assert!(
        !requests.iter().any(|r| r.path.contains("type=app")),
        "no update log is read after a failed build"
    );
    assert_eq!(count(&requests, "POST", "/cancel"), 0);
}

#[test]
fn render_preset_deploy_failure_reports_the_failed_step_and_no_url() {
    for (pre_deploy, state) in [(false, "update_failed"), (true, "pre_deploy_failed")] {
        let mut script = script();
        script.deploy.outcome = Outcome::Failure;
        script.render.pre_deploy = pre_deploy;
        let sim = start(script.clone());
        let r = run(&mut ferry(&work(&sim)));
        r.assert_code(1);
        let out = r.json();
        assert!(out["url"].is_null(), "a failed deploy is not live: {out}");
        assert_eq!(out["phases"][0]["status"], "succeeded", "{out}");
        let deploy = &out["phases"][1];
        assert_eq!(deploy["status"], "failed", "{out}");
        assert_eq!(deploy["state"], state, "{out}");
        assert!(deploy["outputs"].get("url").is_none(), "{out}");
        assert!(r.stderr.contains(state), "{}", r.stderr);
        assert_eq!(shown(&r), expected(&script, "#1", true), "{}", r.stderr);
        let requests = assert_requests_follow_the_description(&sim);
        assert_eq!(
            service_reads(&requests),
            1,
            "the service's URL is not read after a failure"
        );
    }
}

/// SIGTERM while the build runs, then (another run) while the update runs: the deploy phase
/// triggered nothing, but it follows the same deploy and cancels it too.
#[test]
fn render_preset_cancels_the_deploy_on_a_signal() {
    for in_update in [false, true] {
        let mut script = script();
        if in_update {
            script.deploy.duration = Duration::from_secs(60);
            script.deploy.log_lines = 60;
        } else {
            script.build.duration = Duration::from_secs(60);
            script.build.log_lines = 60;
        }
        let sim = start(script);
        let work = work(&sim);
        let child = spawn(&mut ferry(&work));
        sim.wait_for("the deploy to be followed", |reqs| {
            let marker = if in_update { "type=app" } else { "type=build" };
            reqs.iter().filter(|r| r.path.contains(marker)).count() >= 2
        });
        signal(&child, "TERM");
        let r = Run::of(&child.wait_with_output().unwrap());
        r.assert_code(130);
        let out = r.json();
        assert_eq!(out["status"], "cancelled");
        assert!(out["url"].is_null(), "{out}");
        let requests = assert_requests_follow_the_description(&sim);
        let cancels: Vec<&RecordedRequest> = requests
            .iter()
            .filter(|r| r.route == Some(Route::Cancel))
            .collect();
        assert_eq!(cancels.len(), 1, "{cancels:#?}");
        assert_eq!(cancels[0].method, "POST");
        assert_eq!(
            cancels[0].path,
            format!("/render/v1/services/{SERVICE}/deploys/dep-sim00000000000000001/cancel")
        );
    }
}

/// Render answers `202` with no body when it queues a deploy: the preset finds it in the list,
/// by commit, and its log starts at its own creation, so an earlier deploy's never shows.
#[test]
fn render_preset_finds_a_queued_deploy_and_never_shows_an_earlier_ones_log() {
    let mut script = script();
    script.render.queued = true;
    let sim = start(script.clone());
    let work = work(&sim);
    run(&mut ferry(&work)).assert_code(0);
    let r = run(&mut ferry(&work));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["phases"][0]["id"], "dep-sim00000000000000002", "{out}");
    assert_eq!(shown(&r), expected(&script, "#2", true), "{}", r.stderr);
    assert!(r.stderr.contains("build state: queued"), "{}", r.stderr);
    let requests = assert_requests_follow_the_description(&sim);
    assert_eq!(count(&requests, "POST", "/deploys"), 2);
    assert!(count(&requests, "GET", "/deploys?limit=") >= 2);
}

/// A `429` carries `Ratelimit-Reset` (epoch seconds) and no `Retry-After`: ferry waits until
/// then, on the trigger (refused, so sent again) and on a status read alike.
#[test]
fn render_preset_waits_out_a_rate_limit_until_its_reset() {
    let mut script = script();
    script.faults = vec![
        Fault {
            on: Route::Trigger,
            count: 1,
            status: 429,
            retry_after: Some(2),
            ..Fault::default()
        },
        Fault {
            on: Route::Status,
            after: 2,
            count: 1,
            status: 429,
            retry_after: Some(1),
            ..Fault::default()
        },
    ];
    let sim = start(script.clone());
    let started = Instant::now();
    let r = run(&mut ferry(&work(&sim)));
    r.assert_code(0);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(shown(&r), expected(&script, "#1", true), "{}", r.stderr);
    let requests = assert_requests_follow_the_description(&sim);
    let triggers: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.route == Some(Route::Trigger))
        .collect();
    assert_eq!(triggers.len(), 2);
    // Not sent again before the reset (a whole second at least: the reset is in epoch seconds).
    assert!(
        triggers[1].at_ms - triggers[0].at_ms >= 1000,
        "{} ms",
        triggers[1].at_ms - triggers[0].at_ms
    );
    assert_eq!(r.json()["phases"][0]["id"], "dep-sim00000000000000001");
}
