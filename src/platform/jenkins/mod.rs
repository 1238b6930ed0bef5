//! The `jenkins` backend: Jenkins' remote build API.
//!
//! Trigger `buildWithParameters` (or `build`), follow the queue item named by `Location` (201 for
//! a new item, 303 when Jenkins merged the request into an identical queued one) until it has an
//! executable, read `building`/`result`, stream the console with `progressiveText`, and cancel
//! with `queue/cancelItem` while queued or `stop` once running. API-token basic auth (no crumb is
//! needed with a token). Sources: Jenkins core's
//! `ParametersDefinitionProperty`, `ParameterizedJobMixIn`, `Queue`, `Run#doStop`, and stapler's
//! `LargeText`. It never sends `Accept: multipart/form-data` (newer Jenkins UIs do, and get a
//! multipart answer instead of text).

pub(crate) mod console;
mod doctor;
pub(crate) mod outputs;
pub(crate) mod path;
pub(crate) mod plan;
pub(crate) mod spec;
pub(crate) mod state;

use std::collections::BTreeMap;

use async_trait::async_trait;
use url::Url;

use self::spec::{JenkinsPhase, Unstable};
use self::state::JenkinsState;
use super::backend::{
    Backend, BackendState, LogRead, LogSink, Observation, Operation, Resolved, Vars,
};
use super::credential::CredentialSource;
use super::event::{Phase, StateClass};
use super::http::client::{Client, Request};
use super::http::template::{Target, render};
use crate::error::{Error, Result, quote};
use crate::net::Replay;

/// The fields ferry reads from a build (`tree=` keeps the answer small).
const BUILD_TREE: &str = "number,url,building,result,duration,estimatedDuration,displayName,description,artifacts[fileName,relativePath],actions[parameters[name,value]]";

/// A Jenkins server and the jobs each phase runs.
#[derive(Debug)]
pub(crate) struct JenkinsBackend {
    client: Client,
    name: String,
    phases: BTreeMap<Phase, JenkinsPhase>,
    credential: CredentialSource,
}

impl JenkinsBackend {
    /// A backend for the Jenkins at `client`'s base URL. Checks every phase's job name.
    pub(crate) fn new(
        client: Client,
        phases: BTreeMap<Phase, JenkinsPhase>,
        credential: CredentialSource,
    ) -> Result<Self> {
        for (phase, spec) in &phases {
            if spec.job.trim().is_empty() || spec.job.split('/').any(|p| p.trim().is_empty()) {
                return Err(Error::ConfigFile {
                    path: format!("ferry.toml [{phase}]"),
                    message: format!(
                        "job = {} is not a job's full name\n  fix: write the folders and the job separated by /, e.g. job = \"team/shop\"",
                        quote(&spec.job)
                    ),
                });
            }
            for (name, text) in &spec.outputs {
                outputs::OutputSource::parse(text).ok_or_else(|| Error::ConfigFile {
                    path: format!("ferry.toml [{phase}.outputs]"),
                    message: format!(
                        "`{name}` = {} is not a value source\n  fix: use a JSON Pointer into the build (/description), parameter:NAME, artifact:FILE or a template ({{{{ number }}}})",
                        quote(text)
                    ),
                })?;
            }
        }
        Ok(Self {
            name: client.name().to_string(),
            client: client.without_redirects(),
            phases,
            credential,
        })
    }

    fn spec(&self, phase: Phase) -> Result<&JenkinsPhase> {
        self.phases.get(&phase).ok_or_else(|| Error::Unsupported {
            what: format!("the {phase} phase on {}", self.name),
            hint: format!("add a [{phase}] table with platform = \"…\" and job = \"…\""),
        })
    }

    /// Maps a refused credential to a message naming the setting.
    fn refused(&self, e: Error) -> Error {
        let user = if self.credential.present {
            "check that it is a current API token of the user set in `user` (Jenkins: your user → Security → API Token) and that this user may build the job"
        } else {
            "this Jenkins needs a login: set `user` and an API token in the variable named by `token_env` (or `token_file`) of the platform"
        };
        self.credential.check(e, user)
    }

    /// A URL Jenkins gave us (`Location`, `executable.url`), on the origin we talk to: Jenkins
    /// builds them from its configured root URL, which may differ from the address ferry uses
    /// (a proxy, an internal name), and credentials go only to our own origin.
    fn rebase(&self, given: &str, request: &Url) -> Result<Url> {
        let mut url = request.join(given).map_err(|e| Error::BadResponse {
            platform: self.name.clone(),
            url: self.client.redact(request.as_str()),
            problem: format!("Jenkins gave the URL {given:?}, which is not valid ({e})"),
            hint: "check Jenkins' root URL (Manage Jenkins → System → Jenkins URL)".into(),
        })?;
        let base = self.client.base();
        if url.origin() != base.origin() {
            let _ = url.set_scheme(base.scheme());
            let _ = url.set_host(base.host_str());
            let _ = url.set_port(base.port());
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }

    fn get(url: Url) -> Request {
        Request::new(reqwest::Method::GET, url)
    }

    fn post(url: Url, expect: Vec<u16>) -> Request {
        Request {
            method: reqwest::Method::POST,
            url,
            headers: Vec::new(),
            body: None,
            expect,
        }
    }

    async fn json(&self, req: Request) -> Result<serde_json::Value> {
        let url = self.client.redact(req.url.as_str());
        let resp = self.client.send(req).await.map_err(|e| self.refused(e))?;
        let bytes = self.client.body(resp, &url).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadResponse {
            platform: self.name.clone(),
            url,
            problem: format!(
                "the body is not JSON ({e}): {}",
                self.client
                    .redact(&crate::net::shorten(&String::from_utf8_lossy(&bytes), 200))
            ),
            hint: "check that the platform's url is Jenkins' root URL".into(),
        })
    }

    fn job_path(phase: Phase, spec: &JenkinsPhase, vars: &Vars) -> Result<String> {
        let missing = |e: super::http::template::TemplateError| e.in_section(&format!("[{phase}]"));
        let job = render(&spec.job, vars, Target::Text).map_err(missing)?;
        let branch = spec
            .branch
            .as_deref()
            .map(|b| render(b, vars, Target::Text))
            .transpose()
            .map_err(missing)?;
        path::job_path(&job, branch.as_deref()).ok_or_else(|| Error::InvalidSetting {
            name: "job".into(),
            source_name: format!("[{phase}] in ferry.toml"),
            problem: format!("the job {job:?} (branch {branch:?}) has an empty part"),
            hint: "write folders and the job separated by single /, and make sure the branch is known (ref_name)".into(),
        })
    }

    fn api_hint(e: Error, job: &str) -> Error {
        match e {
            Error::PlatformApi {
                platform,
                method,
                url,
                status: status @ (404 | 409 | 400 | 405),
                body,
                ..
            } => {
                let hint = match status {
                    404 => format!(
                        "no job at {job}: check `job` (folders separated by /, e.g. team/shop) and `branch` for a multibranch pipeline"
                    ),
                    409 => "Jenkins says the job cannot be built now (disabled, or a pipeline that is not buildable): enable it".into(),
                    405 => "the job does not take this trigger: with `parameters` ferry calls buildWithParameters, without it build".into(),
                    _ => "Jenkins refused the request: a parameterised job needs `parameters` (buildWithParameters), others must not have it".into(),
                };
                Error::BadResponse {
                    platform,
                    url,
                    problem: format!(
                        "{method} answered HTTP {status}: {}",
                        crate::net::shorten(&body, 300)
                    ),
                    hint,
                }
            }
            other => other,
        }
    }

    /// The build's state as Jenkins spells it, and what it means with this phase's settings.
    fn classify(spec: &JenkinsPhase, build: &serde_json::Value) -> Observation {
        let building = build.get("building").and_then(serde_json::Value::as_bool);
        let result = build.get("result").and_then(serde_json::Value::as_str);
        let (state, class) = match (building, result) {
            (Some(true), _) => ("building".to_string(), StateClass::Running),
            // Finished running, result not recorded yet: a moment later it is.
            (_, None) => ("finishing".to_string(), StateClass::Running),
            (_, Some(r)) => {
                let class = match r {
                    "SUCCESS" => StateClass::Success,
                    "UNSTABLE" if spec.unstable == Unstable::Success => StateClass::Success,
                    // FAILURE, ABORTED, NOT_BUILT, UNSTABLE by default, and anything unknown:
                    // an unknown result is never success.
                    _ => StateClass::Failure,
                };
                (r.to_string(), class)
            }
        };
        // Jenkins' own estimate (from the job's recent builds), -1 when it has none.
        let estimate = build
            .get("estimatedDuration")
            .and_then(serde_json::Value::as_u64)
            .filter(|ms| *ms > 0)
            .map(std::time::Duration::from_millis);
        Observation {
            state,
            class,
            estimate,
        }
    }
}

#[async_trait]
impl Backend for JenkinsBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self, phase: Phase, vars: &Vars) -> crate::platform::described::Described {
        self.describe_phase(phase, vars)
    }

    async fn probe(&self, phases: &[Phase], vars: &Vars) -> Vec<crate::platform::probe::Finding> {
        self.probe_jobs(phases, vars).await
    }

    fn trigger_replay(&self, _phase: Phase) -> Replay {
        // Jenkins has no idempotency key; a repeated trigger may queue a second build (or be
        // merged, but only while the first is still queued with the same parameters).
        Replay::Never
    }

    async fn trigger(&self, phase: Phase, vars: &Vars) -> Result<Operation> {
        let spec = self.spec(phase)?;
        let job_path = Self::job_path(phase, spec, vars)?;
        let mut url = self.client.url(&format!(
            "{job_path}/{}",
            if spec.parameters.is_some() {
                "buildWithParameters"
            } else {
                "build"
            }
        ))?;
        if let Some(params) = &spec.parameters
            && !params.is_empty()
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                let value = render(value, vars, Target::Text).map_err(|e| Error::ConfigFile {
                    path: format!("ferry.toml [{phase}.parameters]"),
                    message: format!("`{name}`: {}", e.message()),
                })?;
                query.append_pair(name, &value);
            }
        }
        let req = Self::post(url.clone(), vec![201, 302, 303]);
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| Self::api_hint(self.refused(e), &job_path))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let shown = self.client.redact(url.as_str());
        if status == 302 || !location.contains("/queue/item/") {
            return Err(Error::BadResponse {
                platform: self.name.clone(),
                url: shown,
                problem: format!(
                    "Jenkins answered HTTP {status} without a queue item (Location: {location:?}), so the build cannot be followed"
                ),
                hint: "Jenkins older than 1.519 does not say which build it queued (JENKINS-23235), and a redirect to the job means it did not schedule one: upgrade Jenkins, check the job is buildable".into(),
            });
        }
        let queue = self.rebase(&location, &url)?;
        let mut op = Operation::new(phase, queue.to_string(), vars.clone());
        op.web_url = Some(format!(
            "{}{}/",
            self.client.base().as_str().trim_end_matches('/'),
            job_path
        ));
        op.vars.insert("id".into(), op.id.clone());
        op.state = BackendState::Jenkins(JenkinsState::queued(queue, status == 303));
        Ok(op)
    }

    async fn resolve(&self, op: &mut Operation) -> Result<Resolved> {
        let state = self.state(op)?;
        if state.build.is_some() {
            return Ok(Resolved::Ready);
        }
        let api = state
            .queue
            .join("api/json")
            .map_err(|e| self.bad_url(&state.queue, e))?;
        let (queue_id, merged) = (state.queue_id.clone(), state.merged);
        let item = self.json(Self::get(api.clone())).await?;
        if let Some(url) = item
            .pointer("/executable/url")
            .and_then(serde_json::Value::as_str)
        {
            let build = self.rebase(url, &api)?;
            let number = item
                .pointer("/executable/number")
                .map(ToString::to_string)
                .unwrap_or_default();
            op.vars.insert("number".into(), number);
            op.web_url = Some(build.to_string());
            self.state_mut(op)?.build = Some(build);
            return Ok(Resolved::Ready);
        }
        if item.get("cancelled").and_then(serde_json::Value::as_bool) == Some(true) {
            return Ok(Resolved::Failed(format!(
                "the queue item {queue_id} was cancelled in Jenkins before it started"
            )));
        }
        let why = item
            .get("why")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        let why = if merged {
            Some(format!(
                "queued (merged into an identical queued build){}",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ))
        } else {
            why
        };
        Ok(Resolved::Waiting(why))
    }

    async fn status(&self, op: &mut Operation) -> Result<Observation> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        let build = self.build_url(op)?;
        let mut api = build
            .join("api/json")
            .map_err(|e| self.bad_url(&build, e))?;
        api.query_pairs_mut().append_pair("tree", BUILD_TREE);
        let body = self.json(Self::get(api)).await?;
        let obs = Self::classify(spec, &body);
        op.last_body = Some(body);
        Ok(obs)
    }

    fn has_logs(&self, phase: Phase) -> bool {
        self.phases.contains_key(&phase)
    }

    async fn logs(&self, op: &mut Operation, sink: &mut dyn LogSink) -> Result<LogRead> {
        let build = self.build_url(op)?;
        let mut url = build
            .join("logText/progressiveText")
            .map_err(|e| self.bad_url(&build, e))?;
        url.query_pairs_mut()
            .append_pair("start", &op.log.offset.to_string());
        let shown = self.client.redact(url.as_str());
        let resp = self
            .client
            .send(Self::get(url))
            .await
            .map_err(|e| self.refused(e))?;
        console::read(resp, &mut op.log, sink)
            .await
            .map_err(|problem| Error::BadResponse {
                platform: self.name.clone(),
                url: shown,
                problem,
                hint: "check that the platform's url is Jenkins' root URL (a proxy may strip the X-Text-Size header)".into(),
            })
    }

    async fn cancel(&self, op: &Operation) -> Result<()> {
        let state = self.state(op)?;
        if let Some(build) = &state.build {
            return self.stop(build).await;
        }
        // Still queued (as far as ferry knows): take it out of the queue, then look again, in
        // case it started in between — then it is a build, and is stopped.
        let (queue, id) = (&state.queue, &state.queue_id);
        let mut cancel = queue
            .join("../../cancelItem")
            .map_err(|e| self.bad_url(queue, e))?;
        cancel.query_pairs_mut().append_pair("id", id);
        self.client
            .send(Self::post(cancel, (200..400).collect()))
            .await
            .map_err(|e| self.refused(e))?;
        let api = queue.join("api/json").map_err(|e| self.bad_url(queue, e))?;
        let item = self.json(Self::get(api.clone())).await?;
        if let Some(url) = item
            .pointer("/executable/url")
            .and_then(serde_json::Value::as_str)
        {
            let build = self.rebase(url, &api)?;
            return self.stop(&build).await;
        }
        Ok(())
    }

    fn outputs(&self, op: &Operation) -> Result<BTreeMap<String, String>> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        Ok(outputs::collect(spec, op))
    }
}

impl JenkinsBackend {
    /// What this backend keeps about `op`; an error for an operation it did not start.
    fn state<'o>(&self, op: &'o Operation) -> Result<&'o JenkinsState> {
        op.state.jenkins().ok_or_else(|| self.not_ours(&op.id))
    }

    fn state_mut<'o>(&self, op: &'o mut Operation) -> Result<&'o mut JenkinsState> {
        op.state.jenkins_mut().ok_or_else(|| self.not_ours(&op.id))
    }

    fn not_ours(&self, id: &str) -> Error {
        Error::Internal {
            what: format!("following {id:?} on {}, which did not start it", self.name),
        }
    }

    fn build_url(&self, op: &Operation) -> Result<Url> {
        self.state(op)?
            .build
            .clone()
            .ok_or_else(|| Error::Internal {
                what: format!(
                    "{}: the build of queue item {} is read before it is known",
                    self.name, op.id
                ),
            })
    }

    fn bad_url(&self, base: &Url, e: url::ParseError) -> Error {
        Error::BadResponse {
            platform: self.name.clone(),
            url: self.client.redact(base.as_str()),
            problem: format!("cannot build a URL from it ({e})"),
            hint: "check Jenkins' root URL (Manage Jenkins → System → Jenkins URL)".into(),
        }
    }

    /// `POST {build}stop`: Jenkins answers with a redirect to the build page (or 200).
    async fn stop(&self, build: &Url) -> Result<()> {
        let stop = build.join("stop").map_err(|e| self.bad_url(build, e))?;
        self.client
            .send(Self::post(stop, (200..400).collect()))
            .await
            .map(|_| ())
            .map_err(|e| self.refused(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(unstable: Unstable) -> JenkinsPhase {
        JenkinsPhase {
            job: "shop".into(),
            branch: None,
            parameters: None,
            unstable,
            outputs: BTreeMap::new(),
        }
    }

    use serde_json::json;

    #[test]
    fn jenkins_own_estimate_is_read_and_its_minus_one_means_none() {
        let e =
            |v: serde_json::Value| JenkinsBackend::classify(&spec(Unstable::Failure), &v).estimate;
        assert_eq!(
            e(json!({"building": true, "estimatedDuration": 93_500})),
            Some(std::time::Duration::from_millis(93_500))
        );
        assert_eq!(e(json!({"building": true, "estimatedDuration": -1})), None);
        assert_eq!(e(json!({"building": true})), None);
    }

    #[test]
    fn results_map_to_classes() {
        let c = |s: &JenkinsPhase, v: serde_json::Value| JenkinsBackend::classify(s, &v).class;
        let f = spec(Unstable::Failure);
        assert_eq!(
            c(&f, json!({"building": true, "result": null})),
            StateClass::Running
        );
        assert_eq!(
            c(&f, json!({"building": false, "result": null})),
            StateClass::Running
        );
        assert_eq!(
            c(&f, json!({"building": false, "result": "SUCCESS"})),
            StateClass::Success
        );
        for r in ["FAILURE", "ABORTED", "NOT_BUILT", "UNSTABLE", "WEIRD"] {
            assert_eq!(
                c(&f, json!({"building": false, "result": r})),
                StateClass::Failure,
                "{r}"
            );
        }
        assert_eq!(
            c(
                &spec(Unstable::Success),
                json!({"building": false, "result": "UNSTABLE"})
            ),
            StateClass::Success
        );
    }
}
