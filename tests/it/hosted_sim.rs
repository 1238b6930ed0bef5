//! The simulator's hosted dialects (Heroku under `/heroku`, Netlify under `/netlify`) driven with
//! plain HTTP and WebSocket requests, as a client written from the platforms' documentation
//! would: every answer is checked against the platform's official description, and every
//! request the tests send is validated against it too (`support::hosted_api`), so the dialects
//! cannot drift from the platforms.

use std::time::Duration;

use ferry::platform::Phase;
use ferry::sim::{
    Fault, OpScript, Outcome, RecordedRequest, Route, Script, SimServer, expected_log,
};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::hosted_api::{
    heroku_schema, hyper_schema_answer, hyper_schema_request, netlify_swagger, swagger2_answer,
    swagger2_request,
};
use crate::support::{eventually, sim_server as start};

/// How long any single wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(15);

const TOKEN: &str = "hosted-platform-token-0123456789";
const HEROKU_ACCEPT: &str = "application/vnd.heroku+json; version=3";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn expected(phase: Phase, label: &str, script: &OpScript) -> String {
    expected_log(phase, label, script).collect()
}

/// A build slow enough to read its log while it runs.
fn observable() -> OpScript {
    OpScript {
        queue: Duration::from_millis(100),
        duration: Duration::from_millis(500),
        log_lines: 10,
        outcome: Outcome::Success,
        tail_lines: 2,
        tail_delay: Duration::from_millis(100),
    }
}

/// A build that runs until it is cancelled.
fn endless() -> OpScript {
    OpScript {
        queue: Duration::ZERO,
        duration: Duration::from_secs(60),
        log_lines: 600,
        ..OpScript::fast()
    }
}

fn hosted_script() -> Script {
    Script {
        require_token: Some(TOKEN.into()),
        build: observable(),
        deploy: OpScript {
            queue: Duration::from_millis(50),
            duration: Duration::from_millis(300),
            log_lines: 4,
            tail_lines: 1,
            ..OpScript::fast()
        },
        ..Script::fast()
    }
}

// ---- Heroku ------------------------------------------------------------------------------

/// A client of the Heroku dialect that checks every answer against Heroku's description.
struct Heroku {
    sim: SimServer,
    client: Client,
}

impl Heroku {
    async fn start(script: Script) -> Self {
        Self {
            sim: start(script).await,
            client: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/heroku{path}", self.sim.url())
    }

    /// An API request with Heroku's media type and the token; the answer is checked.
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method.clone(), self.url(path))
            .header("accept", HEROKU_ACCEPT)
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(
            header(&response, "ratelimit-remaining").is_some(),
            "no RateLimit-Remaining"
        );
        let body: Value = response.json().await.unwrap();
        let full = format!("/heroku{path}");
        if let Err(problem) = hyper_schema_answer(
            heroku_schema(),
            "/heroku",
            method.as_str(),
            &full,
            status.as_u16(),
            &body,
        ) {
            panic!("the Heroku dialect broke heroku-schema.json: {problem}");
        }
        (status, body)
    }

    async fn build(&self, id: &str) -> Value {
        let (status, build) = self
            .api(Method::GET, &format!("/apps/demo-app/builds/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{build}");
        build
    }

    /// `POST /sources`, then the archive to `put_url` with no credential; the `get_url`.
    async fn upload(&self, archive: &[u8]) -> String {
        let (status, source) = self.api(Method::POST, "/sources", None).await;
        assert_eq!(status, StatusCode::CREATED);
        let put = source["source_blob"]["put_url"].as_str().unwrap();
        assert!(put.contains("X-Amz-Signature="), "{put}");
        let response = self
            .client
            .put(put)
            .body(archive.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "etag").is_some());
        source["source_blob"]["get_url"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn start_build(&self, url: &str) -> Value {
        let body = json!({ "source_blob": { "url": url, "version": SHA } });
        let (status, build) = self
            .api(Method::POST, "/apps/demo-app/builds", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{build}");
        assert_eq!(build["status"], "pending");
        build
    }

    async fn wait_for_build(&self, id: &str, status: &str) -> Value {
        eventually(&format!("the build to be {status}"), async || {
            let build = self.build(id).await;
            (build["status"] == status).then_some(build)
        })
        .await
    }

    /// Every request sent under `/heroku` is one Heroku's description allows.
    fn assert_requests_follow_the_description(&self) {
        let api: Vec<RecordedRequest> = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/heroku/"))
            .collect();
        assert!(!api.is_empty());
        for r in api {
            if let Err(problem) = hyper_schema_request(heroku_schema(), &r, "/heroku") {
                panic!(
                    "{} {} breaks heroku-schema.json: {problem}",
                    r.method, r.path
                );
            }
        }
    }
}

/// Reads a whole output stream, following it until the body closes.
async fn read_stream(client: &Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    response.text().await.unwrap()
}

fn archive() -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"package.json\0{\"name\":\"demo\"}\xff\xfe")
        .unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn heroku_builds_from_an_uploaded_source_then_releases() {
    let script = hosted_script();
    let h = Heroku::start(script.clone()).await;
    let archive = archive();
    let get_url = h.upload(&archive).await;
    let fetched = h.client.get(&get_url).send().await.unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), archive.as_slice());

    let build = h.start_build(&get_url).await;
    let id = build["id"].as_str().unwrap().to_owned();
    assert_eq!(build["release"], Value::Null);
    assert_eq!(build["source_blob"]["version"], SHA);
    let log = read_stream(&h.client, build["output_stream_url"].as_str().unwrap()).await;
    assert_eq!(log, expected(Phase::Build, &id[..8], &script.build));

    let build = h.wait_for_build(&id, "succeeded").await;
    let release = build["release"]["id"].as_str().unwrap().to_owned();
    assert!(build["slug"]["id"].is_string());
    let (status, first) = h
        .api(
            Method::GET,
            &format!("/apps/demo-app/releases/{release}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["version"], 2);
    let log = read_stream(&h.client, first["output_stream_url"].as_str().unwrap()).await;
    assert_eq!(log, expected(Phase::Deploy, "v2", &script.deploy));
    let done = eventually("the release to succeed", async || {
        let (_, r) = h.api(Method::GET, "/apps/demo-app/releases/2", None).await;
        (r["status"] != "pending").then_some(r)
    })
    .await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["current"], true);
    assert_eq!(done["id"], release.as_str());

    let (status, app) = h.api(Method::GET, "/apps/demo-app", None).await;
    assert_eq!(status, StatusCode::OK);
    let web = app["web_url"].as_str().unwrap();
    assert!(
        web.starts_with("https://demo-app-") && web.ends_with(".herokuapp.com/"),
        "{web}"
    );
    h.assert_requests_follow_the_description();
}

#[tokio::test]
async fn heroku_fails_a_build_and_makes_no_release() {
    let script = Script {
        build: observable().with_outcome(Outcome::Failure),
        ..hosted_script()
    };
    let h = Heroku::start(script.clone()).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let id = build["id"].as_str().unwrap().to_owned();
    let log = read_stream(&h.client, build["output_stream_url"].as_str().unwrap()).await;
    assert_eq!(log, expected(Phase::Build, &id[..8], &script.build));
    assert!(log.lines().nth(9).unwrap().ends_with(" error: step failed"));
    let build = h.wait_for_build(&id, "failed").await;
    assert_eq!(build["release"], Value::Null);

    // A source that was never uploaded cannot be fetched: Heroku fails the build.
    let (_, source) = h.api(Method::POST, "/sources", None).await;
    let unfetched = source["source_blob"]["get_url"].as_str().unwrap();
    let build = Heroku::start_build(&h, unfetched).await;
    h.wait_for_build(build["id"].as_str().unwrap(), "failed")
        .await;
    h.assert_requests_follow_the_description();
}

#[tokio::test]
async fn heroku_fails_a_release_phase_after_a_good_build() {
    let script = Script {
        deploy: hosted_script().deploy.with_outcome(Outcome::Failure),
        ..hosted_script()
    };
    let h = Heroku::start(script.clone()).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let id = build["id"].as_str().unwrap().to_owned();
    let build = h.wait_for_build(&id, "succeeded").await;
    let release = build["release"]["id"].as_str().unwrap().to_owned();
    let path = format!("/apps/demo-app/releases/{release}");
    let (_, pending) = h.api(Method::GET, &path, None).await;
    let log = read_stream(&h.client, pending["output_stream_url"].as_str().unwrap()).await;
    assert_eq!(log, expected(Phase::Deploy, "v2", &script.deploy));
    let done = eventually("the release phase to end", async || {
        let (_, r) = h.api(Method::GET, &path, None).await;
        (r["status"] != "pending").then_some(r)
    })
    .await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["current"], false);
    h.assert_requests_follow_the_description();
}

#[tokio::test]
async fn heroku_cancels_a_running_build() {
    let script = Script {
        build: endless(),
        ..hosted_script()
    };
    let h = Heroku::start(script).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let id = build["id"].as_str().unwrap().to_owned();
    let stream = h
        .client
        .get(build["output_stream_url"].as_str().unwrap())
        .send();
    let stream = tokio::spawn(async move { stream.await.unwrap().text().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, cancelled) = h
        .api(Method::DELETE, &format!("/apps/demo-app/builds/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "failed");
    assert_eq!(cancelled["release"], Value::Null);
    let log = tokio::time::timeout(DEADLINE, stream)
        .await
        .unwrap()
        .unwrap();
    assert!(
        log.lines().last().unwrap().contains("cancelled by request"),
        "{log}"
    );
    // Cancelling again answers the build as it is.
    let (status, again) = h
        .api(Method::DELETE, &format!("/apps/demo-app/builds/{id}"), None)
        .await;
    assert_eq!(
        (status, &again["status"]),
        (StatusCode::OK, &json!("failed"))
    );
    h.assert_requests_follow_the_description();
}

#[tokio::test]
async fn heroku_output_streams_resume_with_range_and_end_with_416() {
    let mut script = hosted_script();
    script.build.log_lines = 40;
    script.build.duration = Duration::from_millis(800);
    script.heroku.drop_streams = 1;
    let h = Heroku::start(script.clone()).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let id = build["id"].as_str().unwrap().to_owned();
    let url = build["output_stream_url"].as_str().unwrap().to_owned();
    let whole = expected(Phase::Build, &id[..8], &script.build);

    // The first stream is cut by the script after its first chunk.
    let mut response = h.client.get(&url).send().await.unwrap();
    let mut shown = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => shown.extend_from_slice(&chunk),
            Ok(None) => panic!("the cut stream ended cleanly"),
            Err(_) => break,
        }
    }
    assert!(!shown.is_empty());
    // The second one is dropped by the client after a few bytes more.
    let response = h
        .client
        .get(&url)
        .header("range", format!("bytes={}-", shown.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let mut response = response;
    let chunk = response.chunk().await.unwrap().unwrap();
    shown.extend_from_slice(&chunk);
    drop(response);
    // The third reads to the end: the body closes when the log is finished.
    let response = h
        .client
        .get(&url)
        .header("range", format!("bytes={}-", shown.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    shown.extend_from_slice(&response.bytes().await.unwrap());
    assert_eq!(String::from_utf8(shown).unwrap(), whole);

    // Complete now: a range from the end is not satisfiable, one inside it is exact.
    let past = h
        .client
        .get(&url)
        .header("range", format!("bytes={}-", whole.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(&past, "content-range"),
        Some(format!("bytes */{}", whole.len()))
    );
    let tail = h
        .client
        .get(&url)
        .header("range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&tail, "content-range"),
        Some(format!("bytes 100-{}/{}", whole.len() - 1, whole.len()))
    );
    assert_eq!(tail.text().await.unwrap(), whole[100..]);
    h.assert_requests_follow_the_description();
}

/// The `data` lines and the last `id` of server-sent events.
fn parse_events(text: &str) -> (String, Option<u64>) {
    let mut lines = String::new();
    let mut last = None;
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        for field in event.lines() {
            if let Some(data) = field.strip_prefix("data: ") {
                lines.push_str(data);
                lines.push('\n');
            } else if let Some(id) = field.strip_prefix("id: ") {
                last = Some(id.parse().unwrap());
            }
        }
    }
    (lines, last)
}

#[tokio::test]
async fn heroku_output_streams_speak_server_sent_events_too() {
    let script = hosted_script();
    let h = Heroku::start(script.clone()).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let id = build["id"].as_str().unwrap().to_owned();
    let url = build["output_stream_url"].as_str().unwrap().to_owned();
    h.wait_for_build(&id, "succeeded").await;
    let whole = expected(Phase::Build, &id[..8], &script.build);
    let events = |last: Option<u64>| {
        let mut request = h.client.get(&url).header("accept", "text/event-stream");
        if let Some(last) = last {
            request = request.header("last-event-id", last.to_string());
        }
        request.send()
    };
    let response = events(None).await.unwrap();
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/event-stream")
    );
    let (lines, last) = parse_events(&response.text().await.unwrap());
    assert_eq!(lines, whole);
    assert_eq!(last, Some(whole.len() as u64));
    let (rest, _) = parse_events(&events(Some(300)).await.unwrap().text().await.unwrap());
    assert_eq!(rest, whole[300..]);
}

#[tokio::test]
async fn heroku_answers_a_scripted_429_as_heroku_documents() {
    let script = Script {
        faults: vec![Fault {
            on: Route::Status,
            count: 1,
            status: 429,
            retry_after: Some(2),
            ..Fault::default()
        }],
        ..hosted_script()
    };
    let h = Heroku::start(script).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let path = format!("/apps/demo-app/builds/{}", build["id"].as_str().unwrap());
    let response = h
        .client
        .get(h.url(&path))
        .header("accept", HEROKU_ACCEPT)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(header(&response, "retry-after").as_deref(), Some("2"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "rate_limit");
    hyper_schema_answer(
        heroku_schema(),
        "/heroku",
        "GET",
        &format!("/heroku{path}"),
        429,
        &body,
    )
    .unwrap();
    let (status, _) = h.api(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    h.assert_requests_follow_the_description();
}

#[tokio::test]
async fn heroku_refuses_what_heroku_refuses() {
    let h = Heroku::start(hosted_script()).await;
    let get = |path: &str, accept: Option<&str>, token: Option<&str>| {
        let mut request = h.client.get(h.url(path));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get("/apps/demo-app", None, Some(TOKEN)).await;
    assert_eq!(
        (status, &body["id"]),
        (StatusCode::NOT_ACCEPTABLE, &json!("not_acceptable"))
    );
    let (status, body) = get("/apps/demo-app", Some(HEROKU_ACCEPT), None).await;
    assert_eq!(
        (status, &body["id"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    let (status, _) = get("/apps/demo-app", Some(HEROKU_ACCEPT), Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = h.api(Method::GET, "/apps/other-app", None).await;
    assert_eq!(
        (status, &body["resource"]),
        (StatusCode::NOT_FOUND, &json!("app"))
    );
    let (status, body) = h.api(Method::GET, "/apps/demo-app/dynos", None).await;
    assert_eq!(
        (status, &body["id"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (status, _) = h.api(Method::GET, "/apps/demo-app/builds/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = h
        .api(
            Method::POST,
            "/apps/demo-app/builds",
            Some(json!({ "source_blob": {} })),
        )
        .await;
    assert_eq!(
        (status, &body["id"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("invalid_params"))
    );

    // The object store wants the signature it issued for that method.
    let (_, source) = h.api(Method::POST, "/sources", None).await;
    let put = source["source_blob"]["put_url"].as_str().unwrap();
    let forged = format!("{put}0");
    let response = h.client.put(forged).body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>SignatureDoesNotMatch</Code>")
    );
    let get_with_put = h.client.get(put).send().await.unwrap();
    assert_eq!(get_with_put.status(), StatusCode::FORBIDDEN);
    // A token sent along to the object store is refused, as S3 does.
    let with_token = h
        .client
        .put(put)
        .bearer_auth(TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::BAD_REQUEST);
    assert!(
        with_token
            .text()
            .await
            .unwrap()
            .contains("<Code>InvalidArgument</Code>")
    );
}

#[tokio::test]
async fn heroku_without_a_release_phase_releases_at_once() {
    let mut script = hosted_script();
    script.heroku.release_phase = false;
    let h = Heroku::start(script).await;
    let build = h.start_build(&h.upload(&archive()).await).await;
    let build = h
        .wait_for_build(build["id"].as_str().unwrap(), "succeeded")
        .await;
    let release = build["release"]["id"].as_str().unwrap();
    let (_, release) = h
        .api(
            Method::GET,
            &format!("/apps/demo-app/releases/{release}"),
            None,
        )
        .await;
    assert_eq!(release["status"], "succeeded");
    assert_eq!(release["output_stream_url"], Value::Null);
    h.assert_requests_follow_the_description();
}

// ---- Netlify -----------------------------------------------------------------------------

/// A client of the Netlify dialect that checks every answer against Netlify's description.
struct Netlify {
    sim: SimServer,
    client: Client,
}

/// The smallest zip archive (an end-of-central-directory record alone) with one file's worth of
/// local header in front, enough for the simulator's check.
fn zip() -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend_from_slice(&[0; 26]);
    bytes.extend_from_slice(b"PK\x05\x06");
    bytes.extend_from_slice(&[0; 18]);
    bytes
}

impl Netlify {
    async fn start(script: Script) -> Self {
        Self {
            sim: start(script).await,
            client: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/netlify/api/v1{path}", self.sim.url())
    }

    /// A request with the token; the answer is checked against the description.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
    ) -> (StatusCode, Value) {
        let response = request.bearer_auth(TOKEN).send().await.unwrap();
        let status = response.status();
        assert_eq!(
            header(&response, "x-ratelimit-limit").as_deref(),
            Some("500")
        );
        let text = response.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        let full = format!("/netlify/api/v1{path}");
        if let Err(problem) = swagger2_answer(
            netlify_swagger(),
            "/netlify",
            method,
            &full,
            status.as_u16(),
            &body,
        ) {
            panic!("the Netlify dialect broke netlify-swagger.yml: {problem}");
        }
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(self.url(path)), "GET", path)
            .await
    }

    async fn post_zip(&self, path: &str) -> (StatusCode, Value) {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/zip")
            .body(zip());
        let bare = path.split('?').next().unwrap();
        self.send(request, "POST", bare).await
    }

    async fn deploy(&self, id: &str) -> Value {
        let (status, deploy) = self.get(&format!("/deploys/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        deploy
    }

    /// Polls a deploy until `done` holds, returning every `state` seen in order.
    async fn follow(&self, id: &str, last: &str) -> (Vec<String>, Value) {
        let mut seen: Vec<String> = Vec::new();
        let deploy = eventually(&format!("the deploy to be {last}"), async || {
            let deploy = self.deploy(id).await;
            let state = deploy["state"].as_str().unwrap().to_owned();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            (state == last).then_some(deploy)
        })
        .await;
        (seen, deploy)
    }

    fn assert_requests_follow_the_description(&self) {
        let api: Vec<RecordedRequest> = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/netlify/api/v1/"))
            .collect();
        assert!(!api.is_empty());
        for r in api {
            if let Err(problem) = swagger2_request(netlify_swagger(), &r, "/netlify") {
                panic!(
                    "{} {} breaks netlify-swagger.yml: {problem}",
                    r.method, r.path
                );
            }
        }
    }

    /// The frames of the build log WebSocket for `deploy`, until the server closes it.
    async fn socket(&self, deploy: &str, token: &str) -> (Vec<Value>, Option<u16>) {
        let addr = self.sim.local_addr();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let url = format!("ws://{addr}/netlify-socketeer/build/logs");
        let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
        let subscribe =
            json!({ "deploy_id": deploy, "site_id": "demo-site", "access_token": token });
        ws.send(Message::text(subscribe.to_string())).await.unwrap();
        let mut frames = Vec::new();
        let code = tokio::time::timeout(DEADLINE, async {
            while let Some(message) = ws.next().await {
                match message {
                    Ok(Message::Text(text)) => frames.push(serde_json::from_str(&text).unwrap()),
                    Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await
        .unwrap();
        (frames, code)
    }
}

fn messages(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["type"] != "report")
        .map(|f| format!("{}\n", f["message"].as_str().unwrap()))
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n')
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

#[tokio::test]
async fn netlify_builds_a_zip_streams_its_log_and_publishes() {
    let script = hosted_script();
    let n = Netlify::start(script.clone()).await;
    let (status, build) = n
        .post_zip(&format!("/sites/demo-site/builds?title={SHA}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(build["done"], false);
    let deploy_id = build["deploy_id"].as_str().unwrap().to_owned();
    let build_id = build["id"].as_str().unwrap().to_owned();

    let (frames, code) = n.socket(&deploy_id, TOKEN).await;
    assert_eq!(code, Some(1000));
    assert_eq!(
        messages(&frames),
        lines(&expected(Phase::Build, &build_id[..8], &script.build))
    );
    let report = frames.last().unwrap();
    assert_eq!(
        (&report["type"], &report["section"]),
        (&json!("report"), &json!("building"))
    );
    assert!(frames.iter().all(|f| f["ts"].is_string()));

    let (seen, deploy) = n.follow(&deploy_id, "ready").await;
    let order = [
        "enqueued",
        "building",
        "uploading",
        "uploaded",
        "preparing",
        "prepared",
        "processing",
        "ready",
    ];
    let positions: Vec<usize> = seen
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(deploy["build_id"], build_id.as_str());
    assert_eq!(deploy["title"], SHA);
    let (_, build) = n.get(&format!("/builds/{build_id}")).await;
    assert_eq!((&build["done"], build.get("error")), (&json!(true), None));
    let (_, site) = n.get("/sites/demo-site").await;
    assert_eq!(site["ssl_url"], "https://demo-site.netlify.app");
    assert_eq!(site["published_deploy"]["id"], deploy_id.as_str());
    let (_, same) = n
        .get(&format!("/sites/demo-site/deploys/{deploy_id}"))
        .await;
    assert_eq!(same["state"], "ready");
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_deploys_a_zipped_site() {
    let script = hosted_script();
    let n = Netlify::start(script.clone()).await;
    let (status, deploy) = n.post_zip("/sites/demo-site/deploys?title=release").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deploy["state"], "uploaded");
    assert!(deploy.get("build_id").is_none());
    let id = deploy["id"].as_str().unwrap().to_owned();
    let (frames, _) = n.socket(&id, TOKEN).await;
    assert_eq!(
        messages(&frames),
        lines(&expected(Phase::Deploy, &id[..8], &script.deploy))
    );
    assert!(frames.iter().all(|f| f["section"] == "deploying"));
    let (_, deploy) = n.follow(&id, "ready").await;
    assert_eq!(
        deploy["deploy_ssl_url"],
        format!("https://{id}--demo-site.netlify.app")
    );
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_reports_a_failed_build() {
    let script = Script {
        build: observable().with_outcome(Outcome::Failure),
        ..hosted_script()
    };
    let n = Netlify::start(script).await;
    let (_, build) = n.post_zip("/sites/demo-site/builds").await;
    let deploy_id = build["deploy_id"].as_str().unwrap().to_owned();
    let (frames, _) = n.socket(&deploy_id, TOKEN).await;
    let report = frames.last().unwrap();
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed during stage 'building'"),
        "{report}"
    );
    let (_, deploy) = n.follow(&deploy_id, "error").await;
    assert_eq!(
        deploy["error_message"],
        "Build script returned non-zero exit code: 2"
    );
    let (_, build) = n
        .get(&format!("/builds/{}", build["id"].as_str().unwrap()))
        .await;
    assert_eq!(build["done"], true);
    assert!(build["error"].is_string());
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_reports_a_failed_deploy_after_its_build() {
    let script = Script {
        deploy: hosted_script().deploy.with_outcome(Outcome::Failure),
        ..hosted_script()
    };
    let n = Netlify::start(script).await;
    let (_, build) = n.post_zip("/sites/demo-site/builds").await;
    let deploy_id = build["deploy_id"].as_str().unwrap().to_owned();
    let (seen, deploy) = n.follow(&deploy_id, "error").await;
    assert!(seen.iter().any(|s| s == "building"), "{seen:?}");
    assert!(
        deploy["error_message"]
            .as_str()
            .unwrap()
            .starts_with("Failed during stage 'deploying site'"),
        "{deploy}"
    );
    // The build itself succeeded; the failed deploy is never published.
    let (_, build) = n
        .get(&format!("/builds/{}", build["id"].as_str().unwrap()))
        .await;
    assert_eq!((&build["done"], build.get("error")), (&json!(true), None));
    let (_, site) = n.get("/sites/demo-site").await;
    assert!(site.get("published_deploy").is_none(), "{site}");
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_cancels_a_deploy() {
    let script = Script {
        build: endless(),
        ..hosted_script()
    };
    let n = Netlify::start(script).await;
    let (_, build) = n.post_zip("/sites/demo-site/builds").await;
    let deploy_id = build["deploy_id"].as_str().unwrap().to_owned();
    n.follow(&deploy_id, "building").await;
    let path = format!("/deploys/{deploy_id}/cancel");
    let (status, deploy) = n.send(n.client.post(n.url(&path)), "POST", &path).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(deploy["state"], "error");
    assert_eq!(deploy["error_message"], "Canceled build");
    let (frames, code) = n.socket(&deploy_id, TOKEN).await;
    assert_eq!(code, Some(1000));
    assert!(
        messages(&frames)
            .last()
            .unwrap()
            .contains("cancelled by request")
    );
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_answers_a_scripted_429_with_its_reset_header() {
    let script = Script {
        faults: vec![Fault {
            on: Route::Trigger,
            count: 1,
            status: 429,
            retry_after: Some(3),
            ..Fault::default()
        }],
        ..hosted_script()
    };
    let n = Netlify::start(script).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let response = n
        .client
        .post(n.url("/sites/demo-site/builds"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(header(&response, "retry-after"), None);
    let reset: u64 = header(&response, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (before + 3..=before + 5).contains(&reset),
        "{reset} vs {before}"
    );
    let body: Value = response.json().await.unwrap();
    swagger2_answer(
        netlify_swagger(),
        "/netlify",
        "POST",
        "/netlify/api/v1/sites/demo-site/builds",
        429,
        &body,
    )
    .unwrap();
    let (status, _) = n.post_zip("/sites/demo-site/builds").await;
    assert_eq!(status, StatusCode::OK);
    n.assert_requests_follow_the_description();
}

#[tokio::test]
async fn netlify_refuses_what_netlify_refuses() {
    let mut script = hosted_script();
    script.netlify.drop_sockets = 1;
    let n = Netlify::start(script).await;
    let anonymous = n
        .client
        .get(n.url("/sites/demo-site"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = n.get("/sites/elsewhere").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!(404))
    );
    let (status, _) = n.get("/deploys/0123456789abcdef01234567").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unknown = n
        .client
        .get(n.url("/nowhere"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["message"],
        "Not Found"
    );
    let not_zip = n
        .client
        .post(n.url("/sites/demo-site/deploys"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/zip")
        .body("not a zip")
        .send()
        .await
        .unwrap();
    assert_eq!(not_zip.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (_, deploy) = n.post_zip("/sites/demo-site/deploys").await;
    let id = deploy["id"].as_str().unwrap();
    let (frames, code) = n.socket(id, "wrong").await;
    assert_eq!((frames.len(), code), (0, Some(1008)));
    // The first accepted socket is cut after one line; the next one replays the whole log.
    let (frames, code) = n.socket(id, TOKEN).await;
    assert_eq!((frames.len(), code), (1, None));
    let (frames, code) = n.socket(id, TOKEN).await;
    assert_eq!(code, Some(1000));
    assert!(frames.len() > 1);
}

// ---- both, from the real binary ------------------------------------------------------------

/// `ferry sim` with `args`, and the URL it prints once it listens.
fn spawn_sim(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .env_clear()
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    (child, url)
}

async fn get_status(client: &Client, url: String) -> StatusCode {
    client
        .get(url)
        .header("accept", HEROKU_ACCEPT)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn ferry_sim_serves_the_hosted_dialects() {
    let (mut child, url) = spawn_sim(&[]);
    let client = Client::new();
    let heroku = client
        .get(format!("{url}/heroku/apps/demo-app"))
        .header("accept", HEROKU_ACCEPT)
        .send()
        .await
        .unwrap();
    let netlify = get_status(&client, format!("{url}/netlify/api/v1/sites/demo-site")).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(heroku.status(), StatusCode::OK);
    assert_eq!(netlify, StatusCode::OK);
    let app: Value = heroku.json().await.unwrap();
    assert_eq!(app["name"], "demo-app");
}

#[tokio::test]
async fn ferry_sim_scripts_the_hosted_apps_and_sites_and_refuses_a_misspelt_key() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("sim.toml");
    std::fs::write(
        &script,
        "[heroku]\napps = [\"shop\"]\nrelease_phase = false\n[netlify]\nsites = [\"docs\"]\n",
    )
    .unwrap();
    let (mut child, url) = spawn_sim(&["--script", script.to_str().unwrap()]);
    let client = Client::new();
    let shop = get_status(&client, format!("{url}/heroku/apps/shop")).await;
    let demo = get_status(&client, format!("{url}/heroku/apps/demo-app")).await;
    let docs = get_status(&client, format!("{url}/netlify/api/v1/sites/docs")).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        (shop, demo, docs),
        (StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::OK)
    );

    std::fs::write(&script, "[heroku]\napp = [\"shop\"]\n").unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .env_clear()
        .args(["sim", "--listen", "127.0.0.1:0", "--script"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("unknown field `app`, expected one of `apps`"),
        "{stderr}"
    );
}
