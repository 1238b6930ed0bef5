//! The `[<phase>.logs]` table of the `http` description: where the log is and how it is read.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How to read the operation's log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogSpec {
    pub mode: LogMode,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `offset` mode: where the next offset is (`header:Name`; default: offset + bytes read).
    pub next_offset: Option<String>,
    /// The log is complete when this source is truthy (e.g. `header:X-Log-Complete`).
    pub complete: Option<String>,
    /// The log may still grow while this source is truthy and is complete once it is absent or
    /// false (e.g. Jenkins' `header:X-More-Data`).
    pub more: Option<String>,
    /// `cursor` mode: where the lines are (`/pointer` to an array of strings or one string).
    pub lines: Option<String>,
    /// `cursor` mode: where the next cursor is (`/pointer` or `header:Name`).
    pub cursor: Option<String>,
}

/// The ways a log can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogMode {
    /// Text from a byte offset (`{{ offset }}`).
    Offset,
    /// The whole log every time; ferry prints only what is new.
    Full,
    /// JSON pages of lines with a continuation cursor (`{{ cursor }}`).
    Cursor,
}
