//! A platform that answers badly: each case gets a clear message and the platform exit code
//! (3), never a panic.

use ferry::sim::{Fault, Route, Script};

use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run};

fn deploy(url: &str, config: &str) -> Run {
    let work = Workdir::with_config(config);
    run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", url)
        .env("FERRY_ENVIRONMENT", "staging"))
}

#[track_caller]
fn fails_with(r: &Run, code: i32, parts: &[&str]) {
    r.assert_says(code, parts);
}

#[test]
fn a_pointer_that_matches_nothing_is_named() {
    let sim = Sim::start(Script::fast());
    let r = deploy(
        &sim.url(),
        &SIMULATOR_TOML.replacen("id = \"/id\"", "id = \"/data/id\"", 1),
    );
    fails_with(
        &r,
        3,
        &["[build.trigger] id = \"/data/id\" matched nothing", "fix:"],
    );
}

#[test]
fn a_state_outside_every_set_is_named() {
    let mut script = Script::fast();
    script.build.duration = std::time::Duration::from_secs(2);
    let sim = Sim::start(script);
    let r = deploy(
        &sim.url(),
        &SIMULATOR_TOML.replacen(
            "running = [\"queued\", \"running\"]",
            "running = [\"queued\"]",
            1,
        ),
    );
    fails_with(
        &r,
        3,
        &[
            "state \"running\" is in none of [build.status]",
            "unknown = \"running\"",
        ],
    );
    assert_eq!(r.json()["status"], "errored");
}

#[test]
fn a_body_that_is_not_json_is_shown() {
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Status,
            count: 1,
            status: 200,
            body: Some("<html>proxy error</html>".into()),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let r = deploy(&sim.url(), SIMULATOR_TOML);
    fails_with(&r, 3, &["not valid JSON", "<html>proxy error</html>"]);
}

#[test]
fn a_truncated_body_is_reported() {
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Status,
            count: 1,
            status: 200,
            body: Some("{\"id\": \"b-1\", \"sta".into()),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let r = deploy(&sim.url(), SIMULATOR_TOML);
    fails_with(&r, 3, &["not valid JSON", "EOF"]);
}

#[test]
fn an_unreachable_platform_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = deploy(&format!("http://127.0.0.1:{port}"), SIMULATOR_TOML);
    fails_with(
        &r,
        3,
        &["cannot reach", &format!("127.0.0.1:{port}"), "platform_url"],
    );
}

#[test]
fn an_api_error_carries_the_platform_s_message() {
    let sim = Sim::start(Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 422,
            body: Some("{\"error\":\"app frozen\"}".into()),
            ..Fault::default()
        }],
        ..Script::fast()
    });
    let r = deploy(&sim.url(), SIMULATOR_TOML);
    fails_with(&r, 3, &["HTTP 422", "app frozen"]);
}

/// A preset's id left out (the first-day mistake) is named before anything is sent, with the
/// three ways to give it; given any one of those ways, the same file plans.
#[test]
fn a_presets_id_left_out_is_named_before_anything_is_sent() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config("[platform]\npreset = \"heroku\"\n");
    let check = |extra: &[(&str, &str)]| {
        let mut cmd = work.ferry();
        cmd.args(["deploy", "--json"])
            .env("FERRY_PLATFORM_URL", format!("{}/heroku", sim.url()))
            .env("FERRY_ENVIRONMENT", "staging")
            .env("FERRY_PLATFORM_TOKEN", "T0ken-for-the-check");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    let r = check(&[]);
    fails_with(
        &r,
        2,
        &[
            // Named where it is first sent: the build's trigger.
            "[build.trigger] path: the template",
            "names `vars.app`, and it has no value",
            "app = \"…\" under [vars]",
            "FERRY_VAR_APP",
        ],
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    let r = run(work
        .ferry()
        .args(["check"])
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_VAR_APP", "demo-app")
        .env("FERRY_PLATFORM_TOKEN", "T0ken-for-the-check"));
    r.assert_code(0);
}

/// Every preset needs the platform's token: without one, `ferry check` says so up front (not a
/// `401` from the platform half-way through).
#[test]
fn every_preset_refuses_to_plan_without_the_platforms_token() {
    for (preset, var) in [
        ("heroku", "app"),
        ("render", "service"),
        ("netlify", "site"),
        ("digitalocean", "app_id"),
    ] {
        let work = Workdir::with_config(&format!(
            "[platform]\npreset = \"{preset}\"\n[vars]\n{var} = \"x\"\n"
        ));
        let r = run(work
            .ferry()
            .args(["check"])
            .env("FERRY_ENVIRONMENT", "staging"));
        fails_with(&r, 2, &["platform_token", "FERRY_PLATFORM_TOKEN"]);
    }
}
