//! Untrusted text made inert for a terminal or a CI log: escape sequences and control characters out.
//!
//! Platform log lines, platform states, error messages and branch names are written by someone else.
//! On a terminal an escape sequence can move the cursor, rewrite the window title, hide text or (in
//! some terminals) write the clipboard (OSC 52); in a GitLab job log `\x1b[0K…\r` forges collapsible
//! sections. So every piece of untrusted text goes through [`clean`] before it is written anywhere a
//! terminal renders it. The decision, documented once here:
//!
//! - every ECMA-48 escape sequence is removed (CSI, OSC, DCS/SOS/PM/APC strings, two-byte `ESC x`),
//!   in both 7-bit (`ESC [`) and 8-bit (`U+009B`) forms;
//! - the only exception is SGR colour (`ESC [ … m`) when the caller asks for it (a colour terminal):
//!   a platform's coloured build log stays coloured, and a reset is appended so colour never bleeds
//!   into ferry's own lines;
//! - other C0 and C1 control characters and DEL are removed (`\r` included: it would let a line
//!   overwrite what is before it); a tab stays;
//! - Unicode bidirectional overrides and isolates are removed (they reorder what people read);
//! - newlines become spaces when the caller wants one line, otherwise they are kept.
//!
//! This module does not know about Markdown or workflow commands: those are other escapers.

use std::borrow::Cow;

/// What to keep from untrusted text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Clean {
    /// Keep SGR colour sequences (and reset at the end).
    pub(crate) keep_color: bool,
    /// Keep `\n`; otherwise every line break becomes one space.
    pub(crate) keep_newlines: bool,
}

const ESC: char = '\x1b';
const BEL: char = '\x07';
/// The 8-bit String Terminator.
const ST: char = '\u{9c}';

/// Cleans `text` for one line (no newlines, no colour).
pub(crate) fn inline(text: &str) -> Cow<'_, str> {
    clean(text, Clean::default())
}

/// Cleans `text` with the given options. Borrows when there is nothing to remove.
pub(crate) fn clean(text: &str, opts: Clean) -> Cow<'_, str> {
    if !text.chars().any(needs_work) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut kept_color = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                Some('[') => {
                    let seq = take_csi(&mut chars);
                    if opts.keep_color && is_sgr(&seq) {
                        out.push(ESC);
                        out.push('[');
                        out.push_str(&seq);
                        kept_color = true;
                    }
                }
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // `ESC` + intermediates (0x20–0x2F) + one final byte (`ESC ( B`, `ESC # 8`, …).
                Some(' '..='/') => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next();
                }
                // Any other two-byte sequence (`ESC c`, `ESC 7`, `ESC M`), or a lone ESC at the end.
                Some(_) | None => {}
            },
            '\u{9b}' => {
                take_csi(&mut chars);
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' if opts.keep_newlines => out.push('\n'),
            '\n' | '\r' if !opts.keep_newlines => {
                // `\r\n` and `\n` alike become one space.
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if c == '\n' || !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            '\t' => out.push('\t'),
            c if is_removed(c) => {}
            c => out.push(c),
        }
    }
    if kept_color {
        out.push_str("\x1b[0m");
    }
    Cow::Owned(out)
}

fn needs_work(c: char) -> bool {
    c != '\t' && is_removed(c)
}

/// Control characters (C0, DEL, C1) and bidirectional formatting characters.
fn is_removed(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Consumes the rest of a CSI sequence (parameters, intermediates, final byte) and returns it
/// (without the introducer). Stops early at anything that cannot be part of one.
fn take_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut seq = String::new();
    while let Some(&c) = chars.peek() {
        match c {
            '0'..='?' | ' '..='/' => {
                seq.push(c);
                chars.next();
            }
            '@'..='~' => {
                seq.push(c);
                chars.next();
                return seq;
            }
            // Malformed: drop what we have and let the caller see the rest as text.
            _ => return String::new(),
        }
    }
    String::new()
}

/// True for a complete SGR sequence with plain numeric parameters (`1;31m`, `38:5:208m`, `m`).
fn is_sgr(seq: &str) -> bool {
    seq.strip_suffix('m').is_some_and(|params| {
        params
            .chars()
            .all(|c| c.is_ascii_digit() || c == ';' || c == ':')
    })
}

/// Skips an OSC/DCS/SOS/PM/APC string up to its terminator (BEL, `ESC \` or 8-bit ST).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL | ST => return,
            ESC if chars.peek() == Some(&'\\') => {
                chars.next();
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_color(s: &str) -> String {
        clean(
            s,
            Clean {
                keep_color: true,
                keep_newlines: false,
            },
        )
        .into_owned()
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(inline("hello\tworld"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_csi_osc_and_two_byte_sequences() {
        assert_eq!(inline("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(inline("a\x1b]0;title\x07b"), "ab");
        assert_eq!(inline("a\x1b]52;c;aGk=\x1b\\b"), "ab");
        assert_eq!(inline("a\x1bcb\x1b7c"), "abc");
        assert_eq!(inline("a\x1b(Bb"), "ab");
        assert_eq!(inline("a\x1bP1$r\x1b\\b"), "ab");
        assert_eq!(inline("a\u{9b}2Jb"), "ab");
        assert_eq!(inline("a\u{9d}0;t\u{9c}b"), "ab");
        assert_eq!(inline("end\x1b"), "end");
    }

    #[test]
    fn gitlab_section_markers_are_neutralised() {
        let forged = "\x1b[0Ksection_start:1:evil[collapsed=true]\r\x1b[0Kheader";
        let cleaned = inline(forged);
        assert!(!cleaned.contains('\x1b') && !cleaned.contains('\r'));
    }

    #[test]
    fn control_characters_and_bidi_go() {
        assert_eq!(inline("a\x00b\x08c\x7fd\u{85}e"), "abcde");
        assert_eq!(inline("abc\u{202e}fed"), "abcfed");
        assert_eq!(inline("one\r\ntwo\nthree\rfour"), "one two three four");
    }

    #[test]
    fn newlines_kept_on_request() {
        let opts = Clean {
            keep_color: false,
            keep_newlines: true,
        };
        assert_eq!(clean("a\nb\r\x1b[2Kc", opts), "a\nbc");
    }

    #[test]
    fn colour_kept_only_as_sgr_and_reset_appended() {
        assert_eq!(keep_color("\x1b[1;31mred"), "\x1b[1;31mred\x1b[0m");
        assert_eq!(keep_color("\x1b[2Kx\x1b[?25l"), "x");
        assert_eq!(keep_color("plain"), "plain");
    }
}
