//! `[<phase>.logs.locate]`: a request of its own that says where the log is, for platforms
//! whose status answer does not (DigitalOcean answers `GET …/deployments/{id}/logs?type=BUILD`
//! with a `live_url` while the step runs and `historic_urls` once it is done).
//!
//! It is asked before each read while the live log has no URL yet and the operation has not
//! ended, and once more after the end for the archived logs; `url` and `archived` are then read
//! from its answer instead of the status answer. It is a platform request like any other (the
//! platform's origin, its headers and credential); the URLs it gives are not: they get only
//! what `[<phase>.logs] headers` name (a URL that carries its own token needs nothing else).
//!
//! Must not read the log itself, nor decide when to read: the reads in `logs.rs` do.

use serde_json::Value;

use super::super::HttpBackend;
use super::super::source::Source;
use super::state::HttpState;
use crate::error::Result;
use crate::platform::backend::Operation;
use crate::platform::http::spec::LogSpec;

/// What the answer asked after the end says of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Located {
    /// It names archived logs: read them.
    Archived,
    /// It still names the live log (the platform has not archived it yet): ask again.
    StillLive,
    /// It names neither: there is no log to read.
    Nothing,
}

/// An answer values are read from: its body (if any) and its headers.
pub(super) type Answer<'a> = (Option<&'a Value>, &'a [(String, String)]);

/// The answer `url` and `archived` are read from: the locate answer when the log has a
/// `locate` request (`None` until it answered), else the last status answer.
pub(super) fn answer<'a>(
    spec: &LogSpec,
    op: &'a Operation,
    st: &'a HttpState,
) -> Option<Answer<'a>> {
    if spec.locate.is_none() {
        return Some((op.last_body.as_ref(), op.last_headers.as_slice()));
    }
    st.located
        .as_ref()
        .map(|(body, headers)| (Some(body), headers.as_slice()))
}

/// Whether `text` (a value source) names something in `answer`: a pointer to a non-empty list or
/// a non-empty value, or a header or template that gives one.
fn names(
    text: Option<&str>,
    answer: (Option<&Value>, &[(String, String)]),
    op: &Operation,
) -> bool {
    let Some(src) = text.and_then(Source::parse) else {
        return false;
    };
    if let (Source::Pointer(p), Some(body)) = (&src, answer.0) {
        return match body.pointer(p) {
            None | Some(Value::Null) => false,
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
    }
    src.extract(answer.0, answer.1, &op.vars)
        .is_some_and(|s| !s.trim().is_empty())
}

impl HttpBackend {
    /// Asks where the log is; the answer replaces the last one.
    async fn locate(
        &self,
        op: &Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
    ) -> Result<()> {
        let Some(locate) = &spec.locate else {
            return Ok(());
        };
        let section = format!("{}.locate]", section.trim_end_matches(']'));
        let req = self.plain(&section, locate, "GET", &op.vars)?;
        let answer = self.json(req, &format!("{section} path")).await?;
        st.located = Some(answer);
        Ok(())
    }

    /// Before a live read: asks where the log is while the answer at hand does not say yet.
    pub(super) async fn locate_live(
        &self,
        op: &Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
    ) -> Result<()> {
        let Some(mode) = spec.mode else {
            // Only archived logs: nothing to ask before the end.
            return Ok(());
        };
        // A live reader (not running when this is called) is opened at a URL asked anew: the
        // last one may have expired. Another mode reads the URL it found until the end.
        let found = answer(spec, op, st).is_some_and(|a| names(spec.url.as_deref(), a, op));
        if found && !mode.is_live() {
            return Ok(());
        }
        self.locate(op, st, spec, section).await
    }

    /// After the end: asks again, for the archived logs.
    pub(super) async fn locate_archived(
        &self,
        op: &Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
    ) -> Result<Located> {
        self.locate(op, st, spec, section).await?;
        let Some(answer) = answer(spec, op, st) else {
            return Ok(Located::Nothing);
        };
        Ok(if names(spec.archived.as_deref(), answer, op) {
            Located::Archived
        } else if spec.mode.is_some() && names(spec.url.as_deref(), answer, op) {
            Located::StillLive
        } else {
            Located::Nothing
        })
    }
}
