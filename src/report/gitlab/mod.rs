//! Reporting to GitLab: the commit status, the sticky merge-request note and the dotenv report,
//! as sinks of the engine's events (the collapsible log sections are the console's `GitlabCi`
//! flavour). Chosen by [`sinks`] when ferry runs in GitLab CI.
//!
//! | module | concept |
//! |---|---|
//! | `client` | ferry's reqwest client behind the `gitlab` crate's endpoint traits: base URL, token header, https-only, retries, errors |
//! | `endpoints` | the endpoints the crate lacks (get/delete one note, one page of a list) |
//! | `target` | where the status and the note go (project, commit, pipeline, MR IID) |
//! | `status` | the commit status: names, states, descriptions, GitLab's 400/409 quirks |
//! | `note` | the sticky MR note: marker + author, all pages, merge and read back |
//! | `dotenv` | the `FERRY_*` dotenv report for `environment: url` |
//! | `access` | which token is there, and what to tell the user when it cannot write |
//! | `reporter` | the API sink tying status and note to the run |
//!
//! Reporting is best effort: failures come back as warnings, never change the deploy's result
//! (unless `fail_on_report_error`), and no token ever reaches the dotenv file, a note or the log.

mod access;
mod client;
mod endpoints;
mod note;
mod reporter;
mod status;
mod target;

pub(crate) use access::redactor;

use crate::ci::Ci;
use crate::error::{Error, Result};
use crate::report::{DEFAULT_ENVIRONMENT, ReportRequest, Sink};

use self::access::Access;
use self::client::GitlabClient;
use self::reporter::{Degraded, Plan, Reporter};

/// The GitLab sinks for this run: the dotenv report (in GitLab CI, or anywhere `dotenv` is set)
/// and, in GitLab CI, the API reporter (or a notice saying why it cannot write).
///
/// Fails, before anything is triggered, only on settings that cannot work: a `status_context` equal
/// to this job's name, a `dotenv` file in a folder that does not exist.
pub(crate) fn sinks(request: &ReportRequest<'_>) -> Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let redactor = access::redactor(request.settings, request.env);
    if request.context.ci != Ci::Gitlab {
        return Ok(sinks);
    }
    let environment = request
        .environment
        .unwrap_or(DEFAULT_ENVIRONMENT)
        .to_string();
    let status_name = request
        .settings
        .status_context
        .clone()
        .unwrap_or_else(|| status::default_name(&environment));
    let log = request.log.clone();
    match access::decide(request.settings, request.env) {
        Access::Token(token) => {
            if let Some(job) = request.env.get("CI_JOB_NAME")
                && job == status_name
            {
                return Err(Error::InvalidSetting {
                    name: "status_context".into(),
                    source_name: "status_context".into(),
                    problem: format!("{status_name:?} is the name of this CI job: GitLab refuses a commit status with a job's name (400 \"has already been taken\")"),
                    hint: "set `status_context` (FERRY_STATUS_CONTEXT) to a name no job of the pipeline has, e.g. ferry/<environment>".into(),
                });
            }
            let Some(api_url) = request.context.api_url.as_deref() else {
                sinks.push(Box::new(Degraded {
                    notice: String::new(),
                    error: Some(Error::MissingSetting {
                        name: "CI_API_V4_URL".into(),
                        hint: "GitLab CI sets it for every job; outside a job, export the instance's API URL (e.g. https://gitlab.example.com/api/v4). No commit status or merge-request note was written".into(),
                    }),
                    log,
                }));
                return Ok(sinks);
            };
            match GitlabClient::new(api_url, &token, redactor.clone()) {
                Ok(client) => {
                    let mut context = request.context.clone();
                    context.sha = target::head_sha(request.subject);
                    let plan = Plan {
                        status: target::status_target(request.subject, request.context),
                        status_name,
                        note: target::note_target(request.subject, request.context),
                        comment: request.settings.comment,
                        environment,
                        command: request.command,
                        context,
                    };
                    sinks.push(Box::new(Reporter::new(client, plan, redactor.clone(), log)));
                }
                Err(e) => sinks.push(Box::new(Degraded {
                    notice: String::new(),
                    error: Some(e),
                    log,
                })),
            }
        }
        Access::JobTokenOnly => sinks.push(Box::new(Degraded {
            notice: access::JOB_TOKEN_NOTICE.into(),
            error: None,
            log,
        })),
        Access::Nothing => sinks.push(Box::new(Degraded {
            notice: access::NO_TOKEN_NOTICE.into(),
            error: None,
            log,
        })),
    }
    Ok(sinks)
}
