//! What ferry writes to stdout and stderr outside the console sink (the `--json` result, the
//! plan, the context, the last error and warnings), made inert for whoever reads the stream.
//!
//! Inside GitHub-style Actions the runner reads workflow commands from every line of a step's
//! stdout *and* stderr: `::name::` at the start of a line, and the legacy `##[name]` anywhere in
//! one (see `workflow_commands`). stdout and stderr reach the runner interleaved, so a
//! `::stop-commands::` block on one stream does not protect the other. Hence:
//!
//! - JSON for stdout is escaped inside its strings: every `:` of a `::` and every `#` of a `##[`
//!   becomes a `\u` escape, so the text holds no command and parses back to the very same value;
//! - free text for stderr is cleaned of escape sequences and control characters (as everything
//!   shown in a terminal), shortened to [`TEXT_MAX`], and, in a runner, written inside a
//!   `::stop-commands::` block with a fresh token.

use crate::ci::Ci;

use super::sanitize::{self, Clean};
use super::workflow_commands::WorkflowCommands;

/// The most characters of free text written at once (an error quoting a huge value, a
/// platform's body): enough for any message people read.
pub(crate) const TEXT_MAX: usize = 8 * 1024;

/// True where the CI reads workflow commands from the step's output.
pub(crate) fn reads_commands(ci: Ci) -> bool {
    matches!(ci, Ci::Github | Ci::Gitea | Ci::Forgejo)
}

/// A JSON document for stdout: unchanged outside a runner; inside one, with no `::` and no
/// `##[` left in its text (escaped inside strings, where alone they can occur).
pub(crate) fn json(ci: Ci, text: String) -> String {
    if !reads_commands(ci) || !(text.contains("::") || text.contains("##[")) {
        return text;
    }
    // In JSON text, `::` and `##[` can only occur inside strings, where `\u` escapes are valid.
    text.replace("::", ":\\u003a").replace("##[", "#\\u0023[")
}

/// Free text for stderr (one or more lines, without the final newline): cleaned, bounded, and
/// inside a runner unable to run commands. The result ends with a newline.
pub(crate) fn text(ci: Ci, text: &str) -> String {
    let cleaned = sanitize::clean(
        text,
        Clean {
            keep_color: false,
            keep_newlines: true,
        },
    );
    let mut shown = crate::net::shorten(&cleaned, TEXT_MAX);
    shown.push('\n');
    if !reads_commands(ci) {
        return shown;
    }
    let mut out = String::new();
    let mut commands = WorkflowCommands::default();
    commands.text(&mut out, &shown);
    commands.resume(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_runner_holds_no_command_and_parses_back_the_same() {
        let value = serde_json::json!({
            "message": "##[add-mask]s3cret ::error::x",
            "lines": ["::add-mask::y", "a##[b"],
            "url": "https://h/p::q"
        });
        for text in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let inert = json(Ci::Github, text.clone());
            assert!(!inert.contains("::") && !inert.contains("##["), "{inert}");
            let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
            assert_eq!(back, value);
            assert_eq!(json(Ci::Gitlab, text.clone()), text);
        }
    }

    #[test]
    fn text_in_a_runner_is_inside_a_stop_commands_block() {
        let out = text(Ci::Github, "error: x\n::add-mask::y ##[error]z\x1b[2J");
        let lines: Vec<&str> = out.lines().collect();
        let token = lines[0].strip_prefix("::stop-commands::").unwrap();
        assert_eq!(lines.last().copied(), Some(format!("::{token}::").as_str()));
        assert!(!out.contains('\x1b'));
        assert_eq!(text(Ci::Local, "a\nb"), "a\nb\n");
    }

    #[test]
    fn text_is_bounded() {
        let big = "x".repeat(1024 * 1024);
        assert!(text(Ci::Local, &big).len() < TEXT_MAX + 8);
    }
}
