//! Diagnostics (`-v`, `FERRY_LOG`, `RUST_LOG`) on stderr, redacted and inert.
//!
//! `tracing` output is for people debugging ferry, at any verbosity, including what the HTTP
//! crates log themselves (a redirect's URL, a connection error). Every event goes through
//! [`DiagnosticWriter`]: it is redacted with every secret known so far (the environment's tokens
//! from the start, then the plan's, see [`use_redactor`]), cleaned of escape sequences, and inside
//! a runner unable to run workflow commands (`::` and `##[` are broken with a zero-width space;
//! diagnostics need no byte-exact fidelity).

use std::io::Write;
use std::sync::{PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

use super::sanitize::{self, Clean};
use crate::secret::Redactor;

/// The secrets diagnostics are redacted with (one process, one subscriber).
static REDACTOR: RwLock<Option<Redactor>> = RwLock::new(None);

/// Redacts every diagnostic from now on with `redactor` (which should hold every secret known).
pub(crate) fn use_redactor(redactor: Redactor) {
    *REDACTOR.write().unwrap_or_else(PoisonError::into_inner) = Some(redactor);
}

/// Makes one [`EventWriter`] per diagnostic event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DiagnosticWriter {
    /// Inside a CI that reads workflow commands from the output.
    pub runner: bool,
}

impl<'a> MakeWriter<'a> for DiagnosticWriter {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            runner: self.runner,
            buf: Vec::new(),
        }
    }
}

/// Collects one formatted event, and writes it, made safe, when dropped.
pub(crate) struct EventWriter {
    runner: bool,
    buf: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = safe(
            &String::from_utf8_lossy(&std::mem::take(&mut self.buf)),
            self.runner,
        );
        let mut err = std::io::stderr().lock();
        err.write_all(text.as_bytes())?;
        err.flush()
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// One diagnostic event as it may be shown.
fn safe(text: &str, runner: bool) -> String {
    let redacted = match &*REDACTOR.read().unwrap_or_else(PoisonError::into_inner) {
        Some(r) => r.redact(text),
        None => Redactor::default().redact(text),
    };
    let cleaned = sanitize::clean(
        &redacted,
        Clean {
            keep_color: false,
            keep_newlines: true,
        },
    )
    .into_owned();
    if runner {
        cleaned
            .replace("::", ":\u{200b}:")
            .replace("##[", "##\u{200b}[")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_inert_in_a_runner_and_userinfo_goes() {
        let shown = safe("GET https://u:pw-1@h/x ##[add-mask]y\n::error::z\n", true);
        assert!(!shown.contains("pw-1"), "{shown}");
        assert!(!shown.contains("##[") && !shown.contains("::"), "{shown}");
        assert!(shown.ends_with('\n'));
    }
}
