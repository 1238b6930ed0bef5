//! One check for every base URL ferry is given: `platform_url`, `[platform] url`, `url` and
//! `url_env` of `[platforms.<name>]`, `GITHUB_API_URL`, `CI_API_V4_URL`.
//!
//! A base URL is absolute, `http` or `https`, has a host, and carries no credentials
//! (`user:password@`): a credential comes from its own setting and travels in a header, never in
//! a URL that ends up in plans, logs and messages. A refused URL is quoted with its userinfo
//! masked, so the message never shows the password it refuses.

use url::Url;

use crate::error::{Error, Result, quote};
use crate::secret::mask_all_userinfo;

/// The setting a URL came from, for the message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlSetting<'a> {
    /// The setting's name (`platform_url`, `url`, `GITHUB_API_URL`).
    pub name: &'a str,
    /// Where the value came from (`FERRY_PLATFORM_URL`, `url in [platform]`).
    pub source: &'a str,
    /// An example of a good value.
    pub example: &'a str,
    /// Where the credential belongs instead (`set FERRY_PLATFORM_TOKEN`).
    pub credential_fix: &'a str,
}

/// `text` as a base URL, or an [`Error::InvalidSetting`] naming `setting`.
pub(crate) fn base_url(text: &str, setting: &UrlSetting<'_>) -> Result<Url> {
    let text = text.trim();
    let shown = || quote(&mask_all_userinfo(text));
    let invalid = |problem: String, hint: String| Error::InvalidSetting {
        name: setting.name.to_string(),
        source_name: setting.source.to_string(),
        problem,
        hint,
    };
    let use_instead = || format!("use an absolute http(s) URL such as {}", setting.example);
    let url = Url::parse(text)
        .map_err(|e| invalid(format!("{} is not a URL ({e})", shown()), use_instead()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            format!(
                "{} carries credentials (user:password@), and ferry never sends a credential from a URL",
                shown()
            ),
            format!(
                "remove user:password@ from the URL; {}",
                setting.credential_fix
            ),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            format!("{} is not an http(s) URL with a host", shown()),
            use_instead(),
        ));
    }
    Ok(url)
}

/// Refuses to send a credential to `url` unless it may travel there (https, or plain http to a
/// loopback address; see [`super::credential_may_travel`]): an [`Error::InvalidSetting`] naming
/// `setting`.
pub(crate) fn require_secure(url: &Url, setting: &UrlSetting<'_>) -> Result<()> {
    if super::credential_may_travel(url) {
        return Ok(());
    }
    Err(Error::InvalidSetting {
        name: setting.name.to_string(),
        source_name: setting.source.to_string(),
        problem: format!(
            "{} is not https, and a credential must not travel unencrypted",
            quote(&mask_all_userinfo(url.as_str()))
        ),
        hint: format!(
            "use an https:// URL such as {} (plain http is allowed only for localhost)",
            setting.example
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTING: UrlSetting<'static> = UrlSetting {
        name: "platform_url",
        source: "url in [platform]",
        example: "https://paas.example.com",
        credential_fix: "set FERRY_PLATFORM_TOKEN",
    };

    fn problem(text: &str) -> String {
        match base_url(text, &SETTING) {
            Err(Error::InvalidSetting { problem, hint, .. }) => format!("{problem} / {hint}"),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn good_urls_pass_unchanged() {
        let url = base_url(" https://paas.example.com/api/ ", &SETTING).unwrap();
        assert_eq!(url.as_str(), "https://paas.example.com/api/");
        assert!(base_url("http://127.0.0.1:8080", &SETTING).is_ok());
    }

    #[test]
    fn credentials_are_refused_and_never_shown() {
        for text in [
            "https://alice:s3cr3t-pw@paas.example.com",
            "https://s3cr3t-pw@paas.example.com",
            "https://alice:s3cr3t-pw@paas exa mple",
        ] {
            let said = problem(text);
            assert!(!said.contains("s3cr3t-pw"), "{said}");
        }
        assert!(
            problem("https://alice:s3cr3t-pw@paas.example.com").contains("carries credentials")
        );
    }

    #[test]
    fn credentials_go_over_https_or_to_loopback_only() {
        let url = |t: &str| Url::parse(t).unwrap();
        assert!(require_secure(&url("https://paas.example.com"), &SETTING).is_ok());
        assert!(require_secure(&url("http://localhost:8080"), &SETTING).is_ok());
        match require_secure(&url("http://paas.example.com"), &SETTING) {
            Err(Error::InvalidSetting { name, problem, .. }) => {
                assert_eq!(name, "platform_url");
                assert!(problem.contains("not https"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_schemes_and_relative_urls_are_named() {
        assert!(problem("ftp://paas.example.com").contains("not an http(s) URL"));
        assert!(problem("paas.example.com/api").contains("is not a URL"));
        assert!(problem("file:///etc/passwd").contains("not an http(s) URL"));
    }
}
