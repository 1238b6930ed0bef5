//! How an `http` platform (`[platform]`, or `kind = "http"`) plans itself: its credential sent as
//! `auth` says, and every phase description checked before anything is sent.

use super::HttpBackend;
use super::client::Auth;
use super::spec::{AuthScheme, Connection, PhaseSpec};
use crate::error::{Error, Result};
use crate::platform::planned::{BackendRequest, PlannedBackend};

impl HttpBackend {
    /// The backend for an `http` platform, with the phase descriptions on it.
    pub(crate) fn plan(
        mut req: BackendRequest<'_, Connection<'_>, PhaseSpec>,
    ) -> Result<PlannedBackend> {
        let (auth, auth_name) = auth(&req)?;
        let client = req
            .client(&auth)?
            .explaining_refusals(req.access.credential.clone(), refusal_fix(&req));
        let phases = std::mem::take(&mut req.sections);
        let backend = HttpBackend::new(client, req.platform.headers.clone(), phases)?
            .with_probe(req.platform.probe.cloned(), req.access.credential.clone())?;
        Ok(req.planned(Box::new(backend), auth_name))
    }
}

/// The fix for a 401 or 403 from the platform: give a credential, or check the one given (and
/// how `auth` sends it).
fn refusal_fix(req: &BackendRequest<'_, Connection<'_>, PhaseSpec>) -> String {
    let c = &req.access.credential;
    let auth = format!("{} auth", req.table);
    match (req.name, c.present) {
        (None, false) => format!(
            "this platform wants a credential: set FERRY_PLATFORM_TOKEN (a CI secret), the action's `platform_token` input, or platform_token_file (and {auth} if it is not a bearer token)"
        ),
        (None, true) => format!(
            "check that the token in FERRY_PLATFORM_TOKEN (the action's `platform_token` input, or platform_token_file) is current and may do this, and that {auth} is how the platform takes it"
        ),
        (Some(name), false) => format!(
            "this platform wants a credential: set token_env = \"<VARIABLE>\" in [platforms.{name}] and that variable from your CI's secrets (or token_file; with a single platform FERRY_PLATFORM_TOKEN works too)"
        ),
        (Some(_), true) => format!(
            "check that the credential in {} ({}) is current and may do this, and that {auth} is how the platform takes it",
            c.setting, c.source
        ),
    }
}

/// How the credential is sent, and that name for the plan: `auth`, or `bearer` when a token is
/// given and `none` when not.
fn auth(req: &BackendRequest<'_, Connection<'_>, PhaseSpec>) -> Result<(Auth, &'static str)> {
    let token = req.access.token.as_ref();
    let scheme = req.platform.auth.unwrap_or(if token.is_some() {
        AuthScheme::Bearer
    } else {
        AuthScheme::None
    });
    let need = |scheme: &str| req.need_token(&format!("auth = \"{scheme}\" needs a token"));
    Ok(match scheme {
        AuthScheme::None => (Auth::None, "none"),
        AuthScheme::Bearer => (
            Auth::Bearer(token.cloned().ok_or_else(|| need("bearer"))?),
            "bearer",
        ),
        AuthScheme::Basic => {
            let user = req.access.user.clone().ok_or_else(|| Error::ConfigFile {
                path: format!("ferry.toml {}", req.table),
                message: format!(
                    "auth = \"basic\" needs {} (the user name; the token is the password)",
                    req.platform.user_key
                ),
            })?;
            (
                Auth::Basic {
                    user,
                    password: token.cloned().ok_or_else(|| need("basic"))?,
                },
                "basic",
            )
        }
        AuthScheme::Header => {
            let name = req.platform.auth_header.ok_or_else(|| Error::ConfigFile {
                path: format!("ferry.toml {}", req.table),
                message: "auth = \"header\" needs auth_header (the header's name, e.g. X-Api-Key)"
                    .into(),
            })?;
            (
                Auth::Header {
                    name: name.to_string(),
                    value: token.cloned().ok_or_else(|| need("header"))?,
                },
                "header",
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::platform::planned::tests::request;
    use crate::secret::Redactor;

    fn plan(
        name: Option<&str>,
        auth: Option<AuthScheme>,
        token: Option<&str>,
        user: Option<&str>,
    ) -> Result<PlannedBackend> {
        let redactor = Redactor::new([]);
        let headers = BTreeMap::new();
        let connection = Connection {
            auth,
            auth_header: None,
            headers: &headers,
            user_key: if name.is_some() {
                "user (or user_env)"
            } else {
                "auth_user"
            },
            probe: None,
        };
        HttpBackend::plan(request(&redactor, name, "http", connection, token, user))
    }

    #[test]
    fn the_credential_is_sent_as_auth_says() {
        assert_eq!(plan(None, None, None, None).unwrap().auth, "none");
        assert_eq!(plan(None, None, Some("t"), None).unwrap().auth, "bearer");
        let basic = plan(Some("p"), Some(AuthScheme::Basic), Some("t"), Some("u"));
        assert_eq!(basic.unwrap().auth, "basic");
        let e = plan(None, Some(AuthScheme::Bearer), None, None).unwrap_err();
        assert!(e.to_string().contains("FERRY_PLATFORM_TOKEN"), "{e}");
        let e = plan(Some("p"), Some(AuthScheme::Bearer), None, None).unwrap_err();
        assert!(e.to_string().contains("HTTP_TOKEN"), "{e}");
        let e = plan(Some("p"), Some(AuthScheme::Basic), Some("t"), None).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("[platforms.p]") && e.contains("user (or user_env)"),
            "{e}"
        );
        let e = plan(None, Some(AuthScheme::Header), Some("t"), None).unwrap_err();
        assert!(e.to_string().contains("auth_header"), "{e}");
    }
}
