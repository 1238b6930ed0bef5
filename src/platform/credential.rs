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
            ..
        } = &e
        else {
            return e;
        };
        // A 403 that asks to wait (a rate limit's `Retry-After`) is no refusal of the credential.
        if !matches!(status, 401 | 403)
            || matches!(
                &e,
                Error::PlatformApi {
                    retry_after: Some(_),
                    ..
                }
            )
        {
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
