//! The `[<phase>.logs]` table of the `http` description: where the log is and how it is read.
//!
//! Only the shape of the table; what each key needs is checked in `check.rs` (`check_logs`),
//! and how each mode reads in `logs/`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::spec::RequestSpec;

/// How to read the operation's log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogSpec {
    /// How the live log is read; absent when only `archived` logs are described.
    pub mode: Option<LogMode>,
    /// Where the log is: a templated path joined to the platform URL (or an absolute URL).
    pub path: Option<String>,
    /// Where the log is, instead of `path`: a value source evaluated against the last status
    /// answer (`/output_stream_url`, `header:Link`); absent there = not there yet.
    pub url: Option<String>,
    /// Headers sent to the log. A log on another origin gets only these.
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
    /// `cursor` and `entries` modes: where the next cursor is (`/pointer` or `header:Name`).
    pub cursor: Option<String>,
    /// `cursor` and `entries` modes: the first cursor (a template, e.g. the creation time).
    pub start: Option<String>,
    /// `entries` mode: a pointer to the array of entries (`""`, the default, is the whole body).
    pub items: Option<String>,
    /// `entries` mode: the pointer to the text inside one entry (required); `websocket` mode:
    /// the pointer to the text inside one JSON frame (without it, a frame's text is the lines).
    pub text: Option<String>,
    /// `entries` mode: a pointer to the entry's time, shown before its text.
    pub time: Option<String>,
    /// `entries` mode: a pointer to the entry's level, shown before its text.
    pub level: Option<String>,
    /// `entries` mode: a pointer to a unique id per entry (entries already shown are skipped).
    pub key: Option<String>,
    /// `stream` mode: `text` (default) or `sse` (Server-Sent Events: the `data:` lines).
    pub format: Option<StreamFormat>,
    /// `websocket` mode: whether the platform credential goes along (`platform`, only on the
    /// platform's origin), inside the `subscribe` frame (`{ frame = { field, origin } }`, only
    /// to the origin named there) or not at all (`none`, the default). Archived logs get it on
    /// the platform's origin unless `auth = "none"` (URLs that carry their own token).
    pub auth: Option<LogAuth>,
    /// `websocket` mode: a JSON message sent as the first frame once the socket is open (a
    /// subscription, e.g. Netlify's `{"deploy_id", "site_id", "access_token"}`); its strings
    /// are templates.
    pub subscribe: Option<serde_json::Value>,
    /// `websocket` mode: every connection sends the log from its first frame again (Netlify's
    /// socketeer), so after a reconnect the frames already received are skipped by count.
    pub replay: Option<bool>,
    /// A value source for a list of URLs (or one URL) read once, in order, after the operation
    /// ended, when the live log showed nothing.
    pub archived: Option<String>,
    /// A request of its own that says where the log is (DigitalOcean's `…/logs?type=BUILD`):
    /// asked until its answer has `url`, and once more after the operation ended for
    /// `archived`. `url` and `archived` are then read from its answer, not the status answer.
    pub locate: Option<RequestSpec>,
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
    /// JSON log entries (objects with a text field), paged like `cursor`.
    Entries,
    /// One long answer read as it comes, while the status is polled.
    Stream,
    /// A WebSocket whose frames are the log.
    Websocket,
}

impl LogMode {
    /// Whether a reader runs in the background for the length of the operation.
    pub(crate) fn is_live(self) -> bool {
        matches!(self, LogMode::Stream | LogMode::Websocket)
    }

    /// The name as written in `ferry.toml`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LogMode::Offset => "offset",
            LogMode::Full => "full",
            LogMode::Cursor => "cursor",
            LogMode::Entries => "entries",
            LogMode::Stream => "stream",
            LogMode::Websocket => "websocket",
        }
    }
}

/// How a `stream` log's body is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StreamFormat {
    /// Lines of text; a dropped stream resumes with `Range`.
    #[default]
    Text,
    /// Server-Sent Events; the `data:` lines are the log, a dropped stream resumes with
    /// `Last-Event-ID`.
    Sse,
}

/// Whether a WebSocket log gets the platform credential.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum LogAuth {
    /// The credential, when the WebSocket is on the platform's origin (never elsewhere).
    Platform,
    /// No credential.
    None,
    /// The platform token (the bare token, not its header) put into the `subscribe` frame at
    /// `field`, and only when the WebSocket is at `origin` (checked again after the handshake,
    /// so a redirect cannot take it elsewhere). For a log socket on another origin than the
    /// API that authenticates in its first frame (Netlify's socketeer); never in a header.
    Frame {
        /// A JSON Pointer into the `subscribe` frame (`/access_token`).
        field: String,
        /// The only origin the frame with the token is sent to (`wss://host[:port]`).
        origin: String,
    },
}

#[cfg(test)]
mod tests {
    use super::super::check::check_logs;
    use super::*;

    fn check(toml: &str) -> Result<(), String> {
        let spec: LogSpec = toml::from_str(toml).map_err(|e| e.to_string())?;
        check_logs("[build.logs]", &spec).map_err(|e| e.to_string())
    }

    #[track_caller]
    fn refused(toml: &str, needles: &[&str]) {
        let e = check(toml).unwrap_err();
        assert!(e.starts_with("ferry.toml [build.logs]"), "{e}");
        for needle in needles {
            assert!(e.contains(needle), "{needle:?} not in {e}");
        }
        assert!(e.contains("fix:"), "{e}");
    }

    #[test]
    fn every_mode_with_what_it_needs_is_accepted() {
        for ok in [
            "mode = \"offset\"\npath = \"/l?o={{ offset }}\"\nnext_offset = \"header:X-Next\"",
            "mode = \"full\"\nurl = \"/log_url\"",
            "mode = \"cursor\"\npath = \"/l\"\nlines = \"/lines\"\ncursor = \"/next\"\nstart = \"{{ id }}\"",
            "mode = \"entries\"\npath = \"/l?c={{ cursor }}\"\nitems = \"/logs\"\ntext = \"/message\"\ntime = \"/t\"\nlevel = \"/l\"\nkey = \"/id\"\ncursor = \"header:X-Next\"\nmore = \"/hasMore\"",
            "mode = \"stream\"\nurl = \"/output_stream_url\"\nformat = \"sse\"",
            "mode = \"websocket\"\nurl = \"/live_url\"\ntext = \"/message\"\nauth = \"platform\"\narchived = \"/historic_urls\"",
            "archived = \"/historic_urls\"",
            "archived = \"/historic_urls\"\nauth = \"none\"",
            "mode = \"full\"\nurl = \"/u\"\narchived = \"/h\"\nauth = \"none\"",
            "mode = \"websocket\"\nurl = \"/live_url\"\narchived = \"/historic_urls\"\nlocate = { path = \"/d/{{ id }}/logs?type=BUILD\" }",
            "archived = \"/historic_urls\"\nlocate = { path = \"/d/{{ id }}/logs\", headers = { Accept = \"application/json\" } }",
            "mode = \"websocket\"\npath = \"wss://logs.example/l\"\nsubscribe = { id = \"{{ id }}\" }\nauth = { frame = { field = \"/access_token\", origin = \"wss://logs.example\" } }\nreplay = true",
            "mode = \"websocket\"\npath = \"ws://127.0.0.1:9/l\"\nsubscribe = { id = \"{{ id }}\" }\nauth = { frame = { field = \"/a/b\", origin = \"ws://127.0.0.1:9\" } }",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_mode_without_what_it_needs_names_the_key_and_the_fix() {
        refused("mode = \"stream\"", &["mode = \"stream\"", "path", "url"]);
        refused("mode = \"websocket\"", &["mode = \"websocket\"", "url"]);
        refused(
            "mode = \"full\"\npath = \"/l\"\nurl = \"/u\"",
            &["both `path` and `url`"],
        );
        refused(
            "mode = \"entries\"\npath = \"/l\"",
            &["`text`", "text = \"/message\""],
        );
        refused("mode = \"cursor\"\npath = \"/l\"", &["`lines`"]);
        refused("headers = { A = \"b\" }", &["archived", "mode"]);
        refused("archived = \"/h\"\nurl = \"/u\"", &["no mode"]);
    }

    #[test]
    fn bad_sources_and_keys_of_another_mode_are_refused() {
        refused(
            "mode = \"stream\"\nurl = \"log_url\"",
            &["`url`", "not a value source"],
        );
        refused(
            "mode = \"entries\"\npath = \"/l\"\ntext = \"message\"",
            &["`text`", "JSON Pointer"],
        );
        refused("archived = \"urls\"", &["`archived`"]);
        refused(
            "mode = \"offset\"\npath = \"/l\"\nformat = \"sse\"",
            &["`format`", "mode = stream"],
        );
        refused(
            "mode = \"stream\"\npath = \"/l\"\nauth = \"platform\"",
            &["`auth`", "websocket"],
        );
        refused(
            "mode = \"full\"\npath = \"/l\"\ntext = \"/m\"",
            &["`text`", "entries or websocket"],
        );
        assert!(check("mode = \"stream\"\npath = \"/l\"\nformat = \"json\"").is_err());
    }

    #[test]
    fn a_locate_request_must_be_read_from() {
        refused(
            "mode = \"websocket\"\npath = \"/l\"\nlocate = { path = \"/logs\" }",
            &[
                "[build.logs.locate]",
                "remove `path`",
                "url = \"/live_url\"",
            ],
        );
        refused(
            "mode = \"full\"\nurl = \"{{ log }}\"\nlocate = { path = \"/logs\" }",
            &["`url`", "template", "never read"],
        );
        refused(
            "archived = \"{{ log }}\"\nlocate = { path = \"/logs\" }",
            &["`archived`", "template"],
        );
        refused(
            "mode = \"websocket\"\nlocate = { path = \"/logs\" }",
            &["reads nothing", "url = \"/live_url\"", "archived"],
        );
        refused(
            "archived = \"/h\"\nlocate = { path = \" \" }",
            &["[build.logs.locate]", "empty `path`"],
        );
        assert!(check("archived = \"/h\"\nlocate = { path = \"/l\", typo = 1 }").is_err());
    }

    #[test]
    fn a_token_in_the_first_frame_needs_the_frame_and_a_secure_origin() {
        let ws = "mode = \"websocket\"\npath = \"wss://logs.example/l\"\n";
        let sub = "subscribe = { id = \"{{ id }}\" }\n";
        let auth = |field: &str, origin: &str| {
            format!("auth = {{ frame = {{ field = \"{field}\", origin = \"{origin}\" }} }}")
        };
        refused(
            &format!("{ws}{}", auth("/t", "wss://logs.example")),
            &["`auth.frame`", "`subscribe`"],
        );
        refused(
            &format!("{ws}{sub}{}", auth("t", "wss://logs.example")),
            &["`auth.frame.field`", "JSON Pointer"],
        );
        refused(
            &format!("{ws}{sub}{}", auth("/t", "wss://logs.example/build/logs")),
            &["`auth.frame.origin`", "not an origin"],
        );
        refused(
            &format!("{ws}{sub}{}", auth("/t", "ws://logs.example")),
            &["`auth.frame.origin`", "not wss"],
        );
        refused(
            "mode = \"stream\"\npath = \"/l\"\nsubscribe = { a = \"b\" }",
            &["`subscribe`", "websocket"],
        );
        refused(
            "mode = \"entries\"\npath = \"/l\"\ntext = \"/m\"\nreplay = true",
            &["`replay`", "websocket"],
        );
        refused(
            &format!("{ws}subscribe = \"text\""),
            &["`subscribe`", "not a table"],
        );
        assert!(
            check(&format!(
                "{ws}{sub}auth = {{ frame = {{ field = \"/t\" }} }}"
            ))
            .is_err()
        );
    }
}
