//! GitHub Actions workflow commands on the log: escaping, and keeping command processing off
//! whenever ferry writes anything it did not fully compose itself.
//!
//! The runner reads commands from every line of a step's stdout and stderr, in two syntaxes
//! (actions/runner `ActionCommand.cs`): `::name props::data` at the start of a line (after leading
//! whitespace), and the legacy `##[name props]data` **anywhere in a line**. So a platform log line
//! or a platform error message could forge `::add-mask::`, `::error::`, `::set-output` or even
//! `##[stop-commands]` mid-sentence. The rule this type enforces:
//!
//! > Every line ferry writes is either one of ferry's own commands, written while command
//! > processing is on, or anything else, written between `::stop-commands::<token>` and
//! > `::<token>::`, with a fresh random token (128 bits) for each such block.
//!
//! A fresh token per block (rather than one per run) means a token that has been printed is never
//! valid again, even for someone who can read the live log.

use std::fmt::Write as _;

/// Escapes a command's data (message) the way actions/toolkit's `escapeData` does, and breaks
/// any legacy `##[` inside with a zero-width space (ferry's command must be the only one on its
/// line, whichever syntax the runner tries first).
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace("##[", "##\u{200b}[")
}

/// Escapes a command property value the way actions/toolkit's `escapeProperty` does.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Whether command processing is currently stopped, and with which token.
#[derive(Debug, Default)]
pub(crate) struct WorkflowCommands {
    stopped: Option<String>,
}

impl WorkflowCommands {
    /// Makes sure command processing is off before writing text that is not a command.
    pub(crate) fn stop(&mut self, out: &mut String) {
        if self.stopped.is_none() {
            let token = format!("{:032x}", rand::random::<u128>());
            let _ = writeln!(out, "::stop-commands::{token}");
            self.stopped = Some(token);
        }
    }

    /// Turns command processing back on, if it was off.
    pub(crate) fn resume(&mut self, out: &mut String) {
        if let Some(token) = self.stopped.take() {
            let _ = writeln!(out, "::{token}::");
        }
    }

    /// Writes one of ferry's own commands (`line` without the newline), processing on.
    pub(crate) fn command(&mut self, out: &mut String, line: &str) {
        self.resume(out);
        out.push_str(line);
        out.push('\n');
    }

    /// Writes text that must not be read as commands.
    pub(crate) fn text(&mut self, out: &mut String, text: &str) {
        self.stop(out);
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert!(!escape_data("a ##[add-mask]b").contains("##["));
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn text_is_always_inside_a_block_and_commands_outside() {
        let mut w = WorkflowCommands::default();
        let mut out = String::new();
        w.command(&mut out, "::group::build log");
        w.text(&mut out, "::error::pwned\n");
        w.text(&mut out, "more\n");
        w.command(&mut out, "::endgroup::");
        w.resume(&mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert_eq!(lines[0], "::group::build log");
        let token = lines[1]
            .strip_prefix("::stop-commands::")
            .unwrap_or_default();
        assert_eq!(token.len(), 32);
        assert_eq!(lines[4], format!("::{token}::"));
        assert_eq!(lines[5], "::endgroup::");
    }

    #[test]
    fn each_block_gets_a_fresh_token() {
        let mut w = WorkflowCommands::default();
        let mut out = String::new();
        w.text(&mut out, "a\n");
        w.resume(&mut out);
        w.text(&mut out, "b\n");
        let tokens: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("::stop-commands::"))
            .collect();
        assert_eq!(tokens.len(), 2);
        assert_ne!(tokens[0], tokens[1]);
    }
}
