//! Reporting to GitHub: an [`Adapter`](crate::report::forge::adapter::Adapter) for the shared
//! forge reporter, and the setup that picks it (or a notice saying why there is none).
//!
//! | when | what | calls |
//! |---|---|---|
//! | the first phase starts | find the pull request and head commit ([`target`]) | 0–1 |
//! | | commit status `pending` ([`status`]), which also tells ferry who it is ([`identity`]) | 1 |
//! | | a deployment and its `in_progress` status ([`deployment`]) | 2 |
//! | the run ends | the deployment's final status, the commit status's final state | 2 |
//! | | the sticky pull-request comment ([`sticky`]) | 3 |
//!
//! So a pull-request deploy makes 8 calls; a push that has to look its pull request up, 9. The
//! job summary and step outputs are CI files, written by their own sinks (`report::ci_files`)
//! with or without a token.
//!
//! When to call what, what a refusal closes (one kind of report for a missing permission; all
//! of them for a fork's read-only token, [`permissions`]) and how failures are worded is the
//! shared reporter's (`report::forge`). Requests go through [`client`], which honours rate limits
//! ([`rate_limit`]) and never sends a creating request twice.
//!
//! The log side (groups, `::error::` annotations, neutralised platform lines) is the console
//! sink's; the setup here only registers secrets read from files with `::add-mask::`, before
//! anything else is written.

mod adapter;
mod client;
mod deployment;
pub(crate) mod doctor;
mod identity;
mod permissions;
mod rate_limit;
mod status;
mod sticky;
mod target;

use std::io::Write as _;

use self::adapter::{GithubAdapter, NAMES, surfaces};
use self::client::Client;
use self::target::Repo;
use super::Sink;
use super::findings::Findings;
use super::forge::ReportRequest;
use super::forge::degraded::{Degraded, NO_TOKEN, NoApi};
use super::forge::reporter::{ForgeReporter, Setup};
use super::workflow_commands::escape_data;
use crate::ci::Ci;
use crate::config::Settings;
use crate::secret::ExposeSecret;
use crate::stream::Stream;

/// The GitHub sink for a run whose repository lives on GitHub: the reporter when there is a
/// token, an API URL and a repository; else a notice saying what was skipped and why (nothing
/// at all outside GitHub Actions without a token: no GitHub reporting was asked for).
pub(crate) fn reporter(request: &ReportRequest<'_>, findings: &Findings) -> Option<Box<dyn Sink>> {
    let context = request.context;
    let settings = request.settings;
    let mut log = request.log.clone();
    if context.ci == Ci::Github {
        register_masks(settings, request, &mut log);
    }
    let surfaces = surfaces(request.command, settings, request.environment);
    let failed = |why: &str, fix: &str| Degraded::failed(NAMES, surfaces.clone(), why, fix);
    let degraded = match (settings.token.clone(), context.api_url.as_deref()) {
        (None, _) if context.ci != Ci::Github => return None,
        (None, _) => Degraded::no_token(
            NAMES,
            surfaces.clone(),
            NO_TOKEN,
            permissions::no_token_fix(&surfaces),
        ),
        (Some(token), Some(api_url)) => {
            let repo = context.repository.as_deref().and_then(Repo::parse);
            match (repo, Client::new(api_url, token, request.redactor.clone())) {
                (Some(repo), Ok(client)) => {
                    let adapter = GithubAdapter {
                        client,
                        repo,
                        settings: settings.clone(),
                        subject: request.subject.clone(),
                        context: context.clone(),
                        command: request.command,
                        environment: request.environment.map(str::to_owned),
                        target: None,
                        identity: None,
                        deployment: None,
                    };
                    let setup = Setup {
                        context: context.clone(),
                        command: request.command,
                        redactor: request.redactor.clone(),
                        findings: findings.clone(),
                        log,
                    };
                    return Some(Box::new(ForgeReporter::new(adapter, setup)));
                }
                (None, _) => failed(
                    "the repository is unknown (GITHUB_REPOSITORY is not owner/name)",
                    "run ferry inside GitHub Actions, or set GITHUB_REPOSITORY",
                ),
                (_, Err(e)) => Degraded::unusable(NAMES, surfaces.clone(), &e),
            }
        }
        (Some(_), None) => failed(
            "the API URL is unknown (GITHUB_API_URL is not set)",
            "set GITHUB_API_URL, e.g. https://api.github.com or https://HOST/api/v3 on GitHub \
             Enterprise Server",
        ),
    };
    Some(Box::new(NoApi::new(degraded, log, findings.clone())))
}

/// `::add-mask::` for the secrets read from files: GitHub masks the ones the workflow passed
/// from `secrets.*` (and `github.token`) itself, but cannot know a value ferry read from a file.
fn register_masks(settings: &Settings, request: &ReportRequest<'_>, log: &mut Stream) {
    let pairs = [
        (&settings.token, ["FERRY_TOKEN", "INPUT_TOKEN"]),
        (
            &settings.platform_token,
            ["FERRY_PLATFORM_TOKEN", "INPUT_PLATFORM_TOKEN"],
        ),
    ];
    for (secret, names) in pairs {
        let Some(secret) = secret else { continue };
        let value = secret.expose_secret().trim();
        let from_env = names
            .iter()
            .any(|n| request.env.get(n).map(str::trim) == Some(value));
        if value.is_empty() || from_env {
            continue;
        }
        // Each line of a multi-line secret is masked on its own.
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(log, "::add-mask::{}", escape_data(line));
        }
    }
    let _ = log.flush();
}
