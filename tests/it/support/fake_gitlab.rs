//! A stateful fake GitLab for the reporter's end-to-end tests: commit statuses (with GitLab's
//! same-state 400, a scripted 409 and the `pipeline_id` + `sha` look-up), merge-request notes with
//! offset pagination (`X-Next-Page`, `Link`, 20 a page by default), `GET /user`,
//! `commits/:sha/merge_requests`, and a text route for a platform log.
//!
//! Every request is checked against the parameter tables of GitLab's API documentation
//! (`tests/fixtures/gitlab-api/parameters.json`): an unknown parameter, a missing required one or
//! a value out of range is a violation; a request to anything else is "unexpected". Both fail
//! the test ([`FakeGitlab::assert_clean`], and on drop). Answers are the documented example
//! responses with ids and bodies replaced.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const PARAMETERS: &str = include_str!("../../fixtures/gitlab-api/parameters.json");
const USER: &str = include_str!("../../fixtures/gitlab-api/current_user.json");
const TOKEN_SELF: &str = include_str!("../../fixtures/gitlab-api/personal_access_token_self.json");
const NOTE: &str = include_str!("../../fixtures/gitlab-api/merge_request_note.json");
const STATUS: &str = include_str!("../../fixtures/gitlab-api/commit_status.json");
const COMMIT_MRS: &str = include_str!("../../fixtures/gitlab-api/commit_merge_requests.json");

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// The path below the API root (`/projects/42/statuses/…`).
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    /// Form or JSON body parameters.
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) token: Option<String>,
}

/// A stored note.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    pub(crate) id: u64,
    pub(crate) body: String,
    pub(crate) author: u64,
    pub(crate) system: bool,
}

/// A stored commit status.
#[derive(Clone, Debug)]
pub(crate) struct Status {
    pub(crate) project: String,
    pub(crate) sha: String,
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) pipeline_id: u64,
    pub(crate) target_url: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) user: u64,
}

/// A scripted failure: the next `count` requests whose method and path match get `status`.
#[derive(Clone, Debug)]
struct Fault {
    method: String,
    path_part: String,
    count: u32,
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

#[derive(Default)]
struct World {
    prefix: String,
    /// token → (user id, username)
    tokens: BTreeMap<String, (u64, String)>,
    /// token → its scopes, when not the default `api`
    scopes: BTreeMap<String, Vec<String>>,
    /// pipeline id → sha
    pipelines: BTreeMap<u64, String>,
    job_names: Vec<String>,
    statuses: Vec<Status>,
    /// (project, iid) → notes, oldest first
    notes: BTreeMap<(String, u64), Vec<Note>>,
    /// sha → merge requests (documented JSON)
    commit_mrs: BTreeMap<String, Vec<Value>>,
    texts: BTreeMap<String, String>,
    faults: Vec<Fault>,
    next_id: u64,
    seen: Vec<Seen>,
    unexpected: Vec<String>,
    violations: Vec<String>,
    latency: Duration,
}

type Shared = Arc<Mutex<World>>;

/// The fake, on its own runtime for the length of a test.
pub(crate) struct FakeGitlab {
    world: Shared,
    url: String,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeGitlab {
    /// A fake serving the API at `/api/v4`.
    pub(crate) fn start() -> Self {
        Self::start_at("/api/v4")
    }

    /// A fake serving the API below `prefix` (`/gitlab/api/v4` for a relative URL root).
    pub(crate) fn start_at(prefix: &str) -> Self {
        let world: Shared = Arc::new(Mutex::new(World {
            prefix: prefix.trim_end_matches('/').to_string(),
            next_id: 1000,
            ..World::default()
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(world.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            world,
            url: format!("http://{addr}"),
            rt: Some(rt),
            stop: Some(stop),
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `CI_API_V4_URL` for this fake.
    pub(crate) fn api_url(&self) -> String {
        format!("{}{}", self.url, self.world().prefix)
    }

    /// `CI_SERVER_URL` for this fake.
    pub(crate) fn server_url(&self) -> String {
        self.url.clone()
    }

    /// Accepts `token` as the personal access token of user `id` / `username`.
    pub(crate) fn user(&self, token: &str, id: u64, username: &str) -> &Self {
        self.world()
            .tokens
            .insert(token.to_string(), (id, username.to_string()));
        self
    }

    /// Gives `token` (already accepted with [`FakeGitlab::user`]) these scopes instead of `api`.
    pub(crate) fn scopes(&self, token: &str, scopes: &[&str]) -> &Self {
        self.world().scopes.insert(
            token.to_string(),
            scopes.iter().map(|s| (*s).to_string()).collect(),
        );
        self
    }

    /// A pipeline `id` on commit `sha`.
    pub(crate) fn pipeline(&self, id: u64, sha: &str) -> &Self {
        self.world().pipelines.insert(id, sha.to_string());
        self
    }

    /// A job of the pipeline is called `name` (a status with that name is refused).
    pub(crate) fn job_named(&self, name: &str) -> &Self {
        self.world().job_names.push(name.to_string());
        self
    }

    /// An existing status (e.g. `running`, posted by an earlier attempt of the same user).
    pub(crate) fn existing_status(
        &self,
        project: &str,
        pipeline: u64,
        name: &str,
        state: &str,
        user: u64,
    ) -> &Self {
        let sha = self
            .world()
            .pipelines
            .get(&pipeline)
            .cloned()
            .unwrap_or_default();
        self.world().statuses.push(Status {
            project: project.to_string(),
            sha,
            name: name.to_string(),
            state: state.to_string(),
            pipeline_id: pipeline,
            target_url: None,
            description: None,
            user,
        });
        self
    }

    /// An open (or other `state`) merge request `iid` of `project` containing commit `sha`.
    pub(crate) fn commit_in_merge_request(
        &self,
        sha: &str,
        project: u64,
        iid: u64,
        state: &str,
        source_branch: &str,
    ) -> &Self {
        let mut mr: Value = serde_json::from_str::<Vec<Value>>(COMMIT_MRS).unwrap()[0].clone();
        mr["iid"] = json!(iid);
        mr["id"] = json!(10_000 + iid);
        mr["project_id"] = json!(project);
        mr["target_project_id"] = json!(project);
        mr["source_project_id"] = json!(project);
        mr["state"] = json!(state);
        mr["source_branch"] = json!(source_branch);
        mr["sha"] = json!(sha);
        self.world()
            .commit_mrs
            .entry(sha.to_string())
            .or_default()
            .push(mr);
        self
    }

    /// A note on merge request `iid` of `project` by user `author`.
    pub(crate) fn note_by(&self, project: &str, iid: u64, author: u64, body: &str) -> u64 {
        let mut w = self.world();
        w.next_id += 1;
        let id = w.next_id;
        w.notes
            .entry((project.to_string(), iid))
            .or_default()
            .push(Note {
                id,
                body: body.to_string(),
                author,
                system: false,
            });
        id
    }

    /// `count` ordinary notes (half of them system notes) by user `author`.
    pub(crate) fn chatter(&self, project: &str, iid: u64, author: u64, count: usize) {
        for i in 0..count {
            let id = self.note_by(project, iid, author, &format!("comment {i}"));
            if i % 2 == 0 {
                let mut w = self.world();
                if let Some(n) = w
                    .notes
                    .get_mut(&(project.to_string(), iid))
                    .and_then(|ns| ns.iter_mut().find(|n| n.id == id))
                {
                    n.system = true;
                    n.body = format!("added {i} commits");
                }
            }
        }
    }

    /// The next `count` requests `method` … `path_part` answer `status` with `body`.
    pub(crate) fn fail_next(
        &self,
        method: &str,
        path_part: &str,
        count: u32,
        status: u16,
        body: &str,
    ) -> &Self {
        self.fail_next_with(method, path_part, count, status, body, &[])
    }

    /// Like [`FakeGitlab::fail_next`], with response headers (`Retry-After`, …).
    pub(crate) fn fail_next_with(
        &self,
        method: &str,
        path_part: &str,
        count: u32,
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
    ) -> &Self {
        self.world().faults.push(Fault {
            method: method.to_string(),
            path_part: path_part.to_string(),
            count,
            status,
            body: body.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        });
        self
    }

    /// Serves `text` at `/_text/<name>` (outside the API; e.g. a platform log) and returns its URL.
    pub(crate) fn serve_text(&self, name: &str, text: &str) -> String {
        self.world()
            .texts
            .insert(format!("/_text/{name}"), text.to_string());
        format!("{}/_text/{name}", self.url)
    }

    /// Adds `latency` to every API answer (to widen races in concurrency tests).
    pub(crate) fn latency(&self, latency: Duration) -> &Self {
        self.world().latency = latency;
        self
    }

    /// Every API request, in order.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.world().seen.clone()
    }

    /// How many API requests were made.
    pub(crate) fn calls(&self) -> usize {
        self.world().seen.len()
    }

    /// API requests with this method whose path contains `part`.
    pub(crate) fn count(&self, method: &str, part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(part))
            .count()
    }

    /// The statuses named `name`, in creation order.
    pub(crate) fn statuses(&self, name: &str) -> Vec<Status> {
        self.world()
            .statuses
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// The states posted for status `name`, in order (from the requests).
    pub(crate) fn posted_states(&self, name: &str) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.contains("/statuses/"))
            .filter(|r| r.params.get("name").map(String::as_str) == Some(name))
            .filter_map(|r| r.params.get("state").cloned())
            .collect()
    }

    /// Asserts the states GitLab ended up recording for status `name`, oldest first.
    #[track_caller]
    pub(crate) fn expect_status(&self, name: &str, states: &[&str]) {
        let got: Vec<String> = self.statuses(name).into_iter().map(|s| s.state).collect();
        assert_eq!(got, states, "statuses named {name:?}");
    }

    /// The notes of merge request `iid` of `project`, oldest first.
    pub(crate) fn notes(&self, project: &str, iid: u64) -> Vec<Note> {
        self.world()
            .notes
            .get(&(project.to_string(), iid))
            .cloned()
            .unwrap_or_default()
    }

    /// The ferry notes (marker) by user `author` on merge request `iid` of `project`.
    pub(crate) fn ferry_notes(&self, project: &str, iid: u64, author: u64) -> Vec<Note> {
        self.notes(project, iid)
            .into_iter()
            .filter(|n| n.author == author && n.body.contains("<!-- ferry:v1 -->"))
            .collect()
    }

    /// Asserts that no request was unexpected and none broke the documented parameters.
    #[track_caller]
    pub(crate) fn assert_clean(&self) {
        let w = self.world();
        assert!(
            w.unexpected.is_empty(),
            "unexpected GitLab requests: {:#?}",
            w.unexpected
        );
        assert!(
            w.violations.is_empty(),
            "requests not as documented: {:#?}",
            w.violations
        );
    }
}

impl Drop for FakeGitlab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        if !std::thread::panicking() {
            let w = self.world();
            assert!(
                w.unexpected.is_empty(),
                "unexpected GitLab requests: {:#?}",
                w.unexpected
            );
            assert!(
                w.violations.is_empty(),
                "requests not as documented: {:#?}",
                w.violations
            );
        }
    }
}

fn lock(world: &Shared) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves one request: a text outside the API, or an API request that is recorded, checked
/// (token, injected faults, route, the documented parameters) and answered by its route's handler.
async fn handle(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if method == Method::GET && path.starts_with("/_text/") {
        return serve_text(&world, &path);
    }
    let latency = lock(&world).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut w = lock(&world);
    let Some(api_path) = path.strip_prefix(&w.prefix).map(str::to_string) else {
        let problem = format!("{method} {uri} (outside {})", w.prefix);
        w.unexpected.push(problem);
        return error(StatusCode::NOT_FOUND, "fake GitLab: not below the API root");
    };
    let seen = record(&mut w, &method, &uri, &headers, &body, api_path);
    if let Some(fault) = injected_fault(&mut w, &method, &seen.path) {
        return fault;
    }
    let Some(user) = seen.token.as_ref().and_then(|t| w.tokens.get(t).cloned()) else {
        return error(StatusCode::UNAUTHORIZED, "401 Unauthorized");
    };
    let segments: Vec<&str> = seen.path.trim_start_matches('/').split('/').collect();
    let Some(route) = Route::of(method.as_str(), &segments) else {
        w.unexpected.push(format!("{method} {uri}"));
        return error(StatusCode::NOT_FOUND, "fake GitLab: unexpected request");
    };
    let mut all = seen.query.clone();
    all.extend(seen.params.clone());
    if let Some(problem) = check(route.documented(), &all) {
        w.violations
            .push(format!("{method} {}: {problem}", seen.path));
        return error(StatusCode::BAD_REQUEST, &problem);
    }
    answer(&mut w, route, &segments, &all, &user, &uri)
}

/// `GET /_text/<name>`: a text served outside the API (not recorded).
fn serve_text(world: &Shared, path: &str) -> Response {
    let text = lock(world).texts.get(path).cloned();
    match text {
        Some(t) => (StatusCode::OK, t).into_response(),
        None => (StatusCode::NOT_FOUND, "no such text").into_response(),
    }
}

/// Records an API request (its query, body parameters and token) before anything can refuse
/// it; a `JOB-TOKEN` header is a violation.
fn record(
    w: &mut World,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    api_path: String,
) -> Seen {
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let seen = Seen {
        method: method.to_string(),
        path: api_path,
        query,
        params: body_params(headers, body),
        token: headers
            .get("private-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    w.seen.push(seen.clone());
    if headers.contains_key("job-token") {
        w.violations
            .push(format!("{method} {}: sent a JOB-TOKEN header", seen.path));
    }
    seen
}

/// The answer of the first scripted failure matching the request, if one is left (and counts it).
fn injected_fault(w: &mut World, method: &Method, api_path: &str) -> Option<Response> {
    let f = w
        .faults
        .iter_mut()
        .find(|f| f.method == method.as_str() && api_path.contains(&f.path_part) && f.count > 0)?;
    f.count -= 1;
    let mut r = (
        StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        f.body.clone(),
    )
        .into_response();
    for (k, v) in &f.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::try_from(k.as_str()),
            HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    Some(r)
}

/// The API routes the fake serves.
#[derive(Clone, Copy)]
enum Route {
    /// `GET /user`
    CurrentUser,
    /// `GET /personal_access_tokens/self`
    TokenSelf,
    /// `POST /projects/:id/statuses/:sha`
    PostStatus,
    /// `GET /projects/:id/repository/commits/:sha/merge_requests`
    CommitMergeRequests,
    /// `/projects/:id/merge_requests/:merge_request_iid/notes…`
    Notes(NoteRoute),
}

/// The routes on the notes of a merge request.
#[derive(Clone, Copy)]
enum NoteRoute {
    List,
    Create,
    Get,
    Edit,
    Delete,
}

impl Route {
    /// The route of `method` on the API path's `segments`, if the fake serves it.
    fn of(method: &str, segments: &[&str]) -> Option<Self> {
        Some(match (method, segments) {
            ("GET", ["user"]) => Self::CurrentUser,
            ("GET", ["personal_access_tokens", "self"]) => Self::TokenSelf,
            ("POST", ["projects", _, "statuses", _]) => Self::PostStatus,
            ("GET", ["projects", _, "merge_requests", _, "notes"]) => Self::Notes(NoteRoute::List),
            ("POST", ["projects", _, "merge_requests", _, "notes"]) => {
                Self::Notes(NoteRoute::Create)
            }
            ("GET", ["projects", _, "merge_requests", _, "notes", _]) => {
                Self::Notes(NoteRoute::Get)
            }
            ("PUT", ["projects", _, "merge_requests", _, "notes", _]) => {
                Self::Notes(NoteRoute::Edit)
            }
            ("DELETE", ["projects", _, "merge_requests", _, "notes", _]) => {
                Self::Notes(NoteRoute::Delete)
            }
            ("GET", ["projects", _, "repository", "commits", _, "merge_requests"]) => {
                Self::CommitMergeRequests
            }
            _ => return None,
        })
    }

    /// The route as GitLab's documentation names it (the keys of `parameters.json`).
    fn documented(self) -> &'static str {
        match self {
            Self::CurrentUser => "GET /user",
            Self::TokenSelf => "GET /personal_access_tokens/self",
            Self::PostStatus => "POST /projects/:id/statuses/:sha",
            Self::CommitMergeRequests => "GET /projects/:id/repository/commits/:sha/merge_requests",
            Self::Notes(NoteRoute::List) => {
                "GET /projects/:id/merge_requests/:merge_request_iid/notes"
            }
            Self::Notes(NoteRoute::Create) => {
                "POST /projects/:id/merge_requests/:merge_request_iid/notes"
            }
            Self::Notes(NoteRoute::Get) => {
                "GET /projects/:id/merge_requests/:merge_request_iid/notes/:note_id"
            }
            Self::Notes(NoteRoute::Edit) => {
                "PUT /projects/:id/merge_requests/:merge_request_iid/notes/:note_id"
            }
            Self::Notes(NoteRoute::Delete) => {
                "DELETE /projects/:id/merge_requests/:merge_request_iid/notes/:note_id"
            }
        }
    }
}

/// Answers a checked API request with its route's handler; `params` are the query and body
/// parameters together.
fn answer(
    w: &mut World,
    route: Route,
    segments: &[&str],
    params: &BTreeMap<String, String>,
    user: &(u64, String),
    uri: &Uri,
) -> Response {
    let project = segments
        .get(1)
        .map(|p| p.replace("%2F", "/"))
        .unwrap_or_default();
    match route {
        Route::CurrentUser => current_user(user),
        Route::TokenSelf => token_self(w, user),
        Route::PostStatus => post_status(w, &project, segments[3], params, user.0),
        Route::CommitMergeRequests => commit_merge_requests(w, segments[4]),
        Route::Notes(route) => {
            let Ok(iid) = segments[3].parse::<u64>() else {
                return error(StatusCode::NOT_FOUND, "404 Not found");
            };
            let request = NoteRequest {
                project: &project,
                iid,
                note: segments.get(5).copied(),
                params,
                user: user.0,
                uri,
            };
            match route {
                NoteRoute::List => list_notes(w, &request),
                NoteRoute::Create => create_note(w, &request),
                NoteRoute::Get => get_note(w, &request),
                NoteRoute::Edit => edit_note(w, &request),
                NoteRoute::Delete => delete_note(w, &request),
            }
        }
    }
}

/// `GET /personal_access_tokens/self`: the documented token, with its holder and scopes.
fn token_self(w: &World, user: &(u64, String)) -> Response {
    let mut t: Value = serde_json::from_str(TOKEN_SELF).unwrap();
    t["user_id"] = json!(user.0);
    let token = w
        .tokens
        .iter()
        .find(|(_, u)| *u == user)
        .map(|(t, _)| t.clone());
    if let Some(scopes) = token.and_then(|t| w.scopes.get(&t)) {
        t["scopes"] = json!(scopes);
    }
    (StatusCode::OK, axum::Json(t)).into_response()
}

/// `GET /user`: the documented user, with the token holder's id and username.
fn current_user(user: &(u64, String)) -> Response {
    let mut u: Value = serde_json::from_str(USER).unwrap();
    u["id"] = json!(user.0);
    u["username"] = json!(user.1);
    (StatusCode::OK, axum::Json(u)).into_response()
}

/// `GET /projects/:id/repository/commits/:sha/merge_requests`: the merge requests containing
/// the commit.
fn commit_merge_requests(w: &World, sha: &str) -> Response {
    let mrs = w.commit_mrs.get(sha).cloned().unwrap_or_default();
    (StatusCode::OK, axum::Json(Value::Array(mrs))).into_response()
}

fn body_params(headers: &HeaderMap, body: &Bytes) -> BTreeMap<String, String> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("application/json") {
        serde_json::from_slice::<BTreeMap<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

/// Checks parameters against the documented table of `route`.
fn check(route: &str, params: &BTreeMap<String, String>) -> Option<String> {
    let doc: Value = serde_json::from_str(PARAMETERS).ok()?;
    let spec = &doc[route];
    let list = |k: &str| -> Vec<String> {
        spec[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (required, optional) = (list("required"), list("optional"));
    for r in &required {
        if !params.contains_key(r) {
            return Some(format!("missing required parameter {r:?}"));
        }
    }
    for (k, v) in params {
        if !required.contains(k) && !optional.contains(k) {
            return Some(format!("undocumented parameter {k:?}"));
        }
        if let Some(allowed) = spec["enums"][k].as_array()
            && !allowed.iter().any(|a| a.as_str() == Some(v.as_str()))
        {
            return Some(format!("{k}={v:?} is not one of {allowed:?}"));
        }
        if let Some(max) = spec["max_chars"][k].as_u64()
            && v.chars().count() as u64 > max
        {
            return Some(format!("{k} is longer than {max} characters"));
        }
        if list("integers").contains(k) && v.parse::<u64>().is_err() {
            return Some(format!("{k}={v:?} is not an integer"));
        }
        if let Some(max) = spec["max"][k].as_u64()
            && v.parse::<u64>().is_ok_and(|n| n > max)
        {
            return Some(format!("{k}={v} is over {max}"));
        }
    }
    if route.contains("statuses") {
        if params.contains_key("ref") && params.contains_key("pipeline_id") {
            return Some("`ref` with `pipeline_id`: 404 in merge-request pipelines".into());
        }
        if let Some(u) = params.get("target_url")
            && url::Url::parse(u).is_err()
        {
            return Some(format!("target_url {u:?} is not a URL"));
        }
    }
    None
}

/// `POST /projects/:id/statuses/:sha`: creates a status, or moves an existing pending or running
/// one of the same pipeline, name and user on, with GitLab's refusals.
fn post_status(
    w: &mut World,
    project: &str,
    sha: &str,
    p: &BTreeMap<String, String>,
    user: u64,
) -> Response {
    let name = p
        .get("name")
        .or_else(|| p.get("context"))
        .cloned()
        .unwrap_or_else(|| "default".into());
    let state = p.get("state").cloned().unwrap_or_default();
    let pipeline_id = match p.get("pipeline_id").and_then(|v| v.parse::<u64>().ok()) {
        Some(id) => {
            if w.pipelines.get(&id).map(String::as_str) != Some(sha) {
                return error(
                    StatusCode::NOT_FOUND,
                    "404 Pipeline for pipeline_id, sha and ref Not Found",
                );
            }
            id
        }
        None => match w.pipelines.iter().rev().find(|(_, s)| s.as_str() == sha) {
            Some((id, _)) => *id,
            None => 0,
        },
    };
    if w.job_names.contains(&name) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": {"name": ["has already been taken"]}})),
        )
            .into_response();
    }
    // An existing pending/running status of this pipeline, name and user is updated in place.
    let existing = w.statuses.iter_mut().find(|s| {
        s.project == project
            && s.pipeline_id == pipeline_id
            && s.name == name
            && s.user == user
            && (s.state == "pending" || s.state == "running")
    });
    let record = match existing {
        Some(s) if s.state == state => {
            let event = if state == "running" { "run" } else { "enqueue" };
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Cannot transition status via :{event} from :{state} (Reason(s): Status cannot transition via \"{event}\")"
                ),
            );
        }
        Some(s) => {
            s.state.clone_from(&state);
            s.target_url = p.get("target_url").cloned().or(s.target_url.take());
            s.description = p.get("description").cloned().or(s.description.take());
            s.clone()
        }
        None => {
            let s = Status {
                project: project.to_string(),
                sha: sha.to_string(),
                name: name.clone(),
                state: state.clone(),
                pipeline_id,
                target_url: p.get("target_url").cloned(),
                description: p.get("description").cloned(),
                user,
            };
            w.statuses.push(s.clone());
            s
        }
    };
    w.next_id += 1;
    let mut v: Value = serde_json::from_str(STATUS).unwrap();
    v["id"] = json!(w.next_id);
    v["name"] = json!(record.name);
    v["sha"] = json!(record.sha);
    v["status"] = json!(record.state);
    v["target_url"] = json!(record.target_url);
    v["description"] = json!(record.description);
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn note_json(n: &Note, project: &str, iid: u64) -> Value {
    let mut v: Value = serde_json::from_str(NOTE).unwrap();
    v["id"] = json!(n.id);
    v["body"] = json!(n.body);
    v["author"]["id"] = json!(n.author);
    v["author"]["username"] = json!(format!("user{}", n.author));
    v["system"] = json!(n.system);
    v["noteable_iid"] = json!(iid);
    v["project_id"] = json!(project.parse::<u64>().unwrap_or(0));
    v
}

/// A request on the notes of a merge request, as their handlers see it.
struct NoteRequest<'a> {
    project: &'a str,
    iid: u64,
    /// The `:note_id` segment, on the routes to one note.
    note: Option<&'a str>,
    /// The query and body parameters.
    params: &'a BTreeMap<String, String>,
    /// The token holder's id.
    user: u64,
    uri: &'a Uri,
}

impl NoteRequest<'_> {
    /// The merge request's key in [`World::notes`].
    fn key(&self) -> (String, u64) {
        (self.project.to_string(), self.iid)
    }

    fn json(&self, n: &Note) -> Value {
        note_json(n, self.project, self.iid)
    }
}

/// `GET …/notes`: one page of the notes, newest first unless `sort=asc` (20 a page by default),
/// with GitLab's pagination headers.
fn list_notes(w: &World, request: &NoteRequest<'_>) -> Response {
    let params = request.params;
    let mut all = w.notes.get(&request.key()).cloned().unwrap_or_default();
    // `order_by=updated_at` changes nothing: notes here are created in id order and updates do
    // not reorder them.
    if params.get("sort").map(String::as_str) != Some("asc") {
        all.reverse(); // GitLab's default is desc
    }
    let per_page = params
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let page = params
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total_pages = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|n| request.json(n))
        .collect();
    let mut response = (StatusCode::OK, axum::Json(Value::Array(items))).into_response();
    set_pagination(
        response.headers_mut(),
        request,
        (page, per_page),
        all.len(),
        total_pages,
    );
    response
}

/// GitLab's offset-pagination headers (`X-Page` … `X-Next-Page`, `Link`) for `page` of
/// `per_page` notes.
fn set_pagination(
    h: &mut HeaderMap,
    request: &NoteRequest<'_>,
    (page, per_page): (usize, usize),
    total: usize,
    total_pages: usize,
) {
    let next = if page < total_pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let set = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(h, "x-page", page.to_string());
    set(h, "x-per-page", per_page.to_string());
    set(h, "x-total", total.to_string());
    set(h, "x-total-pages", total_pages.to_string());
    set(h, "x-next-page", next.clone());
    set(
        h,
        "x-prev-page",
        if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        },
    );
    let link_to = |n: usize| {
        let mut q: BTreeMap<String, String> = request.params.clone();
        q.insert("page".into(), n.to_string());
        q.insert("per_page".into(), per_page.to_string());
        let qs: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q.iter())
            .finish();
        format!("<http://gitlab.invalid{}?{qs}>", request.uri.path())
    };
    let mut links = Vec::new();
    if !next.is_empty() {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
    }
    links.push(format!("{}; rel=\"first\"", link_to(1)));
    links.push(format!("{}; rel=\"last\"", link_to(total_pages)));
    set(h, "link", links.join(", "));
}

/// `POST …/notes`: a new note by the token's holder.
fn create_note(w: &mut World, request: &NoteRequest<'_>) -> Response {
    w.next_id += 1;
    let n = Note {
        id: w.next_id,
        body: request.params.get("body").cloned().unwrap_or_default(),
        author: request.user,
        system: false,
    };
    w.notes.entry(request.key()).or_default().push(n.clone());
    (StatusCode::CREATED, axum::Json(request.json(&n))).into_response()
}

/// The notes of the merge request and the index of the requested note.
fn find_note<'w>(
    w: &'w mut World,
    request: &NoteRequest<'_>,
) -> Option<(&'w mut Vec<Note>, usize)> {
    let note_id = request.note.and_then(|n| n.parse::<u64>().ok());
    let notes = w.notes.entry(request.key()).or_default();
    let i = notes.iter().position(|n| Some(n.id) == note_id)?;
    Some((notes, i))
}

/// GitLab's answer for a note that does not exist.
fn note_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "404 Note Not Found")
}

/// `GET …/notes/:note_id`: one note, whoever wrote it.
fn get_note(w: &mut World, request: &NoteRequest<'_>) -> Response {
    let Some((notes, i)) = find_note(w, request) else {
        return note_not_found();
    };
    (StatusCode::OK, axum::Json(request.json(&notes[i]))).into_response()
}

/// `PUT …/notes/:note_id`: edits a note of the token's holder (403 for anyone else's).
fn edit_note(w: &mut World, request: &NoteRequest<'_>) -> Response {
    let Some((notes, i)) = find_note(w, request) else {
        return note_not_found();
    };
    if notes[i].author != request.user {
        return error(StatusCode::FORBIDDEN, "403 Forbidden");
    }
    notes[i].body = request.params.get("body").cloned().unwrap_or_default();
    (StatusCode::OK, axum::Json(request.json(&notes[i]))).into_response()
}

/// `DELETE …/notes/:note_id`: deletes a note of the token's holder (403 for anyone else's).
fn delete_note(w: &mut World, request: &NoteRequest<'_>) -> Response {
    let Some((notes, i)) = find_note(w, request) else {
        return note_not_found();
    };
    if notes[i].author != request.user {
        return error(StatusCode::FORBIDDEN, "403 Forbidden");
    }
    notes.remove(i);
    StatusCode::NO_CONTENT.into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}
