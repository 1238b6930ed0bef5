//! The `http` backend's description language, as written in `ferry.toml`.
//!
//! A platform is described, not coded: requests with templated paths, headers and JSON bodies
//! (`{{ name }}`), values picked from responses by JSON Pointer or `header:Name`, and explicit
//! running / success / failure value sets. The README's "The http platform" section documents
//! every key here (and its "Jenkins and Argo CD" section those of a `kind = "http"` platform,
//! [`HttpPlatform`]); keep them in step.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::platform::named::CommonKeys;

pub(crate) use super::log_spec::{LogAuth, LogMode, LogSpec};

/// `[platform]`: where the platform is and how to talk to it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlatformSpec {
    /// The backend; only `http` is accepted (serde refuses any other value), so it is never read.
    #[serde(default, rename = "kind")]
    pub _kind: Kind,
    /// A display name for messages (default: the URL's host).
    pub name: Option<String>,
    /// The base URL every relative `path` is joined to (`platform_url` overrides it).
    pub url: Option<String>,
    /// How `platform_token` is sent: `bearer` (default when a token is set), `basic`, `header`, `none`.
    pub auth: Option<AuthScheme>,
    /// The user name for `auth = "basic"` (the token is the password).
    pub auth_user: Option<String>,
    /// The header name for `auth = "header"` (e.g. `X-Api-Key`).
    pub auth_header: Option<String>,
    /// Headers sent with every request (templated).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Polling: first interval, longest interval, growth factor.
    #[serde(default)]
    pub poll: PollSpec,
    /// The read-only request `ferry check --probe` sends (the app exists, the token works).
    pub probe: Option<ProbeSpec>,
}

/// `[platforms.<name>]` with `kind = "http"`: a platform described like `[platform]`, its URL
/// and credential read like every named platform's. Any other key is refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpPlatform {
    /// A display name for messages (default: `http (<host>)`).
    pub name: Option<String>,
    /// The base URL every relative `path` is joined to.
    pub url: Option<String>,
    /// An environment variable holding the base URL; wins over `url` when set.
    pub url_env: Option<String>,
    /// The environment variable holding the token.
    pub token_env: Option<String>,
    /// A file holding the token.
    pub token_file: Option<String>,
    /// The user name for `auth = "basic"` (the token is the password).
    pub user: Option<String>,
    /// An environment variable holding that user (wins over `user`).
    pub user_env: Option<String>,
    /// How the token is sent, as in `[platform]`.
    pub auth: Option<AuthScheme>,
    /// The header for `auth = "header"`.
    pub auth_header: Option<String>,
    /// Headers sent with every request (templated).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Polling, as `[platform.poll]`.
    #[serde(default)]
    pub poll: PollSpec,
    /// The read-only request of `ferry check --probe`, as in `[platform]`.
    pub probe: Option<ProbeSpec>,
}

/// `probe = { path = "/apps/{{ vars.app }}", method = "GET" }`: one read-only request with the
/// credential that answers 2xx when the app exists and the credential is accepted.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeSpec {
    /// Where it goes (templated, joined to the platform URL).
    pub path: String,
    /// `GET` (default) or `HEAD`: a probe never changes anything.
    pub method: Option<String>,
}

impl HttpPlatform {
    /// The keys every kind has, with the user for basic auth.
    pub(crate) fn common(&self) -> CommonKeys<'_> {
        CommonKeys {
            name: self.name.as_deref(),
            url: self.url.as_deref(),
            url_env: self.url_env.as_deref(),
            token_env: self.token_env.as_deref(),
            token_file: self.token_file.as_deref(),
            user: self.user.as_deref(),
            user_env: self.user_env.as_deref(),
            poll: &self.poll,
        }
    }
}

/// How requests to an `http` platform are sent: what `[platform]` and a `kind = "http"` platform
/// have in common besides where they are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Connection<'a> {
    /// How the token is sent (default: `bearer` with a token, else `none`).
    pub auth: Option<AuthScheme>,
    /// The header for `auth = "header"`.
    pub auth_header: Option<&'a str>,
    /// Headers sent with every request (templated).
    pub headers: &'a BTreeMap<String, String>,
    /// The key that names the user for `auth = "basic"`, for messages.
    pub user_key: &'static str,
    /// The read-only request of `ferry check --probe`.
    pub probe: Option<&'a ProbeSpec>,
}

impl PlatformSpec {
    /// How requests to `[platform]` are sent.
    pub(crate) fn connection(&self) -> Connection<'_> {
        Connection {
            auth: self.auth,
            auth_header: self.auth_header.as_deref(),
            headers: &self.headers,
            user_key: "auth_user",
            probe: self.probe.as_ref(),
        }
    }
}

impl HttpPlatform {
    /// How requests to this platform are sent.
    pub(crate) fn connection(&self) -> Connection<'_> {
        Connection {
            auth: self.auth,
            auth_header: self.auth_header.as_deref(),
            headers: &self.headers,
            user_key: "user (or user_env)",
            probe: self.probe.as_ref(),
        }
    }
}

/// The backend kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    #[default]
    Http,
}

/// How the platform token is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthScheme {
    Bearer,
    Basic,
    Header,
    None,
}

/// Polling cadence: status reads every `initial`, growing by `factor` up to `max` while nothing
/// changes (by default a constant 5 s); a flowing log every `log_pace`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PollSpec {
    pub initial: String,
    pub max: String,
    pub factor: f64,
    /// Longest silence before a "still waiting" line (at most 30s).
    pub heartbeat: String,
    /// While the log flows, the shortest time between two reads of it.
    pub log_pace: String,
}

impl Default for PollSpec {
    fn default() -> Self {
        Self {
            initial: "5s".into(),
            max: "5s".into(),
            factor: 1.5,
            heartbeat: "20s".into(),
            log_pace: "1s".into(),
        }
    }
}

/// What an `http` phase takes, for messages.
pub(crate) const PHASE_FIX: &str = "describe the phase as for [platform]: trigger (or observe), status, and optionally before, resolve, history, logs, cancel, fetch, outputs";

/// `[build]`, `[deploy]` or `[stop]`: one remote operation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhaseSpec {
    /// Requests sent in order before the trigger (`[[build.before]]`): a source to create, an
    /// archive to upload. Their captures are template values of the requests after them.
    #[serde(default)]
    pub before: Vec<BeforeSpec>,
    /// The request that starts the operation; a phase has it or `observe`, never both.
    pub trigger: Option<TriggerSpec>,
    /// Instead of `trigger`: the phase follows an operation another phase or the platform
    /// started (a release a build created), found by its id or by a list request.
    pub observe: Option<FindSpec>,
    pub resolve: Option<ResolveSpec>,
    /// The platform's earlier operations, read once: the newest that fits says how long this
    /// one should take.
    pub history: Option<HistorySpec>,
    pub status: StatusSpec,
    pub logs: Option<LogSpec>,
    pub cancel: Option<RequestSpec>,
    /// Requests read once after the operation succeeded (`[deploy.fetch.app]`), for outputs
    /// written `<name>:/pointer`.
    #[serde(default)]
    pub fetch: BTreeMap<String, RequestSpec>,
    /// Outputs captured from the last status response: name → source (`/pointer`,
    /// `header:Name`, `<fetch>:/pointer`, or a `{{ template }}`). `url` is the environment URL
    /// (never reported by a phase that failed); `log_url` and `artifact` are conventional;
    /// every output is available to later phases as `{{ <phase>.<name> }}`.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// A human link to the operation (templated), shown when it is triggered.
    pub web_url: Option<String>,
    // `timeout` is a key of every phase section, read with it (`config::file::PhaseSection`).
}

/// `[<phase>.history]`: a list of the platform's earlier operations (GET, templated), read once
/// at the first status read. The newest item (by `started`) whose fields `match` gives the
/// estimate: its `finished` minus its `started` (RFC 3339 or Unix times).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistorySpec {
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Where the array is in the answer (`""`, the default: the whole answer).
    #[serde(default)]
    pub items: String,
    /// Fields an item must have: pointer (inside the item) → accepted values (templated).
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, Vec<toml::Value>>,
    /// The pointer of an item's start time.
    pub started: String,
    /// The pointer of an item's end time.
    pub finished: String,
}

/// The request that starts the operation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriggerSpec {
    #[serde(default = "post")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; string values are templated.
    pub body: Option<toml::Value>,
    /// Instead of `body`: a file sent as it is (templated path, streamed).
    pub body_file: Option<String>,
    /// The `Content-Type` of `body_file` (default: none).
    pub content_type: Option<String>,
    /// Accepted statuses (default: any 2xx).
    #[serde(default)]
    pub expect: Vec<u16>,
    /// Where the operation's id is: `/pointer` into the body or `header:Location`. Optional
    /// with `find`, which looks for the operation when the answer has no id.
    pub id: Option<String>,
    /// More values to keep from the response (name → source), usable as `{{ name }}`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// When the answer has no id (Render answers `202 Queued`): the list request that finds
    /// the operation.
    pub find: Option<FindSpec>,
}

/// One request of `[[<phase>.before]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeforeSpec {
    /// Default: `POST`.
    pub method: Option<String>,
    /// Where it goes (templated): `path` or `url`, the same thing under two names (a whole URL
    /// captured earlier reads better as `url = "{{ put_url | raw }}"`).
    pub path: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; string values are templated.
    pub body: Option<toml::Value>,
    /// Instead of `body`: a file sent as it is (templated path, streamed).
    pub body_file: Option<String>,
    /// The `Content-Type` of `body_file` (default: none).
    pub content_type: Option<String>,
    #[serde(default)]
    pub expect: Vec<u16>,
    /// Values to keep from the answer (name → source), usable as `{{ name }}` from here on.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

impl BeforeSpec {
    /// Where the request goes, whichever key names it.
    pub(crate) fn target(&self) -> Option<&str> {
        self.path.as_deref().or(self.url.as_deref())
    }
}

/// Finding an operation in a list (`[<phase>.trigger.find]`, `[<phase>.observe]`), or, for
/// `observe` without `path`, naming it (`id = "{{ build.release }}"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindSpec {
    /// The list request (GET, templated); required by `find`.
    pub path: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Where the array is in the answer (`""`: the whole answer); required with `path`.
    pub items: Option<String>,
    /// Fields an item must have: pointer (inside the item) → accepted values (templated).
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, Vec<toml::Value>>,
    /// A time field (RFC 3339 or Unix seconds): the newest item is picked, and under
    /// `trigger.find` only one created after the trigger was sent.
    pub newest: Option<String>,
    /// The operation's id: a pointer inside the item, or (observe without `path`) a template.
    pub id: Option<String>,
    /// More values to keep from the item (name → source), usable as `{{ name }}`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// How long to look before giving up (default `2m`).
    pub timeout: Option<String>,
}

/// Any other request (resolve, status, logs, cancel, fetch).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestSpec {
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<toml::Value>,
    #[serde(default)]
    pub expect: Vec<u16>,
}

/// An optional phase between trigger and status: poll until a field appears (a queue item that
/// becomes a build).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveSpec {
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON Pointer that must be present and not null.
    pub until: String,
    /// Values to keep once it appears (name → source).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Conditions that mean the operation will never start (e.g. a cancelled queue item).
    #[serde(default)]
    pub failure: Vec<Condition>,
}

/// How to read the state and what it means.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusSpec {
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The field plain values in the condition lists are compared with.
    pub field: Option<String>,
    #[serde(default)]
    pub running: Vec<Condition>,
    #[serde(default)]
    pub success: Vec<Condition>,
    #[serde(default)]
    pub failure: Vec<Condition>,
    /// What a state in none of the lists means: `fail` (default) or `running`. Never success.
    #[serde(default)]
    pub unknown: UnknownPolicy,
    /// Where the platform says why the operation failed (a value source, e.g. `/error_message`):
    /// shown in the phase's message.
    pub message: Option<String>,
    /// Where the platform says how long it expects the operation to take, in seconds (a value
    /// source, e.g. `/estimated_seconds`): status reads are sparse early and dense around that
    /// end.
    pub estimate: Option<String>,
    /// The platform holds a status request until the state changes (a long poll): the names of
    /// its query parameters.
    pub long_poll: Option<LongPoll>,
}

/// `long_poll = { wait = "wait", since = "since" }`: the status request, sent as a watch, also
/// carries `<wait>=<seconds>` (how long the platform may hold it) and `<since>=<state>` (the
/// state last read, so that a change made between two requests is answered at once).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LongPoll {
    pub wait: String,
    pub since: Option<String>,
}

/// One condition: a plain value compared with `field`, or a table of tests that must all hold
/// at once: `"/pointer" = [values]`, and the operators `present`, `absent` and `null` (keys that
/// do not start with `/`) naming a pointer or a list of them.
#[derive(Clone, Debug)]
pub(crate) enum Condition {
    AllOf(Vec<Test>),
    Value(toml::Value),
}

/// One test of a condition table.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Test {
    /// `"/pointer" = [values]`: the field is one of the values (compared as text).
    OneOf(String, Vec<toml::Value>),
    /// `present = "/pointer"`: the field is there and not null.
    Present(String),
    /// `absent = "/pointer"`: the field is not there, or null.
    Absent(String),
    /// `null = "/pointer"`: the field is there, and null.
    Null(String),
}

impl Test {
    /// The pointer it looks at.
    pub(crate) fn pointer(&self) -> &str {
        match self {
            Test::OneOf(p, _) | Test::Present(p) | Test::Absent(p) | Test::Null(p) => p,
        }
    }
}

/// The operators a condition table may use besides pointers.
pub(crate) const OPERATORS: [&str; 3] = ["present", "absent", "null"];

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = toml::Value::deserialize(de)?;
        let toml::Value::Table(table) = value else {
            return Ok(Condition::Value(value));
        };
        let mut tests = Vec::new();
        for (key, value) in table {
            let operator: Option<fn(String) -> Test> = match key.as_str() {
                "present" => Some(Test::Present),
                "absent" => Some(Test::Absent),
                "null" => Some(Test::Null),
                // Anything else is a pointer (`check` refuses one that is not).
                _ => None,
            };
            let Some(operator) = operator else {
                // A key that is neither is said where it is written (the file's line), with the
                // operator a misspelt one meant.
                if !key.starts_with('/') {
                    let meant = crate::suggest::closest(&key, OPERATORS);
                    let fix = meant.map_or_else(
                        || "write a JSON Pointer with a leading slash, or one of the operators, e.g. { \"/status\" = [\"done\"] } or { present = \"/finished_at\" }".to_string(),
                        |m| format!("write `{m}`, or a JSON Pointer with a leading slash"),
                    );
                    return Err(D::Error::custom(format!(
                        "a condition tests {}, which is neither a JSON Pointer nor an operator (present, absent, null){}\n  fix: {fix}",
                        crate::error::quote(&key),
                        meant.map_or_else(String::new, |m| format!("; did you mean `{m}`?"))
                    )));
                }
                let values = match value {
                    toml::Value::Array(values) => values,
                    other => vec![other],
                };
                tests.push(Test::OneOf(key, values));
                continue;
            };
            let pointers = match value {
                toml::Value::String(p) => vec![p],
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|i| match i {
                        toml::Value::String(p) => Ok(p),
                        other => Err(other),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|other| {
                        D::Error::custom(format!(
                            "`{key}` names JSON Pointers (\"/finished_at\"), not {other}"
                        ))
                    })?,
                other => {
                    return Err(D::Error::custom(format!(
                        "`{key}` names a JSON Pointer (\"/finished_at\") or a list of them, not {other}"
                    )));
                }
            };
            tests.extend(pointers.into_iter().map(operator));
        }
        Ok(Condition::AllOf(tests))
    }
}

/// What to do with a state in none of the lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UnknownPolicy {
    #[default]
    Fail,
    Running,
}

fn post() -> String {
    "POST".into()
}
