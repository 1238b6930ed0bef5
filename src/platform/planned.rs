//! What a backend is planned from, and into: one platform with its URL and credential read, the
//! phase sections it runs, and the backend ready to run them. Each backend plans itself
//! (`HttpBackend::plan`, `JenkinsBackend::plan`, `ArgoBackend::plan`); the plan (`crate::plan`)
//! reads what every platform has and hands a named platform to its kind through
//! [`NamedPlatform::plan`](super::named::NamedPlatform::plan). Nothing here sends a request.

use std::collections::BTreeMap;

use url::Url;

use super::backend::Backend;
use super::credential::CredentialSource;
use super::engine::Timing;
use super::event::Phase;
use super::http::client::{Auth, Client};
use crate::error::{Error, Result};
use crate::secret::{Redactor, SecretString};

/// A platform's URL, and ferry's credential and user there, read when planning.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// The base URL, checked.
    pub url: Url,
    /// The credential, when one was given.
    pub token: Option<SecretString>,
    /// Where the credential comes from, to name it when the platform refuses it.
    pub credential: CredentialSource,
    /// The user the credential belongs to, when the platform has users.
    pub user: Option<String>,
}

/// What planning one platform's backend needs. `P` is the platform's own keys as its kind reads
/// them; `S` one phase section as its kind reads it.
pub(crate) struct BackendRequest<'a, P, S> {
    /// Where the platform is described (`[platform]`, `[platforms.ci]`), for messages.
    pub table: String,
    /// The name in `[platforms.<name>]`; `None` for `[platform]`.
    pub name: Option<&'a str>,
    /// The kind, as written in `kind` (`[platform]` is `http`).
    pub kind: &'static str,
    /// The platform's own keys.
    pub platform: P,
    /// The name shown in messages (`jenkins (ci.example.com)`).
    pub display: String,
    /// Where it is and how ferry gets in.
    pub access: Access,
    /// Every phase section on this platform, whether this run does it or not (each is checked).
    pub sections: BTreeMap<Phase, S>,
    /// The phases this run does on it, in order.
    pub runs: Vec<Phase>,
    /// How often it is polled.
    pub timing: Timing,
    /// Every secret of the run, for the client's messages.
    pub redactor: &'a Redactor,
}

/// A platform's backend in a plan, with its poll cadence and the phases it runs.
pub(crate) struct PlannedBackend {
    pub backend: Box<dyn Backend>,
    pub timing: Timing,
    pub phases: Vec<Phase>,
    /// How the credential is sent (`none`, `bearer`, `basic`, `header`; never the credential).
    pub auth: &'static str,
}

impl std::fmt::Debug for PlannedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedBackend")
            .field("backend", &self.backend.name())
            .field("timing", &self.timing)
            .field("phases", &self.phases)
            .field("auth", &self.auth)
            .finish()
    }
}

impl<'a, P, S> BackendRequest<'a, P, S> {
    /// The same request for one kind: its own keys, and each section as that kind reads it
    /// (`pick`; the sections of a platform were all read by its kind, so none is dropped).
    pub(crate) fn narrow<Q, T>(
        self,
        platform: Q,
        pick: impl Fn(S) -> Option<T>,
    ) -> BackendRequest<'a, Q, T> {
        BackendRequest {
            table: self.table,
            name: self.name,
            kind: self.kind,
            platform,
            display: self.display,
            access: self.access,
            sections: self
                .sections
                .into_iter()
                .filter_map(|(phase, s)| pick(s).map(|s| (phase, s)))
                .collect(),
            runs: self.runs,
            timing: self.timing,
            redactor: self.redactor,
        }
    }

    /// An HTTP client for the platform, sending `auth` (refused over plain http but to loopback).
    pub(crate) fn client(&self, auth: &Auth) -> Result<Client> {
        Client::new(
            self.display.clone(),
            self.access.url.clone(),
            auth,
            self.redactor.clone(),
        )
    }

    /// The error for a credential the platform needs and nothing gave, saying `why` it needs one
    /// and where to set it.
    pub(crate) fn need_token(&self, why: &str) -> Error {
        match self.name {
            Some(name) => Error::MissingSetting {
                name: format!("token_env of [platforms.{name}]"),
                hint: format!(
                    "{why}: set token_env = \"{}_TOKEN\" in [platforms.{name}] and that variable from your CI's secrets (or token_file; with a single platform FERRY_PLATFORM_TOKEN works too)",
                    self.kind.to_ascii_uppercase()
                ),
            },
            None => Error::MissingSetting {
                name: "platform_token".into(),
                hint: format!(
                    "{} {why}: set FERRY_PLATFORM_TOKEN (a CI secret; in a GitHub workflow the action's `platform_token` input) or platform_token_file (FERRY_PLATFORM_TOKEN_FILE)",
                    self.table
                ),
            },
        }
    }

    /// The planned `backend`, sending its credential as `auth`, for this request's phases.
    pub(crate) fn planned(self, backend: Box<dyn Backend>, auth: &'static str) -> PlannedBackend {
        PlannedBackend {
            backend,
            timing: self.timing,
            phases: self.runs,
            auth,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::net::Replay;
    use crate::platform::{LogRead, LogSink, Observation, Operation, Resolved, Vars};

    /// A request for the platform `name` (`None`: `[platform]`) of `kind` at an https URL.
    pub(crate) fn request<'a, P, S>(
        redactor: &'a Redactor,
        name: Option<&'a str>,
        kind: &'static str,
        platform: P,
        token: Option<&str>,
        user: Option<&str>,
    ) -> BackendRequest<'a, P, S> {
        BackendRequest {
            table: name.map_or_else(|| "[platform]".into(), |n| format!("[platforms.{n}]")),
            name,
            kind,
            platform,
            display: format!("{kind} (p.example.com)"),
            access: Access {
                url: Url::parse("https://p.example.com/").unwrap(),
                token: token.map(|t| SecretString::from(t.to_string())),
                credential: CredentialSource::default(),
                user: user.map(str::to_string),
            },
            sections: BTreeMap::new(),
            runs: vec![Phase::Deploy],
            timing: Timing::default(),
            redactor,
        }
    }

    #[test]
    fn a_missing_credential_is_named_where_it_is_set() {
        let redactor = Redactor::new([]);
        let named: BackendRequest<'_, (), ()> =
            request(&redactor, Some("cd"), "argocd", (), None, None);
        let e = named.need_token("Argo CD needs one").to_string();
        assert!(e.contains("`token_env of [platforms.cd]`"), "{e}");
        assert!(
            e.contains("Argo CD needs one: set token_env = \"ARGOCD_TOKEN\""),
            "{e}"
        );
        let default: BackendRequest<'_, (), ()> = request(&redactor, None, "http", (), None, None);
        let e = default
            .need_token("auth = \"bearer\" needs a token")
            .to_string();
        assert!(e.contains("`platform_token`"), "{e}");
        assert!(
            e.contains("[platform] auth = \"bearer\" needs a token: set FERRY_PLATFORM_TOKEN"),
            "{e}"
        );
    }

    #[test]
    fn narrowing_keeps_everything_but_the_kind_s_own_parts() {
        let redactor = Redactor::new([]);
        let mut req: BackendRequest<'_, (), Result<u8, &str>> =
            request(&redactor, Some("ci"), "jenkins", (), Some("t"), Some("u"));
        req.sections = BTreeMap::from([(Phase::Build, Ok(1)), (Phase::Stop, Err("other"))]);
        let narrow = req.narrow("jenkins keys", Result::ok);
        assert_eq!(narrow.platform, "jenkins keys");
        assert_eq!(narrow.sections, BTreeMap::from([(Phase::Build, 1)]));
        assert_eq!(narrow.table, "[platforms.ci]");
        assert_eq!(narrow.access.user.as_deref(), Some("u"));
        let planned = narrow.planned(Box::new(Nothing), "basic");
        assert_eq!(planned.phases, vec![Phase::Deploy]);
        assert_eq!(planned.auth, "basic");
    }

    /// A backend that is never run.
    struct Nothing;

    #[async_trait::async_trait]
    impl Backend for Nothing {
        fn name(&self) -> &'static str {
            "nothing"
        }
        fn trigger_replay(&self, _: Phase) -> Replay {
            Replay::Never
        }
        async fn trigger(&self, _: Phase, _: &Vars) -> Result<Operation> {
            unreachable!()
        }
        async fn resolve(&self, _: &mut Operation) -> Result<Resolved> {
            unreachable!()
        }
        async fn status(&self, _: &mut Operation) -> Result<Observation> {
            unreachable!()
        }
        fn has_logs(&self, _: Phase) -> bool {
            false
        }
        async fn logs(&self, _: &mut Operation, _: &mut dyn LogSink) -> Result<LogRead> {
            unreachable!()
        }
        async fn cancel(&self, _: &Operation) -> Result<()> {
            unreachable!()
        }
        fn outputs(&self, _: &Operation) -> Result<BTreeMap<String, String>> {
            unreachable!()
        }
    }
}
