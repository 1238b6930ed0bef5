//! The simulator's Render and DigitalOcean App Platform dialects, driven over plain HTTP (and a
//! WebSocket) as a client of those platforms would, with every request checked against the
//! platform's own OpenAPI 3 description and every answer against the response schema it
//! declares (`support/openapi3.rs`): a dialect that invented a field, a status or a shape would
//! fail here, whatever ferry does with it.

mod digitalocean;
mod render;

use ferry::sim::{Script, SimServer};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::support::eventually;
use crate::support::openapi3::{self, Description};

/// The token every test's simulator requires.
const TOKEN: &str = "hosted-token-0123456789";

async fn start(script: Script) -> SimServer {
    let script = Script {
        require_token: Some(TOKEN.into()),
        ..script
    };
    SimServer::start("127.0.0.1:0".parse().unwrap(), script)
        .await
        .unwrap()
}

/// One answer of a dialect, already checked against the description.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A hosted dialect as its clients see it: the simulator, the prefix it is mounted under and the
/// platform's description.
struct Api<'a> {
    sim: &'a SimServer,
    mount: &'static str,
    description: &'static Description,
    client: Client,
}

impl<'a> Api<'a> {
    fn render(sim: &'a SimServer) -> Self {
        Self {
            sim,
            mount: "/render",
            description: openapi3::render(),
            client: Client::new(),
        }
    }

    fn digitalocean(sim: &'a SimServer) -> Self {
        Self {
            sim,
            mount: "/digitalocean",
            description: openapi3::digitalocean(),
            client: Client::new(),
        }
    }

    /// Sends `method path` (`path` as the platform's server sees it: `/v1/…`, `/v2/…`) with the
    /// token, and checks the answer against the description.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        self.send_as(method, path, body, Some(TOKEN)).await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Answer {
        let url = format!("{}{}{path}", self.sim.url(), self.mount);
        let mut request = self.client.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if status != 404
            || self
                .description
                .operation(method.as_str(), path.split('?').next().unwrap_or(path))
                .is_some()
        {
            let problems = self.description.check_response(
                method.as_str(),
                path,
                status,
                content_type,
                &bytes,
            );
            assert!(
                problems.is_empty(),
                "{method} {path} answered {status} {}:\n{problems:#?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Fails the test on any request to the platform's API that its description rejects.
    fn assert_requests_follow_the_description(&self) {
        let api = format!("{}{}", self.mount, self.description.base_path());
        let sent: Vec<_> = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(&format!("{api}/")))
            .filter(|r| r.header("authorization").is_some())
            .collect();
        assert!(!sent.is_empty(), "no request was sent to {api}");
        for r in sent {
            let problems = self.description.check_recorded(self.mount, &r);
            assert!(
                problems.is_empty(),
                "{} {}: {problems:#?}",
                r.method,
                r.path
            );
        }
    }
}

/// Seconds since the Unix epoch now.
fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Checks a `429` as both platforms document it: no `Retry-After`, `Ratelimit-Reset` a Unix time
/// about `secs` seconds away, nothing remaining.
fn assert_rate_limited(answer: &Answer, secs: u64) {
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.header("retry-after"), None);
    assert_eq!(answer.header("ratelimit-remaining"), Some("0"));
    assert!(answer.header("ratelimit-limit").is_some());
    let reset: u64 = answer.header("ratelimit-reset").unwrap().parse().unwrap();
    let now = epoch_now();
    assert!(
        reset >= now + secs.saturating_sub(1) && reset <= now + secs + 1,
        "reset {reset} is not ~{secs}s after {now}"
    );
}

/// `d.check_request` with a bearer token and a JSON content type.
fn check(d: &Description, method: &str, path: &str, body: &str) -> Vec<String> {
    let auth = [
        ("authorization".to_owned(), "Bearer t".to_owned()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    d.check_request(method, path, &auth, body.as_bytes())
}

#[test]
fn the_validator_refuses_render_requests_the_description_does_not_allow() {
    let render = openapi3::render();
    let deploys = "/v1/services/srv-1/deploys";
    assert_eq!(
        check(
            render,
            "POST",
            deploys,
            r#"{"clearCache":"clear","commitId":"abc"}"#
        ),
        Vec::<String>::new()
    );
    assert!(
        !check(render, "POST", deploys, r#"{"clearcache":"clear"}"#).is_empty(),
        "unknown field"
    );
    assert!(
        !check(render, "POST", deploys, r#"{"clearCache":"yes"}"#).is_empty(),
        "enum"
    );
    assert!(
        !check(render, "POST", deploys, "").is_empty(),
        "the body is required"
    );
    assert!(
        !check(render, "PUT", deploys, "").is_empty(),
        "no such operation"
    );
    assert!(
        !check(render, "GET", "/v1/logs?resource=srv-1", "").is_empty(),
        "ownerId is required"
    );
    assert_eq!(
        check(
            render,
            "GET",
            "/v1/logs?ownerId=o&resource=a&resource=b&limit=5&direction=forward&startTime=2026-01-01T00:00:00.5Z",
            ""
        ),
        Vec::<String>::new()
    );
    assert!(
        !check(render, "GET", "/v1/logs?ownerId=o&resource=a&limit=500", "").is_empty(),
        "limit ≤ 100"
    );
    assert!(
        !check(
            render,
            "GET",
            "/v1/logs?ownerId=o&resource=a&direction=up",
            ""
        )
        .is_empty()
    );
    assert!(
        !check(
            render,
            "GET",
            "/v1/logs?ownerId=o&resource=a&startTime=yesterday",
            ""
        )
        .is_empty()
    );
    assert!(!check(render, "GET", "/v1/logs?ownerId=o&resource=a&bogus=1", "").is_empty());
    assert!(
        !render
            .check_request("GET", "/v1/services/srv-1", &[], b"")
            .is_empty(),
        "no credential"
    );
}

#[test]
fn the_validator_refuses_render_answers_the_description_does_not_allow() {
    let render = openapi3::render();
    let deploys = "/v1/services/srv-1/deploys";
    // A 202 has no body, a deploy has no invented fields.
    assert!(
        !render
            .check_response("POST", deploys, 202, Some("application/json"), b"{}")
            .is_empty()
    );
    assert_eq!(
        render.check_response("POST", deploys, 202, None, b""),
        Vec::<String>::new()
    );
    let deploy = json!({"id": "dep-1", "status": "live"}).to_string();
    assert_eq!(
        render.check_response(
            "GET",
            "/v1/services/s/deploys/d",
            200,
            Some("application/json"),
            deploy.as_bytes()
        ),
        Vec::<String>::new()
    );
    let invented = json!({"id": "dep-1", "status": "live", "url": "x"}).to_string();
    assert!(
        !render
            .check_response(
                "GET",
                "/v1/services/s/deploys/d",
                200,
                Some("application/json"),
                invented.as_bytes()
            )
            .is_empty()
    );
    let wrong = json!({"id": "dep-1", "status": "succeeded"}).to_string();
    assert!(
        !render
            .check_response(
                "GET",
                "/v1/services/s/deploys/d",
                200,
                Some("application/json"),
                wrong.as_bytes()
            )
            .is_empty()
    );
}

#[test]
fn the_validator_refuses_what_the_digitalocean_description_does_not_allow() {
    let digitalocean = openapi3::digitalocean();
    let create = "/v2/apps/a-1/deployments";
    assert_eq!(
        check(digitalocean, "POST", create, r#"{"force_build":true}"#),
        Vec::<String>::new()
    );
    assert!(!check(digitalocean, "POST", create, r#"{"force_build":"yes"}"#).is_empty());
    assert!(!check(digitalocean, "POST", create, r#"{"forceBuild":true}"#).is_empty());
    let logs = "/v2/apps/a-1/deployments/d-1/logs";
    assert_eq!(
        check(
            digitalocean,
            "GET",
            &format!("{logs}?type=BUILD&follow=true"),
            ""
        ),
        Vec::<String>::new()
    );
    assert!(
        !check(digitalocean, "GET", &format!("{logs}?follow=true"), "").is_empty(),
        "type is required"
    );
    assert!(
        !check(
            digitalocean,
            "GET",
            &format!("{logs}?type=BUILD&follow=yes"),
            ""
        )
        .is_empty()
    );
    assert!(!check(digitalocean, "GET", &format!("{logs}?type=LOUD"), "").is_empty());
    let deployment = json!({"deployment": {"id": "d-1", "phase": "ACTIVE"}}).to_string();
    assert_eq!(
        digitalocean.check_response(
            "GET",
            "/v2/apps/a/deployments/d",
            200,
            Some("application/json"),
            deployment.as_bytes()
        ),
        Vec::<String>::new()
    );
    let wrong = json!({"deployment": {"id": "d-1", "phase": "LIVE"}}).to_string();
    assert!(
        !digitalocean
            .check_response(
                "GET",
                "/v2/apps/a/deployments/d",
                200,
                Some("application/json"),
                wrong.as_bytes()
            )
            .is_empty()
    );
    let app = json!({"app": {"id": "a"}}).to_string();
    assert!(
        !digitalocean
            .check_response(
                "GET",
                "/v2/apps/a",
                200,
                Some("application/json"),
                app.as_bytes()
            )
            .is_empty(),
        "spec is required"
    );
}

#[test]
fn ferry_sim_serves_the_hosted_dialects() {
    use std::io::{BufRead, BufReader};
    let work = crate::support::Workdir::new();
    let mut child = crate::support::spawn(work.ferry().args(["sim", "--listen", "127.0.0.1:0"]));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (render, digitalocean) = rt.block_on(async {
        let client = Client::new();
        let render = client
            .post(format!(
                "{url}/render/v1/services/srv-sim00000000000000001/deploys"
            ))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let digitalocean = client
            .get(format!(
                "{url}/digitalocean/v2/apps/5a1d0c3e-0000-4000-8000-000000000001"
            ))
            .send()
            .await
            .unwrap();
        (render.status().as_u16(), digitalocean.status().as_u16())
    });
    crate::support::signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
    assert_eq!((render, digitalocean), (201, 200));
}
