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
use super::findings::Findings;

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

/// The reports this CI job leaves besides its log: the forge reporters, then the CI-file
/// sinks, which read what the forge reporters found (so they finish after them).
pub fn job_reports(request: &ReportRequest<'_>) -> Result<Vec<Box<dyn Sink>>> {
    let findings = Findings::default();
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if request.context.forge == Some(crate::ci::Forge::Github) {
        sinks.push(Box::new(super::github::GithubReporter::new(
            request,
            findings.clone(),
        )));
    }
    // GitLab: commit status and sticky MR note, in GitLab CI.
    if request.context.ci == crate::ci::Ci::Gitlab {
        sinks.extend(super::gitlab::sinks(request)?);
    }
    sinks.extend(super::ci_files::sinks(request, &findings)?);
    Ok(sinks)
}
