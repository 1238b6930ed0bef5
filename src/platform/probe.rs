//! Stage: platform. `ferry check --probe`: what one read-only request per platform found out
//! (reachable, credential accepted, the app/job/application exists). It must never trigger,
//! cancel or change anything, never print (the checklist is a `report` concern) and never put
//! a credential in a finding.

use serde::Serialize;

use crate::error::Error;

/// How one item of the checklist stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Proven by an answer.
    Ok,
    /// Refused or absent: a credential refused or not set, an app that does not exist.
    Missing,
    /// The platform or forge could not be reached (a `missing` that exits 3, not 2).
    Unreachable,
    /// Nothing read-only can tell.
    CannotTell,
}

impl Verdict {
    /// As the checklist shows it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Missing => "missing",
            Verdict::Unreachable => "unreachable",
            Verdict::CannotTell => "cannot tell",
        }
    }
}

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked (`platform (paas.example.com): credential and app`).
    pub item: String,
    pub verdict: Verdict,
    /// What was seen (the request and its answer; never a credential).
    pub detail: String,
    /// What to do, for anything not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// A proven item.
    pub fn ok(item: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            item: item.into(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    /// An item not ok, with its fix.
    pub fn not_ok(
        item: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            item: item.into(),
            verdict,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// The finding for a probe request that failed with `e`: unreachable (or the platform
    /// failing: 5xx, 429) is [`Verdict::Unreachable`], anything else (a refused credential, a
    /// 404, a setting) [`Verdict::Missing`]. The fix is the error's own, or `fix`.
    pub(crate) fn from_error(item: impl Into<String>, e: &Error, fix: &str) -> Self {
        let verdict = if e.is_transient() {
            Verdict::Unreachable
        } else {
            Verdict::Missing
        };
        let text = e.to_string();
        let (detail, own_fix) = match text.split_once("\n  fix: ") {
            Some((d, f)) => (d.to_string(), f.to_string()),
            None => (text.clone(), fix.to_string()),
        };
        Self::not_ok(item, verdict, detail, own_fix)
    }
}
