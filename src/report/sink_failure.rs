//! A report that failed, worded one way for every sink and every forge:
//!
//! ```text
//! <sink> failed[ (<part>)]: <what>[; fix: <hint>]
//! ```
//!
//! `<sink>` is the sink's name (`github`, `gitlab`, `dotenv report`, …), `<part>` what part of
//! its report failed when it did only part (`commit status`, `merge-request note`, …), `<what>`
//! what happened (the request and the forge's answer), `<hint>` what to do about it. The caller
//! shows it as a warning line ([`super::warning_line`]); it never changes the deploy's result
//! (unless `fail_on_report_error`).

use std::fmt;

use crate::error::Error;

/// A sink that failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkFailure {
    /// The sink's [`super::Sink::name`].
    pub sink: &'static str,
    /// The part of the sink's report that failed, when only one did.
    pub part: Option<&'static str>,
    /// What happened.
    pub what: String,
    /// What to do about it, when ferry knows.
    pub fix: Option<String>,
}

impl SinkFailure {
    /// A failure worded from parts.
    pub fn new(sink: &'static str, what: impl Into<String>, fix: Option<String>) -> Self {
        Self {
            sink,
            part: None,
            what: what.into(),
            fix,
        }
    }

    /// The failure of a sink that met `error`.
    pub fn from_error(sink: &'static str, error: &Error) -> Self {
        let (what, fix) = split(error);
        Self::new(sink, what, fix)
    }

    /// The same failure, about one part of the sink's report.
    #[must_use]
    pub fn of_part(mut self, part: &'static str) -> Self {
        self.part = Some(part);
        self
    }
}

impl fmt::Display for SinkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.sink)?;
        if let Some(part) = self.part {
            write!(f, " ({part})")?;
        }
        write!(f, ": {}", self.what)?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

/// An error as what happened and the fix, for a report failure. The sink's name already says
/// which forge or file it is, so an API error starts with the request, not the forge's name.
pub(crate) fn split(error: &Error) -> (String, Option<String>) {
    match error {
        Error::PlatformApi {
            method,
            url,
            status,
            body,
            ..
        } => {
            let body = body.trim();
            let what = if body.is_empty() {
                format!("{method} {url} answered HTTP {status}")
            } else {
                format!("{method} {url} answered HTTP {status}: {body}")
            };
            (what, None)
        }
        Error::BadResponse {
            url, problem, hint, ..
        } => (
            format!("unexpected response from {url}: {problem}"),
            Some(hint.clone()),
        ),
        Error::InvalidSetting {
            name,
            source_name,
            problem,
            hint,
        } => (
            format!("invalid setting `{name}` ({source_name}): {problem}"),
            Some(hint.clone()),
        ),
        Error::MissingSetting { name, hint } => {
            (format!("missing setting `{name}`"), Some(hint.clone()))
        }
        Error::Unsupported { what, hint } => {
            (format!("{what} is not supported"), Some(hint.clone()))
        }
        Error::Unreachable { .. }
        | Error::ConfigFile { .. }
        | Error::CommandLine { .. }
        | Error::Io { .. }
        | Error::Internal { .. } => (error.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_reads_sink_part_what_fix() {
        let api = Error::PlatformApi {
            platform: "GitHub".into(),
            method: "POST".into(),
            url: "https://api.github.com/repos/o/r/deployments".into(),
            status: 502,
            body: "(not JSON) <html>".into(),
            retry_after: None,
        };
        assert_eq!(
            SinkFailure::from_error("github", &api)
                .of_part("deployment")
                .to_string(),
            "github failed (deployment): POST https://api.github.com/repos/o/r/deployments \
             answered HTTP 502: (not JSON) <html>"
        );
        let missing = Error::MissingSetting {
            name: "CI_API_V4_URL".into(),
            hint: "export the instance's API URL".into(),
        };
        assert_eq!(
            SinkFailure::from_error("gitlab", &missing).to_string(),
            "gitlab failed: missing setting `CI_API_V4_URL`; fix: export the instance's API URL"
        );
        let io = Error::Io {
            path: "ferry.env".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(
            SinkFailure::from_error("dotenv report", &io).to_string(),
            "dotenv report failed: ferry.env: disk full"
        );
    }

    #[test]
    fn a_fix_never_starts_a_line_of_its_own() {
        let bad = Error::BadResponse {
            platform: "GitLab".into(),
            url: "POST https://gitlab.example.com/api/v4/x".into(),
            problem: "connection reset".into(),
            hint: "check CI_API_V4_URL".into(),
        };
        let text = SinkFailure::from_error("gitlab", &bad).to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.ends_with("; fix: check CI_API_V4_URL"), "{text}");
    }
}
