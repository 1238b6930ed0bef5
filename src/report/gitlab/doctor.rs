//! Stage: report (no sink). What a run would report on GitLab, in words, for the readable plan
//! (sends nothing, builds no reporter), and `ferry check --probe`'s look at the token: one
//! read-only `GET /personal_access_tokens/self` for its scopes (statuses and notes need `api`).
//! A job token alone is told without a request: GitLab lets it post neither. It must never
//! write and never show a token.

use std::borrow::Cow;

use gitlab::api::Endpoint;
use http::Method;
use serde::Deserialize;

use super::access::{self, Access, JOB_TOKEN_ONLY, TOKEN_FIX};
use super::adapter::surfaces;
use super::client::GitlabClient;
use super::status;
use super::target::{self, NoteTarget};
use crate::ci::Ci;
use crate::platform::probe::{Finding, Verdict};
use crate::report::DEFAULT_ENVIRONMENT;
use crate::report::forge::ReportRequest;
use crate::report::forge::adapter::Surface;
use crate::report::forge::degraded::NO_TOKEN;

/// `GET /personal_access_tokens/self` (GitLab 15.5+; project and group access tokens answer it
/// too).
struct TokenSelf;

impl Endpoint for TokenSelf {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        "personal_access_tokens/self".into()
    }
}

/// The part of the answer the probe reads.
#[derive(Deserialize)]
struct TokenInfo {
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    revoked: Option<bool>,
}

/// What this run would report on GitLab, one line each (none outside GitLab CI).
pub(crate) fn planned(request: &ReportRequest<'_>) -> Vec<String> {
    if request.context.ci != Ci::Gitlab {
        return Vec::new();
    }
    let why = match access::decide(request.settings, request.env) {
        Access::Token(_) => None,
        Access::JobTokenOnly => Some(JOB_TOKEN_ONLY),
        Access::Nothing => Some(NO_TOKEN),
    };
    if let Some(why) = why {
        return vec![format!("GitLab: nothing ({why}); fix: {TOKEN_FIX}")];
    }
    let environment = request.environment.unwrap_or(DEFAULT_ENVIRONMENT);
    let name = request
        .settings
        .status_context
        .clone()
        .unwrap_or_else(|| status::default_name(environment));
    surfaces(request.settings.comment)
        .iter()
        .filter_map(|s| match s {
            Surface::Status => Some(format!("GitLab: commit status `{name}` in this pipeline")),
            Surface::Comment => Some(
                match target::note_target(request.subject, request.context) {
                    NoteTarget::MergeRequest { iid, .. } => {
                        format!("GitLab: the sticky merge-request note on !{iid}")
                    }
                    NoteTarget::LookUp { .. } => {
                        "GitLab: the sticky merge-request note, when the commit has an open merge request".into()
                    }
                    NoteTarget::None(_) | NoteTarget::Invalid(_) => return None,
                },
            ),
            Surface::Deployment | Surface::Lookup => None,
        })
        .collect()
}

/// `ferry check --probe` for GitLab: a token that may post statuses and notes.
pub(crate) async fn probe(request: &ReportRequest<'_>) -> Vec<Finding> {
    if request.context.ci != Ci::Gitlab {
        return Vec::new();
    }
    let item = "GitLab token (api scope)";
    let token = match access::decide(request.settings, request.env) {
        Access::Token(t) => t,
        Access::JobTokenOnly => {
            return vec![Finding::not_ok(
                item,
                Verdict::Missing,
                "missing: a project access token with the api scope in FERRY_TOKEN (only CI_JOB_TOKEN is there, and GitLab lets a job token post neither commit statuses nor merge-request notes)",
                TOKEN_FIX,
            )];
        }
        Access::Nothing => {
            return vec![Finding::not_ok(item, Verdict::Missing, NO_TOKEN, TOKEN_FIX)];
        }
    };
    let Some(api) = request.context.api_url.as_deref() else {
        return vec![Finding::not_ok(
            item,
            Verdict::Missing,
            "the API URL is unknown (CI_API_V4_URL is not set)",
            "GitLab CI sets it for every job; outside a job, export the instance's API URL",
        )];
    };
    let client =
        match GitlabClient::new(api, &token, access::redactor(request.settings, request.env)) {
            Ok(c) => c,
            Err(e) => return vec![Finding::from_error(item, &e, "check CI_API_V4_URL")],
        };
    let info: TokenInfo = match client.call(&TokenSelf).await {
        Ok(info) => info,
        Err(f) => {
            let verdict = match f.status {
                None => Verdict::Unreachable,
                Some(s) if s >= 500 || s == 429 => Verdict::Unreachable,
                Some(_) => Verdict::Missing,
            };
            let said = match f.status {
                Some(401) => "GitLab refused the token".to_string(),
                Some(s) => format!("HTTP {s}"),
                None => "no answer".to_string(),
            };
            return vec![Finding::not_ok(
                item,
                verdict,
                format!("{} {}: {said}: {}", f.method, f.url, f.message),
                f.hint.unwrap_or_else(|| TOKEN_FIX.to_string()),
            )];
        }
    };
    if info.revoked == Some(true) || info.active == Some(false) {
        return vec![Finding::not_ok(
            item,
            Verdict::Missing,
            "the token is revoked or expired",
            TOKEN_FIX,
        )];
    }
    if info.scopes.iter().any(|s| s == "api") {
        vec![Finding::ok(
            item,
            format!("the token is accepted; scopes: {}", info.scopes.join(", ")),
        )]
    } else {
        vec![Finding::not_ok(
            item,
            Verdict::Missing,
            format!(
                "the token lacks the api scope (scopes: {})",
                info.scopes.join(", ")
            ),
            TOKEN_FIX,
        )]
    }
}
