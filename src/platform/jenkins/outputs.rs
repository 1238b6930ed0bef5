//! A Jenkins phase's outputs: always `number`, `url` (the build's page), `log_url` (its console)
//! and `result`; plus what `[<phase>.outputs]` names, read from the finished build.

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::JenkinsPhase;
use crate::platform::backend::Operation;
use crate::platform::http::source::{Source, value_text};

/// Where one output's value is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OutputSource {
    /// A `/pointer`, `header:` or `{{ template }}` as in the `http` backend.
    Value(Source),
    /// `parameter:NAME`: the value of a build parameter.
    Parameter(String),
    /// `artifact:NAME`: the URL of the first archived artifact whose path ends with `NAME`
    /// (`artifact:*` takes the first one).
    Artifact(String),
}

impl OutputSource {
    /// Parses the syntax; `None` when it is none of the forms.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("parameter:") {
            return Some(OutputSource::Parameter(name.trim().to_string()));
        }
        if let Some(name) = text.strip_prefix("artifact:") {
            return Some(OutputSource::Artifact(name.trim().to_string()));
        }
        Source::parse(text).map(OutputSource::Value)
    }

    fn extract(&self, build: Option<&Value>, op: &Operation) -> Option<String> {
        match self {
            OutputSource::Value(src) => src.extract(build, &[], &op.vars),
            OutputSource::Parameter(name) => build?
                .get("actions")?
                .as_array()?
                .iter()
                .filter_map(|a| a.get("parameters")?.as_array())
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|p| p.get("value"))
                .and_then(value_text),
            OutputSource::Artifact(name) => {
                let path = build?
                    .get("artifacts")?
                    .as_array()?
                    .iter()
                    .filter_map(|a| a.get("relativePath").and_then(Value::as_str))
                    .find(|p| name == "*" || p.ends_with(name.as_str()))?;
                let build = op.state.jenkins()?.build.as_ref()?;
                Some(format!("{build}artifact/{path}"))
            }
        }
    }
}

/// The outputs of a finished (or detached) Jenkins operation.
pub(crate) fn collect(spec: &JenkinsPhase, op: &Operation) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let build = op.last_body.as_ref();
    if let Some(number) = op.vars.get("number") {
        out.insert("number".into(), number.clone());
    }
    let state = op.state.jenkins();
    if let Some(url) = state.and_then(|s| s.build.as_ref()) {
        out.insert("url".into(), url.to_string());
        out.insert("log_url".into(), format!("{url}console"));
    }
    if let Some(result) = build.and_then(|b| b.get("result")).and_then(value_text) {
        out.insert("result".into(), result);
    }
    if state.is_some_and(|s| s.merged) {
        out.insert("merged".into(), "true".into());
    }
    for (name, text) in &spec.outputs {
        if let Some(value) = OutputSource::parse(text).and_then(|s| s.extract(build, op)) {
            out.insert(name.clone(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::jenkins::state::JenkinsState;
    use crate::platform::{BackendState, Phase, Vars};

    #[test]
    fn parameters_and_artifacts() {
        let queue = url::Url::parse("https://j/queue/item/3/").unwrap();
        let mut op = Operation::new(Phase::Build, queue.as_str(), Vars::new());
        let mut state = JenkinsState::queued(queue, false);
        state.build = Some(url::Url::parse("https://j/job/shop/7/").unwrap());
        op.state = BackendState::Jenkins(state);
        op.vars.insert("number".into(), "7".into());
        op.last_body = Some(serde_json::json!({
            "result": "SUCCESS",
            "artifacts": [{"fileName": "a.txt", "relativePath": "out/a.txt"}, {"fileName": "app.tar.gz", "relativePath": "dist/app.tar.gz"}],
            "actions": [{}, {"_class": "hudson.model.ParametersAction", "parameters": [{"name": "REV", "value": "abc"}]}],
            "description": "image shop:7"
        }));
        let spec = JenkinsPhase {
            job: "shop".into(),
            branch: None,
            parameters: None,
            unstable: super::super::spec::Unstable::Failure,
            outputs: BTreeMap::from([
                ("rev".to_string(), "parameter:REV".to_string()),
                ("artifact".to_string(), "artifact:.tar.gz".to_string()),
                ("image".to_string(), "/description".to_string()),
                ("tag".to_string(), "shop:{{ number }}".to_string()),
            ]),
        };
        let out = collect(&spec, &op);
        assert_eq!(out["rev"], "abc");
        assert_eq!(
            out["artifact"],
            "https://j/job/shop/7/artifact/dist/app.tar.gz"
        );
        assert_eq!(out["image"], "image shop:7");
        assert_eq!(out["tag"], "shop:7");
        assert_eq!(out["log_url"], "https://j/job/shop/7/console");
        assert_eq!(out["result"], "SUCCESS");
    }

    #[test]
    fn the_build_and_merged_come_from_the_typed_state_not_from_template_values() {
        let queue = url::Url::parse("https://j/queue/item/3/").unwrap();
        let mut op = Operation::new(Phase::Build, queue.as_str(), Vars::new());
        let spec = JenkinsPhase {
            job: "shop".into(),
            branch: None,
            parameters: None,
            unstable: super::super::spec::Unstable::Failure,
            outputs: BTreeMap::from([("link".to_string(), "{{ build_url }}".to_string())]),
        };
        // Not started by Jenkins: nothing to say.
        assert!(collect(&spec, &op).is_empty());
        let mut state = JenkinsState::queued(queue, true);
        state.build = Some(url::Url::parse("https://j/job/shop/7/").unwrap());
        op.state = BackendState::Jenkins(state);
        let out = collect(&spec, &op);
        assert_eq!(out["url"], "https://j/job/shop/7/");
        assert_eq!(out["merged"], "true");
        // The state is no template value: a template cannot name it.
        assert!(!out.contains_key("link"), "{out:?}");
        assert!(op.vars.is_empty());
    }
}
