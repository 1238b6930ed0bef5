//! What the forge reporters learn during a run that the CI-file reports show: the commit the
//! forge reported on, the forge's deployment id, sentences about what was skipped, and which
//! forges got only part of the report.
//!
//! The forge reporters write it; the job summary and the step outputs read it in their own
//! `finish`, which runs after the forge reporters' (the order `forge::job_reports` gives the
//! sinks). Without a forge reporter (no token, no API) it stays empty and the files are written
//! from the run alone.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A handle on the run's findings, shared by the sinks of one run (cheap to clone).
#[derive(Clone, Debug, Default)]
pub(crate) struct Findings(Arc<Mutex<Found>>);

/// The findings themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    /// The commit the forge reported on (a pull request's head it looked up), when it knows one.
    pub(crate) commit: Option<String>,
    /// The id of the deployment the forge keeps for this run (GitHub).
    pub(crate) deployment: Option<u64>,
    /// Plain sentences for the summary: what was skipped, and why.
    pub(crate) notes: Vec<String>,
    /// The forges that got only part of the report (people names: `GitHub`).
    pub(crate) incomplete: Vec<&'static str>,
}

impl Findings {
    fn lock(&self) -> MutexGuard<'_, Found> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the commit and the deployment a forge reported on.
    pub(crate) fn reported_on(&self, commit: Option<String>, deployment: Option<u64>) {
        let mut found = self.lock();
        if commit.is_some() {
            found.commit = commit;
        }
        if deployment.is_some() {
            found.deployment = deployment;
        }
    }

    /// Adds a sentence for the summary.
    pub(crate) fn note(&self, sentence: impl Into<String>) {
        self.lock().notes.push(sentence.into());
    }

    /// Records that `forge` got only part of the report.
    pub(crate) fn incomplete(&self, forge: &'static str) {
        let mut found = self.lock();
        if !found.incomplete.contains(&forge) {
            found.incomplete.push(forge);
        }
    }

    /// What was found so far.
    pub(crate) fn get(&self) -> Found {
        self.lock().clone()
    }
}

impl Found {
    /// The sentences for the job summary: the notes, then one per forge that got only part of
    /// the report (its notice or warning is in the job log).
    pub(crate) fn summary_notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        notes.extend(self.incomplete.iter().map(|forge| {
            format!("Not everything was reported to {forge}: see the notice in the job log.")
        }));
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_one_sink_records_another_reads() {
        let findings = Findings::default();
        let reader = findings.clone();
        findings.reported_on(Some("abc".into()), None);
        findings.reported_on(None, Some(42));
        findings.note("No pull request.");
        findings.incomplete("GitHub");
        findings.incomplete("GitHub");
        let found = reader.get();
        assert_eq!(found.commit.as_deref(), Some("abc"));
        assert_eq!(found.deployment, Some(42));
        assert_eq!(
            found.summary_notes(),
            [
                "No pull request.",
                "Not everything was reported to GitHub: see the notice in the job log."
            ]
        );
    }
}
