//! A stateful fake GitHub REST API for the end-to-end tests: commit statuses, deployments and
//! their statuses, issue comments (paginated with `Link`, as GitHub does), pull requests,
//! `commits/{sha}/pulls`, and `GET /user`, with tokens that behave like the Actions
//! `GITHUB_TOKEN` (a bot, 403 on `/user`), a personal token, or a fork's read-only token.
//!
//! Every request is checked against GitHub's official OpenAPI description ([`openapi`]); every
//! answer starts from the description's own example and is checked against its schema. Anything
//! else — an unknown route, an invalid request, a bad token — is answered with an error *and*
//! recorded as a violation, and the test fails when the fake is dropped: nothing unexpected can
//! pass quietly.

#[path = "fake_github/openapi.rs"]
pub(crate) mod openapi;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// How a token behaves.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) login: String,
    /// A bot (installation token): `GET /user` answers 403.
    pub(crate) bot: bool,
    /// A fork pull request's `GITHUB_TOKEN`: every write answers 403.
    pub(crate) read_only: bool,
    /// A classic personal access token's scopes, sent back in `X-OAuth-Scopes`.
    pub(crate) scopes: Option<String>,
}

/// One request as received.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    /// The API path, without the base's prefix (`/api/v3` on GHES).
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Recorded {
    /// `POST /statuses` and the like, as `METHOD /path`.
    pub(crate) fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// An answer to give instead of the normal one.
#[derive(Clone, Debug)]
struct Fault {
    method: String,
    path_contains: String,
    /// The matching request number (1-based) from which it applies.
    after: usize,
    count: usize,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    seen: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    pub(crate) issue: u64,
    pub(crate) login: String,
    pub(crate) body: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub(crate) id: u64,
    pub(crate) body: Value,
    pub(crate) statuses: Vec<Value>,
}

#[derive(Debug, Clone)]
struct Pull {
    number: u64,
    head_sha: String,
    head_ref: String,
    state: String,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, Token>,
    /// Tokens GitHub does not take (revoked, mistyped): 401 "Bad credentials", expected.
    refused: Vec<String>,
    requests: Vec<Recorded>,
    violations: Vec<String>,
    /// (sha, body as sent, creator)
    statuses: Vec<(String, Value)>,
    deployments: Vec<Deployment>,
    comments: BTreeMap<u64, Comment>,
    pulls: Vec<Pull>,
    faults: Vec<Fault>,
    next_id: u64,
    /// A latency added to comment writes, to widen race windows.
    write_delay: Duration,
    /// A latency added to every answer (a slow GitHub).
    latency: Duration,
}

/// The fake, serving on 127.0.0.1 from its own runtime for the length of a test.
pub(crate) struct FakeGithub {
    state: Arc<Mutex<State>>,
    base: String,
    rt: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The repository of the webhook example payloads.
pub(crate) const REPO: &str = "Codertocat/Hello-World";

impl FakeGithub {
    /// A fake api.github.com (`GITHUB_API_URL` = the root).
    pub(crate) fn start() -> Self {
        Self::start_at("")
    }

    /// A fake GitHub Enterprise Server (`GITHUB_API_URL` = `…/api/v3`).
    pub(crate) fn start_ghes() -> Self {
        Self::start_at("/api/v3")
    }

    fn start_at(prefix: &'static str) -> Self {
        // Load the description before serving, so a missing one fails here, clearly.
        let _ = openapi::spec();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            ..State::default()
        }));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}{prefix}");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { handle(&state, prefix, &method, &uri, &headers, &body).await }
            },
        );
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            state,
            base,
            rt: Some(rt),
            shutdown: Some(tx),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `GITHUB_API_URL` for ferry.
    pub(crate) fn api_url(&self) -> &str {
        &self.base
    }

    /// An Actions `GITHUB_TOKEN`: writes as `github-actions[bot]`, `GET /user` is refused.
    pub(crate) fn bot_token(&self, token: &str) -> &Self {
        self.add_token(token, "github-actions[bot]", true, false)
    }

    /// A personal access token of `login`.
    pub(crate) fn user_token(&self, token: &str, login: &str) -> &Self {
        self.add_token(token, login, false, false)
    }

    /// A fork pull request's `GITHUB_TOKEN`: reads work, every write is refused.
    pub(crate) fn read_only_token(&self, token: &str) -> &Self {
        self.add_token(token, "github-actions[bot]", true, true)
    }

    /// A token GitHub refuses (revoked or mistyped): every request answers 401, and the test
    /// expects it (not a violation).
    pub(crate) fn refused_token(&self, token: &str) -> &Self {
        self.lock().refused.push(token.to_owned());
        self
    }

    fn add_token(&self, token: &str, login: &str, bot: bool, read_only: bool) -> &Self {
        self.lock().tokens.insert(
            token.to_owned(),
            Token {
                login: login.to_owned(),
                bot,
                read_only,
                scopes: None,
            },
        );
        self
    }

    /// A classic personal access token of `login` with these scopes (`X-OAuth-Scopes`, as GitHub
    /// sends it with every answer to such a token: `"repo, workflow"`).
    pub(crate) fn classic_token(&self, token: &str, login: &str, scopes: &str) -> &Self {
        self.add_token(token, login, false, false);
        if let Some(t) = self.lock().tokens.get_mut(token) {
            t.scopes = Some(scopes.to_owned());
        }
        self
    }

    /// An open pull request.
    pub(crate) fn open_pull(&self, number: u64, head_sha: &str, head_ref: &str) -> &Self {
        self.lock().pulls.push(Pull {
            number,
            head_sha: head_sha.to_owned(),
            head_ref: head_ref.to_owned(),
            state: "open".into(),
        });
        self
    }

    /// A comment someone already wrote on issue/pull request `issue`; returns its id.
    pub(crate) fn comment_by(&self, issue: u64, login: &str, body: &str) -> u64 {
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        s.comments.insert(
            id,
            Comment {
                id,
                issue,
                login: login.to_owned(),
                body: body.to_owned(),
            },
        );
        id
    }

    /// `count` matching requests from the `after`-th on are answered with a secondary rate
    /// limit (403, `retry-after`).
    pub(crate) fn secondary_rate_limit(
        &self,
        method: &str,
        path_contains: &str,
        after: usize,
        retry_after_secs: u64,
    ) -> &Self {
        self.fault(
            method,
            path_contains,
            after,
            1,
            403,
            vec![("retry-after".into(), retry_after_secs.to_string())],
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}"#,
        )
    }

    /// Every matching request from the `after`-th on is refused for the primary rate limit,
    /// resetting in an hour.
    pub(crate) fn primary_rate_limit(
        &self,
        method: &str,
        path_contains: &str,
        after: usize,
    ) -> &Self {
        let reset = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        self.fault(
            method,
            path_contains,
            after,
            usize::MAX,
            403,
            vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), reset.to_string()),
            ],
            r#"{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#,
        )
    }

    /// The `nth` matching request answers 502 with a proxy's error page (not JSON).
    pub(crate) fn bad_gateway_once(&self, method: &str, path_contains: &str, nth: usize) -> &Self {
        self.fault(
            method,
            path_contains,
            nth,
            1,
            502,
            vec![("content-type".into(), "text/html".into())],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    }

    /// Matching requests answer `status` with a body that is not JSON (a proxy's error page).
    pub(crate) fn html_error(&self, method: &str, path_contains: &str, status: u16) -> &Self {
        self.fault(
            method,
            path_contains,
            1,
            usize::MAX,
            status,
            vec![("content-type".into(), "text/html".into())],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn fault(
        &self,
        method: &str,
        path_contains: &str,
        after: usize,
        count: usize,
        status: u16,
        headers: Vec<(String, String)>,
        body: &str,
    ) -> &Self {
        self.lock().faults.push(Fault {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            after,
            count,
            status,
            headers,
            body: body.to_owned(),
            seen: 0,
        });
        self
    }

    /// Delays comment writes (PATCH/POST), widening the windows concurrent jobs race in.
    pub(crate) fn slow_comment_writes(&self, delay: Duration) -> &Self {
        self.lock().write_delay = delay;
        self
    }

    /// Adds `latency` to every answer (a slow GitHub).
    pub(crate) fn latency(&self, latency: Duration) -> &Self {
        self.lock().latency = latency;
        self
    }

    // ---- what happened ----

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// How many requests reached the fake.
    pub(crate) fn calls(&self) -> usize {
        self.lock().requests.len()
    }

    /// `METHOD /path` of every request, in order.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.requests().iter().map(Recorded::line).collect()
    }

    /// The states posted for `context` on `sha`, in order.
    pub(crate) fn status_states(&self, sha: &str, context: &str) -> Vec<String> {
        self.lock()
            .statuses
            .iter()
            .filter(|(s, b)| s == sha && b["context"] == context)
            .map(|(_, b)| b["state"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The last status body posted on `sha`.
    pub(crate) fn last_status(&self, sha: &str) -> Value {
        self.lock()
            .statuses
            .iter()
            .rev()
            .find(|(s, _)| s == sha)
            .map_or(Value::Null, |(_, b)| b.clone())
    }

    pub(crate) fn deployments(&self) -> Vec<Deployment> {
        self.lock().deployments.clone()
    }

    /// The comments on `issue`, oldest first.
    pub(crate) fn comments(&self, issue: u64) -> Vec<Comment> {
        self.lock()
            .comments
            .values()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    pub(crate) fn comment(&self, id: u64) -> Option<Comment> {
        self.lock().comments.get(&id).cloned()
    }

    /// Panics with the violations seen so far (also done on drop).
    #[track_caller]
    pub(crate) fn assert_clean(&self) {
        let v = self.lock().violations.clone();
        assert!(
            v.is_empty(),
            "the fake GitHub saw invalid or unexpected requests:\n{}",
            v.join("\n")
        );
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        if !std::thread::panicking() {
            self.assert_clean();
        }
    }
}

fn json_response(status: u16, body: &Value, extra: &[(String, String)]) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    for (k, v) in extra {
        r.headers_mut().insert(
            axum::http::HeaderName::try_from(k.as_str()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    r
}

fn error(status: u16, message: &str) -> Response {
    json_response(
        status,
        &json!({ "message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string() }),
        &[],
    )
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records a violation: the test fails when the fake is dropped.
fn violation(state: &Mutex<State>, text: String) {
    lock(state).violations.push(text);
}

/// Serves one request: records it, checks it as GitHub would (its description, the headers every
/// client sends, the token, injected faults, a read-only token's writes, the repository), answers
/// it with its operation's handler, and checks the answer against the description's schema.
async fn handle(
    state: &Arc<Mutex<State>>,
    prefix: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let full_path = uri.path();
    record(state, prefix, method, uri, headers, body);
    let latency = lock(state).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let Some(path) = full_path
        .strip_prefix(prefix)
        .filter(|p| p.starts_with('/'))
    else {
        violation(
            state,
            format!("{method} {full_path}: not under the API base {prefix:?}"),
        );
        return error(404, "Not Found");
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    if let Some(refusal) = check_request(state, method, path, &query, headers, body) {
        return refusal;
    }
    if is_refused(state, headers) {
        return error(401, "Bad credentials");
    }
    let Some(who) = authenticate(state, headers) else {
        violation(state, format!("{method} {path}: unknown or missing token"));
        return error(401, "Bad credentials");
    };
    if let Some(fault) = injected_fault(state, method, path) {
        return fault;
    }
    if *method != Method::GET && who.read_only {
        return refuse_write(path);
    }
    let (template, params) = openapi::operation(method.as_str(), path).unwrap();
    let call = Call {
        state,
        prefix,
        headers,
        template,
        params,
        query,
        sent: serde_json::from_slice(body).unwrap_or(Value::Null),
        who,
    };
    if call.template.starts_with("/repos/")
        && format!("{}/{}", call.param("owner"), call.param("repo")) != REPO
    {
        return error(404, "Not Found");
    }
    match route(&call, method, path).await {
        Reply::Checked(status, answer, extra) => {
            let problems =
                openapi::check_response(method.as_str(), &call.template, status, &answer);
            if !problems.is_empty() {
                violation(state, problems.join("\n"));
            }
            json_response(status, &answer, &extra)
        }
        Reply::AsIs(response) => response,
    }
}

/// Records the request as received, before anything can refuse it.
fn record(
    state: &Mutex<State>,
    prefix: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) {
    let full_path = uri.path();
    let recorded = Recorded {
        method: method.to_string(),
        path: full_path
            .strip_prefix(prefix)
            .unwrap_or(full_path)
            .to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    lock(state).requests.push(recorded);
}

/// Checks the request against GitHub's description (refused with a 422 when invalid: the
/// answer returned) and for the headers every GitHub client must send (a violation, not a
/// refusal).
fn check_request(
    state: &Mutex<State>,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let problems = openapi::check(
        method.as_str(),
        path,
        query,
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        body,
    );
    if !problems.is_empty() {
        violation(state, problems.join("\n"));
        return Some(error(
            422,
            &format!("Invalid request: {}", problems.join("; ")),
        ));
    }
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/vnd.github+json") {
        violation(
            state,
            format!("{method} {path}: Accept is not application/vnd.github+json"),
        );
    }
    if headers.get("user-agent").is_none() {
        violation(
            state,
            format!("{method} {path}: no User-Agent (GitHub refuses those)"),
        );
    }
    None
}

/// Whether the request carries a token the test made GitHub refuse.
fn is_refused(state: &Mutex<State>, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| lock(state).refused.iter().any(|r| r == t))
}

/// The holder of the `Authorization: Bearer …` token, if the fake knows it.
fn authenticate(state: &Mutex<State>, headers: &HeaderMap) -> Option<Token> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    lock(state).tokens.get(token).cloned()
}

/// The answer of the first injected fault that applies to this request; every matching fault up
/// to that one counts the request.
fn injected_fault(state: &Mutex<State>, method: &Method, path: &str) -> Option<Response> {
    let mut s = lock(state);
    for f in &mut s.faults {
        if f.method == method.as_str() && path.contains(&f.path_contains) {
            f.seen += 1;
            if f.seen >= f.after && f.seen - f.after < f.count {
                return Some(raw_response(f.status, &f.headers, &f.body));
            }
        }
    }
    None
}

/// A fork pull request's `GITHUB_TOKEN` writing: 403, naming the permission it lacks.
fn refuse_write(path: &str) -> Response {
    json_response(
        403,
        &json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest", "status": "403"}),
        &[(
            "x-accepted-github-permissions".into(),
            permission_for(path).into(),
        )],
    )
}

/// A request that passed the checks, as the operations' handlers see it.
struct Call<'a> {
    state: &'a Mutex<State>,
    /// The API base's path (`/api/v3` on GHES), for the links the fake writes.
    prefix: &'a str,
    headers: &'a HeaderMap,
    /// The description's path the request matched (`/repos/{owner}/{repo}/…`).
    template: String,
    /// The path parameters by name.
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    /// The JSON body as sent (`null` when there is none).
    sent: Value,
    /// The token's holder.
    who: Token,
}

impl Call<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(self.state)
    }

    fn violation(&self, text: String) {
        violation(self.state, text);
    }

    /// Path parameter `name` (empty when absent).
    fn param(&self, name: &str) -> String {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The first query parameter `name`.
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The description's example answer of this operation for `status`.
    fn example(&self, method: &str, status: u16) -> Value {
        openapi::example(method, &self.template, status)
    }
}

/// What an operation's handler answers.
enum Reply {
    /// Status, body and extra headers: checked against the description's schema, then sent.
    Checked(u16, Value, Vec<(String, String)>),
    /// Sent as is: errors, and answers without a JSON body from the description.
    AsIs(Response),
}

impl Reply {
    /// An error answer, as GitHub words it.
    fn error(status: u16, message: &str) -> Self {
        Self::AsIs(error(status, message))
    }
}

/// Answers a checked request with the handler of its operation; an operation the fake does not
/// serve is a violation.
async fn route(call: &Call<'_>, method: &Method, path: &str) -> Reply {
    match (method.as_str(), call.template.as_str()) {
        ("GET", "/user") => get_user(call),
        ("GET", "/repos/{owner}/{repo}") => get_repo(call),
        ("POST", "/repos/{owner}/{repo}/statuses/{sha}") => create_status(call),
        ("POST", "/repos/{owner}/{repo}/deployments") => create_deployment(call),
        ("GET", "/repos/{owner}/{repo}/deployments") => list_deployments(call),
        ("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses") => {
            create_deployment_status(call)
        }
        ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments") => list_comments(call),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments") => {
            create_comment(call).await
        }
        ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}") => get_comment(call),
        ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}") => {
            update_comment(call).await
        }
        ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}") => delete_comment(call),
        ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}") => get_pull(call),
        ("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls") => list_commit_pulls(call),
        _ => {
            call.violation(format!(
                "{method} {path}: the fake does not serve {}",
                call.template
            ));
            Reply::error(404, "Not Found")
        }
    }
}

/// `GET /user`: the token's holder; refused for a bot, as for the Actions `GITHUB_TOKEN`.
fn get_user(call: &Call<'_>) -> Reply {
    if call.who.bot {
        return Reply::error(403, "Resource not accessible by integration");
    }
    let mut user = call.example("GET", 200);
    user["login"] = json!(call.who.login);
    // The example is a private user; keep the public shape's fields.
    Reply::Checked(200, user, vec![])
}

/// `POST …/statuses/{sha}`: stores a commit status; a description over 140 characters is a 422.
fn create_status(call: &Call<'_>) -> Reply {
    let sent = &call.sent;
    let sha = call.param("sha");
    let desc = sent["description"].as_str().unwrap_or_default();
    if desc.chars().count() > 140 {
        return Reply::error(
            422,
            "Validation Failed: description is too long (maximum is 140 characters)",
        );
    }
    let mut s = call.lock();
    s.next_id += 1;
    let mut answer = call.example("POST", 201);
    answer["id"] = json!(s.next_id);
    answer["state"] = sent["state"].clone();
    answer["context"] = sent.get("context").cloned().unwrap_or(json!("default"));
    answer["description"] = sent.get("description").cloned().unwrap_or(Value::Null);
    answer["target_url"] = sent.get("target_url").cloned().unwrap_or(Value::Null);
    answer["creator"]["login"] = json!(call.who.login);
    answer["creator"]["type"] = json!(if call.who.bot { "Bot" } else { "User" });
    s.statuses.push((sha, sent.clone()));
    Reply::Checked(201, answer, vec![])
}

/// `POST …/deployments`: stores a deployment; without `auto_merge: false` GitHub would merge
/// the default branch in (202), without `required_contexts: []` it checks statuses (409).
fn create_deployment(call: &Call<'_>) -> Reply {
    let sent = &call.sent;
    if sent.get("auto_merge") != Some(&json!(false)) {
        // GitHub would try to merge the default branch in: answer as it does.
        return Reply::AsIs(json_response(
            202,
            &json!({"message": "Auto-merged master into topic-branch on deployment."}),
            &[],
        ));
    }
    if sent.get("required_contexts") != Some(&json!([])) {
        return Reply::error(
            409,
            "Conflict: Commit status checks failed for topic-branch.",
        );
    }
    let mut s = call.lock();
    s.next_id += 1;
    let id = s.next_id;
    let mut answer = call.example("POST", 201);
    answer["id"] = json!(id);
    answer["sha"] = sent["ref"].clone();
    answer["ref"] = sent["ref"].clone();
    answer["environment"] = sent
        .get("environment")
        .cloned()
        .unwrap_or(json!("production"));
    answer["creator"]["login"] = json!(call.who.login);
    s.deployments.push(Deployment {
        id,
        body: sent.clone(),
        statuses: Vec::new(),
    });
    Reply::Checked(201, answer, vec![])
}

/// `GET …/deployments`: the deployments, newest first, of `?environment=` if given.
fn list_deployments(call: &Call<'_>) -> Reply {
    let env = call.query("environment");
    let s = call.lock();
    let template_item = call.example("GET", 200)[0].clone();
    let list: Vec<Value> = s
        .deployments
        .iter()
        .rev()
        .filter(|d| env.is_none_or(|e| d.body["environment"] == e))
        .map(|d| {
            let mut item = template_item.clone();
            item["id"] = json!(d.id);
            item["environment"] = d.body["environment"].clone();
            item["ref"] = d.body["ref"].clone();
            item["sha"] = d.body["ref"].clone();
            item
        })
        .collect();
    Reply::Checked(200, Value::Array(list), vec![])
}

/// `POST …/deployments/{deployment_id}/statuses`: adds a status to a stored deployment.
fn create_deployment_status(call: &Call<'_>) -> Reply {
    let id: u64 = call.param("deployment_id").parse().unwrap_or(0);
    let mut s = call.lock();
    s.next_id += 1;
    let status_id = s.next_id;
    let Some(d) = s.deployments.iter_mut().find(|d| d.id == id) else {
        return Reply::error(404, "Not Found");
    };
    d.statuses.push(call.sent.clone());
    let mut answer = call.example("POST", 201);
    answer["id"] = json!(status_id);
    answer["state"] = call.sent["state"].clone();
    answer["creator"]["login"] = json!(call.who.login);
    Reply::Checked(201, answer, vec![])
}

/// `GET …/issues/{issue_number}/comments`: one page of the comments, oldest first (30 a page
/// by default), with GitHub's `Link` header.
fn list_comments(call: &Call<'_>) -> Reply {
    let issue: u64 = call.param("issue_number").parse().unwrap_or(0);
    let per_page: usize = call
        .query("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let page: usize = call
        .query("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let s = call.lock();
    let all: Vec<&Comment> = s.comments.values().filter(|c| c.issue == issue).collect();
    let pages = all.len().div_ceil(per_page).max(1);
    let item = openapi::example(
        "GET",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        200,
    );
    let list: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|c| comment_json(&item, c))
        .collect();
    let links = comment_page_links(call, issue, per_page, page, pages);
    let extra = if links.is_empty() {
        vec![]
    } else {
        vec![("link".to_owned(), links.join(", "))]
    };
    Reply::Checked(200, Value::Array(list), extra)
}

/// The `Link` entries of comment page `page` of `pages` (next and last, first and prev).
fn comment_page_links(
    call: &Call<'_>,
    issue: u64,
    per_page: usize,
    page: usize,
    pages: usize,
) -> Vec<String> {
    let prefix = call.prefix;
    let host = call
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    // GitHub's links name the repository by id.
    let link = |p: usize, rel: &str| {
        format!(
            "<http://{host}{prefix}/repositories/1296269/issues/{issue}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\""
        )
    };
    let mut links = Vec::new();
    if page < pages {
        links.push(link(page + 1, "next"));
        links.push(link(pages, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    links
}

/// Waits the configured latency of comment writes (widening the windows concurrent jobs race in).
async fn comment_write_delay(call: &Call<'_>) {
    let delay = call.lock().write_delay;
    tokio::time::sleep(delay).await;
}

/// GitHub's 422 for a comment body over 65,536 characters.
fn comment_too_long(text: &str) -> Option<Reply> {
    (text.chars().count() > 65_536).then(|| {
        Reply::error(
            422,
            "Validation Failed: body is too long (maximum is 65536 characters)",
        )
    })
}

/// `POST …/issues/{issue_number}/comments`: a new comment by the token's holder.
async fn create_comment(call: &Call<'_>) -> Reply {
    comment_write_delay(call).await;
    let issue: u64 = call.param("issue_number").parse().unwrap_or(0);
    let text = call.sent["body"].as_str().unwrap_or_default();
    if let Some(refusal) = comment_too_long(text) {
        return refusal;
    }
    let mut s = call.lock();
    s.next_id += 1;
    let c = Comment {
        id: s.next_id,
        issue,
        login: call.who.login.clone(),
        body: text.to_owned(),
    };
    s.comments.insert(c.id, c.clone());
    let item = call.example("POST", 201);
    Reply::Checked(201, comment_json(&item, &c), vec![])
}

/// `GET …/issues/comments/{comment_id}`: one comment.
fn get_comment(call: &Call<'_>) -> Reply {
    let id: u64 = call.param("comment_id").parse().unwrap_or(0);
    let s = call.lock();
    let Some(c) = s.comments.get(&id) else {
        return Reply::error(404, "Not Found");
    };
    let item = call.example("GET", 200);
    Reply::Checked(200, comment_json(&item, c), vec![])
}

/// `PATCH …/issues/comments/{comment_id}`: edits a comment; editing someone else's is a
/// violation (ferry must only touch its own).
async fn update_comment(call: &Call<'_>) -> Reply {
    comment_write_delay(call).await;
    let id: u64 = call.param("comment_id").parse().unwrap_or(0);
    let text = call.sent["body"].as_str().unwrap_or_default();
    if let Some(refusal) = comment_too_long(text) {
        return refusal;
    }
    let mut s = call.lock();
    let Some(c) = s.comments.get_mut(&id) else {
        return Reply::error(404, "Not Found");
    };
    if c.login != call.who.login {
        drop(s);
        call.violation(format!("PATCH of comment {id} written by someone else"));
        return Reply::error(403, "You cannot edit this comment");
    }
    text.clone_into(&mut c.body);
    let c = c.clone();
    let item = call.example("PATCH", 200);
    Reply::Checked(200, comment_json(&item, &c), vec![])
}

/// `DELETE …/issues/comments/{comment_id}`: deletes a comment (204); deleting someone else's
/// is a violation.
fn delete_comment(call: &Call<'_>) -> Reply {
    let id: u64 = call.param("comment_id").parse().unwrap_or(0);
    let mut s = call.lock();
    match s.comments.get(&id) {
        Some(c) if c.login == call.who.login => {
            s.comments.remove(&id);
            Reply::AsIs(StatusCode::NO_CONTENT.into_response())
        }
        Some(_) => {
            drop(s);
            call.violation(format!("DELETE of comment {id} written by someone else"));
            Reply::error(403, "You cannot delete this comment")
        }
        None => Reply::error(404, "Not Found"),
    }
}

/// `GET …/pulls/{pull_number}`: one pull request.
/// `GET /repos/{owner}/{repo}`: the documented repository; a user's token sees its
/// `permissions` (push unless read-only), an installation token none, as on GitHub.
fn get_repo(call: &Call<'_>) -> Reply {
    let mut answer = call.example("GET", 200);
    answer["full_name"] = json!(REPO);
    // The description's example names a parent and a source repository without the `language`
    // their schema requires: this repository is no fork.
    if let Some(map) = answer.as_object_mut() {
        map.remove("source");
        map.remove("parent");
        map.insert("fork".into(), json!(false));
        map.entry("language").or_insert(json!("Ruby"));
    }
    if call.who.bot {
        if let Some(map) = answer.as_object_mut() {
            map.remove("permissions");
        }
    } else {
        answer["permissions"] = json!({
            "admin": false,
            "maintain": false,
            "push": !call.who.read_only,
            "triage": !call.who.read_only,
            "pull": true
        });
    }
    let extra = call
        .who
        .scopes
        .iter()
        .map(|s| ("x-oauth-scopes".to_string(), s.clone()))
        .collect();
    Reply::Checked(200, answer, extra)
}

fn get_pull(call: &Call<'_>) -> Reply {
    let n: u64 = call.param("pull_number").parse().unwrap_or(0);
    let s = call.lock();
    let Some(p) = s.pulls.iter().find(|p| p.number == n) else {
        return Reply::error(404, "Not Found");
    };
    let mut answer = call.example("GET", 200);
    pull_json(&mut answer, p);
    Reply::Checked(200, answer, vec![])
}

/// `GET …/commits/{commit_sha}/pulls`: the pull requests whose head is the commit.
fn list_commit_pulls(call: &Call<'_>) -> Reply {
    let sha = call.param("commit_sha");
    let s = call.lock();
    let item = call.example("GET", 200)[0].clone();
    let list: Vec<Value> = s
        .pulls
        .iter()
        .filter(|p| p.head_sha == sha)
        .map(|p| {
            let mut v = item.clone();
            pull_json(&mut v, p);
            v
        })
        .collect();
    Reply::Checked(200, Value::Array(list), vec![])
}

/// The permission a write needs, as GitHub names it in `x-accepted-github-permissions`.
fn permission_for(path: &str) -> &'static str {
    if path.contains("/statuses/") && !path.contains("/deployments/") {
        "statuses=write"
    } else if path.contains("/deployments") {
        "deployments=write"
    } else {
        "issues=write; pull_requests=write"
    }
}

fn comment_json(template: &Value, c: &Comment) -> Value {
    let mut v = template.clone();
    v["id"] = json!(c.id);
    v["body"] = json!(c.body);
    v["user"]["login"] = json!(c.login);
    v["user"]["type"] = json!(if c.login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
    v["html_url"] = json!(format!(
        "https://github.com/{REPO}/pull/{}#issuecomment-{}",
        c.issue, c.id
    ));
    v["issue_url"] = json!(format!(
        "https://api.github.com/repos/{REPO}/issues/{}",
        c.issue
    ));
    v
}

fn pull_json(v: &mut Value, p: &Pull) {
    // GitHub's own example lists a team without the `type` its schema requires.
    v["requested_teams"] = json!([]);
    v["number"] = json!(p.number);
    v["state"] = json!(p.state);
    v["head"]["sha"] = json!(p.head_sha);
    v["head"]["ref"] = json!(p.head_ref);
}

/// An answer as given: JSON when the body is JSON, else with the given headers only.
fn raw_response(status: u16, headers: &[(String, String)], body: &str) -> Response {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return json_response(status, &v, headers);
    }
    let mut r = (StatusCode::from_u16(status).unwrap(), body.to_owned()).into_response();
    for (k, v) in headers {
        r.headers_mut().insert(
            axum::http::HeaderName::try_from(k.as_str()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    r
}
