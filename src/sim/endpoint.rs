//! Which simulated endpoint a request addresses, across all dialects: parsed once from the method
//! and path, so that fault matching, recording and dispatch can never disagree about a route.

use axum::http::Method;

use super::route::Route;
use super::{argocd, digitalocean, gitops, heroku, jenkins, netlify, paas, pipeline, render};

/// A known endpoint with its path parameters (percent-decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Paas(paas::Endpoint),
    Jenkins(jenkins::Endpoint),
    GitOps(gitops::Endpoint),
    Pipeline(pipeline::Endpoint),
    ArgoCd(argocd::Endpoint),
    Render(render::Endpoint),
    DigitalOcean(digitalocean::Endpoint),
    /// Under `/heroku` (and Heroku's object store and output streams).
    Heroku(heroku::Endpoint),
    /// Under `/netlify` (and Netlify's log WebSocket).
    Netlify(netlify::Endpoint),
    /// `GET /apps/{app}/{environment}`: the deployed app itself.
    AppPage {
        app: String,
        environment: String,
    },
}

/// Why no endpoint matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    NotFound,
    /// The path exists for other methods.
    MethodNotAllowed,
}

impl Endpoint {
    /// Parses `path` (no query) for `method`.
    pub(crate) fn parse(method: &Method, path: &str) -> Result<Endpoint, Miss> {
        let decoded: Vec<String> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let attempts = [
            // Hosted platforms first: each is served under a prefix of its own.
            heroku::parse(method, &segs).map(Endpoint::Heroku),
            netlify::parse(method, &segs).map(Endpoint::Netlify),
            paas::parse(method, &segs).map(Endpoint::Paas),
            jenkins::parse(method, &segs).map(Endpoint::Jenkins),
            gitops::parse(method, &segs).map(Endpoint::GitOps),
            pipeline::parse(method, &segs).map(Endpoint::Pipeline),
            argocd::parse(method, &segs).map(Endpoint::ArgoCd),
            render::parse(method, &segs).map(Endpoint::Render),
            digitalocean::parse(method, &segs).map(Endpoint::DigitalOcean),
            match segs.as_slice() {
                ["apps", app, environment] => only(method, &Method::GET, || Endpoint::AppPage {
                    app: (*app).to_owned(),
                    environment: (*environment).to_owned(),
                }),
                _ => Err(Miss::NotFound),
            },
        ];
        let mut miss = Miss::NotFound;
        for attempt in attempts {
            match attempt {
                Ok(endpoint) => return Ok(endpoint),
                Err(Miss::MethodNotAllowed) => miss = Miss::MethodNotAllowed,
                Err(Miss::NotFound) => {}
            }
        }
        Err(miss)
    }

    /// The role of a request to this endpoint, for faults and recordings.
    pub(crate) fn route(&self) -> Option<Route> {
        match self {
            Endpoint::Paas(e) => e.route(),
            Endpoint::Jenkins(e) => Some(e.route()),
            Endpoint::GitOps(e) => Some(e.route()),
            Endpoint::Pipeline(e) => Some(e.route()),
            Endpoint::ArgoCd(e) => Some(e.route()),
            Endpoint::Render(e) => e.route(),
            Endpoint::DigitalOcean(e) => e.route(),
            Endpoint::Heroku(e) => e.route(),
            Endpoint::Netlify(e) => e.route(),
            Endpoint::AppPage { .. } => None,
        }
    }
}

/// `Ok(make())` when the method is `allowed`, else `MethodNotAllowed` (the path did match).
pub(crate) fn only<T>(
    method: &Method,
    allowed: &Method,
    make: impl FnOnce() -> T,
) -> Result<T, Miss> {
    if method == allowed {
        Ok(make())
    } else {
        Err(Miss::MethodNotAllowed)
    }
}

/// A path segment that must be a number (queue item, build number, pipeline id).
pub(crate) fn number(seg: &str) -> Result<u64, Miss> {
    seg.parse().map_err(|_| Miss::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &Method, path: &str) -> Option<Route> {
        Endpoint::parse(method, path).ok().and_then(|e| e.route())
    }

    #[test]
    fn classifies_every_dialect() {
        use Route::{Cancel, Log, Status, Trigger};
        let cases = [
            (Method::POST, "/v1/apps/web/builds", Some(Trigger)),
            (Method::POST, "/v1/apps/web/deployments", Some(Trigger)),
            (
                Method::DELETE,
                "/v1/apps/web/environments/review-1",
                Some(Trigger),
            ),
            (Method::GET, "/v1/builds/b-1", Some(Status)),
            (Method::GET, "/v1/deployments/d-1/log", Some(Log)),
            (Method::POST, "/v1/stops/s-1/cancel", Some(Cancel)),
            (Method::POST, "/queue/job/web/build", Some(Trigger)),
            (Method::POST, "/job/web/buildWithParameters", Some(Trigger)),
            (Method::GET, "/queue/item/3/api/json", Some(Status)),
            (Method::POST, "/queue/cancelItem", Some(Cancel)),
            (Method::GET, "/job/web/3/api/json", Some(Status)),
            (Method::GET, "/job/web/3/logText/progressiveText", Some(Log)),
            (
                Method::POST,
                "/job/web/3/logText/progressiveText",
                Some(Log),
            ),
            (Method::POST, "/job/web/3/stop", Some(Cancel)),
            (Method::POST, "/gitops/apps/web/sync", Some(Trigger)),
            (Method::GET, "/gitops/apps/web", Some(Status)),
            (Method::DELETE, "/gitops/apps/web/operation", Some(Cancel)),
            (Method::POST, "/ci/pipelines", Some(Trigger)),
            (Method::GET, "/ci/pipelines/4", Some(Status)),
            (Method::GET, "/ci/pipelines/4/trace", Some(Log)),
            (Method::POST, "/ci/pipelines/4/cancel", Some(Cancel)),
            (Method::GET, "/apps/web/staging", None),
            (Method::GET, "/nowhere", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn decodes_segments_and_tells_wrong_methods_apart() {
        assert_eq!(
            Endpoint::parse(&Method::GET, "/apps/my%20app/review-1"),
            Ok(Endpoint::AppPage {
                app: "my app".into(),
                environment: "review-1".into()
            })
        );
        assert_eq!(
            Endpoint::parse(&Method::DELETE, "/v1/apps/web/builds"),
            Err(Miss::MethodNotAllowed)
        );
        assert_eq!(
            Endpoint::parse(&Method::GET, "/ci/pipelines/x"),
            Err(Miss::NotFound)
        );
    }
}
