//! The one notice for a forge that got only part of the report, the same for every forge and
//! every cause (no token, a CI job token the forge refuses, a fork's read-only token, a 403 on
//! one kind of report, an API URL that is missing or unusable):
//!
//! ```text
//! <Forge>: <why>, so ferry skipped <what>; fix: <fix>
//! ```
//!
//! One rule decides how it counts. When ferry has nothing that can write to the forge (no token,
//! only a job token the forge never accepts), nothing was tried and nothing failed: it is a
//! notice (`note:` in the log, `::notice` in GitHub Actions), and the exit code stays the
//! deploy's even with `fail_on_report_error`. When the forge refused the token, or a setting the
//! forge needs cannot work, a report failed: the same sentence becomes a warning, counted by
//! `fail_on_report_error` (exit code 5). Either way the CI files (summary, outputs, dotenv
//! report) are written, and the summary says that not everything reached the forge.

use std::io::Write as _;

use async_trait::async_trait;

use super::adapter::{Names, Surface};
use crate::ci::{Ci, Context};
use crate::error::{Error, Result};
use crate::platform::RunOutcome;
use crate::report::findings::Findings;
use crate::report::sink_failure::{self, SinkFailure};
use crate::report::{Sink, Stamped, notice_line};
use crate::stream::Stream;

/// Why there is no token, said the same way for every forge.
pub(crate) const NO_TOKEN: &str = "no token was given (missing setting `token`)";

/// How a degraded report counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Nothing could be tried: a notice, not a failed report.
    Notice,
    /// The forge refused, or its settings cannot work: a failed report.
    Failure,
}

/// What a forge could not do, why, and what to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Degraded {
    pub(crate) names: Names,
    /// The kinds of report skipped (those this run would have made).
    pub(crate) skipped: Vec<Surface>,
    pub(crate) why: String,
    pub(crate) fix: String,
    pub(crate) severity: Severity,
}

impl Degraded {
    /// ferry has nothing that can write to the forge: a notice.
    pub(crate) fn no_token(
        names: Names,
        skipped: Vec<Surface>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Notice, names, skipped, why.into(), fix.into())
    }

    /// The forge refused the token, or a setting it needs cannot work: a failed report.
    pub(crate) fn failed(
        names: Names,
        skipped: Vec<Surface>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Failure, names, skipped, why.into(), fix.into())
    }

    fn new(
        severity: Severity,
        names: Names,
        skipped: Vec<Surface>,
        why: String,
        fix: String,
    ) -> Self {
        Self {
            names,
            skipped,
            why,
            fix,
            severity,
        }
    }

    /// A setting the forge needs cannot work (`error` says which and how to fix it).
    pub(crate) fn unusable(names: Names, skipped: Vec<Surface>, error: &Error) -> Self {
        let (why, fix) = sink_failure::split(error);
        Self::failed(names, skipped, why, fix.unwrap_or_default())
    }

    /// `<Forge>: <why>, so ferry skipped <what>` (the fix goes after it).
    fn sentence(&self) -> String {
        let mut reports: Vec<String> = self
            .skipped
            .iter()
            .filter(|s| **s != Surface::Lookup)
            .map(|s| format!("the {}", self.names.of(*s)))
            .collect();
        let what = match reports.pop() {
            Some(final_one) if !reports.is_empty() => {
                format!("{} and {final_one}", reports.join(", "))
            }
            one => one.unwrap_or_default(),
        };
        format!(
            "{}: {}, so ferry skipped {what}",
            self.names.forge, self.why
        )
    }

    /// The whole notice.
    pub(crate) fn text(&self) -> String {
        format!("{}; fix: {}", self.sentence(), self.fix)
    }

    /// Says it once: a notice written to `log` now, or the failure for the caller to show as a
    /// warning. Either way the summary learns that the forge got only part of the report.
    /// Nothing is said when nothing was to be reported.
    pub(crate) fn report(
        &self,
        ci: Ci,
        log: &mut Stream,
        findings: &Findings,
    ) -> Option<SinkFailure> {
        if self.skipped.iter().all(|s| *s == Surface::Lookup) {
            return None;
        }
        findings.incomplete(self.names.forge);
        match self.severity {
            Severity::Notice => {
                let _ = writeln!(log, "{}", notice_line(ci, &self.text()));
                None
            }
            Severity::Failure => Some(SinkFailure::new(
                self.names.sink,
                self.sentence(),
                Some(self.fix.clone()),
            )),
        }
    }
}

/// The sink standing for a forge ferry cannot call this run (no token, only a job token, no
/// usable API URL): it only says so, once, at the end.
pub(crate) struct NoApi {
    degraded: Degraded,
    log: Stream,
    findings: Findings,
    failure: Option<SinkFailure>,
}

impl NoApi {
    pub(crate) fn new(degraded: Degraded, log: Stream, findings: Findings) -> Self {
        Self {
            degraded,
            log,
            findings,
            failure: None,
        }
    }
}

#[async_trait]
impl Sink for NoApi {
    fn name(&self) -> &'static str {
        self.degraded.names.sink
    }

    async fn event(&mut self, _: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, _: &RunOutcome, context: &Context) -> Result<()> {
        self.failure = self
            .degraded
            .report(context.ci, &mut self.log, &self.findings);
        Ok(())
    }

    fn failures(&mut self) -> Vec<SinkFailure> {
        self.failure.take().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    const NAMES: Names = Names {
        sink: "gitlab",
        forge: "GitLab",
        comment: "merge-request note",
        lookup: "merge-request lookup",
    };

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[test]
    fn one_sentence_whatever_the_cause() {
        let job_token = Degraded::no_token(
            NAMES,
            vec![Surface::Status, Surface::Comment],
            "only CI_JOB_TOKEN is available",
            "set FERRY_TOKEN",
        );
        assert_eq!(
            job_token.text(),
            "GitLab: only CI_JOB_TOKEN is available, so ferry skipped the commit status and the \
             merge-request note; fix: set FERRY_TOKEN"
        );
        let three = Degraded::failed(
            Names {
                sink: "github",
                forge: "GitHub",
                comment: "pull-request comment",
                lookup: "pull-request lookup",
            },
            vec![Surface::Status, Surface::Deployment, Surface::Comment],
            "the token is read-only here",
            "run ferry from a `workflow_run` workflow",
        );
        assert!(
            three.text().contains(
                "so ferry skipped the commit status, the deployment and the pull-request comment;"
            ),
            "{}",
            three.text()
        );
    }

    #[test]
    fn a_notice_is_written_and_a_failure_is_handed_back_both_in_the_same_words() {
        let findings = Findings::default();
        let out = Buffer::default();
        let mut log = Stream::new(out.clone());
        let notice = Degraded::no_token(NAMES, vec![Surface::Status], NO_TOKEN, "set FERRY_TOKEN");
        assert_eq!(notice.report(Ci::Gitlab, &mut log, &findings), None);
        assert_eq!(
            out.text(),
            "note: GitLab: no token was given (missing setting `token`), so ferry skipped the \
             commit status; fix: set FERRY_TOKEN\n"
        );
        let failure = Degraded::unusable(
            NAMES,
            vec![Surface::Status],
            &Error::MissingSetting {
                name: "CI_API_V4_URL".into(),
                hint: "export the instance's API URL".into(),
            },
        )
        .report(Ci::Gitlab, &mut log, &findings)
        .unwrap();
        assert_eq!(
            failure.to_string(),
            "gitlab failed: GitLab: missing setting `CI_API_V4_URL`, so ferry skipped the commit \
             status; fix: export the instance's API URL"
        );
        assert_eq!(
            out.text().lines().count(),
            1,
            "a failure is not written here"
        );
        assert_eq!(findings.get().incomplete, ["GitLab"]);
        // In GitHub Actions the notice is an annotation.
        let out = Buffer::default();
        let mut log = Stream::new(out.clone());
        let _ = notice.report(Ci::Github, &mut log, &findings);
        assert!(
            out.text()
                .starts_with("::notice title=ferry::GitLab: no token"),
            "{}",
            out.text()
        );
    }

    #[test]
    fn nothing_to_say_when_nothing_was_to_be_reported() {
        let findings = Findings::default();
        let out = Buffer::default();
        let mut log = Stream::new(out.clone());
        let quiet = Degraded::no_token(NAMES, Vec::new(), NO_TOKEN, "set FERRY_TOKEN");
        assert_eq!(quiet.report(Ci::Gitlab, &mut log, &findings), None);
        assert!(out.text().is_empty());
        assert!(findings.get().incomplete.is_empty());
    }
}
