//! ferry builds and deploys an application through a hosting platform's HTTP API from inside a CI
//! job, and reports the results where people look.
//!
//! The flow, one module per stage, in the order data moves:
//!
//! ```text
//! Env + event payload ─► ci (Context) ─► config (Settings) ─► plan ─► platform (engine + backend)
//!                                                                          │ typed events
//!                                                                          ▼
//!                                   report: terminal · CI log · JSON events · outputs · forges
//! ```
//!
//! Only [`run`] wires the stages together; `ci`, `config` and `platform` never import `report`.
//! Every outside input (environment, arguments, signals, output streams) is a parameter, so an
//! embedding program (a UI, a test) can drive the whole flow and consume its [`platform::Event`]s.

pub mod ci;
pub mod config;
pub mod env;
pub mod error;
pub mod exit;
pub mod platform;
pub mod report;
pub mod secret;
pub mod sim;

pub use error::{Error, Result};
pub use exit::ExitCode;
