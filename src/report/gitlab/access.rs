//! Which GitLab token ferry has, and what it can do with it.
//!
//! Writing commit statuses and merge-request notes needs a personal, project or group access
//! token (or a service account) with the `api` scope and at least the Developer role, sent as
//! `PRIVATE-TOKEN`. `CI_JOB_TOKEN` is refused by both endpoints (gitlab#464591, gitlab#545150),
//! so when it is all there is, ferry says so once (the shared degraded notice, in the words
//! below) and calls nothing; the dotenv report and the job log need no token.

use crate::config::Settings;
use crate::env::Env;
use crate::secret::{ExposeSecret, Redactor, SecretString};

/// The token situation.
#[derive(Debug)]
pub(crate) enum Access {
    /// A token from the `token` setting (`FERRY_TOKEN`, `token_file`).
    Token(SecretString),
    /// Only `CI_JOB_TOKEN` (also when `FERRY_TOKEN` was set to it).
    JobTokenOnly,
    /// No token at all.
    Nothing,
}

/// Why nothing is written when only the job token is there.
pub(crate) const JOB_TOKEN_ONLY: &str = "only CI_JOB_TOKEN is available, and GitLab does not let a job token set commit statuses or write merge-request notes";

/// The fix when there is no token that can write.
pub(crate) const TOKEN_FIX: &str = "create a project access token (Settings > Access tokens, role Developer, scope `api`) and store it as a masked, unprotected CI/CD variable named FERRY_TOKEN";

/// Every secret the GitLab sinks may meet: the forge and platform tokens (as the engine's
/// redactor) and `CI_JOB_TOKEN`, which GitLab masks in the job log but not in a note or an
/// artifact (a platform log tail echoing it would otherwise be published in the MR).
pub(crate) fn redactor(settings: &Settings, env: &Env) -> Redactor {
    let job = env
        .get("CI_JOB_TOKEN")
        .map(|t| SecretString::from(t.to_string()));
    Redactor::new(
        settings
            .token
            .iter()
            .chain(settings.platform_token.iter())
            .chain(job.iter()),
    )
}

/// What ferry can use.
pub(crate) fn decide(settings: &Settings, env: &Env) -> Access {
    let job = env.get("CI_JOB_TOKEN");
    match &settings.token {
        Some(t) if job.is_some_and(|j| j == t.expose_secret()) => Access::JobTokenOnly,
        Some(t) => Access::Token(t.clone()),
        None if job.is_some() => Access::JobTokenOnly,
        None => Access::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::RawSettings;

    fn settings(token: Option<&str>) -> Settings {
        let mut s =
            Settings::validate(&RawSettings::default(), PathBuf::from("ferry.toml")).unwrap();
        s.token = token.map(|t| SecretString::from(t.to_string()));
        s
    }

    #[test]
    fn the_job_token_alone_cannot_write() {
        let env = Env::new().with("CI_JOB_TOKEN", "job-tok-123");
        assert!(matches!(
            decide(&settings(None), &env),
            Access::JobTokenOnly
        ));
        assert!(matches!(
            decide(&settings(Some("job-tok-123")), &env),
            Access::JobTokenOnly
        ));
        assert!(matches!(
            decide(&settings(Some("glpat-x")), &env),
            Access::Token(_)
        ));
        assert!(matches!(
            decide(&settings(None), &Env::new()),
            Access::Nothing
        ));
        assert!(JOB_TOKEN_ONLY.contains("CI_JOB_TOKEN") && TOKEN_FIX.contains("FERRY_TOKEN"));
    }
}
