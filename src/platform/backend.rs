//! The platform interface every backend implements, and the remote operation it manages.
//!
//! A backend does single steps (trigger, one resolve check, one status read, one log read,
//! cancel); the engine decides when to call them, retries, waits and gives up.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::argocd::state::ArgoState;
use super::described::Described;
use super::event::{Phase, StateClass};
use super::http::logs::state::HttpState;
use super::jenkins::state::JenkinsState;
use super::probe::{Finding, Verdict};
use crate::error::Result;
use crate::net::Replay;

/// Template variables and captured values (`id`, `sha`, `build.artifact`, …).
pub type Vars = BTreeMap<String, String>;

/// A remote operation (a build, a deploy, a stop) once triggered.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The phase it carries out.
    pub phase: Phase,
    /// The platform's id for it.
    pub id: String,
    /// Every value known for templates: the phase's inputs plus captured values.
    pub vars: Vars,
    /// A human link to it, when the platform has one.
    pub web_url: Option<String>,
    /// Where reading the log stopped.
    pub log: LogCursor,
    /// The last status response, for outputs.
    pub last_body: Option<serde_json::Value>,
    /// The last status response's headers (names lowercased), for outputs.
    pub last_headers: Vec<(String, String)>,
    /// Answers read once after the operation succeeded ([`Backend::fetch`]), by name, for
    /// outputs.
    pub fetched: BTreeMap<String, serde_json::Value>,
    /// What the backend keeps about it between calls (never a template value).
    pub state: BackendState,
    /// Started elsewhere (another phase, the platform itself) and only followed here.
    pub observed: bool,
}

impl Operation {
    /// The operation `id` of `phase`, known by the template values `vars`; nothing read yet.
    pub fn new(phase: Phase, id: impl Into<String>, vars: Vars) -> Self {
        Self {
            phase,
            id: id.into(),
            vars,
            web_url: None,
            log: LogCursor::default(),
            last_body: None,
            last_headers: Vec::new(),
            fetched: BTreeMap::new(),
            state: BackendState::None,
            observed: false,
        }
    }
}

/// What a backend keeps about an operation between calls, typed per backend, so that template
/// values ([`Operation::vars`]) hold only what templates may name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BackendState {
    /// Nothing: the `http` backend keeps what it captures as template values, by design.
    #[default]
    None,
    /// A Jenkins queue item and build.
    Jenkins(JenkinsState),
    /// An Argo CD sync.
    Argo(ArgoState),
    /// An `http` operation's log: pages shown, the live reader, the archived logs.
    Http(HttpState),
}

impl BackendState {
    /// The Jenkins state, when this is one.
    pub fn jenkins(&self) -> Option<&JenkinsState> {
        match self {
            BackendState::Jenkins(s) => Some(s),
            _ => None,
        }
    }

    /// The Jenkins state, to change it.
    pub fn jenkins_mut(&mut self) -> Option<&mut JenkinsState> {
        match self {
            BackendState::Jenkins(s) => Some(s),
            _ => None,
        }
    }

    /// The Argo CD state, when this is one.
    pub fn argo(&self) -> Option<&ArgoState> {
        match self {
            BackendState::Argo(s) => Some(s),
            _ => None,
        }
    }

    /// The Argo CD state, to change it.
    pub fn argo_mut(&mut self) -> Option<&mut ArgoState> {
        match self {
            BackendState::Argo(s) => Some(s),
            _ => None,
        }
    }
}

/// Log reading state, kept between reads.
#[derive(Clone, Debug, Default)]
pub struct LogCursor {
    /// Next byte offset (offset mode) or bytes already shown (full mode).
    pub offset: u64,
    /// Continuation cursor (cursor mode).
    pub cursor: Option<String>,
    /// Bytes of a line whose newline has not arrived yet.
    pub carry: Vec<u8>,
}

/// One reading of the operation's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The state as the platform spells it (several fields joined when several matter).
    pub state: String,
    pub class: StateClass,
    /// How long the platform expects the whole operation to take, when it says (Jenkins'
    /// `estimatedDuration`, an `http` description's `estimate`); the engine counts it from the
    /// first status read that gave it, and reads the state densely around that end.
    pub estimate: Option<Duration>,
}

/// What the resolve step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Ready: the operation can be observed.
    Ready,
    /// Not yet (still queued); `why` when the platform says.
    Waiting(Option<String>),
    /// It will never start (e.g. removed from the queue).
    Failed(String),
}

/// What one log read found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogRead {
    /// Lines delivered by this read.
    pub lines: u64,
    /// Whether the platform says the log is complete; `None` when it cannot say.
    pub complete: Option<bool>,
}

impl LogRead {
    /// Nothing new, and nothing more will come: the log is complete.
    pub const DONE: Self = Self {
        lines: 0,
        complete: Some(true),
    };
}

/// What waiting for a pushed change found (see [`Backend::watch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    /// The backend cannot watch: the engine polls at its own cadence.
    Unsupported,
    /// Something changed (the new state is kept in the operation): read the state now.
    Changed,
    /// Nothing changed within the time allowed.
    Quiet,
}

/// Receives log lines as a backend reads them (with back-pressure).
#[async_trait]
pub trait LogSink: Send {
    /// One line, without its newline.
    async fn line(&mut self, line: &str);

    /// Where a text too long for one line may be cut, near `at` (a redacting sink moves the cut
    /// so that no secret is split in two); `None` to wait for more of the text first. Default:
    /// `at`.
    fn safe_cut(&self, text: &[u8], at: usize) -> Option<usize> {
        let _ = text;
        Some(at)
    }
}

/// A build/deploy platform. Implementations are stateless between calls except through
/// [`Operation`]; the engine owns timing, retries and cancellation.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A display name (`http (paas.example.com)`).
    fn name(&self) -> &str;

    /// Whether the trigger may be sent again after a failure in transit: [`Replay::Safe`] when
    /// the platform honours an idempotency key, so that repeating it starts nothing new.
    fn trigger_replay(&self, phase: Phase) -> Replay;

    /// Starts the remote operation.
    async fn trigger(&self, phase: Phase, vars: &Vars) -> Result<Operation>;

    /// One check of the optional resolve step.
    async fn resolve(&self, op: &mut Operation) -> Result<Resolved>;

    /// Reads the state once.
    async fn status(&self, op: &mut Operation) -> Result<Observation>;

    /// Whether the phase has a log to read.
    fn has_logs(&self, phase: Phase) -> bool;

    /// Reads what is new in the log, handing each complete line to `sink`.
    async fn logs(&self, op: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead>;

    /// Whether the log of `op` is read from a live reader in the background (a stream, a
    /// WebSocket), so that reading it sends nothing: the engine then reads it at its pace even
    /// while it is silent. Default: false.
    fn log_is_live(&self, _op: &Operation) -> bool {
        false
    }

    /// Waits up to `max` for the platform to push a change of the operation (a watch stream, a
    /// status long poll, the end of a streamed log), instead of the engine sleeping. It is called
    /// for every wait, short ones (a person's pace between two log reads) included, so a push
    /// that costs a request must be kept across calls. The engine always reads the state once
    /// before it first watches, and again after an error (a dropped stream), so a change made
    /// while no stream was open is never missed. Default: [`Watched::Unsupported`].
    async fn watch(&self, op: &mut Operation, max: Duration) -> Result<Watched> {
        let _ = (op, max);
        Ok(Watched::Unsupported)
    }

    /// Finds the operation a trigger may have started when ferry abandoned that trigger before
    /// its answer came (a signal or a time limit while it was in flight), so that it can be
    /// cancelled. `Ok(None)`: the platform gives no way to find it, and the engine says so.
    /// Default: `Ok(None)`.
    async fn recover(&self, phase: Phase, vars: &Vars) -> Result<Option<Operation>> {
        let _ = (phase, vars);
        Ok(None)
    }

    /// Asks the platform to stop the operation. It is called whether or not the operation has
    /// resolved yet (a queued item is cancelled differently from a running build: the backend
    /// tells them apart by what [`Operation`] holds).
    async fn cancel(&self, op: &Operation) -> Result<()>;

    /// Reads what the outputs need besides the last status reading, once, after the operation
    /// succeeded (the app whose URL is the environment's), into [`Operation::fetched`]. Only
    /// reads: the engine retries it like a status read. Default: nothing to read.
    async fn fetch(&self, op: &mut Operation) -> Result<()> {
        let _ = op;
        Ok(())
    }

    /// The phase's outputs (`url`, `artifact`, …) from the last status reading (and what
    /// [`Backend::fetch`] read).
    fn outputs(&self, op: &Operation) -> Result<BTreeMap<String, String>>;

    /// The platform's own words about how the operation ended (why it failed), from the last
    /// status reading, when it gives them. Default: none.
    fn message(&self, op: &Operation) -> Option<String> {
        let _ = op;
        None
    }

    /// What `phase` will send, in order, and what it waits for, from the description alone
    /// (the readable plan). Sends nothing. Default: nothing described.
    fn describe(&self, phase: Phase, vars: &Vars) -> Described {
        let _ = (phase, vars);
        Described::default()
    }

    /// `ferry check --probe`: one read-only request with the credential, proving the platform
    /// is reachable, the credential accepted and what `phases` name exists. Never triggers or
    /// changes anything. Default: one "cannot tell".
    async fn probe(&self, phases: &[Phase], vars: &Vars) -> Vec<Finding> {
        let _ = (phases, vars);
        vec![Finding::not_ok(
            self.name().to_string(),
            Verdict::CannotTell,
            "this platform has no read-only request to probe with",
            "nothing to do: the first run will tell",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_reads_only_its_own_state() {
        let mut op = Operation::new(Phase::Deploy, "shop", Vars::new());
        assert_eq!(op.state, BackendState::None);
        assert!(op.state.argo().is_none() && op.state.jenkins().is_none());
        op.state = BackendState::Argo(ArgoState::new("abc".into()));
        assert!(op.state.jenkins().is_none());
        assert!(op.state.jenkins_mut().is_none());
        let argo = op.state.argo_mut().unwrap();
        assert_eq!(argo.revision, "abc");
        assert!(!argo.pending && !argo.watched && argo.before.is_none());
        argo.pending = true;
        assert!(op.state.argo().unwrap().pending);
        // Template values stay template values.
        assert!(op.vars.is_empty());
    }
}
