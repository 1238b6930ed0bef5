//! The DigitalOcean App Platform dialect (`/digitalocean/v2/…`), its WebSocket live log and its
//! archived logs.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Fault, OpScript, Outcome, Route, Script, expected_log};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Answer, Api, assert_rate_limited, eventually, start};

const APP: &str = "5a1d0c3e-0000-4000-8000-000000000001";

fn deployments() -> String {
    format!("/v2/apps/{APP}/deployments")
}

fn observable() -> Script {
    Script {
        build: OpScript {
            queue: Duration::from_millis(100),
            duration: Duration::from_millis(400),
            log_lines: 8,
            tail_lines: 1,
            tail_delay: Duration::from_millis(20),
            outcome: Outcome::Success,
        },
        deploy: OpScript {
            queue: Duration::from_millis(80),
            duration: Duration::from_millis(300),
            log_lines: 4,
            tail_lines: 1,
            tail_delay: Duration::from_millis(20),
            outcome: Outcome::Success,
        },
        ..Script::fast()
    }
}

async fn create(api: &Api<'_>) -> String {
    let answer = api
        .post(&deployments(), &json!({ "force_build": true }))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["deployment"]["id"].as_str().unwrap().to_owned()
}

/// Polls the deployment until its phase is final, collecting the phases seen.
async fn follow(api: &Api<'_>, id: &str) -> (Value, Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    let done = eventually("the deployment to finish", async || {
        let answer = api.get(&format!("{}/{id}", deployments())).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let deployment = answer.body["deployment"].clone();
        let phase = deployment["phase"].as_str().unwrap().to_owned();
        if seen.last() != Some(&phase) {
            seen.push(phase.clone());
        }
        matches!(
            phase.as_str(),
            "ACTIVE" | "ERROR" | "CANCELED" | "SUPERSEDED"
        )
        .then_some(deployment)
    })
    .await;
    (done, seen)
}

#[tokio::test]
async fn digitalocean_deployment_builds_deploys_and_goes_active() {
    let sim = start(observable()).await;
    let api = Api::digitalocean(&sim);
    let created = api
        .post(&deployments(), &json!({ "force_build": true }))
        .await;
    assert_eq!(
        created.body["deployment"]["phase"], "PENDING_BUILD",
        "{}",
        created.text
    );
    let id = created.body["deployment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = api.get(&format!("/v2/apps/{APP}")).await;
    assert!(
        before.body["app"]["in_progress_deployment"].is_object(),
        "{}",
        before.text
    );
    assert_eq!(before.body["app"].get("live_url"), None);
    let (active, seen) = follow(&api, &id).await;
    let order = [
        "PENDING_BUILD",
        "BUILDING",
        "PENDING_DEPLOY",
        "DEPLOYING",
        "ACTIVE",
    ];
    let positions: Vec<usize> = seen
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(
        seen.ends_with(&["PENDING_DEPLOY".into(), "DEPLOYING".into(), "ACTIVE".into()]),
        "{seen:?}"
    );
    assert_eq!(active["progress"]["success_steps"], 6);
    assert_eq!(active["progress"]["total_steps"], 6);
    assert_eq!(active["progress"]["steps"][0]["name"], "build");
    let app = api.get(&format!("/v2/apps/{APP}")).await;
    let live_url = app.body["app"]["live_url"].as_str().unwrap();
    assert_eq!(app.body["app"]["active_deployment"]["id"], id.as_str());
    assert_eq!(reqwest::get(live_url).await.unwrap().status(), 200);

    let second = create(&api).await;
    follow(&api, &second).await;
    let first = api.get(&format!("{}/{id}", deployments())).await;
    assert_eq!(first.body["deployment"]["phase"], "SUPERSEDED");
    let list = api.get(&deployments()).await;
    assert_eq!(list.body["meta"]["total"], 2);
    assert_eq!(list.body["deployments"][0]["id"], second.as_str());
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn digitalocean_failures_carry_the_step_and_its_reason() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = start(script.clone()).await;
    let api = Api::digitalocean(&sim);
    let id = create(&api).await;
    let (failed, seen) = follow(&api, &id).await;
    assert_eq!(failed["phase"], "ERROR");
    assert!(!seen.iter().any(|p| p == "DEPLOYING"), "{seen:?}");
    let build = &failed["progress"]["steps"][0];
    assert_eq!(build["status"], "ERROR");
    assert!(
        build["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("build"),
        "{build}"
    );
    assert_eq!(failed["progress"]["error_steps"], 2);

    script.build.outcome = Outcome::Success;
    script.deploy.outcome = Outcome::Failure;
    sim.set_script(Script {
        require_token: Some(super::TOKEN.into()),
        ..script
    });
    let id = create(&api).await;
    let (failed, _) = follow(&api, &id).await;
    assert_eq!(failed["phase"], "ERROR");
    assert_eq!(failed["progress"]["steps"][0]["status"], "SUCCESS");
    assert_eq!(failed["progress"]["steps"][1]["status"], "ERROR");
    let app = api.get(&format!("/v2/apps/{APP}")).await;
    assert_eq!(app.body["app"].get("live_url"), None, "nothing is live");
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn digitalocean_cancel_stops_a_deployment_in_progress_only() {
    let mut script = Script::fast();
    script.deploy.duration = Duration::from_secs(60);
    let sim = start(script).await;
    let api = Api::digitalocean(&sim);
    let id = create(&api).await;
    eventually("the deploy step", async || {
        let answer = api.get(&format!("{}/{id}", deployments())).await;
        (answer.body["deployment"]["phase"] == "DEPLOYING").then_some(())
    })
    .await;
    let cancel = format!("{}/{id}/cancel", deployments());
    let cancelled = api.send(Method::POST, &cancel, None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["deployment"]["phase"], "CANCELED");
    assert_eq!(
        cancelled.body["deployment"]["progress"]["steps"][0]["status"],
        "SUCCESS"
    );
    let again = api.send(Method::POST, &cancel, None).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["id"], "bad_request");
    let missing = api.get(&format!("{}/nope", deployments())).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["id"], "not_found");
    api.assert_requests_follow_the_description();
}

fn expected(phase: Phase, script: &OpScript) -> Vec<String> {
    expected_log(phase, "#1", script).collect()
}

/// `web 2026-…Z build #1 [1/8] …\n` → `build #1 [1/8] …\n` (what `doctl apps logs --no-prefix`
/// strips).
fn unprefixed(line: &str) -> String {
    let mut parts = line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("web"), "{line:?}");
    let time = parts.next().unwrap();
    assert!(time.ends_with('Z') && time.contains('T'), "{line:?}");
    parts.next().unwrap().to_owned()
}

/// Reads a live URL as doctl does: frames of `{"data": …}` until a normal close.
async fn read_live(url: &str) -> Vec<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut lines = Vec::new();
    while let Some(message) = ws.next().await {
        match message.unwrap() {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                let data = frame["data"].as_str().unwrap();
                assert!(data.ends_with('\n'), "{data:?}");
                lines.push(unprefixed(data));
            }
            Message::Close(frame) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::Normal));
                break;
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    lines
}

async fn logs(api: &Api<'_>, id: &str, query: &str) -> Answer {
    let answer = api
        .get(&format!("{}/{id}/logs?{query}", deployments()))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

#[tokio::test]
async fn digitalocean_live_log_is_a_websocket_then_an_archive() {
    let script = observable();
    let sim = start(script.clone()).await;
    let api = Api::digitalocean(&sim);
    let id = create(&api).await;

    let live = logs(&api, &id, "type=BUILD&follow=true").await;
    assert_eq!(live.body.get("historic_urls"), None);
    let url = live.body["live_url"].as_str().unwrap();
    assert!(url.starts_with("ws://") && url.contains("token="), "{url}");
    // Followed, the WebSocket sends the whole build log, then closes.
    assert_eq!(read_live(url).await, expected(Phase::Build, &script.build));

    // The deploy log's live URL, asked for before the deploy step runs, waits for it.
    let deploy_url = logs(&api, &id, "type=DEPLOY&follow=true").await.body["live_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        read_live(&deploy_url).await,
        expected(Phase::Deploy, &script.deploy)
    );

    // Once complete, the logs are archived files, read without the token.
    follow(&api, &id).await;
    for (kind, phase, op) in [
        ("BUILD", Phase::Build, &script.build),
        ("DEPLOY", Phase::Deploy, &script.deploy),
    ] {
        let archived = logs(&api, &id, &format!("type={kind}")).await;
        assert_eq!(archived.body.get("live_url"), None);
        let historic = archived.body["historic_urls"][0].as_str().unwrap();
        let text = reqwest::get(historic).await.unwrap().text().await.unwrap();
        let lines: Vec<String> = text.split_inclusive('\n').map(unprefixed).collect();
        assert_eq!(lines, expected(phase, op), "{kind}");
    }
    let requests = sim.requests();
    let unauthenticated = requests.iter().filter(|r| {
        r.path.starts_with("/digitalocean/live/") || r.path.starts_with("/digitalocean/archive/")
    });
    for r in unauthenticated {
        assert_eq!(r.header("authorization"), None, "{}", r.path);
    }
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn digitalocean_live_log_without_follow_sends_what_is_written() {
    let mut script = observable();
    script.build.duration = Duration::from_secs(60);
    script.build.log_lines = 600;
    let sim = start(script.clone()).await;
    let api = Api::digitalocean(&sim);
    let id = create(&api).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = logs(&api, &id, "type=BUILD&follow=false").await.body["live_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let lines = read_live(&url).await;
    let all = expected(Phase::Build, &script.build);
    assert!(
        !lines.is_empty() && lines.len() < all.len(),
        "{} lines",
        lines.len()
    );
    assert_eq!(lines, all[..lines.len()]);
    // A wrong token is refused before the handshake.
    let forged = url.replace("token=", "token=0");
    let refused = tokio_tungstenite::connect_async(&forged).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
    // A RUN log does not exist in the simulator; a missing type is refused.
    assert_eq!(logs(&api, &id, "type=RUN").await.body, json!({}));
    let untyped = api.get(&format!("{}/{id}/logs", deployments())).await;
    assert_eq!(untyped.status, 400);
}

#[tokio::test]
async fn digitalocean_rate_limit_answers_429_with_its_reset_time() {
    let mut script = Script::fast();
    script.faults = vec![Fault {
        on: Route::Status,
        count: 1,
        status: 429,
        retry_after: Some(3),
        ..Fault::default()
    }];
    let sim = start(script).await;
    let api = Api::digitalocean(&sim);
    let id = create(&api).await;
    let limited = api.get(&format!("{}/{id}", deployments())).await;
    assert_rate_limited(&limited, 3);
    assert_eq!(limited.body["id"], "too_many_requests");
    let after = api.get(&format!("{}/{id}", deployments())).await;
    assert_eq!(after.status, 200);
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn digitalocean_answers_unknown_paths_and_bad_tokens_as_digitalocean() {
    let sim = start(Script::fast()).await;
    let api = Api::digitalocean(&sim);
    let unknown = api.get("/v2/nowhere").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["id"], "not_found");
    assert_eq!(
        api.get("/v2/apps/00000000-0000-0000-0000-000000000000")
            .await
            .status,
        404
    );
    let anonymous = api.send_as(Method::GET, &deployments(), None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["id"], "unauthorized");
}
