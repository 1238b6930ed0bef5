//! Reporting to GitLab: the commit status and the sticky merge-request note, as an
//! [`Adapter`](crate::report::forge::adapter::Adapter) for the shared forge reporter, and the
//! setup that picks it when ferry runs in GitLab CI (or a notice saying why there is none). The
//! dotenv report is a CI file with a sink of its own (`report::ci_files`); the collapsible log
//! sections are the console's `GitlabCi` flavour.
//!
//! | module | concept |
//! |---|---|
//! | `client` | ferry's reqwest client behind the `gitlab` crate's endpoint traits: base URL, token header, https-only, retries, errors |
//! | `endpoints` | the endpoints the crate lacks (get/delete one note, one page of a list) |
//! | `target` | where the status and the note go (project, commit, pipeline, MR IID) |
//! | `status` | the commit status: names, states, descriptions, GitLab's 400/409 quirks |
//! | `note` | the sticky MR note: marker + author, all pages, merge and read back |
//! | `access` | which token is there, and what to tell the user when it cannot write |
//! | `adapter` | the status and the note as the shared reporter's operations |
//!
//! Reporting is best effort: failures come back as warnings (`report::forge` words them and
//! decides what a refusal closes), never change the deploy's result (unless
//! `fail_on_report_error`), and no token ever reaches a note or the log.

mod access;
mod adapter;
mod client;
pub(crate) mod doctor;
mod endpoints;
mod note;
mod status;
mod target;

pub(crate) use access::redactor;

use crate::error::{Error, Result};
use crate::report::findings::Findings;
use crate::report::forge::degraded::{Degraded, NO_TOKEN, NoApi};
use crate::report::forge::reporter::{ForgeReporter, Setup};
use crate::report::{DEFAULT_ENVIRONMENT, ReportRequest, Sink};

use self::access::Access;
use self::adapter::{GitlabAdapter, NAMES, Plan, surfaces};
use self::client::GitlabClient;

/// The GitLab sink for a run in GitLab CI: the reporter when there is a token that can write
/// and an API URL, else a notice saying what was skipped and why.
///
/// Fails, before anything is triggered, only on a `status_context` equal to this job's name.
pub(crate) fn reporter(
    request: &ReportRequest<'_>,
    findings: &Findings,
) -> Result<Option<Box<dyn Sink>>> {
    let redactor = access::redactor(request.settings, request.env);
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
    let surfaces = surfaces(request.settings.comment);
    let degraded = match access::decide(request.settings, request.env) {
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
            match request.context.api_url.as_deref() {
                None => Degraded::failed(
                    NAMES,
                    surfaces,
                    "the API URL is unknown (CI_API_V4_URL is not set)",
                    "GitLab CI sets it for every job; outside a job, export the instance's API URL (e.g. https://gitlab.example.com/api/v4)",
                ),
                Some(api_url) => match GitlabClient::new(api_url, &token, redactor.clone()) {
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
                        let setup = Setup {
                            context: request.context.clone(),
                            command: request.command,
                            redactor: redactor.clone(),
                            findings: findings.clone(),
                            log,
                        };
                        let adapter = GitlabAdapter {
                            client,
                            plan,
                            redactor,
                        };
                        return Ok(Some(Box::new(ForgeReporter::new(adapter, setup))));
                    }
                    Err(e) => Degraded::unusable(NAMES, surfaces, &e),
                },
            }
        }
        Access::JobTokenOnly => {
            Degraded::no_token(NAMES, surfaces, access::JOB_TOKEN_ONLY, access::TOKEN_FIX)
        }
        Access::Nothing => Degraded::no_token(NAMES, surfaces, NO_TOKEN, access::TOKEN_FIX),
    };
    Ok(Some(Box::new(NoApi::new(degraded, log, findings.clone()))))
}
