//! The reports a CI job leaves besides its log, chosen for this run in one place
//! ([`job_reports`]), so `lib::run` wires them without knowing any forge or CI file.
//!
//! # The shape
//!
//! ```text
//! events ─► ForgeReporter<A: Adapter>           (one per forge, the sequencing written once)
//!             first phase ─► Background task:   locate · status Started · start deployment
//!             finish ─► wait for it, then:      finish deployment · status Finished · comment
//!             refusals ─► one Degraded notice;  other failures ─► one SinkFailure each
//!               │ calls                      │ Findings (commit, deployment id, notes)
//!               ▼                            ▼
//!         GithubAdapter, GitlabAdapter     ci_files: step outputs · job summary · dotenv
//! ```
//!
//! - [`adapter::Adapter`]: what one forge does, one operation per call (set the status, start and
//!   finish a deployment, upsert the sticky comment, find where to report) plus the words of its
//!   messages. Deployments are a default-method capability only GitHub fills in.
//! - [`reporter::ForgeReporter`]: the sequencing written once: when to call what, which kinds of
//!   report stay open after a refusal or a read-only token, how failures are worded.
//! - [`background::Background`]: the start-of-run calls run in a task beside the dispatcher,
//!   so neither the console nor the engine ever waits for a forge; `finish` waits for them.
//! - [`degraded::Degraded`]: the one notice for a forge that got only part of the report (no
//!   token, a job token, a read-only token, a 403, an unusable API URL), and
//!   [`degraded::NoApi`], the sink saying it when there is no API to call at all. One rule
//!   for how it counts: nothing that can write (no token, only a job token) is a notice and
//!   never changes the exit code; a refusal or an unusable setting is a failed report.
//! - `ci_files`: the step outputs, the job summary and the dotenv report, sinks of their own
//!   that need no token; they read what the forge reporters found from the run's
//!   [`Findings`], so they come after them in the list.
//!
//! A third forge is its client, an [`adapter::Adapter`], and a setup function that returns a
//! [`reporter::ForgeReporter`] (or a [`degraded::NoApi`] when it cannot call the API), added
//! to [`job_reports`].

pub(crate) mod adapter;
pub(crate) mod background;
pub(crate) mod degraded;
pub(crate) mod reporter;

use crate::ci::{Ci, Context, Forge};
use crate::config::Settings;
use crate::env::Env;
use crate::error::Result;
use crate::plan::Subject;
use crate::platform::Command;
use crate::secret::Redactor;
use crate::stream::Stream;

use super::Sink;
use super::findings::Findings;

/// Everything a report may need to set itself up.
pub(crate) struct ReportRequest<'a> {
    pub context: &'a Context,
    pub settings: &'a Settings,
    /// The change request and commit to report on, decided once (explicit settings win).
    pub subject: &'a Subject,
    /// The environment map (job-summary and output file paths, job tokens, …).
    pub env: &'a Env,
    pub command: Command,
    /// The target environment's name.
    pub environment: Option<&'a str>,
    /// Every secret ferry knows, for redacting untrusted text.
    pub redactor: Redactor,
    /// Where workflow commands, notes and notices go (the CI log).
    pub log: Stream,
}

/// The reports this CI job leaves besides its log: the forge reporters (GitHub for a repository
/// on GitHub, GitLab in GitLab CI), then the CI-file sinks, which read what the forge reporters
/// found and so finish after them.
///
/// Fails, before anything is triggered, only on settings that cannot work (a `status_context`
/// equal to this GitLab job's name, a `dotenv` file in a folder that does not exist).
pub(crate) fn job_reports(request: &ReportRequest<'_>) -> Result<Vec<Box<dyn Sink>>> {
    let findings = Findings::default();
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if request.context.forge == Some(Forge::Github) {
        sinks.extend(super::github::reporter(request, &findings));
    }
    if request.context.ci == Ci::Gitlab {
        sinks.extend(super::gitlab::reporter(request, &findings)?);
    }
    sinks.extend(super::ci_files::sinks(request, &findings)?);
    Ok(sinks)
}
