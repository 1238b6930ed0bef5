//! The simulator's whole mutable state, shared by every connection: the script in force, fault
//! counters, operations and each dialect's numbering, and the request log.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::fault::Fault;
use super::recorded::RecordedRequest;
use super::route::Route;
use super::script::Script;
use super::store::Store;
use super::{argocd, digitalocean, gitops, heroku, jenkins, netlify, pipeline, render};

/// Everything requests change, behind one lock (held only while a handler computes a response;
/// log bodies are generated after it is released).
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) script: Script,
    /// Requests each fault has matched so far, by position in `script.faults`.
    fault_hits: Vec<u32>,
    pub(crate) store: Store,
    pub(crate) jenkins: jenkins::Registry,
    pub(crate) gitops: gitops::Registry,
    pub(crate) pipelines: pipeline::Registry,
    pub(crate) argocd: argocd::Registry,
    pub(crate) render: render::Registry,
    pub(crate) digitalocean: digitalocean::Registry,
    pub(crate) heroku: heroku::Registry,
    pub(crate) netlify: netlify::Registry,
}

impl World {
    pub(crate) fn new(script: Script) -> Self {
        Self {
            fault_hits: vec![0; script.faults.len()],
            script,
            store: Store::default(),
            jenkins: jenkins::Registry::default(),
            gitops: gitops::Registry::default(),
            pipelines: pipeline::Registry::default(),
            argocd: argocd::Registry::default(),
            render: render::Registry::default(),
            digitalocean: digitalocean::Registry::default(),
            heroku: heroku::Registry::default(),
            netlify: netlify::Registry::default(),
        }
    }

    /// Replaces the script; fault counting starts over.
    pub(crate) fn set_script(&mut self, script: Script) {
        self.fault_hits = vec![0; script.faults.len()];
        self.script = script;
    }

    /// Counts a request of `route` against every fault and returns the first one that fires.
    pub(crate) fn fault_for(&mut self, route: Option<Route>) -> Option<Fault> {
        let mut fired = None;
        for (fault, hits) in self.script.faults.iter().zip(self.fault_hits.iter_mut()) {
            if !fault.on.matches(route) {
                continue;
            }
            if fired.is_none() && fault.fires_at(*hits) {
                fired = Some(fault.clone());
            }
            *hits = hits.saturating_add(1);
        }
        fired
    }
}

/// The state behind a running server and its [`SimServer`](super::SimServer) handle.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    world: Mutex<World>,
    /// The most recent requests (at most [`MAX_RECORDS`]): a long benchmark must not grow the
    /// simulator's memory without bound.
    records: Mutex<std::collections::VecDeque<RecordedRequest>>,
    /// When the simulator started (requests are stamped relative to it).
    started: std::time::Instant,
}

impl Shared {
    /// Milliseconds since the simulator started.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn new(url: String, script: Script) -> Self {
        Self {
            url,
            world: Mutex::new(World::new(script)),
            records: Mutex::new(std::collections::VecDeque::new()),
            started: std::time::Instant::now(),
        }
    }

    /// The state, even if a handler panicked while holding it (the data stays consistent enough
    /// for a simulator, and a test should see the panic, not a poisoned lock).
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() == MAX_RECORDS {
            records.pop_front();
        }
        records.push_back(request);
    }

    pub(crate) fn records(&self) -> Vec<RecordedRequest> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// How many requests the simulator remembers (the oldest are forgotten first).
pub(crate) const MAX_RECORDS: usize = 50_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_count_their_own_matches() {
        let script = Script {
            faults: vec![
                Fault {
                    on: Route::Status,
                    after: 1,
                    count: 2,
                    status: 502,
                    ..Fault::default()
                },
                Fault {
                    on: Route::Any,
                    after: 4,
                    count: 1,
                    status: 429,
                    ..Fault::default()
                },
            ],
            ..Script::fast()
        };
        let mut world = World::new(script);
        let seen: Vec<Option<u16>> = [
            Some(Route::Status),
            Some(Route::Status),
            Some(Route::Log),
            Some(Route::Status),
            Some(Route::Status),
            None,
        ]
        .into_iter()
        .map(|route| world.fault_for(route).map(|f| f.status))
        .collect();
        assert_eq!(seen, [None, Some(502), None, Some(502), Some(429), None]);
    }
}
