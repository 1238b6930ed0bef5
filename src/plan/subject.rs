//! What a run reports on: the change request and the commit, decided once.
//!
//! Both can be detected (the CI's variables and event payload, see `ci`) or set explicitly
//! (`pr_number`, `sha`). An explicit setting always wins, for every consumer: the default
//! environment name (`review-<n>`), the templates (`{{ pr_number }}`, `{{ sha }}`) and the forge
//! reporters. The reporters also need to know *whether* a value was explicit (GitHub looks up the
//! head commit of a pull request named by `pr_number`; GitLab ties a status to the pipeline only
//! when the commit is the pipeline's own), so both the decision and its origin are kept.

use crate::ci::Context;
use crate::config::Settings;

/// The change request and commit of a run, with where each came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subject {
    /// The pull/merge request number (GitLab: the IID): `pr_number`, else detected.
    pub pr_number: Option<u64>,
    /// The commit: `sha`, else detected (for a pull request, the head commit).
    pub sha: Option<String>,
    /// `pr_number`, when it was set.
    pub explicit_pr: Option<u64>,
    /// `sha`, when it was set.
    pub explicit_sha: Option<String>,
}

impl Subject {
    /// The decision: explicit settings over detection.
    pub(crate) fn decide(settings: &Settings, context: &Context) -> Self {
        let detected_pr = context.change_request.as_ref().and_then(|c| c.number);
        Self {
            pr_number: settings.pr_number.or(detected_pr),
            sha: settings.sha.clone().or_else(|| context.sha.clone()),
            explicit_pr: settings.pr_number,
            explicit_sha: settings.sha.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ci::{ChangeRequest, Ci};
    use crate::config::RawSettings;

    #[test]
    fn an_explicit_setting_wins_over_detection() {
        let mut context = Context::empty(Ci::Gitlab);
        context.sha = Some("a".repeat(40));
        context.change_request = Some(ChangeRequest {
            number: Some(7),
            ..ChangeRequest::default()
        });
        let mut settings =
            Settings::validate(&RawSettings::default(), PathBuf::from("ferry.toml")).unwrap();
        let detected = Subject::decide(&settings, &context);
        assert_eq!(detected.pr_number, Some(7));
        assert_eq!(detected.explicit_pr, None);
        settings.pr_number = Some(5);
        settings.sha = Some("b".repeat(40));
        let explicit = Subject::decide(&settings, &context);
        assert_eq!(explicit.pr_number, Some(5));
        assert_eq!(explicit.explicit_pr, Some(5));
        assert_eq!(explicit.sha.as_deref(), Some("b".repeat(40).as_str()));
    }
}
