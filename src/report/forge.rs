//! The forge reporters (GitHub, GitLab) chosen for this run: one place that decides which sinks
//! report to the forge, so `lib::run` wires them without knowing any forge.

use crate::ci::Context;
use crate::config::Settings;
use crate::env::Env;
use crate::error::Result;
use crate::plan::Subject;
use crate::platform::Command;
use crate::secret::Redactor;
use crate::stream::Stream;

use super::Sink;

/// Everything a forge reporter may need to set itself up.
pub struct ReportRequest<'a> {
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
    /// Where workflow commands go (the CI log).
    pub log: Stream,
}

/// The forge sinks for this run (none outside a forge's CI, or when nothing applies).
pub fn forge_sinks(request: &ReportRequest<'_>) -> Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if request.context.forge == Some(crate::ci::Forge::Github) {
        sinks.push(Box::new(super::github::GithubReporter::new(request)));
    }
    // GitLab: commit status, sticky MR note (in GitLab CI) and the dotenv report (also wherever
    // `dotenv` is set).
    if request.context.ci == crate::ci::Ci::Gitlab || request.settings.dotenv.is_some() {
        sinks.extend(super::gitlab::sinks(request)?);
    }
    Ok(sinks)
}
