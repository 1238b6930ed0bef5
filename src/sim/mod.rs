//! The simulated platform: a reference in-house platform API with scripted behaviour, served over
//! real HTTP (axum) in-process for tests, `ferry demo` and benchmarks, and by `ferry sim --listen`.
//!
//! It is a fake *platform*, not part of the flow: nothing else in the crate imports it except the
//! CLI commands that start it. ferry's backends must talk to it exactly as to a real API, so it
//! behaves like a well-behaved one (ids, idempotency keys, offset logs that never cut a line, a log
//! tail that appears after the terminal state) and, when scripted, like a misbehaving one
//! ([`Fault`]s: 5xx bursts, 429 with `Retry-After`, lost trigger responses, garbage bodies).
//!
//! One operation state machine (`op`) serves these API dialects on the same server (the hosted
//! platforms' under a prefix of their own, so their paths never meet the others'):
//!
//! | dialect | trigger | state | log |
//! |---|---|---|---|
//! | `paas` (default) | `POST /v1/apps/{app}/builds`, `…/deployments`, `DELETE …/environments/{env}` | `GET /v1/builds/{id}` | `GET …/log?offset=N` |
//! | Jenkins-like | `POST /queue/job/{job}/build` → `Location` | queue item, then `GET /job/{job}/{k}/api/json` | `progressiveText?start=N` |
//! | GitOps-like | `POST /gitops/apps/{app}/sync` | `sync` + `health` of `GET /gitops/apps/{app}` | none |
//! | pipeline | `POST /ci/pipelines` | `GET /ci/pipelines/{n}` | whole `trace` every time |
//! | Argo CD | `POST /api/v1/applications/{app}/sync` | `GET /api/v1/applications/{app}`, watch `/api/v1/stream/applications` | none (resource health) |
//! | Render, under `/render` | `POST /render/v1/services/{id}/deploys` | `GET /render/v1/services/{id}/deploys/{deploy}` | `GET /render/v1/logs`, paged by time |
//! | DigitalOcean App Platform, under `/digitalocean` | `POST /digitalocean/v2/apps/{id}/deployments` | `GET /digitalocean/v2/apps/{id}/deployments/{deployment}` | `…/logs` → a WebSocket `live_url`, then `historic_urls` |
//! | Heroku, under `/heroku` | `POST /heroku/sources`, `PUT` the archive, `POST /heroku/apps/{app}/builds` | `GET …/builds/{id}`, then `GET …/releases/{id}` | `output_stream_url`: streamed text (`Range`) or SSE |
//! | Netlify, under `/netlify/api/v1` | `POST …/sites/{site}/builds` or `…/deploys` (a zip) | `GET …/deploys/{id}` `state` | WebSocket `/netlify-socketeer/build/logs` |
//!
//! The hosted dialects (Heroku, Netlify, Render, DigitalOcean) follow their platforms' official API
//! descriptions (`tests/fixtures/hosted/`); a client's platform URL is the simulator's URL plus the
//! dialect's prefix.
//!
//! Logs are generated from arithmetic, never stored ([`LINE_WIDTH`]-byte lines), so any size is
//! served with flat memory; [`expected_log`] gives tests the exact text. Control endpoints:
//! `GET /_sim/requests` (the request log as JSON), `PUT /_sim/script` (a TOML or JSON [`Script`]).

mod argocd;
mod call;
mod chain;
mod clock;
mod control;
mod digitalocean;
mod duration;
mod endpoint;
mod fault;
mod gitops;
mod handle;
mod heroku;
mod jenkins;
mod log;
mod netlify;
mod op;
mod op_script;
mod output_stream;
mod paas;
mod pipeline;
mod rate_limit;
mod recorded;
mod render;
mod reply;
mod route;
mod script;
mod server;
mod stamp;
mod store;
mod world;

pub use digitalocean::DigitalOceanScript;
pub use fault::Fault;
pub use heroku::HerokuScript;
pub use log::{LINE_WIDTH, expected_log};
pub use netlify::NetlifyScript;
pub use op_script::{OpScript, Outcome};
pub use recorded::RecordedRequest;
pub use render::RenderScript;
pub use route::Route;
pub use script::{ArgoScript, DEFAULT_MAX_CHUNK_BYTES, JenkinsScript, Script};
pub use server::SimServer;
