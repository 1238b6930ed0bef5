//! Every operation the simulator has started, by id, with the idempotency keys that created them.
//! Dialects keep their own numbering (queue items, pipelines, GitOps apps) and point in here.

use std::collections::HashMap;

use tokio::time::Instant;

use super::op::{Op, State};
use super::op_script::OpScript;
use crate::platform::Phase;

/// Index of an operation in the [`Store`].
pub(crate) type OpIndex = usize;

/// What an `Idempotency-Key` lookup found.
pub(crate) enum Replay {
    /// The key is new.
    Fresh,
    /// The key created this operation on the same endpoint: answer with it.
    Same(OpIndex),
    /// The key was used on another endpoint.
    Conflict,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    ops: Vec<Op>,
    by_id: HashMap<String, OpIndex>,
    counters: HashMap<Phase, u64>,
    /// Key → (the `METHOD path` it was first used on, the operation it created).
    keys: HashMap<String, (String, OpIndex)>,
}

impl Store {
    /// Starts an operation now; its id is the phase letter and a per-phase counter (`b-1`).
    pub(crate) fn create(&mut self, phase: Phase, app: &str, script: OpScript) -> OpIndex {
        let counter = self.counters.entry(phase).or_insert(0);
        *counter += 1;
        let letter = match phase {
            Phase::Build => 'b',
            Phase::Deploy => 'd',
            Phase::Stop => 's',
        };
        let id = format!("{letter}-{counter}");
        let index = self.ops.len();
        self.by_id.insert(id.clone(), index);
        self.ops.push(Op::new(id, phase, app.to_owned(), script));
        index
    }

    /// The operations of `phase` for `app`, oldest first.
    pub(crate) fn of_app<'s>(
        &'s self,
        phase: Phase,
        app: &'s str,
    ) -> impl DoubleEndedIterator<Item = &'s Op> + 's {
        self.ops
            .iter()
            .filter(move |op| op.phase == phase && op.app == app)
    }

    pub(crate) fn find(&self, phase: Phase, id: &str) -> Option<OpIndex> {
        self.by_id
            .get(id)
            .copied()
            .filter(|&i| self.ops[i].phase == phase)
    }

    pub(crate) fn get(&self, index: OpIndex) -> &Op {
        &self.ops[index]
    }

    pub(crate) fn get_mut(&mut self, index: OpIndex) -> &mut Op {
        &mut self.ops[index]
    }

    pub(crate) fn replay(&self, key: &str, endpoint: &str) -> Replay {
        match self.keys.get(key) {
            None => Replay::Fresh,
            Some((first, index)) if first == endpoint => Replay::Same(*index),
            Some(_) => Replay::Conflict,
        }
    }

    pub(crate) fn remember(&mut self, key: &str, endpoint: &str, index: OpIndex) {
        self.keys
            .insert(key.to_owned(), (endpoint.to_owned(), index));
    }

    /// Whether `app` is serving in `environment` at `now`: its latest finished deploy or stop
    /// there is a successful deploy.
    pub(crate) fn is_live(&self, app: &str, environment: &str, now: Instant) -> bool {
        self.ops
            .iter()
            .filter(|op| op.app == app && op.environment.as_deref() == Some(environment))
            .filter(|op| op.phase != Phase::Build && op.state(now) == State::Succeeded)
            .max_by_key(|op| op.ends_at())
            .is_some_and(|op| op.phase == Phase::Deploy)
    }
}
