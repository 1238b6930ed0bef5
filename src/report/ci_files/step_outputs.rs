//! Step outputs in `$GITHUB_OUTPUT`: `url`, `status`, `build_id`, `deployment_id`, `environment`
//! and `github_deployment_id` (empty when ferry created no deployment), written at the end of
//! every run, failed ones included (amondnet/vercel-action#109), with or without a token: a sink
//! of its own, which only reads the GitHub deployment id from the run's [`Findings`].
//!
//! Each value is written as a heredoc, `name<<DELIM\nvalue\nDELIM`, with a fresh random delimiter
//! per value that does not occur in the value (what `@actions/core` does): a platform-controlled
//! value cannot end the heredoc early and set another output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::ci::Context;
use crate::error::Result;
use crate::platform::{Phase, RunOutcome};
use crate::report::findings::Findings;
use crate::report::{Sink, Stamped};

/// The step-outputs sink: appends the run's outputs to `$GITHUB_OUTPUT` at the end.
pub(crate) struct StepOutputs {
    path: PathBuf,
    findings: Findings,
}

impl StepOutputs {
    /// A sink appending to `path` (the file `$GITHUB_OUTPUT` names).
    pub(crate) fn new(path: PathBuf, findings: Findings) -> Self {
        Self { path, findings }
    }
}

#[async_trait]
impl Sink for StepOutputs {
    fn name(&self) -> &'static str {
        "step outputs"
    }

    async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, _: &Context) -> Result<()> {
        let deployment = self.findings.get().deployment;
        append(&self.path, &outputs(outcome, deployment))
    }
}

/// The outputs of a run, in the order written. Absent values are written empty, so a later step
/// can test them without an error.
pub(crate) fn outputs(
    outcome: &RunOutcome,
    github_deployment: Option<u64>,
) -> Vec<(&'static str, String)> {
    let id = |phase| {
        outcome
            .phase(phase)
            .and_then(|p| p.id.clone())
            .unwrap_or_default()
    };
    let mut out = vec![
        ("url", outcome.url.clone().unwrap_or_default()),
        ("status", outcome.status.as_str().to_owned()),
        ("build_id", id(Phase::Build)),
        ("deployment_id", id(Phase::Deploy)),
        (
            "environment",
            outcome.environment.clone().unwrap_or_default(),
        ),
    ];
    out.push((
        "github_deployment_id",
        github_deployment
            .map(|id| id.to_string())
            .unwrap_or_default(),
    ));
    out
}

/// The text appended to `$GITHUB_OUTPUT` for these outputs.
pub(crate) fn render(outputs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let d = format!("ghadelimiter_{:032x}", rand::random::<u128>());
            if !value.contains(&d) {
                break d;
            }
        };
        let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
    }
    text
}

/// Appends the outputs to the file named by `$GITHUB_OUTPUT`.
pub(crate) fn append(path: &Path, outputs: &[(&str, String)]) -> Result<()> {
    super::append(path, "$GITHUB_OUTPUT", &render(outputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[tokio::test]
    async fn written_without_any_forge_with_an_empty_github_deployment_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.txt");
        let mut sink = StepOutputs::new(path.clone(), Findings::default());
        sink.finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("<<").map(|(n, _)| n))
            .collect();
        assert_eq!(
            names,
            [
                "url",
                "status",
                "build_id",
                "deployment_id",
                "environment",
                "github_deployment_id"
            ]
        );
        assert!(text.contains("\nsucceeded\n"), "{text}");
        let findings = Findings::default();
        findings.reported_on(None, Some(77));
        let mut sink = StepOutputs::new(path.clone(), findings);
        sink.finish(&fixture::succeeded_outcome(), &fixture::context())
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.trim_end().lines().rev().nth(1) == Some("77"), "{text}");
    }

    #[test]
    fn a_value_cannot_end_its_heredoc() {
        let evil = "x\nghadelimiter_0\nstatus=succeeded".to_owned();
        let text = render(&[("url", evil.clone()), ("status", "failed".into())]);
        let first = text.lines().next().unwrap_or_default();
        let delim = first.strip_prefix("url<<").unwrap_or_default();
        assert!(
            delim.starts_with("ghadelimiter_") && delim.len() == 45,
            "{first}"
        );
        let body: Vec<&str> = text.lines().skip(1).take_while(|l| *l != delim).collect();
        assert_eq!(body.join("\n"), evil);
        let lines: Vec<&str> = text.lines().collect();
        let second = lines[5];
        assert!(second.starts_with("status<<ghadelimiter_"), "{text}");
        assert_ne!(
            second.strip_prefix("status<<"),
            Some(delim),
            "fresh per value"
        );
    }
}
