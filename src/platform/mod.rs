//! Stage 4 — do the work: the platform interface, its backends, and the engine that drives them.
//!
//! A backend knows one platform's API (trigger, resolve, status, logs, cancel). The engine knows
//! everything shared: polling with back-off and jitter, `Retry-After`, safe retries, timeouts,
//! heartbeats, cancellation. The engine reports only through [`Event`]s; it never imports `report`.
//!
//! Before any of that, each backend plans itself from a [`planned::BackendRequest`] (its
//! platform's keys, URL, credential and phase sections); [`named`] is the closed set of kinds a
//! `[platforms.<name>]` table may be, and hands each to its backend.

pub mod event;
pub mod outcome;

pub use event::{
    CancelReason, EVENTS_SCHEMA, Emitter, Event, Level, Phase, PhaseOutcome, StateClass, Status,
};
pub use outcome::{Command, RunOutcome};

pub mod backend;
pub mod described;
pub mod engine;
pub mod probe;

pub(crate) mod argocd;
pub(crate) mod credential;
pub(crate) mod http;
pub(crate) mod jenkins;
pub(crate) mod named;
pub(crate) mod planned;

pub use backend::{
    Backend, BackendState, LogRead, LogSink, Observation, Operation, Resolved, Vars, Watched,
};
