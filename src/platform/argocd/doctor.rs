//! Stage: platform. The Argo CD backend's part of the readable plan (what the deploy sends and
//! waits for) and of `ferry check --probe` (`GET /api/v1/applications/<app>` with the token:
//! the API server is reachable, the token accepted, the application exists). `describe` sends
//! nothing; `probe` sends only that GET, never a sync.

use super::ArgoBackend;
use super::spec::Suspended;
use crate::platform::backend::Vars;
use crate::platform::described::{self, Described};
use crate::platform::event::Phase;
use crate::platform::http::template::{Target, render};
use crate::platform::probe::Finding;

impl ArgoBackend {
    /// What `phase` sends, in order, and what it waits for.
    pub(super) fn describe_phase(&self, phase: Phase, vars: &Vars) -> Described {
        let mut out = Described::default();
        let Some(spec) = self.phases.get(&phase) else {
            return out;
        };
        let app = described::partial(&spec.application, vars);
        let later = app.contains("{{");
        let path = if later {
            format!("/api/v1/applications/{app}")
        } else {
            Self::app_path(&app)
        };
        let url = |p: &str| match self.url(spec, p, &[]) {
            Ok(u) if !later => u.to_string(),
            _ => described::url(self.client.base(), p, vars),
        };
        out.push("trigger", "POST", url(&format!("{path}/sync")));
        out.push("status", "GET", url(&path));
        if spec.watch {
            out.push(
                "status",
                "GET",
                format!(
                    "{}?name={app} (watch stream)",
                    url("/api/v1/stream/applications")
                ),
            );
        }
        out.push("cancel", "DELETE", url(&format!("{path}/operation")));
        let suspended = match spec.suspended {
            Suspended::Success => "; Suspended succeeds",
            Suspended::Failure => "; Suspended fails",
            Suspended::Wait => "",
        };
        out.waits_for = format!(
            "the sync operation to finish (argocd app wait's rules): success Synced and Healthy; failure the operation Failed or Error, or Degraded{suspended}; anything else keeps waiting"
        );
        out
    }

    /// `GET /api/v1/applications/<app>` for each application the phases sync.
    pub(super) async fn probe_apps(&self, phases: &[Phase], vars: &Vars) -> Vec<Finding> {
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for phase in phases {
            let Some(spec) = self.phases.get(phase) else {
                continue;
            };
            let item = format!("{}: application for [{phase}]", self.name);
            let app = match render(&spec.application, vars, Target::Text) {
                Ok(app) => app,
                Err(e) => {
                    out.push(Finding::not_ok(
                        item,
                        crate::platform::probe::Verdict::Missing,
                        format!(
                            "`application`: {}",
                            e.message().lines().next().unwrap_or_default()
                        ),
                        "give it under [vars] or with --var",
                    ));
                    continue;
                }
            };
            if seen.contains(&app) {
                continue;
            }
            seen.push(app.clone());
            let shown = self
                .url(spec, &Self::app_path(&app), &[])
                .map(|u| self.client.redact(u.as_str()))
                .unwrap_or_default();
            out.push(match self.get_app(spec, &app).await {
                Ok(_) => Finding::ok(
                    item,
                    format!(
                        "GET {shown} answered: the token is accepted and application {app:?} exists"
                    ),
                ),
                Err(e) => Finding::from_error(item, &e, "check `application` and the token"),
            });
        }
        out
    }
}
