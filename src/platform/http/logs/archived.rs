//! `archived`: logs kept after the operation ended (DigitalOcean's `historic_urls`), read once,
//! in order, when the live log showed nothing. `archived` is a value source in the last status
//! answer (or the `locate` answer, see `located.rs`): a pointer to a list of URLs (or to one URL), or a header or template giving one.
//!
//! Each URL gets the log's headers, and the platform's headers and credential only on the
//! platform's own origin (a pre-signed URL elsewhere gets nothing it was not meant to); with
//! `auth = "none"` not even there (URLs that carry their own token, as DigitalOcean's do).

use super::super::source::{Source, value_text};
use super::super::{HttpBackend, bad_source, lines};
use super::entries::kind;
use super::located::Answer;
use super::misfit;
use crate::error::Result;
use crate::platform::backend::{LogSink, Operation};
use crate::platform::http::log_spec::LogAuth;
use crate::platform::http::spec::LogSpec;

impl HttpBackend {
    /// Reads every archived log; returns the lines shown.
    pub(super) async fn read_archived(
        &self,
        op: &mut Operation,
        (body, headers): Answer<'_>,
        archived: &str,
        section: &str,
        spec: &LogSpec,
        sink: &mut dyn LogSink,
    ) -> Result<u64> {
        let src =
            Source::parse(archived).ok_or_else(|| bad_source(section, "archived", archived))?;
        let urls = match &src {
            Source::Pointer(p) => match body.and_then(|b| b.pointer(p)) {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::Array(items)) => {
                    items.iter().filter_map(value_text).collect()
                }
                Some(serde_json::Value::String(one)) => vec![one.clone()],
                Some(other) => {
                    let base = self.client.base().clone();
                    return Err(misfit(
                        self,
                        &base,
                        section,
                        "archived",
                        &format!(
                            "archived = {p:?} is {} in the answer it is read from, not a list of URLs",
                            kind(other)
                        ),
                        "point archived at the list of the archived logs' URLs (e.g. /deployment/historic_urls)",
                    ));
                }
            },
            other => other.extract(body, headers, &op.vars).into_iter().collect(),
        };
        let mut shown = 0;
        for text in urls.iter().filter(|u| !u.trim().is_empty()) {
            let url = self.absolute(text.trim())?;
            let req = self.log_request(spec, url, &op.vars, section)?;
            let redacted = self.client.stream.shown(&req.url);
            // `auth = "none"`: URLs that carry their own token (DigitalOcean's) get no credential,
            // even on the platform's origin.
            let credential = spec.auth != Some(LogAuth::None);
            let resp = self.client.stream.open(req, credential).await?;
            let (_, lines) = self
                .stream_lines(resp, &redacted, 0, &mut op.log.carry, sink)
                .await?;
            shown += lines + lines::flush(&mut op.log.carry, sink).await;
        }
        Ok(shown)
    }
}
