//! Validated settings: typed values, checked before anything is triggered.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::layer::{RawSettings, RawValue};
use super::read::{TOKEN_FILE_LIMIT, read_text};
use crate::error::{Error, Result, quote};
use crate::secret::SecretString;

/// How the pull/merge-request comment is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CommentMode {
    /// One sticky comment, updated in place (default).
    #[default]
    Update,
    /// A new comment for every run.
    New,
    /// No comment.
    Off,
}

/// Whether ferry creates GitHub deployments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeploymentsMode {
    /// One deployment per run and environment, with its statuses (default).
    #[default]
    Create,
    /// None: the job's own `environment:` key already creates one (no duplicate).
    Off,
}

/// Every setting, validated and typed.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The settings file, as messages name it (relative to the working directory when inside it).
    pub config: PathBuf,
    pub environment: Option<String>,
    pub token: Option<SecretString>,
    pub platform_url: Option<Url>,
    pub platform_token: Option<SecretString>,
    pub pr_number: Option<u64>,
    pub sha: Option<String>,
    pub timeout: Duration,
    pub detach: bool,
    /// `ferry deploy` skips the build phase (an earlier job built).
    pub no_build: bool,
    pub comment: CommentMode,
    pub fail_on_report_error: bool,
    /// The commit status's context (GitHub) or name (GitLab); `None`: `ferry/<environment>`.
    pub status_context: Option<String>,
    pub deployments: DeploymentsMode,
    /// `production_environment` of GitHub deployments (`None`: GitHub's default).
    pub production: Option<bool>,
    /// `auto_inactive` of GitHub deployment statuses (`None`: GitHub's default, true).
    pub auto_inactive: Option<bool>,
    /// Where the GitLab dotenv report goes; `None`: `ferry.env` in GitLab CI, nowhere elsewhere.
    pub dotenv: Option<PathBuf>,
}

/// The overall time limit when none is set.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Settings {
    /// Validates raw settings. `config` is the settings file already chosen.
    pub(crate) fn validate(raw: &RawSettings, config: PathBuf) -> Result<Self> {
        let token = secret(raw, "token", "token_file")?;
        let platform_token = secret(raw, "platform_token", "platform_token_file")?;
        Ok(Self {
            config,
            environment: raw
                .get("environment")
                .map(|v| environment(v).map(|()| v.value.trim().to_string()))
                .transpose()?,
            token,
            platform_url: raw.get("platform_url").map(platform_url).transpose()?,
            platform_token,
            pr_number: raw.get("pr_number").map(pr_number).transpose()?,
            sha: raw.get("sha").map(sha).transpose()?,
            timeout: raw
                .get("timeout")
                .map(|v| duration(v, "timeout"))
                .transpose()?
                .unwrap_or(DEFAULT_TIMEOUT),
            detach: raw
                .get("detach")
                .map(|v| boolean(v, "detach"))
                .transpose()?
                .unwrap_or(false),
            no_build: raw
                .get("no_build")
                .map(|v| boolean(v, "no_build"))
                .transpose()?
                .unwrap_or(false),
            comment: raw
                .get("comment")
                .map(comment)
                .transpose()?
                .unwrap_or_default(),
            fail_on_report_error: raw
                .get("fail_on_report_error")
                .map(|v| boolean(v, "fail_on_report_error"))
                .transpose()?
                .unwrap_or(false),
            status_context: raw.get("status_context").map(status_context).transpose()?,
            deployments: raw
                .get("deployments")
                .map(deployments)
                .transpose()?
                .unwrap_or_default(),
            production: raw
                .get("production")
                .map(|v| boolean(v, "production"))
                .transpose()?,
            auto_inactive: raw
                .get("auto_inactive")
                .map(|v| boolean(v, "auto_inactive"))
                .transpose()?,
            dotenv: raw.get("dotenv").map(dotenv).transpose()?,
        })
    }
}

fn dotenv(raw: &RawValue) -> Result<PathBuf> {
    let v = raw.value.trim();
    if v.ends_with('/') || v.chars().any(char::is_control) {
        return Err(invalid(
            "dotenv",
            raw,
            format!("{} is not a file path", quote(v)),
            "name a file in the job's directory, e.g. ferry.env, and list it under artifacts:reports:dotenv",
        ));
    }
    Ok(PathBuf::from(v))
}

fn invalid(name: &str, raw: &RawValue, problem: String, hint: &str) -> Error {
    Error::InvalidSetting {
        name: name.to_string(),
        source_name: raw.source.to_string(),
        problem,
        hint: hint.to_string(),
    }
}

fn environment(raw: &RawValue) -> Result<()> {
    let v = raw.value.trim();
    let ok = v.len() <= 255
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ' '));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "environment",
            raw,
            format!(
                "{} has characters an environment name cannot have",
                quote(v)
            ),
            "use letters, digits, spaces and - _ . / (at most 255), e.g. staging or review/42",
        ))
    }
}

/// The longest duration any setting takes (`timeout`, a phase's `timeout`, the poll cadence):
/// 31 days. Far beyond any CI job, and far below what would overflow a clock.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(31 * 24 * 60 * 60);

/// The fix for a duration [`parse_duration`] refuses.
pub(crate) const DURATION_FIX: &str =
    "use a positive duration of at most 31 days with a unit, like 90s, 30m or 1h30m";

/// Parses a human duration such as `90s`, `30m` or `1h30m`: positive and at most
/// [`MAX_DURATION`]. The error is the problem, quoting the text (see [`DURATION_FIX`]).
pub(crate) fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(format!("{} is zero", quote(text))),
        Ok(d) if d > MAX_DURATION => Err(format!(
            "{} is too long: a duration is at most 31 days",
            quote(text)
        )),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(format!(
            "{} is too long: a duration is at most 31 days",
            quote(text)
        )),
        Err(_) => Err(format!("{} is not a duration", quote(text))),
    }
}

fn duration(raw: &RawValue, name: &str) -> Result<Duration> {
    parse_duration(&raw.value).map_err(|problem| invalid(name, raw, problem, DURATION_FIX))
}

/// Parses a boolean the way GitHub's `core.getBooleanInput` does, plus `1`/`0`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

fn boolean(raw: &RawValue, name: &str) -> Result<bool> {
    parse_bool(&raw.value).ok_or_else(|| {
        invalid(
            name,
            raw,
            format!("{} is not a boolean", quote(&raw.value)),
            "use true or false",
        )
    })
}

fn comment(raw: &RawValue) -> Result<CommentMode> {
    match raw.value.trim() {
        "update" => Ok(CommentMode::Update),
        "new" => Ok(CommentMode::New),
        "off" => Ok(CommentMode::Off),
        other => Err(invalid(
            "comment",
            raw,
            format!("{} is not a comment mode", quote(other)),
            "use update (one sticky comment), new (a comment per run) or off",
        )),
    }
}

fn status_context(raw: &RawValue) -> Result<String> {
    let v = raw.value.trim();
    if v.chars().count() <= 255 && !v.chars().any(char::is_control) {
        Ok(v.to_string())
    } else {
        Err(invalid(
            "status_context",
            raw,
            format!("{} is not a usable status context", quote(v)),
            "use one line of at most 255 characters, e.g. ferry/staging or deploy/shop",
        ))
    }
}

fn deployments(raw: &RawValue) -> Result<DeploymentsMode> {
    match raw.value.trim() {
        "create" => Ok(DeploymentsMode::Create),
        "off" => Ok(DeploymentsMode::Off),
        other => Err(invalid(
            "deployments",
            raw,
            format!("{} is not a deployments mode", quote(other)),
            "use create (ferry creates the GitHub deployment) or off (the job's `environment:` key does)",
        )),
    }
}

fn pr_number(raw: &RawValue) -> Result<u64> {
    let v = raw
        .value
        .trim()
        .trim_start_matches('#')
        .trim_start_matches('!');
    v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        invalid(
            "pr_number",
            raw,
            format!("{} is not a pull/merge request number", quote(&raw.value)),
            "use the number shown in the forge (GitLab: the MR IID), e.g. 42",
        )
    })
}

fn sha(raw: &RawValue) -> Result<String> {
    let v = raw.value.trim();
    if (7..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(invalid(
            "sha",
            raw,
            format!("{} is not a commit SHA", quote(v)),
            "use the full 40-character hexadecimal commit id (e.g. from `git rev-parse HEAD`)",
        ))
    }
}

fn platform_url(raw: &RawValue) -> Result<Url> {
    crate::net::base_url(
        &raw.value,
        &crate::net::UrlSetting {
            name: "platform_url",
            source: &raw.source.to_string(),
            example: "https://paas.example.com/api",
            credential_fix: "set FERRY_PLATFORM_TOKEN instead",
        },
    )
}

fn secret(raw: &RawSettings, name: &str, file_name: &str) -> Result<Option<SecretString>> {
    if let Some(v) = raw.get(name) {
        let value = v.value.trim();
        if let Some(problem) = credential_problem(value) {
            return Err(invalid(
                name,
                v,
                format!("the value {problem}"),
                CREDENTIAL_FIX,
            ));
        }
        return Ok(Some(SecretString::from(value.to_string())));
    }
    let Some(file) = raw.get(file_name) else {
        return Ok(None);
    };
    let path = file.value.trim();
    let text = read_text(Path::new(path), TOKEN_FILE_LIMIT).map_err(|e| {
        invalid(
            file_name,
            file,
            e.to_string(),
            &e.fix("name a readable file that holds only the secret"),
        )
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(invalid(
            file_name,
            file,
            format!("{} is empty", quote(path)),
            "write the secret into the file",
        ));
    }
    if let Some(problem) = credential_problem(value) {
        return Err(invalid(
            file_name,
            file,
            format!("the secret in {} {problem}", quote(path)),
            CREDENTIAL_FIX,
        ));
    }
    Ok(Some(SecretString::from(value.to_string())))
}

/// What makes a credential (already trimmed) impossible to send in an HTTP header, if anything:
/// a line break, another control character (tab, NUL, …) or a non-ASCII character. Never quotes
/// the value. Every credential ferry reads goes through here, so a token that cannot be sent is
/// refused before anything starts instead of silently going out without `Authorization`.
pub(crate) fn credential_problem(value: &str) -> Option<&'static str> {
    if value.contains(['\n', '\r']) {
        Some("has a line break inside; an HTTP header cannot carry it")
    } else if value.chars().any(char::is_control) {
        Some("has a control character (tab, NUL, …) inside; an HTTP header cannot carry it")
    } else if !value.is_ascii() {
        Some("has a non-ASCII character inside; an HTTP header cannot carry it")
    } else {
        None
    }
}

/// The fix for a credential [`credential_problem`] refuses.
pub(crate) const CREDENTIAL_FIX: &str = "set the credential alone, on one line, exactly as the platform issued it (check the CI secret for a pasted line break, quotes or a stray character)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_positive_and_at_most_31_days() {
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("31days"), Ok(MAX_DURATION));
        for (text, problem) in [
            ("0s", "is zero"),
            ("soon", "is not a duration"),
            ("32days", "at most 31 days"),
            ("18446744073709551615s", "at most 31 days"),
            ("99999999999999999999999s", "at most 31 days"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(problem), "{text}: {err}");
        }
        let huge = "9".repeat(1 << 20);
        assert!(parse_duration(&huge).unwrap_err().len() < 200);
    }

    #[test]
    fn credentials_an_http_header_cannot_carry_are_named_not_shown() {
        assert_eq!(credential_problem("ghp_abc-123.XYZ_=/+"), None);
        for (value, problem) in [
            ("abc\ndef", "line break"),
            ("abc\r\ndef", "line break"),
            ("abc\tdef", "control character"),
            ("abc\0def", "control character"),
            ("abc\u{7f}def", "control character"),
            ("tökén", "non-ASCII"),
            ("abc\u{a0}def", "non-ASCII"),
        ] {
            let found = credential_problem(value).unwrap_or_default();
            assert!(found.contains(problem), "{value:?}: {found}");
            assert!(!found.contains("abc") && !found.contains("def"), "{found}");
        }
    }
}
