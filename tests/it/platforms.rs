//! Several platforms in one run: `examples/jenkins-argocd.toml` as shipped, Jenkins building and
//! Argo CD deploying in one `ferry deploy`, the build's output handed to the sync; and the checks
//! made before anything is sent.

use ferry::sim::{ArgoScript, JenkinsScript, Route, Script};

use crate::argocd::{ARGO_TOKEN, assert_requests_follow_the_swagger};
use crate::jenkins::{TOKEN, USER};
use crate::support::{Sim, Workdir, run};

const EXAMPLE: &str = include_str!("../../examples/jenkins-argocd.toml");
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn script() -> Script {
    Script {
        require_token: Some(ARGO_TOKEN.into()),
        jenkins: JenkinsScript {
            users: [(USER.to_string(), TOKEN.to_string())].into(),
            description: Some("9c1e5b7a2d4f6e8a0b1c3d5e7f9a1b3c5d7e9f0{number}".into()),
            artifacts: vec!["chart/shop-1.0.{number}.tgz".into()],
            ..JenkinsScript::default()
        },
        argocd: ArgoScript {
            apps: vec!["shop".into()],
            ..ArgoScript::default()
        },
        ..Script::fast()
    }
}

fn deploy(sim: &Sim, work: &Workdir) -> std::process::Command {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json", "--events", "events.ndjson"])
        .env("JENKINS_URL", sim.url())
        .env("JENKINS_TOKEN", TOKEN)
        .env("ARGOCD_URL", sim.url())
        .env("ARGOCD_TOKEN", ARGO_TOKEN)
        .env("FERRY_ENVIRONMENT", "production")
        .env("FERRY_SHA", SHA);
    cmd
}

#[test]
fn jenkins_builds_and_argocd_deploys_the_build_s_revision() {
    let sim = Sim::start(script());
    let work = Workdir::with_config(EXAMPLE);
    let r = run(&mut deploy(&sim, &work));
    r.assert_code(0);
    let out = r.json();
    assert_eq!(out["phases"][0]["phase"], "build");
    assert_eq!(out["phases"][1]["phase"], "deploy");
    let build = &out["phases"][0]["outputs"];
    let revision = "9c1e5b7a2d4f6e8a0b1c3d5e7f9a1b3c5d7e9f01";
    assert_eq!(build["revision"], revision);
    assert_eq!(
        build["artifact"],
        format!(
            "{}/job/shop/job/deploy-image/1/artifact/chart/shop-1.0.1.tgz",
            sim.url()
        )
    );
    // The sync asked for the build's revision, and Argo CD reports it.
    let sync = sim
        .requests()
        .into_iter()
        .find(|q| q.route == Some(Route::Trigger) && q.path.ends_with("/sync"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&sync.body).unwrap();
    assert_eq!(body["revision"], revision);
    assert_eq!(out["phases"][1]["outputs"]["revision"], revision);
    assert!(out["url"].as_str().unwrap().ends_with("/apps/shop/shop"));
    assert_requests_follow_the_swagger(&sim);
    // Each platform got its own credential, and only its own.
    for q in sim.requests() {
        let auth = q.header("authorization").unwrap_or("");
        if q.path.starts_with("/api/v1/") {
            assert!(auth.starts_with("Bearer "), "{}", q.path);
        } else {
            assert!(auth.starts_with("Basic "), "{}", q.path);
        }
    }
    assert!(!r.stderr.contains(TOKEN) && !r.stderr.contains(ARGO_TOKEN));
    // The dry run shows which platform runs each phase.
    let r = run(deploy(&sim, &work).arg("--dry-run"));
    r.assert_code(0);
    let plan = r.json();
    assert_eq!(plan["phase_platforms"][0]["kind"], "jenkins");
    assert_eq!(plan["phase_platforms"][1]["kind"], "argocd");
}

#[test]
fn a_failed_build_does_not_sync() {
    let mut script = script();
    script.build.outcome = ferry::sim::Outcome::Failure;
    let sim = Sim::start(script);
    let work = Workdir::with_config(EXAMPLE);
    let r = run(&mut deploy(&sim, &work));
    r.assert_code(1);
    assert_eq!(sim.count_route(Route::Trigger, "/sync"), 0);
}

#[test]
fn settings_are_checked_before_anything_is_sent() {
    let sim = Sim::start(script());
    let cases = [
        (
            EXAMPLE.replace(
                "platform = \"argocd\"\napplication",
                "platform = \"argo\"\napplication",
            ),
            "platforms.argo",
        ),
        (
            EXAMPLE.replace("kind = \"argocd\"", "kind = \"argocd\"\nuser = \"x\""),
            "`user` means nothing",
        ),
        (
            EXAMPLE.replace("application = \"shop\"", "app = \"shop\""),
            "app",
        ),
        (
            EXAMPLE.replace(
                "[build]\nplatform = \"jenkins\"",
                "[build]\nplatform = \"argocd\"",
            ),
            "can only deploy",
        ),
    ];
    for (config, expected) in cases {
        let work = Workdir::with_config(&config);
        let r = run(&mut deploy(&sim, &work));
        r.assert_code(2);
        assert!(r.stderr.contains(expected), "{expected}: {}", r.stderr);
    }
    // Two platforms, one credential missing: named, before anything is sent.
    let work = Workdir::with_config(EXAMPLE);
    let r = run(deploy(&sim, &work).env_remove("ARGOCD_TOKEN"));
    r.assert_code(2);
    assert!(r.stderr.contains("ARGOCD_TOKEN"), "{}", r.stderr);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}
