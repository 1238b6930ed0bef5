//! Stage: report (no sink). What a run would report on GitHub, in words, for the readable plan
//! (sends nothing, builds no reporter), and `ferry check --probe`'s look at the token: one
//! read-only `GET /repos/{owner}/{repo}`, judged by what the answer tells (`permissions` for a
//! user's token, `X-OAuth-Scopes` for a classic PAT). It must never write (no status, no
//! deployment, no comment) and never show the token.

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::adapter::surfaces;
use super::client::Client;
use super::permissions::{no_token_fix, permission};
use super::status::context_name;
use super::target::Repo;
use crate::ci::Ci;
use crate::error::Error;
use crate::platform::probe::{Finding, Verdict};
use crate::report::forge::ReportRequest;
use crate::report::forge::adapter::Surface;
use crate::report::forge::degraded::NO_TOKEN;

/// What this run would report on GitHub, one line each (none when GitHub is not reported to).
pub(crate) fn planned(request: &ReportRequest<'_>) -> Vec<String> {
    let settings = request.settings;
    if settings.token.is_none() && request.context.ci != Ci::Github {
        return Vec::new();
    }
    let surfaces = surfaces(request.command, settings, request.environment);
    if settings.token.is_none() {
        return vec![format!(
            "GitHub: nothing ({NO_TOKEN}); fix: {}",
            no_token_fix(&surfaces)
        )];
    }
    let commit = request.subject.sha.as_deref().map_or_else(
        || "the commit".to_string(),
        |s| s.chars().take(12).collect(),
    );
    surfaces
        .iter()
        .map(|s| match s {
            Surface::Status => format!(
                "GitHub: commit status `{}` on {commit}",
                context_name(settings.status_context.as_deref(), request.environment)
            ),
            Surface::Deployment => format!(
                "GitHub: a deployment to environment `{}`",
                request.environment.unwrap_or_default()
            ),
            Surface::Comment => match request.subject.pr_number {
                Some(n) => format!("GitHub: the sticky pull-request comment on #{n}"),
                None => {
                    "GitHub: the sticky pull-request comment, when the commit has a pull request"
                        .into()
                }
            },
            Surface::Lookup => "GitHub: reads to find the pull request".into(),
        })
        .collect()
}

/// `ferry check --probe` for GitHub: the token, the repository, and what it may write.
pub(crate) async fn probe(request: &ReportRequest<'_>) -> Vec<Finding> {
    let settings = request.settings;
    let surfaces = surfaces(request.command, settings, request.environment);
    let item = "GitHub token";
    let Some(token) = settings.token.clone() else {
        if request.context.ci != Ci::Github {
            return Vec::new();
        }
        return vec![Finding::not_ok(
            item,
            Verdict::Missing,
            NO_TOKEN,
            no_token_fix(&surfaces),
        )];
    };
    let (Some(api), Some(repo)) = (
        request.context.api_url.as_deref(),
        request.context.repository.as_deref().and_then(Repo::parse),
    ) else {
        return vec![Finding::not_ok(
            item,
            Verdict::Missing,
            "the API URL or the repository is unknown (GITHUB_API_URL, GITHUB_REPOSITORY)",
            "run inside GitHub Actions, or set GITHUB_API_URL and GITHUB_REPOSITORY",
        )];
    };
    let client = match Client::new(api, token, request.redactor.clone()) {
        Ok(c) => c,
        Err(e) => return vec![Finding::from_error(item, &e, "check GITHUB_API_URL")],
    };
    let path = format!("/repos/{}", repo.as_str());
    let answer = match client.get(&path).await {
        Ok(a) => a,
        Err(e) => return vec![refused(item, &e, &path)],
    };
    let mut out = vec![Finding::ok(
        item,
        format!("GET {path}: the token is accepted and the repository is reachable"),
    )];
    out.extend(
        surfaces
            .iter()
            .map(|s| may_write(*s, &answer.body, &answer.headers)),
    );
    out
}

/// A refused `GET /repos/…`: 401 is a token GitHub does not take, 404 a repository the token
/// cannot see (GitHub hides private repositories that way).
fn refused(item: &str, e: &Error, path: &str) -> Finding {
    let status = match e {
        Error::PlatformApi { status, .. } => Some(*status),
        _ => None,
    };
    match status {
        Some(401) => Finding::not_ok(
            item,
            Verdict::Missing,
            format!("GitHub refused the token: GET {path} answered HTTP 401"),
            "set a current token in FERRY_TOKEN (the action's `token` input: ${{ github.token }} or a PAT)",
        ),
        Some(403 | 404) => Finding::not_ok(
            item,
            Verdict::Missing,
            format!(
                "GET {path} answered HTTP {}: the token cannot see the repository",
                status.unwrap_or_default()
            ),
            "use a token with access to this repository (a fine-grained PAT must list it), and check GITHUB_REPOSITORY",
        ),
        _ => Finding::from_error(item, e, "check GITHUB_API_URL and that GitHub is up"),
    }
}

/// What the repository answer tells about writing `surface`.
fn may_write(surface: Surface, repo: &Value, headers: &HeaderMap) -> Finding {
    let need = permission(surface);
    let item = format!("GitHub {need}");
    let fix = format!(
        "grant {need}: `permissions:` {need} on the job for GITHUB_TOKEN, the repo scope for a classic PAT, or write access for a fine-grained one"
    );
    // A classic token's scopes bound what its user may do: they are read first.
    if let Some(scopes) = headers.get("x-oauth-scopes").and_then(|v| v.to_str().ok()) {
        let scopes: Vec<&str> = scopes.split(',').map(str::trim).collect();
        let public = repo.get("private").and_then(Value::as_bool) == Some(false);
        let by_scope = match surface {
            Surface::Status => "repo:status",
            Surface::Deployment => "repo_deployment",
            Surface::Comment | Surface::Lookup => "repo",
        };
        let ok = scopes.contains(&"repo")
            || scopes.contains(&by_scope)
            || (public && scopes.contains(&"public_repo"));
        return if ok {
            Finding::ok(
                item,
                format!("the classic token's scopes: {}", scopes.join(", ")),
            )
        } else {
            Finding::not_ok(
                item,
                Verdict::Missing,
                format!(
                    "the classic token's scopes ({}) do not include it",
                    scopes.join(", ")
                ),
                fix,
            )
        };
    }
    if let Some(push) = repo.pointer("/permissions/push").and_then(Value::as_bool) {
        return if push {
            Finding::ok(
                item,
                "the token's user may push to the repository (a fine-grained token may still be narrower)",
            )
        } else {
            Finding::not_ok(
                item,
                Verdict::Missing,
                "the token's user may not push to the repository (permissions.push is false)",
                fix,
            )
        };
    }
    Finding::not_ok(
        item,
        Verdict::CannotTell,
        "GitHub tells an app's or workflow's token permissions only by refusing a write",
        format!("make sure the job lists `permissions:` {need}"),
    )
}
