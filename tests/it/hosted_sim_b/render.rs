//! The Render dialect (`/render/v1/…`).

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Fault, OpScript, Outcome, RenderScript, Route, Script, expected_log};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Answer, Api, assert_rate_limited, eventually, start};

const SERVICE: &str = "srv-sim00000000000000001";
const OWNER: &str = "tea-sim00000000000000001";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn deploys() -> String {
    format!("/v1/services/{SERVICE}/deploys")
}

/// A deploy slow enough to see every status.
fn observable() -> Script {
    Script {
        build: OpScript {
            queue: Duration::from_millis(120),
            duration: Duration::from_millis(300),
            log_lines: 6,
            tail_lines: 1,
            tail_delay: Duration::ZERO,
            outcome: Outcome::Success,
        },
        deploy: OpScript {
            queue: Duration::from_millis(80),
            duration: Duration::from_millis(300),
            log_lines: 4,
            tail_lines: 0,
            tail_delay: Duration::ZERO,
            outcome: Outcome::Success,
        },
        ..Script::fast()
    }
}

/// Polls the deploy until it is in a finished status, collecting the statuses seen.
async fn follow(api: &Api<'_>, id: &str) -> (Value, Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    let done = eventually("the deploy to finish", async || {
        let answer = api.get(&format!("{}/{id}", deploys())).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let status = answer.body["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        let finished = matches!(
            status.as_str(),
            "live"
                | "build_failed"
                | "update_failed"
                | "pre_deploy_failed"
                | "canceled"
                | "deactivated"
        );
        finished.then_some(answer.body)
    })
    .await;
    (done, seen)
}

async fn trigger(api: &Api<'_>, body: &Value) -> Answer {
    let answer = api.post(&deploys(), body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer
}

#[tokio::test]
async fn render_deploy_builds_updates_and_goes_live() {
    let sim = start(observable()).await;
    let api = Api::render(&sim);
    let created = trigger(
        &api,
        &json!({ "clearCache": "do_not_clear", "commitId": SHA }),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dep-"), "{id}");
    assert_eq!(created.body["status"], "created");
    assert_eq!(created.body["trigger"], "api");
    assert_eq!(created.body["commit"]["id"], SHA);
    let (live, seen) = follow(&api, &id).await;
    assert_eq!(seen.last().map(String::as_str), Some("live"));
    for status in ["build_in_progress", "update_in_progress"] {
        assert!(seen.iter().any(|s| s == status), "{seen:?}");
    }
    let order = ["created", "build_in_progress", "update_in_progress", "live"];
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    for field in ["startedAt", "finishedAt", "createdAt", "updatedAt"] {
        assert!(live[field].is_string(), "{field}: {live}");
    }

    // The service's URL answers once the deploy is live.
    let service = api.get(&format!("/v1/services/{SERVICE}")).await;
    assert_eq!(service.status, 200);
    let url = service.body["serviceDetails"]["url"].as_str().unwrap();
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);

    // A later live deploy deactivates this one; the list pages by cursor, newest first.
    let second = trigger(&api, &json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    follow(&api, &second).await;
    assert_eq!(
        api.get(&format!("{}/{id}", deploys())).await.body["status"],
        "deactivated"
    );
    let page = api.get(&format!("{}?limit=1", deploys())).await;
    assert_eq!(page.body.as_array().unwrap().len(), 1);
    assert_eq!(page.body[0]["deploy"]["id"], second.as_str());
    let cursor = page.body[0]["cursor"].as_str().unwrap();
    let next = api
        .get(&format!("{}?limit=1&cursor={cursor}", deploys()))
        .await;
    assert_eq!(next.body[0]["deploy"]["id"], id.as_str());
    let live_only = api
        .get(&format!("{}?status=live&status=canceled", deploys()))
        .await;
    assert_eq!(live_only.body.as_array().unwrap().len(), 1);
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_failures_say_which_step_failed() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = start(script.clone()).await;
    let api = Api::render(&sim);
    let id = trigger(&api, &json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (failed, seen) = follow(&api, &id).await;
    assert_eq!(failed["status"], "build_failed", "{seen:?}");
    assert!(!seen.iter().any(|s| s == "update_in_progress"), "{seen:?}");
    let service = api.get(&format!("/v1/services/{SERVICE}")).await;
    let url = service.body["serviceDetails"]["url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(url).await.unwrap().status(),
        404,
        "a failed build never goes live"
    );

    script.build.outcome = Outcome::Success;
    script.deploy.outcome = Outcome::Failure;
    sim.set_script(Script {
        require_token: Some(super::TOKEN.into()),
        ..script.clone()
    });
    let id = trigger(&api, &json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(follow(&api, &id).await.0["status"], "update_failed");

    script.render = RenderScript {
        pre_deploy: true,
        ..RenderScript::default()
    };
    script.deploy.duration = Duration::from_millis(300);
    sim.set_script(Script {
        require_token: Some(super::TOKEN.into()),
        ..script
    });
    let id = trigger(&api, &json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (failed, seen) = follow(&api, &id).await;
    assert_eq!(failed["status"], "pre_deploy_failed");
    assert!(
        seen.iter().any(|s| s == "pre_deploy_in_progress"),
        "{seen:?}"
    );
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_cancel_stops_a_deploy_in_progress_only() {
    let mut script = Script::fast();
    script.build.duration = Duration::from_secs(60);
    let sim = start(script).await;
    let api = Api::render(&sim);
    let id = trigger(&api, &json!({ "clearCache": "clear" })).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = format!("{}/{id}/cancel", deploys());
    let cancelled = api.send(Method::POST, &cancel, None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "canceled");
    assert!(cancelled.body["finishedAt"].is_string());
    let again = api.send(Method::POST, &cancel, None).await;
    assert_eq!(again.status, 400);
    assert!(
        again.body["message"].as_str().unwrap().contains("canceled"),
        "{}",
        again.text
    );
    let missing = api
        .send(
            Method::POST,
            &format!("{}/dep-nope/cancel", deploys()),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_queued_trigger_answers_202_without_a_body() {
    let mut script = observable();
    script.render.queued = true;
    let sim = start(script).await;
    let api = Api::render(&sim);
    let answer = api.post(&deploys(), &json!({ "commitId": SHA })).await;
    assert_eq!(answer.status, 202);
    assert!(answer.text.is_empty(), "{}", answer.text);
    // The client finds its deploy in the list, by commit.
    let list = api.get(&format!("{}?limit=20", deploys())).await;
    let found = &list.body[0]["deploy"];
    assert_eq!(found["commit"]["id"], SHA);
    assert!(
        ["queued", "build_in_progress"].contains(&found["status"].as_str().unwrap()),
        "{found}"
    );
    let (done, _) = follow(&api, found["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "live");
    // Render refuses a deployMode combined with build fields.
    let refused = api
        .post(
            &deploys(),
            &json!({ "deployMode": "deploy_only", "commitId": SHA }),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    api.assert_requests_follow_the_description();
}

/// A deploy whose build log (with a tail written at once) comes before its update log.
fn logging() -> Script {
    Script {
        build: OpScript {
            queue: Duration::from_millis(20),
            duration: Duration::from_millis(200),
            log_lines: 23,
            tail_lines: 2,
            tail_delay: Duration::ZERO,
            outcome: Outcome::Success,
        },
        ..Script::fast()
    }
}

fn expected_lines(script: &Script, label: &str) -> Vec<String> {
    expected_log(Phase::Build, label, &script.build)
        .chain(expected_log(Phase::Deploy, label, &script.deploy))
        .map(|l| l.trim_end_matches('\n').to_owned())
        .collect()
}

fn logs_query(rest: &str) -> String {
    format!("/v1/logs?ownerId={OWNER}&resource={SERVICE}&{rest}")
}

/// Reads pages forward from `start`, feeding `nextStartTime`/`nextEndTime` back, until
/// `hasMore` is false.
async fn read_forward(api: &Api<'_>, start: &str, limit: usize) -> (Vec<String>, usize) {
    let mut messages = Vec::new();
    let mut pages = 0;
    let mut query = logs_query(&format!(
        "direction=forward&limit={limit}&startTime={}",
        enc(start)
    ));
    loop {
        let page = api.get(&query).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        let logs = page.body["logs"].as_array().unwrap();
        assert!(logs.len() <= limit);
        messages.extend(
            logs.iter()
                .map(|e| e["message"].as_str().unwrap().to_owned()),
        );
        if page.body["hasMore"] != true {
            return (messages, pages);
        }
        query = logs_query(&format!(
            "direction=forward&limit={limit}&startTime={}&endTime={}",
            enc(page.body["nextStartTime"].as_str().unwrap()),
            enc(page.body["nextEndTime"].as_str().unwrap())
        ));
    }
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn render_log_pages_show_every_line_once_when_read_as_described() {
    let script = logging();
    let sim = start(script.clone()).await;
    let api = Api::render(&sim);
    let created = trigger(&api, &json!({})).await;
    let since = created.body["createdAt"].as_str().unwrap().to_owned();
    follow(&api, created.body["id"].as_str().unwrap()).await;
    let expected = expected_lines(&script, "#1");
    tokio::time::sleep(Duration::from_millis(50)).await;

    let (forward, pages) = read_forward(&api, &since, 7).await;
    assert_eq!(forward, expected);
    assert_eq!(pages, expected.len().div_ceil(7));

    // Backward (the default): newest first, each page ending before the last one shown.
    let mut backward: Vec<String> = Vec::new();
    let mut query = logs_query(&format!("limit=5&startTime={}", enc(&since)));
    loop {
        let page = api.get(&query).await;
        let logs = page.body["logs"].as_array().unwrap();
        backward.extend(
            logs.iter()
                .map(|e| e["message"].as_str().unwrap().to_owned()),
        );
        if page.body["hasMore"] != true {
            break;
        }
        query = logs_query(&format!(
            "limit=5&startTime={}&endTime={}",
            enc(page.body["nextStartTime"].as_str().unwrap()),
            enc(page.body["nextEndTime"].as_str().unwrap())
        ));
    }
    backward.reverse();
    assert_eq!(backward, expected);

    // Entries carry the labels Render documents, and filter by them.
    let first = api
        .get(&logs_query(&format!(
            "direction=forward&limit=1&startTime={}",
            enc(&since)
        )))
        .await;
    let labels = &first.body["logs"][0]["labels"];
    assert!(
        labels
            .as_array()
            .unwrap()
            .contains(&json!({ "name": "type", "value": "build" })),
        "{labels}"
    );
    let builds = api
        .get(&logs_query(&format!(
            "type=build&limit=100&startTime={}",
            enc(&since)
        )))
        .await;
    assert_eq!(builds.body["logs"].as_array().unwrap().len(), 25);

    // A client that pages from the last entry's own time instead of nextStartTime sees it twice.
    let page = api
        .get(&logs_query(&format!(
            "direction=forward&limit=3&startTime={}",
            enc(&since)
        )))
        .await;
    let last = page.body["logs"][2]["timestamp"].as_str().unwrap();
    let again = api
        .get(&logs_query(&format!(
            "direction=forward&limit=3&startTime={}",
            enc(last)
        )))
        .await;
    assert_eq!(
        again.body["logs"][0]["message"],
        page.body["logs"][2]["message"]
    );
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_logs_followed_while_written_show_every_line_once() {
    let mut script = logging();
    script.build.duration = Duration::from_millis(700);
    script.deploy.duration = Duration::from_millis(300);
    let sim = start(script.clone()).await;
    let api = Api::render(&sim);
    let created = trigger(&api, &json!({})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let expected = expected_lines(&script, "#1");
    let mut cursor = created.body["createdAt"].as_str().unwrap().to_owned();
    let mut messages: Vec<String> = Vec::new();
    let mut reads = 0;
    eventually("the whole log", async || {
        // Only the start time: the window ends now, and grows with every read.
        let page = api
            .get(&logs_query(&format!(
                "direction=forward&limit=4&startTime={}",
                enc(&cursor)
            )))
            .await;
        reads += 1;
        messages.extend(
            page.body["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned()),
        );
        page.body["nextStartTime"]
            .as_str()
            .unwrap()
            .clone_into(&mut cursor);
        (messages.len() >= expected.len() && page.body["hasMore"] == false).then_some(())
    })
    .await;
    assert_eq!(messages, expected);
    assert!(reads > expected.len() / 4, "{reads} reads");
    let done = api.get(&format!("{}/{id}", deploys())).await;
    assert_eq!(done.body["status"], "live");
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_rate_limit_answers_429_with_its_reset_time() {
    let mut script = Script::fast();
    script.faults = vec![Fault {
        on: Route::Trigger,
        count: 1,
        status: 429,
        retry_after: Some(2),
        ..Fault::default()
    }];
    let sim = start(script).await;
    let api = Api::render(&sim);
    let limited = api.post(&deploys(), &json!({})).await;
    assert_rate_limited(&limited, 2);
    assert!(limited.body["message"].is_string(), "{}", limited.text);
    trigger(&api, &json!({})).await;
    api.assert_requests_follow_the_description();
}

#[tokio::test]
async fn render_answers_unknown_paths_and_bad_tokens_as_render() {
    let sim = start(Script::fast()).await;
    let api = Api::render(&sim);
    let unknown = api.get("/v1/nowhere").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["message"].is_string(), "{}", unknown.text);
    let service = api.get("/v1/services/srv-unknown").await;
    assert_eq!(service.status, 404);
    let anonymous = api.send_as(Method::GET, &deploys(), None, None).await;
    assert_eq!(anonymous.status, 401);
    let bad = api
        .send_as(Method::GET, &deploys(), None, Some("wrong"))
        .await;
    assert_eq!(bad.status, 401);
    let owner = api
        .get(&format!("/v1/logs?ownerId=tea-other&resource={SERVICE}"))
        .await;
    assert_eq!(owner.status, 403);
}
