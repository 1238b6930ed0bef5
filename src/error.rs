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
    /// The platform could not be reached (connection refused, DNS, TLS, reset, …).
    #[error(
        "{platform}: cannot reach {url}: {message}\n  fix: check `platform_url` and that the platform is up"
    )]
    Unreachable {
        platform: String,
        url: String,
        message: String,
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
}

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
            | Error::Unsupported { .. } => ExitCode::Usage,
            Error::PlatformApi { .. }
            | Error::Unreachable { .. }
            | Error::BadResponse { .. }
            | Error::Io { .. } => ExitCode::Platform,
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
