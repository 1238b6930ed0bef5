//! Where a platform's credential came from, so that a platform refusing it (401, 403) is
//! reported naming the setting to fix, never the credential itself.

use crate::error::Error;

/// The setting that holds a platform's credential, as people set it.
#[derive(Clone, Debug, Default)]
pub(crate) struct CredentialSource {
    /// The setting or variable to fix (`JENKINS_TOKEN`, `platform_token`).
    pub setting: String,
    /// Where ferry was told to read it (`token_env of [platforms.ci]`).
    pub source: String,
    /// Whether a credential was given at all.
    pub present: bool,
}

impl CredentialSource {
    /// `e` unchanged, unless the platform refused the credential (401 or 403): then an
    /// [`Error::InvalidSetting`] naming the setting, what the platform said, and `fix`.
    pub(crate) fn check(&self, e: Error, fix: &str) -> Error {
        let Error::PlatformApi {
            platform,
            method,
            url,
            status,
            body,
            retry_after,
        } = &e
        else {
            return e;
        };
        // A 403 that asks to wait (a rate limit's `Retry-After`) is no refusal of the credential.
        if !matches!(status, 401 | 403) || retry_after.is_some() {
            return e;
        }
        let what = if *status == 401 {
            "rejected the credential"
        } else {
            "refused the request (forbidden)"
        };
        let given = if self.present {
            " (the one set was refused)"
        } else {
            " (none was set)"
        };
        let said = if body.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", body.trim())
        };
        Error::InvalidSetting {
            name: self.setting.clone(),
            source_name: self.source.clone(),
            problem: format!(
                "{platform} {what}{given}: {method} {url} answered HTTP {status}{said}"
            ),
            hint: fix.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn answered(status: u16, retry_after: Option<Duration>) -> Error {
        Error::PlatformApi {
            platform: "paas".into(),
            method: "POST".into(),
            url: "https://paas.example.com/builds".into(),
            status,
            body: "{\"error\":\"no\"}".into(),
            retry_after,
        }
    }

    #[test]
    fn a_refusal_names_the_setting_and_whether_one_was_set() {
        let mut source = CredentialSource {
            setting: "platform_token".into(),
            source: "FERRY_PLATFORM_TOKEN".into(),
            present: false,
        };
        let e = source.check(answered(401, None), "set it");
        assert_eq!(e.exit_code(), crate::exit::ExitCode::Usage);
        let text = e.to_string();
        assert!(
            text.starts_with("invalid setting `platform_token`"),
            "{text}"
        );
        assert!(
            text.contains("rejected the credential (none was set)"),
            "{text}"
        );
        assert!(
            text.contains("HTTP 401: {\"error\":\"no\"}\n  fix: set it"),
            "{text}"
        );
        source.present = true;
        let text = source.check(answered(403, None), "renew it").to_string();
        assert!(
            text.contains("(forbidden) (the one set was refused)"),
            "{text}"
        );
        // Not a refusal: another status, or a 403 asking to wait (a rate limit).
        for e in [
            answered(404, None),
            answered(403, Some(Duration::from_secs(5))),
        ] {
            assert!(matches!(source.check(e, "x"), Error::PlatformApi { .. }));
        }
    }
}
