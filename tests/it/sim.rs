//! The simulated platform, driven over HTTP as ferry and the tests see it.
//!
//! Every test starts its own server on a free port with short scripted durations, and waits for
//! conditions by polling with a generous deadline (never a fixed sleep followed by an assertion),
//! so the suite stays fast and does not flake on a busy machine.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{Fault, LINE_WIDTH, OpScript, Outcome, Route, Script, expected_log};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// How long any single wait may take before the test fails.
use crate::support::{eventually, sim_server as start};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn get_json(client: &Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn post_json(client: &Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// One `paas` log read.
struct LogRead {
    body: String,
    next: u64,
    complete: bool,
}

async fn read_log(client: &Client, log_url: &str, offset: u64) -> LogRead {
    let response = client
        .get(format!("{log_url}?offset={offset}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let next = header(&response, "x-log-offset").unwrap().parse().unwrap();
    let complete = match header(&response, "x-log-complete").as_deref() {
        Some("true") => true,
        Some("false") => false,
        other => panic!("X-Log-Complete is {other:?}"),
    };
    let body = response.text().await.unwrap();
    LogRead {
        body,
        next,
        complete,
    }
}

/// Reads a `paas` log by offset until `X-Log-Complete: true`, checking every read on the way.
async fn read_whole_log(client: &Client, log_url: &str) -> String {
    let mut text = String::new();
    eventually("the complete log", async || {
        let read = read_log(client, log_url, text.len() as u64).await;
        assert_eq!(read.next, (text.len() + read.body.len()) as u64);
        assert!(
            read.body.is_empty() || read.body.ends_with('\n'),
            "partial line"
        );
        text.push_str(&read.body);
        read.complete.then_some(())
    })
    .await;
    text
}

fn expected(phase: Phase, label: &str, script: &OpScript) -> String {
    expected_log(phase, label, script).collect()
}

/// A build slow enough to observe each state.
fn observable_build() -> OpScript {
    OpScript {
        queue: Duration::from_millis(150),
        duration: Duration::from_millis(600),
        log_lines: 12,
        outcome: Outcome::Success,
        tail_lines: 2,
        tail_delay: Duration::from_millis(300),
    }
}

/// A build that runs for a long time, to be cancelled.
fn endless_build() -> OpScript {
    OpScript {
        queue: Duration::ZERO,
        duration: Duration::from_secs(60),
        log_lines: 6000,
        ..OpScript::fast()
    }
}

// ---- paas: builds -------------------------------------------------------------------------

#[tokio::test]
async fn sim_build_goes_queued_running_succeeded_with_an_artifact() {
    let sim = start(Script {
        build: observable_build(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (status, created) = post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({"sha": "abc123"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["id"], "b-1");
    assert_eq!(created["status"], "queued");
    assert_eq!(created["app"], "web");
    assert_eq!(
        created["log_url"],
        format!("{}/v1/builds/b-1/log", sim.url())
    );

    let url = format!("{}/v1/builds/b-1", sim.url());
    let mut seen = vec!["queued".to_owned()];
    let done = eventually("the build to succeed", async || {
        let (status, body) = get_json(&client, &url).await;
        assert_eq!(status, StatusCode::OK);
        let state = body["status"].as_str().unwrap().to_owned();
        if state != "succeeded" {
            assert_eq!(body["artifact"], Value::Null, "artifact before success");
        }
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        (state == "succeeded").then_some(body)
    })
    .await;
    assert_eq!(seen, ["queued", "running", "succeeded"]);
    assert_eq!(done["artifact"], "registry.sim.local/web:b-1");
    assert_eq!(sim.requests()[0].body, r#"{"sha":"abc123"}"#);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_failed_build_says_so_in_status_and_log() {
    let script = OpScript::fast().with_outcome(Outcome::Failure);
    let sim = start(Script {
        build: script.clone(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (_, created) = post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let log = read_whole_log(&client, created["log_url"].as_str().unwrap()).await;
    assert_eq!(log, expected(Phase::Build, "b-1", &script));
    let last_normal = log.lines().nth(5).unwrap();
    assert!(
        last_normal.ends_with(" error: step failed"),
        "{last_normal}"
    );
    let (_, body) = get_json(&client, &format!("{}/v1/builds/b-1", sim.url())).await;
    assert_eq!(body["status"], "failed");
    assert_eq!(body["artifact"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_cancel_stops_the_build_and_ends_its_log() {
    let sim = start(Script {
        build: endless_build(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (_, created) = post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let log_url = created["log_url"].as_str().unwrap().to_owned();
    eventually("some log", async || {
        (read_log(&client, &log_url, 0).await.next >= 2 * LINE_WIDTH).then_some(())
    })
    .await;

    let cancel_url = format!("{}/v1/builds/b-1/cancel", sim.url());
    let (status, body) = post_json(&client, &cancel_url, &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, json!({"id": "b-1", "status": "cancelled"}));

    let (_, body) = get_json(&client, &format!("{}/v1/builds/b-1", sim.url())).await;
    assert_eq!(body["status"], "cancelled");
    let log = read_whole_log(&client, &log_url).await;
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    assert!(lines.last().unwrap().contains("cancelled by request"));
    let before: String = expected_log(Phase::Build, "b-1", &endless_build())
        .take(lines.len() - 1)
        .collect();
    assert_eq!(lines[..lines.len() - 1].concat(), before);

    let (status, body) = post_json(&client, &cancel_url, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("already cancelled")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_idempotency_key_returns_the_same_build() {
    let sim = start(Script::fast()).await;
    let client = Client::new();
    let builds = format!("{}/v1/apps/web/builds", sim.url());
    let send = async |url: &str, key: Option<&str>, body: Value| {
        let mut request = client.post(url).json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let (status, first) = send(&builds, Some("k-1"), json!({})).await;
    assert_eq!(
        (status, first["id"].as_str()),
        (StatusCode::CREATED, Some("b-1"))
    );
    let (status, again) = send(&builds, Some("k-1"), json!({})).await;
    assert_eq!(
        (status, again["id"].as_str()),
        (StatusCode::OK, Some("b-1"))
    );
    let (status, other) = send(&builds, None, json!({})).await;
    assert_eq!(
        (status, other["id"].as_str()),
        (StatusCode::CREATED, Some("b-2"))
    );
    let deployments = format!("{}/v1/apps/web/deployments", sim.url());
    let body = json!({"artifact": "a", "environment": "e"});
    let (status, misuse) = send(&deployments, Some("k-1"), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        misuse["error"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    sim.shutdown().await;
}

// ---- paas: logs ---------------------------------------------------------------------------

#[tokio::test]
async fn sim_log_reassembles_exactly_with_a_tail_after_the_terminal_state() {
    let script = observable_build();
    let sim = start(Script {
        build: script.clone(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (_, created) = post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let log_url = created["log_url"].as_str().unwrap().to_owned();
    let status_url = format!("{}/v1/builds/b-1", sim.url());

    // Follow the log while the build runs, as a client would.
    let mut text = String::new();
    eventually("the terminal state", async || {
        let read = read_log(&client, &log_url, text.len() as u64).await;
        assert!(!read.complete, "complete before the terminal state");
        text.push_str(&read.body);
        let (_, body) = get_json(&client, &status_url).await;
        (body["status"] == "succeeded").then_some(())
    })
    .await;

    // Terminal, but the tail has not been written yet: the log is not complete.
    let read = read_log(&client, &log_url, text.len() as u64).await;
    text.push_str(&read.body);
    assert!(!read.complete, "the tail appears only after tail_delay");
    assert_eq!(text.len() as u64, script.log_lines * LINE_WIDTH);

    text.push_str(&read_whole_log(&client, &log_url).await[text.len()..]);
    assert_eq!(text, expected(Phase::Build, "b-1", &script));
    assert!(text.ends_with("done\n"));

    // Reading at or past the end: nothing, same offset, still complete.
    let end = text.len() as u64;
    for offset in [end, end + 12_345] {
        let read = read_log(&client, &log_url, offset).await;
        assert_eq!(
            (read.body.as_str(), read.next, read.complete),
            ("", offset, true)
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_log_reads_respect_max_chunk_bytes() {
    let script = OpScript {
        queue: Duration::ZERO,
        duration: Duration::ZERO,
        log_lines: 95,
        tail_lines: 0,
        ..OpScript::fast()
    };
    let sim = start(Script {
        build: script.clone(),
        max_chunk_bytes: 1050,
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (_, created) = post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let log_url = created["log_url"].as_str().unwrap().to_owned();
    let whole = expected(Phase::Build, "b-1", &script);

    let mut text = String::new();
    let mut reads = 0;
    loop {
        let read = read_log(&client, &log_url, text.len() as u64).await;
        reads += 1;
        assert!(read.body.len() <= 1050, "{} bytes", read.body.len());
        assert_eq!(read.body.len() as u64 % LINE_WIDTH, 0, "not whole lines");
        text.push_str(&read.body);
        // Complete only on the read that reaches the end.
        assert_eq!(read.complete, text.len() == whole.len());
        if read.complete {
            break;
        }
    }
    assert_eq!(text, whole);
    assert_eq!(reads, 10); // 95 lines, 10 per read

    // An offset inside a line: the rest of that line, then whole lines within the cap.
    let read = read_log(&client, &log_url, 250).await;
    assert_eq!(read.body, whole[250..1300]);
    assert_eq!(read.next, 1300);

    // A chunk smaller than a line still returns one whole line, so readers always progress.
    sim.set_script(Script {
        max_chunk_bytes: 10,
        ..Script::fast()
    });
    let read = read_log(&client, &log_url, 0).await;
    assert_eq!(read.body, whole[..100]);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_serves_a_large_log_in_chunks() {
    const LINES: u64 = 200_000;
    let script = OpScript {
        queue: Duration::ZERO,
        duration: Duration::ZERO,
        log_lines: LINES,
        tail_lines: 0,
        ..OpScript::fast()
    };
    let sim = start(Script {
        build: script.clone(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (_, created) = post_json(
        &client,
        &format!("{}/v1/apps/big/builds", sim.url()),
        &json!({}),
    )
    .await;
    let log_url = created["log_url"].as_str().unwrap().to_owned();
    let line = |i: u64| {
        expected_log(Phase::Build, "b-1", &script)
            .nth(usize::try_from(i).unwrap())
            .unwrap()
    };

    // The first read is capped at 1 MiB of whole lines.
    let read = read_log(&client, &log_url, 0).await;
    let per_read = 1024 * 1024 / LINE_WIDTH;
    assert_eq!(read.body.len() as u64, per_read * LINE_WIDTH);
    assert_eq!(read.next, per_read * LINE_WIDTH);
    assert!(!read.complete);
    assert_eq!(read.body[..100], line(0));
    assert_eq!(read.body[read.body.len() - 100..], line(per_read - 1));

    // Any offset maps straight to its line.
    let read = read_log(&client, &log_url, 123_456 * LINE_WIDTH).await;
    assert_eq!(read.body[..100], line(123_456));

    // The end: the total size is exactly LINES fixed-width lines.
    let read = read_log(&client, &log_url, (LINES - 3) * LINE_WIDTH).await;
    assert_eq!(read.body.len() as u64, 3 * LINE_WIDTH);
    assert_eq!(read.next, LINES * LINE_WIDTH);
    assert!(read.complete);
    assert_eq!(read.body[200..], line(LINES - 1));
    sim.shutdown().await;
}

// ---- paas: deployments, stops, the app page -----------------------------------------------

#[tokio::test]
async fn sim_deployment_goes_live_serves_the_app_and_stop_takes_it_down() {
    let sim = start(Script::fast()).await;
    let client = Client::new();
    let deployments = format!("{}/v1/apps/web/deployments", sim.url());
    let app_page = format!("{}/apps/web/review-7", sim.url());

    let (status, body) = post_json(&client, &deployments, &json!({"artifact": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("environment"));
    assert_eq!(client.get(&app_page).send().await.unwrap().status(), 404);

    let (status, created) = post_json(
        &client,
        &deployments,
        &json!({"artifact": "registry.sim.local/web:b-1", "environment": "review-7"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["id"], "d-1");
    assert_eq!(created["status"], "pending");
    let url = format!("{}/v1/deployments/d-1", sim.url());
    let live = eventually("the deployment to be live", async || {
        let (_, body) = get_json(&client, &url).await;
        let status = body["status"].as_str().unwrap();
        assert!(
            ["pending", "deploying", "live"].contains(&status),
            "{status}"
        );
        if status != "live" {
            assert_eq!(body["url"], Value::Null);
        }
        (status == "live").then_some(body)
    })
    .await;
    assert_eq!(live["environment"], "review-7");
    assert_eq!(live["url"], app_page);
    let page = client.get(&app_page).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        header(&page, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("hello from web (review-7)")
    );

    let response = client
        .delete(format!("{}/v1/apps/web/environments/review-7", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["id"].as_str(), body["status"].as_str()),
        (Some("s-1"), Some("stopping"))
    );
    let stop_url = format!("{}/v1/stops/s-1", sim.url());
    eventually("the stop", async || {
        let (_, body) = get_json(&client, &stop_url).await;
        (body["status"] == "stopped").then_some(())
    })
    .await;
    assert_eq!(client.get(&app_page).send().await.unwrap().status(), 404);
    sim.shutdown().await;
}

// ---- faults, auth, recording, control ------------------------------------------------------

#[tokio::test]
async fn sim_faults_burst_then_recover() {
    let sim = start(Script {
        faults: vec![Fault {
            on: Route::Status,
            after: 1,
            count: 3,
            status: 503,
            ..Fault::default()
        }],
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let url = format!("{}/v1/builds/b-1", sim.url());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = get_json(&client, &url).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(body["error"].is_string());
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 503, 503, 503, 200]);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_faults_send_retry_after_and_verbatim_bodies() {
    let sim = start(Script {
        faults: vec![
            Fault {
                on: Route::Log,
                status: 429,
                retry_after: Some(2),
                ..Fault::default()
            },
            Fault {
                on: Route::Status,
                status: 502,
                body: Some("<html><body>Bad Gateway</body></html>".into()),
                ..Fault::default()
            },
            Fault {
                on: Route::Cancel,
                status: 500,
                body: Some(r#"{"error": "trunc"#.into()),
                ..Fault::default()
            },
        ],
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;

    let response = client
        .get(format!("{}/v1/builds/b-1/log?offset=0", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("2"));

    let response = client
        .get(format!("{}/v1/builds/b-1", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        response.text().await.unwrap(),
        "<html><body>Bad Gateway</body></html>"
    );

    let response = client
        .post(format!("{}/v1/builds/b-1/cancel", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let truncated = response.json::<Value>().await.unwrap_err();
    assert!(
        truncated.is_decode(),
        "the body is truncated JSON: {truncated}"
    );

    // Each fault fired once; the next requests are served.
    let (status, _) = get_json(&client, &format!("{}/v1/builds/b-1", sim.url())).await;
    assert_eq!(status, StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_apply_first_creates_the_operation_and_loses_the_response() {
    let sim = start(Script {
        faults: vec![Fault {
            on: Route::Trigger,
            status: 502,
            apply_first: true,
            ..Fault::default()
        }],
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let builds = format!("{}/v1/apps/web/builds", sim.url());
    let trigger = async || {
        client
            .post(&builds)
            .header("Idempotency-Key", "deploy-42")
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    };
    let lost = trigger().await;
    assert_eq!(lost.status(), StatusCode::BAD_GATEWAY);
    // The build exists although the client never heard of it…
    let (status, body) = get_json(&client, &format!("{}/v1/builds/b-1", sim.url())).await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some("b-1")));
    // …and a retry with the same key finds it instead of starting another.
    let retry = trigger().await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(retry.json::<Value>().await.unwrap()["id"], "b-1");
    let (status, _) = get_json(&client, &format!("{}/v1/builds/b-2", sim.url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(sim.count("POST", "/v1/apps/web/builds"), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_requires_the_token_on_v1() {
    let sim = start(Script {
        require_token: Some("s3cret".into()),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let builds = format!("{}/v1/apps/web/builds", sim.url());
    for auth in [None, Some("Bearer wrong"), Some("s3cret")] {
        let mut request = client.post(&builds).json(&json!({}));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "missing or wrong token"}));
    }
    let response = client
        .post(&builds)
        .bearer_auth("s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Unknown /v1 paths are behind the token too; the control endpoints never are.
    let (status, _) = get_json(&client, &format!("{}/v1/nothing", sim.url())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get_json(&client, &format!("{}/_sim/requests", sim.url())).await;
    assert_eq!(status, StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_records_requests_with_routes_and_answers_unknown_paths_in_json() {
    let sim = start(Script::fast()).await;
    let client = Client::new();
    client
        .post(format!("{}/v1/apps/web/builds", sim.url()))
        .header("X-Custom", "yes")
        .json(&json!({"ref": "main"}))
        .send()
        .await
        .unwrap();
    get_json(&client, &format!("{}/v1/builds/b-1", sim.url())).await;
    client
        .get(format!("{}/v1/builds/b-1/log?offset=0", sim.url()))
        .send()
        .await
        .unwrap();
    let (status, body) = get_json(&client, &format!("{}/nowhere", sim.url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let refused = client
        .delete(format!("{}/v1/apps/web/builds", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"].is_string());
    // GET lists the app's builds, newest first.
    let (status, body) = get_json(&client, &format!("{}/v1/apps/web/builds", sim.url())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["builds"][0]["id"], "b-1");
    assert!(body["builds"][0]["created_at"].is_string());

    let requests = sim.requests();
    let summary: Vec<(&str, &str, Option<Route>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.route))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/v1/apps/web/builds", Some(Route::Trigger)),
            ("GET", "/v1/builds/b-1", Some(Route::Status)),
            ("GET", "/v1/builds/b-1/log?offset=0", Some(Route::Log)),
            ("GET", "/nowhere", None),
            ("DELETE", "/v1/apps/web/builds", None),
            ("GET", "/v1/apps/web/builds", None),
        ]
    );
    assert_eq!(requests[0].header("x-custom"), Some("yes"));
    assert!(
        requests[0]
            .headers
            .iter()
            .all(|(n, _)| *n == n.to_lowercase())
    );
    assert_eq!(requests[0].body, r#"{"ref":"main"}"#);
    assert_eq!(sim.count("get", "/v1/builds/b-1"), 2);

    // The control endpoint sees the same log and is not part of it.
    let (_, listed) = get_json(&client, &format!("{}/_sim/requests", sim.url())).await;
    assert_eq!(listed.as_array().unwrap().len(), 6);
    assert_eq!(listed[2]["route"], "log");
    assert_eq!(sim.requests().len(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_script_can_be_replaced_over_http() {
    let sim = start(Script::fast()).await;
    let client = Client::new();
    let put = async |body: &str| {
        let response = client
            .put(format!("{}/_sim/script", sim.url()))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let (status, body) =
        put("[build]\nqueue = \"0s\"\nduration = \"10ms\"\noutcome = \"failure\"\n").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put("[build]\nqueu = \"1s\"\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("queu"));

    post_json(
        &client,
        &format!("{}/v1/apps/web/builds", sim.url()),
        &json!({}),
    )
    .await;
    let url = format!("{}/v1/builds/b-1", sim.url());
    eventually("the scripted failure", async || {
        let (_, body) = get_json(&client, &url).await;
        (body["status"] == "failed").then_some(())
    })
    .await;

    let (status, _) = put(r#"{"require_token": "t"}"#).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get_json(&client, &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_shutdown_closes_the_port() {
    let sim = start(Script::fast()).await;
    let url = format!("{}/_sim/requests", sim.url());
    let client = Client::new();
    assert!(client.get(&url).send().await.is_ok());
    sim.shutdown().await;
    let refused = Client::new().get(&url).send().await.unwrap_err();
    assert!(refused.is_connect(), "{refused}");
}

// ---- the Jenkins-like dialect -------------------------------------------------------------

/// Reads Jenkins progressive text until `X-More-Data` is absent.
async fn read_progressive(client: &Client, build_url: &str) -> String {
    let mut text = String::new();
    eventually("X-More-Data to disappear", async || {
        let response = client
            .get(format!(
                "{build_url}logText/progressiveText?start={}",
                text.len()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let size: usize = header(&response, "x-text-size").unwrap().parse().unwrap();
        let more = header(&response, "x-more-data");
        let body = response.text().await.unwrap();
        assert_eq!(size, text.len() + body.len());
        assert!(body.is_empty() || body.ends_with('\n'));
        text.push_str(&body);
        match more.as_deref() {
            Some("true") => None,
            None => Some(()),
            Some(other) => panic!("X-More-Data: {other}"),
        }
    })
    .await;
    text
}

#[tokio::test]
async fn sim_jenkins_queue_item_then_build_then_progressive_log() {
    let script = observable_build();
    let sim = start(Script {
        build: script.clone(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let response = client
        .post(format!("{}/queue/job/web/build", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = header(&response, "location").unwrap();
    assert_eq!(location, format!("{}/queue/item/1/", sim.url()));
    assert_eq!(response.text().await.unwrap(), "");

    let (_, waiting) = get_json(&client, &format!("{location}api/json")).await;
    assert_eq!(waiting["id"], 1);
    assert_eq!(waiting["executable"], Value::Null);
    assert!(waiting["why"].is_string());

    let build_url = eventually("the executable", async || {
        let (_, item) = get_json(&client, &format!("{location}api/json")).await;
        item["executable"]["url"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(build_url, format!("{}/job/web/1/", sim.url()));

    let mut building_seen = false;
    let result = eventually("the build to finish", async || {
        let (_, build) = get_json(&client, &format!("{build_url}api/json")).await;
        if build["building"] == true {
            assert_eq!(build["result"], Value::Null);
            building_seen = true;
            return None;
        }
        Some(build["result"].as_str().unwrap().to_owned())
    })
    .await;
    assert!(building_seen);
    assert_eq!(result, "SUCCESS");

    let log = read_progressive(&client, &build_url).await;
    assert_eq!(log, expected(Phase::Build, "web#1", &script));

    // A start beyond the end restarts from 0 ("text rolled over"), as stapler's LargeText does.
    let response = client
        .get(format!("{build_url}logText/progressiveText?start=999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "x-text-size").unwrap(),
        log.len().to_string()
    );
    assert_eq!(response.text().await.unwrap(), log);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_jenkins_stop_aborts_and_real_paths_work() {
    let sim = start(Script {
        build: endless_build(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    // Jenkins' own trigger path; build numbers count per job.
    let response = client
        .post(format!("{}/job/api/buildWithParameters?FOO=1", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = header(&response, "location").unwrap();
    let build_url = eventually("the executable", async || {
        let (_, item) = get_json(&client, &format!("{location}api/json")).await;
        item["executable"]["url"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(build_url, format!("{}/job/api/1/", sim.url()));

    let response = client
        .post(format!("{build_url}stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, build) = get_json(&client, &format!("{build_url}api/json")).await;
    assert_eq!(
        (build["building"].as_bool(), build["result"].as_str()),
        (Some(false), Some("ABORTED"))
    );
    let log = read_progressive(&client, &build_url).await;
    assert!(log.lines().last().unwrap().contains("cancelled by request"));
    assert_eq!(sim.requests()[0].route, Some(Route::Trigger));
    sim.shutdown().await;
}

// ---- the GitOps-like dialect --------------------------------------------------------------

#[tokio::test]
async fn sim_gitops_is_synced_before_it_is_healthy() {
    let sim = start(Script {
        deploy: OpScript {
            queue: Duration::from_millis(100),
            duration: Duration::from_millis(600),
            ..OpScript::fast()
        },
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let app_url = format!("{}/gitops/apps/shop", sim.url());
    let (_, before) = get_json(&client, &app_url).await;
    assert_eq!(
        (before["sync"].as_str(), before["health"].as_str()),
        (Some("OutOfSync"), Some("Missing"))
    );

    let (status, body) = post_json(
        &client,
        &format!("{app_url}/sync"),
        &json!({"revision": "abc"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"name": "shop", "revision": "abc"}));
    let (status, body) = post_json(
        &client,
        &format!("{app_url}/sync"),
        &json!({"revision": "def"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap().contains("in progress"));

    let mut seen: Vec<(String, String)> = Vec::new();
    let done = eventually("Synced and Healthy", async || {
        let (_, app) = get_json(&client, &app_url).await;
        let pair = (
            app["sync"].as_str().unwrap().to_owned(),
            app["health"].as_str().unwrap().to_owned(),
        );
        if seen.last() != Some(&pair) {
            seen.push(pair.clone());
        }
        (pair.0 == "Synced" && pair.1 == "Healthy").then_some(app)
    })
    .await;
    let synced_progressing = ("Synced".to_owned(), "Progressing".to_owned());
    assert!(seen.contains(&synced_progressing), "{seen:?}");
    assert_eq!(done["revision"], "abc");
    let url = done["url"].as_str().unwrap();
    assert_eq!(client.get(url).send().await.unwrap().status(), 200);

    let response = client
        .delete(format!("{app_url}/operation"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "nothing to terminate"
    );

    // A new revision waiting to sync: the old version is still Healthy, but OutOfSync.
    sim.set_script(Script {
        deploy: OpScript {
            queue: Duration::from_secs(60),
            ..OpScript::fast()
        },
        ..Script::fast()
    });
    let (status, _) = post_json(
        &client,
        &format!("{app_url}/sync"),
        &json!({"revision": "def"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, app) = get_json(&client, &app_url).await;
    assert_eq!(
        (
            app["sync"].as_str(),
            app["health"].as_str(),
            app["revision"].as_str()
        ),
        (Some("OutOfSync"), Some("Healthy"), Some("def"))
    );
    assert_eq!(app["url"].as_str(), Some(url));
    let response = client
        .delete(format!("{app_url}/operation"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_gitops_failure_is_degraded_and_terminate_cancels() {
    let sim = start(Script {
        deploy: OpScript::fast().with_outcome(Outcome::Failure),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let app_url = format!("{}/gitops/apps/shop", sim.url());
    post_json(
        &client,
        &format!("{app_url}/sync"),
        &json!({"revision": "abc"}),
    )
    .await;
    eventually("Degraded", async || {
        let (_, app) = get_json(&client, &app_url).await;
        (app["health"] == "Degraded").then_some(())
    })
    .await;
    let (_, app) = get_json(&client, &app_url).await;
    assert_eq!(
        (app["sync"].as_str(), app["url"].as_str()),
        (Some("Synced"), None)
    );

    sim.set_script(Script {
        deploy: endless_build(),
        ..Script::fast()
    });
    post_json(
        &client,
        &format!("{app_url}/sync"),
        &json!({"revision": "def"}),
    )
    .await;
    let response = client
        .delete(format!("{app_url}/operation"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, app) = get_json(&client, &app_url).await;
    assert_eq!(
        (app["sync"].as_str(), app["health"].as_str()),
        (Some("OutOfSync"), Some("Degraded"))
    );
    let routes: Vec<Option<Route>> = sim.requests().iter().map(|r| r.route).collect();
    assert!(routes.contains(&Some(Route::Cancel)));
    sim.shutdown().await;
}

// ---- the pipeline dialect -----------------------------------------------------------------

#[tokio::test]
async fn sim_pipeline_trace_is_the_whole_log_every_time() {
    let script = observable_build();
    let sim = start(Script {
        build: script.clone(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    let (status, created) = post_json(
        &client,
        &format!("{}/ci/pipelines", sim.url()),
        &json!({"ref": "main"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["id"], 1);
    assert_eq!(created["web_url"], format!("{}/ci/pipelines/1", sim.url()));

    let whole = expected(Phase::Build, "#1", &script);
    let pipeline = format!("{}/ci/pipelines/1", sim.url());
    let mut statuses: Vec<String> = Vec::new();
    let mut traces = 0;
    eventually("the whole trace", async || {
        let (_, body) = get_json(&client, &pipeline).await;
        let status = body["status"].as_str().unwrap().to_owned();
        if statuses.last() != Some(&status) {
            statuses.push(status);
        }
        let trace = client
            .get(format!("{pipeline}/trace"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&trace, "content-type").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        let trace = trace.text().await.unwrap();
        traces += 1;
        assert!(
            whole.starts_with(&trace),
            "every trace is the log so far from its start"
        );
        (trace == whole).then_some(())
    })
    .await;
    assert!(traces > 1);
    let allowed = ["created", "pending", "running", "success"];
    let positions: Vec<usize> = statuses
        .iter()
        .map(|s| allowed.iter().position(|a| a == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{statuses:?}");
    assert_eq!(statuses.last().unwrap(), "success");
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_pipeline_cancel() {
    let sim = start(Script {
        build: endless_build(),
        ..Script::fast()
    })
    .await;
    let client = Client::new();
    post_json(&client, &format!("{}/ci/pipelines", sim.url()), &json!({})).await;
    let (status, body) = post_json(
        &client,
        &format!("{}/ci/pipelines/1/cancel", sim.url()),
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("canceled"))
    );
    let (_, body) = get_json(&client, &format!("{}/ci/pipelines/1", sim.url())).await;
    assert_eq!(body["status"], "canceled");
    let (status, _) = get_json(&client, &format!("{}/ci/pipelines/2", sim.url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sim.shutdown().await;
}
