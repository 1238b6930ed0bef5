//! The `argocd` backend (in progress: planned, not yet able to sync).

pub mod spec;

use std::collections::BTreeMap;

use async_trait::async_trait;

use self::spec::ArgoPhase;
use super::backend::{Backend, LogRead, LogSink, Observation, Operation, Resolved, Vars};
use super::credential::CredentialSource;
use super::event::Phase;
use super::http::client::Client;
use crate::error::{Error, Result};

/// An Argo CD API server and the application each phase syncs.
#[derive(Debug)]
pub struct ArgoBackend {
    client: Client,
    name: String,
    phases: BTreeMap<Phase, ArgoPhase>,
}

impl ArgoBackend {
    /// A backend for the Argo CD at `client`'s base URL.
    pub fn new(
        client: Client,
        phases: BTreeMap<Phase, ArgoPhase>,
        _credential: CredentialSource,
    ) -> Result<Self> {
        Ok(Self {
            name: client.name().to_string(),
            client,
            phases,
        })
    }

    fn unsupported() -> Error {
        Error::Unsupported {
            what: "argocd".into(),
            hint: "not yet".into(),
        }
    }
}

#[async_trait]
impl Backend for ArgoBackend {
    fn name(&self) -> &str {
        let _ = &self.client;
        &self.name
    }
    fn supports(&self, phase: Phase) -> bool {
        self.phases.contains_key(&phase)
    }
    fn trigger_is_idempotent(&self, _phase: Phase) -> bool {
        false
    }
    async fn trigger(&self, _phase: Phase, _vars: &Vars) -> Result<Operation> {
        Err(Self::unsupported())
    }
    async fn resolve(&self, _op: &mut Operation) -> Result<Resolved> {
        Err(Self::unsupported())
    }
    async fn status(&self, _op: &mut Operation) -> Result<Observation> {
        Err(Self::unsupported())
    }
    fn has_logs(&self, _phase: Phase) -> bool {
        false
    }
    async fn logs(&self, _op: &mut Operation, _sink: &mut dyn LogSink) -> Result<LogRead> {
        Err(Self::unsupported())
    }
    async fn cancel(&self, _op: &Operation) -> Result<()> {
        Err(Self::unsupported())
    }
    fn outputs(&self, _op: &Operation) -> Result<BTreeMap<String, String>> {
        Ok(BTreeMap::new())
    }
}
