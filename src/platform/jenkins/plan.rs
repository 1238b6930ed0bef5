//! How a Jenkins platform plans itself: basic auth with a user's API token (or none at all),
//! and every job name checked before anything is sent.

use super::JenkinsBackend;
use super::spec::{JenkinsPhase, JenkinsPlatform};
use crate::error::{Error, Result};
use crate::platform::http::client::Auth;
use crate::platform::planned::{BackendRequest, PlannedBackend};

impl JenkinsBackend {
    /// The backend for a `kind = "jenkins"` platform, with the jobs its phases run.
    pub(crate) fn plan(
        mut req: BackendRequest<'_, &JenkinsPlatform, JenkinsPhase>,
    ) -> Result<PlannedBackend> {
        // An API token belongs to a user: Jenkins takes the pair as basic auth.
        let auth = match (&req.access.user, &req.access.token) {
            (Some(user), Some(token)) => Auth::Basic {
                user: user.clone(),
                password: token.clone(),
            },
            (None, None) => Auth::None,
            (None, Some(_)) => {
                return Err(Error::MissingSetting {
                    name: format!("user of {}", req.table),
                    hint: format!(
                        "a Jenkins API token belongs to a user: set user = \"<jenkins user id>\" (or user_env) in {}",
                        req.table
                    ),
                });
            }
            (Some(_), None) => {
                return Err(
                    req.need_token("`user` is set, and Jenkins needs that user's API token")
                );
            }
        };
        let auth_name = if matches!(auth, Auth::None) {
            "none"
        } else {
            "basic"
        };
        let client = req.client(&auth)?;
        let jobs = std::mem::take(&mut req.sections);
        let backend = JenkinsBackend::new(client, jobs, req.access.credential.clone())?;
        Ok(req.planned(Box::new(backend), auth_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::planned::tests::request;
    use crate::secret::Redactor;

    fn platform() -> JenkinsPlatform {
        toml::from_str("").unwrap()
    }

    fn plan(token: Option<&str>, user: Option<&str>) -> Result<PlannedBackend> {
        let redactor = Redactor::new([]);
        let p = platform();
        JenkinsBackend::plan(request(&redactor, Some("ci"), "jenkins", &p, token, user))
    }

    #[test]
    fn a_user_and_an_api_token_go_together() {
        assert_eq!(plan(Some("t"), Some("u")).unwrap().auth, "basic");
        assert_eq!(plan(None, None).unwrap().auth, "none");
        let e = plan(Some("t"), None).unwrap_err().to_string();
        assert!(e.contains("`user of [platforms.ci]`"), "{e}");
        let e = plan(None, Some("u")).unwrap_err().to_string();
        assert!(e.contains("JENKINS_TOKEN"), "{e}");
    }
}
