//! The path every platform request takes: buffer and record it, let a scripted fault answer it,
//! check the token, then hand it to its dialect.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::time::Instant;

use super::call::Call;
use super::endpoint::{Endpoint, Miss};
use super::fault::Fault;
use super::recorded::RecordedRequest;
use super::world::Shared;
use super::{
    argocd, digitalocean, gitops, heroku, jenkins, netlify, paas, pipeline, render, reply,
};

/// Request bodies larger than this are refused (they are recorded, so keep them bounded).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The fallback handler: every request that is not a `/_sim` control request.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (body, too_large) = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => (body, false),
        Err(_) => (Bytes::new(), true),
    };
    let parsed = Endpoint::parse(&parts.method, parts.uri.path());
    let route = parsed.as_ref().ok().and_then(Endpoint::route);
    shared.record(RecordedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        route,
        at_ms: shared.elapsed_ms(),
    });
    if too_large {
        return reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {BODY_LIMIT} bytes"),
        );
    }
    let fault = shared.world().fault_for(route);
    let Some(fault) = fault else {
        return serve(&shared, &parts, &body, parsed);
    };
    let answer = fault_answer(parsed.as_ref().ok(), &fault);
    if fault.apply_first {
        // Served, then the response is "lost": the client sees only the fault.
        drop(serve(&shared, &parts, &body, parsed));
    }
    answer
}

/// A scripted fault in the words of the dialect it hits (a hosted platform's error document and
/// rate-limit headers), or the simulator's own.
fn fault_answer(endpoint: Option<&Endpoint>, fault: &Fault) -> Response {
    match endpoint {
        Some(Endpoint::Render(_)) => render::fault(fault),
        Some(Endpoint::DigitalOcean(_)) => digitalocean::fault(fault),
        Some(Endpoint::Heroku(e)) => heroku::fault(e, fault),
        Some(Endpoint::Netlify(e)) => netlify::fault(e, fault),
        _ => reply::fault(fault),
    }
}

fn serve(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: &Bytes,
    parsed: Result<Endpoint, Miss>,
) -> Response {
    let path = parts.uri.path();
    let mut world = shared.world();
    if (path == "/v1" || path.starts_with("/v1/"))
        && let Some(token) = &world.script.require_token
    {
        let expected = format!("Bearer {token}");
        let given = parts.headers.get(header::AUTHORIZATION);
        if given.map(HeaderValue::as_bytes) != Some(expected.as_bytes()) {
            return reply::error(StatusCode::UNAUTHORIZED, "missing or wrong token");
        }
    }
    let endpoint = match parsed {
        Ok(endpoint) => endpoint,
        Err(Miss::NotFound) => {
            return reply::error(
                StatusCode::NOT_FOUND,
                format!("no such endpoint: {} {path}", parts.method),
            );
        }
        Err(Miss::MethodNotAllowed) => {
            return reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed on {path}", parts.method),
            );
        }
    };
    let base = parts
        .headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map_or_else(|| shared.url.clone(), |host| format!("http://{host}"));
    let call = Call {
        method: &parts.method,
        path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
        base,
        now: Instant::now(),
    };
    match endpoint {
        Endpoint::Paas(e) => paas::handle(&mut world, &call, e, shared),
        Endpoint::Jenkins(e) => jenkins::handle(&mut world, &call, e),
        Endpoint::GitOps(e) => gitops::handle(&mut world, &call, e),
        Endpoint::Pipeline(e) => pipeline::handle(&mut world, &call, e),
        Endpoint::ArgoCd(e) => argocd::handle(&mut world, &call, e, shared),
        Endpoint::Render(e) => render::handle(&mut world, &call, e),
        Endpoint::DigitalOcean(e) => {
            digitalocean::handle(&mut world, &call, e, shared, &parts.extensions)
        }
        Endpoint::Heroku(e) => heroku::handle(&mut world, &call, e, shared),
        Endpoint::Netlify(e) => {
            let upgrade = parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned();
            netlify::handle(&mut world, &call, e, shared, upgrade)
        }
        Endpoint::AppPage { app, environment } => {
            if world.store.is_live(&app, &environment, call.now) {
                let page = format!(
                    "<!doctype html>\n<title>{app}</title>\n<p>hello from {app} ({environment})</p>\n",
                    app = escape(&app),
                    environment = escape(&environment),
                );
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    page,
                )
                    .into_response()
            } else {
                reply::error(
                    StatusCode::NOT_FOUND,
                    format!("{app} is not deployed to {environment}"),
                )
            }
        }
    }
}

/// Escapes text for HTML (names come from the URL).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
