//! The library's error type: every variant says what went wrong and what to do about it.

use std::time::Duration;

use crate::exit::ExitCode;

/// Everything that can go wrong in ferry, by domain. Messages name the setting, value or
/// endpoint and the fix; none of them ever contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting has a value ferry cannot use.
    #[error("invalid setting `{name}` ({source_name}): {problem}\n  fix: {hint}")]
    InvalidSetting {
        name: String,
        /// Where the value came from (`--timeout`, `FERRY_TIMEOUT`, `ferry.toml`, …).
        source_name: String,
        problem: String,
        hint: String,
    },
    /// A setting the command needs is not set anywhere.
    #[error("missing setting `{name}`: {hint}")]
    MissingSetting { name: String, hint: String },
    /// The settings file cannot be read or parsed.
    #[error("{path}: {message}")]
    ConfigFile { path: String, message: String },
    /// The platform answered with an error status.
    #[error("{platform}: {method} {url} answered HTTP {status}{}", body_suffix(.body))]
    PlatformApi {
        platform: String,
        method: String,
        url: String,
        status: u16,
        /// The response body (shortened, secrets redacted).
        body: String,
        /// The wait the platform asked for (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// A platform or forge could not be reached, or the connection broke (connection refused,
    /// DNS, TLS, reset, an answer cut off).
    #[error("{platform}: cannot reach {url}: {message}\n  fix: {hint}")]
    Unreachable {
        platform: String,
        url: String,
        message: String,
        /// Which URL setting to check.
        hint: String,
    },
    /// The platform answered something ferry cannot use (not JSON, truncated, a field missing).
    #[error("{platform}: unexpected response from {url}: {problem}\n  fix: {hint}")]
    BadResponse {
        platform: String,
        url: String,
        problem: String,
        hint: String,
    },
    /// A file ferry must write or read failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Something the user asked for is not supported here.
    #[error("{what} is not supported: {hint}")]
    Unsupported { what: String, hint: String },
    /// The command line cannot be read: an unknown command or flag, or, in GitHub Actions, the
    /// action's `args` input.
    #[error("invalid command line: {problem}\n  fix: {hint}")]
    CommandLine { problem: String, hint: String },
    /// An invariant of ferry itself does not hold: a bug, never the user's doing.
    #[error("internal error: {what}\n  fix: {}", BUG_FIX)]
    Internal { what: String },
}

/// The fix for a platform that cannot be reached.
pub const UNREACHABLE_FIX: &str =
    "check `platform_url` (or the platform's `url`) and that the platform is up";

/// The fix for an internal error, wherever one is reported.
pub const BUG_FIX: &str = "this is a bug in ferry; please report it with the command you ran (SECURITY.md says how to reach us privately)";

fn body_suffix(body: &str) -> String {
    if body.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", body.trim())
    }
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::InvalidSetting { .. }
            | Error::MissingSetting { .. }
            | Error::ConfigFile { .. }
            | Error::CommandLine { .. }
            | Error::Unsupported { .. } => ExitCode::Usage,
            Error::PlatformApi { .. }
            | Error::Unreachable { .. }
            | Error::BadResponse { .. }
            | Error::Io { .. } => ExitCode::Platform,
            Error::Internal { .. } => ExitCode::Internal,
        }
    }

    /// True when repeating the same *safe* request later may succeed (429, 5xx, transport).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::PlatformApi { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Error::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// The wait the platform asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::PlatformApi { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The most characters of a user's value [`quote`] shows.
pub const QUOTE_CHARS: usize = 60;

/// The most characters of one line of a parser's message [`clip_lines`] keeps.
pub const LINE_CHARS: usize = 200;

/// The most lines of a parser's message [`clip_lines`] keeps.
pub const MESSAGE_LINES: usize = 40;

/// A value from the user, quoted for a message: Debug-quoted (so control characters show as
/// escapes), and cut after [`QUOTE_CHARS`] characters with `…` and the total length, so a
/// megabyte of bad input makes a short message: `"aaaa…" (1048576 characters)`.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!(
            "{:?} ({} characters)",
            format!("{}…", &value[..cut]),
            value.chars().count()
        ),
    }
}

/// A parser's message (`toml`'s quotes the offending source line) bounded for the terminal:
/// each line cut after [`LINE_CHARS`] characters, at most [`MESSAGE_LINES`] lines.
pub fn clip_lines(message: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in message.lines().enumerate() {
        if i == MESSAGE_LINES {
            out.push("…".to_string());
            break;
        }
        out.push(match line.char_indices().nth(LINE_CHARS) {
            None => line.to_string(),
            Some((cut, _)) => format!("{}…", &line[..cut]),
        });
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_keeps_short_values_whole() {
        assert_eq!(quote("staging"), "\"staging\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        let sixty = "é".repeat(QUOTE_CHARS);
        assert_eq!(quote(&sixty), format!("{sixty:?}"));
    }

    #[test]
    fn quote_cuts_long_values_on_a_char_boundary() {
        let big = "a".repeat(1 << 20);
        let q = quote(&big);
        assert_eq!(
            q,
            format!("\"{}…\" (1048576 characters)", "a".repeat(QUOTE_CHARS))
        );
        let wide = "é".repeat(100);
        assert_eq!(
            quote(&wide),
            format!("\"{}…\" (100 characters)", "é".repeat(QUOTE_CHARS))
        );
    }

    #[test]
    fn clip_lines_bounds_width_and_height() {
        let long = format!("1 | {}\n  | ^\nexpected `=`", "x".repeat(1 << 20));
        let clipped = clip_lines(&long);
        assert!(clipped.len() < 300, "{}", clipped.len());
        assert!(clipped.ends_with("  | ^\nexpected `=`"), "{clipped}");
        let tall = "line\n".repeat(1000);
        assert_eq!(clip_lines(&tall).lines().count(), MESSAGE_LINES + 1);
    }
}
