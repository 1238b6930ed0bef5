//! Stage: platform. The Jenkins backend's part of the readable plan (what each phase sends and
//! waits for) and of `ferry check --probe` (`GET <job>/api/json` with the credential: Jenkins
//! is reachable, the API token accepted, the job exists). `describe` sends nothing; `probe`
//! sends only that GET, never a build.

use super::JenkinsBackend;
use super::spec::Unstable;
use crate::platform::backend::Vars;
use crate::platform::described::{self, Described};
use crate::platform::event::Phase;
use crate::platform::http::client::Request;
use crate::platform::probe::Finding;

impl JenkinsBackend {
    /// The job's path for `phase`, rendered, or as written when a value is known only later.
    fn shown_job(&self, phase: Phase, vars: &Vars) -> Option<String> {
        let spec = self.phases.get(&phase)?;
        Some(Self::job_path(phase, spec, vars).unwrap_or_else(|_| spec.job.clone()))
    }

    /// What `phase` sends, in order, and what it waits for.
    pub(super) fn describe_phase(&self, phase: Phase, vars: &Vars) -> Described {
        let mut out = Described::default();
        let (Some(spec), Some(job)) = (self.phases.get(&phase), self.shown_job(phase, vars)) else {
            return out;
        };
        let base = self.client.base();
        let trigger = if let Some(params) = &spec.parameters {
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", described::partial(v, vars)))
                .collect();
            format!("{job}/buildWithParameters?{}", query.join("&"))
        } else {
            format!("{job}/build")
        };
        let trigger = trigger.trim_end_matches('?').to_string();
        out.push("trigger", "POST", described::url(base, &trigger, vars));
        out.push(
            "resolve",
            "GET",
            "{{ queue item (Location) }}api/json".into(),
        );
        out.push("status", "GET", "{{ build url }}api/json?tree=…".into());
        out.push(
            "logs",
            "GET",
            "{{ build url }}logText/progressiveText?start={{ offset }}".into(),
        );
        out.push(
            "cancel",
            "POST",
            "{{ queue }}cancelItem?id={{ item }} while queued, {{ build url }}stop once running"
                .into(),
        );
        let unstable = match spec.unstable {
            Unstable::Success => "SUCCESS or UNSTABLE",
            Unstable::Failure => "SUCCESS",
        };
        out.waits_for = format!(
            "the queue item to become a build, then building = false: success {unstable}; anything else (FAILURE, ABORTED, NOT_BUILT{}) fails",
            if spec.unstable == Unstable::Failure {
                ", UNSTABLE"
            } else {
                ""
            }
        );
        out
    }

    /// `GET <job>/api/json` for each job the phases run.
    pub(super) async fn probe_jobs(&self, phases: &[Phase], vars: &Vars) -> Vec<Finding> {
        let mut jobs: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for phase in phases {
            let Some(spec) = self.phases.get(phase) else {
                continue;
            };
            let item = format!("{}: job for [{phase}]", self.name);
            let job = match Self::job_path(*phase, spec, vars) {
                Ok(job) => job,
                Err(e) => {
                    out.push(Finding::from_error(item, &e, "check `job` and `branch`"));
                    continue;
                }
            };
            if jobs.contains(&job) {
                continue;
            }
            jobs.push(job.clone());
            out.push(self.probe_job(item, &job).await);
        }
        out
    }

    async fn probe_job(&self, item: String, job: &str) -> Finding {
        let url = match self.client.url(&format!("{job}/api/json")) {
            Ok(url) => url,
            Err(e) => return Finding::from_error(item, &e, "check `job`"),
        };
        let shown = self.client.redact(url.as_str());
        match self.json(Request::new(reqwest::Method::GET, url)).await {
            Ok(_) => Finding::ok(
                item,
                format!("GET {shown} answered: the credential is accepted and the job exists"),
            ),
            Err(e) => {
                let e = Self::api_hint(e, job);
                Finding::from_error(item, &e, "check `job` and the credential")
            }
        }
    }
}
