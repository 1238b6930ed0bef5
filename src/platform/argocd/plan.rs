//! How an Argo CD platform plans itself: a bearer token, always.

use super::ArgoBackend;
use super::spec::{ArgoPhase, ArgoPlatform};
use crate::error::Result;
use crate::platform::http::client::Auth;
use crate::platform::planned::{BackendRequest, PlannedBackend};

impl ArgoBackend {
    /// The backend for a `kind = "argocd"` platform, with the application its deploy syncs.
    pub(crate) fn plan(
        mut req: BackendRequest<'_, &ArgoPlatform, ArgoPhase>,
    ) -> Result<PlannedBackend> {
        let Some(token) = req.access.token.clone() else {
            return Err(
                req.need_token("Argo CD's API needs a bearer token (an account or project token)")
            );
        };
        let client = req.client(&Auth::Bearer(token))?;
        let apps = std::mem::take(&mut req.sections);
        let backend = ArgoBackend::new(client, apps, req.access.credential.clone());
        Ok(req.planned(Box::new(backend), "bearer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::planned::tests::request;
    use crate::secret::Redactor;

    #[test]
    fn argo_cd_always_takes_a_bearer_token() {
        let redactor = Redactor::new([]);
        let p: ArgoPlatform = toml::from_str("").unwrap();
        let planned = ArgoBackend::plan(request(
            &redactor,
            Some("cd"),
            "argocd",
            &p,
            Some("t"),
            None,
        ));
        assert_eq!(planned.unwrap().auth, "bearer");
        let e = ArgoBackend::plan(request(&redactor, Some("cd"), "argocd", &p, None, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ARGOCD_TOKEN") && e.contains("bearer token"),
            "{e}"
        );
    }
}
