//! After the operation succeeded: the `[<phase>.fetch.<name>]` requests, each read once (the app
//! whose URL is the environment's), for outputs written `<name>:/pointer`; and the platform's own
//! words about a failure (`[<phase>.status] message`).
//!
//! Must not decide when to read or retry: the engine calls [`HttpBackend::fetch_all`] after a
//! success and retries it like a status read; what was read is not read again.

use super::HttpBackend;
use super::source::Source;
use crate::error::Result;
use crate::platform::backend::Operation;

/// The most characters of a platform's failure text kept in the phase's message.
const MESSAGE_CHARS: usize = 500;

impl HttpBackend {
    /// Reads each fetch not read yet, in name order.
    pub(super) async fn fetch_all(&self, op: &mut Operation) -> Result<()> {
        let phase = op.phase;
        let spec = self.spec(phase)?;
        for (name, fetch) in &spec.fetch {
            if op.fetched.contains_key(name) {
                continue;
            }
            let section = format!("[{phase}.fetch.{name}]");
            let req = self.plain(&section, fetch, "GET", &op.vars)?;
            let (body, _) = self.json(req, &format!("{section} path")).await?;
            op.fetched.insert(name.clone(), body);
        }
        Ok(())
    }

    /// What `[<phase>.status] message` points at in the last status answer, shortened.
    pub(super) fn failure_message(&self, op: &Operation) -> Option<String> {
        let phase = op.phase;
        // `ferry check` refused a key that is not a value source when the file was read.
        let src = Source::parse(self.spec(phase).ok()?.status.message.as_deref()?)?;
        let said = src.extract(op.last_body.as_ref(), &op.last_headers, &op.vars)?;
        let said = said.trim();
        (!said.is_empty()).then(|| crate::net::shorten(said, MESSAGE_CHARS))
    }
}
