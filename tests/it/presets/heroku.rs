//! The `heroku` preset run by the real binary against the simulator's Heroku dialect.

use ferry::sim::{RecordedRequest, Script};

use crate::support::hosted_api::{heroku_schema, hyper_schema_request};
use crate::support::{Run, Sim, Workdir, run};

const TOKEN: &str = "heroku-oauth-token-0123456789abcdef";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

const CONFIG: &str = r#"
[platform]
preset = "heroku"

[vars]
app = "demo-app"

[platform.poll]
initial = "20ms"
max = "100ms"
"#;

fn script() -> Script {
    Script {
        require_token: Some(TOKEN.into()),
        ..Script::fast()
    }
}

fn deploy(sim: &Sim, work: &Workdir) -> Run {
    run(work
        .ferry()
        .args(["deploy", "--json", "--events", "events.ndjson"])
        .env("FERRY_PLATFORM_URL", format!("{}/heroku", sim.url()))
        .env("FERRY_PLATFORM_TOKEN", TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA))
}

fn assert_requests_follow_the_description(sim: &Sim) {
    let api: Vec<RecordedRequest> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/heroku/"))
        .collect();
    assert!(!api.is_empty());
    for r in api {
        if let Err(problem) = hyper_schema_request(heroku_schema(), &r, "/heroku") {
            panic!("{} {} breaks heroku-schema.json: {problem}", r.method, r.path);
        }
    }
}

#[test]
fn heroku_smoke() {
    let sim = Sim::start(script());
    let work = Workdir::with_config(CONFIG);
    work.write("source.tar.gz", "archive");
    let out = deploy(&sim, &work);
    eprintln!("{}\n----\n{}", out.stdout, out.stderr);
    for r in sim.requests() {
        eprintln!("{} {} {:?}", r.method, r.path, r.route);
    }
    assert_requests_follow_the_description(&sim);
    out.assert_code(0);
}
