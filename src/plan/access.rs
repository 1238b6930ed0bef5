//! Where each platform this run uses is, and ferry's credential and user there, read before
//! anything is sent.
//!
//! `[platform]`: `platform_url` (else its `url`), `platform_token`, its `auth_user`.
//! `[platforms.<name>]`: `url_env`, else `url`; `platform_url` overrides the URL when the run uses
//! one platform only (or `[platform]`'s when that is among several). `token_env` names the
//! environment variable holding the credential, `token_file` a file; with neither, a run that
//! uses one platform only takes `platform_token` (`FERRY_PLATFORM_TOKEN`). `user_env`, else
//! `user`.

use url::Url;

use crate::config::Settings;
use crate::config::read::{TOKEN_FILE_LIMIT, read_text};
use crate::config::settings::{CREDENTIAL_FIX, credential_problem};
use crate::env::Env;
use crate::error::{Error, Result, quote};
use crate::platform::credential::CredentialSource;
use crate::platform::http::spec::{AuthScheme, PlatformSpec};
use crate::platform::named::{CommonKeys, NamedPlatform};
use crate::platform::planned::Access;
use crate::secret::SecretString;

/// The credential that should have come from a secret is empty because the CI withholds
/// secrets from this run (a pull request from a fork, [`Context::secrets_withheld`]): said as
/// that, before anything is sent, instead of the platform's opaque 401.
///
/// [`Context::secrets_withheld`]: crate::ci::Context::secrets_withheld
fn withheld(setting: &str) -> Error {
    Error::MissingSetting {
        name: setting.to_string(),
        hint: format!(
            "this run is a pull request from a fork, and GitHub passes no secrets to workflows that pull requests from forks trigger, so {setting} is empty; ferry sent nothing\n  fix: deploy only pull requests from this repository (`if: github.event.pull_request.head.repo.full_name == github.repository` on the job, as examples/github/review-app.yml does); a maintainer can push the branch to this repository for a review app. A platform that needs no credential says so with auth = \"none\""
        ),
    }
}

/// `[platform]`'s URL, credential and user. `withheld`: the CI gives this run no secrets.
pub(super) fn default(settings: &Settings, spec: &PlatformSpec, withheld: bool) -> Result<Access> {
    if withheld && settings.platform_token.is_none() && spec.auth != Some(AuthScheme::None) {
        return Err(self::withheld("platform_token"));
    }
    Ok(Access {
        url: default_url(settings, spec)?,
        token: settings.platform_token.clone(),
        credential: CredentialSource {
            setting: "platform_token".into(),
            source: "FERRY_PLATFORM_TOKEN / platform_token_file".into(),
            present: settings.platform_token.is_some(),
        },
        user: spec.auth_user.clone(),
    })
}

fn default_url(settings: &Settings, spec: &PlatformSpec) -> Result<Url> {
    if let Some(u) = &settings.platform_url {
        return Ok(u.clone());
    }
    let Some(text) = spec.url.as_deref() else {
        return Err(Error::MissingSetting {
            name: "platform_url".into(),
            hint: "set url in [platform] of ferry.toml, or --platform-url / FERRY_PLATFORM_URL"
                .into(),
        });
    };
    crate::net::base_url(
        text,
        &crate::net::UrlSetting {
            name: "url",
            source: "url in [platform]",
            example: "https://paas.example.com/api",
            credential_fix: "set FERRY_PLATFORM_TOKEN (and auth) instead",
        },
    )
}

fn env_var(env: &Env, var: &str, key: &str, name: &str, what: &str) -> Result<String> {
    env.get(var).map(str::to_string).ok_or_else(|| Error::MissingSetting {
        name: var.to_string(),
        hint: format!(
            "[platforms.{name}] {key} = {} names this environment variable for {what}, and it is not set: set it (a CI secret or variable), or change {key}",
            quote(var)
        ),
    })
}

/// Where a named platform is used: `single`, the run uses this platform only; `default_used`,
/// it uses `[platform]` too; `withheld`, the CI gives this run no secrets.
#[derive(Clone, Copy)]
pub(super) struct Use {
    pub(super) single: bool,
    pub(super) default_used: bool,
    pub(super) withheld: bool,
}

/// A named platform's URL, credential and user.
pub(super) fn named(
    settings: &Settings,
    env: &Env,
    name: &str,
    p: &NamedPlatform,
    place: Use,
) -> Result<Access> {
    let Use {
        single,
        default_used,
        withheld,
    } = place;
    let section = format!("[platforms.{name}]");
    let keys = p.common();
    let example = format!("https://{}.example.com", p.kind());
    let url = named_url(settings, env, name, &keys, single, default_used, &example)?;
    if withheld {
        let says_none = matches!(p, NamedPlatform::Http(h) if h.auth == Some(AuthScheme::None));
        match keys.token_env {
            Some(var) if env.get(var).is_none() => return Err(self::withheld(var)),
            None if keys.token_file.is_none()
                && single
                && settings.platform_token.is_none()
                && !says_none =>
            {
                return Err(self::withheld("platform_token"));
            }
            _ => {}
        }
    }
    let (token, credential) = named_credential(settings, env, name, &keys, single)?;
    let user = match keys.user_env {
        Some(var) => {
            let user = env_var(env, var, "user_env", name, "the user name")?;
            if let Some(problem) = credential_problem(user.trim()) {
                return Err(Error::InvalidSetting {
                    name: var.to_string(),
                    source_name: format!("user_env of {section}"),
                    problem: format!("the value {problem}"),
                    hint: CREDENTIAL_FIX.into(),
                });
            }
            Some(user.trim().to_string())
        }
        None => keys.user.map(str::to_string),
    };
    if token.is_some() {
        crate::net::require_secure(
            &url,
            &crate::net::UrlSetting {
                name: "url",
                source: &format!("{section} ({})", credential.setting),
                example: &example,
                credential_fix: "",
            },
        )?;
    }
    Ok(Access {
        url,
        token,
        credential,
        user,
    })
}

/// A named platform's URL: `url_env`, else `platform_url` (one platform only), else `url`.
fn named_url(
    settings: &Settings,
    env: &Env,
    name: &str,
    keys: &CommonKeys<'_>,
    single: bool,
    default_used: bool,
    example: &str,
) -> Result<Url> {
    let section = format!("[platforms.{name}]");
    let (text, source) = if let Some(var) = keys.url_env {
        (
            env_var(env, var, "url_env", name, "the platform's URL")?,
            format!("{var} (url_env of {section})"),
        )
    } else if let (Some(u), true) = (&settings.platform_url, single) {
        (u.to_string(), "platform_url".to_string())
    } else if let Some(u) = keys.url {
        (u.to_string(), format!("url in {section}"))
    } else {
        return Err(Error::MissingSetting {
            name: format!("url of {section}"),
            hint: format!(
                "set url = \"https://…\" (or url_env naming a variable) in {section} of ferry.toml"
            ),
        });
    };
    if settings.platform_url.is_some() && !single && !default_used {
        return Err(Error::InvalidSetting {
            name: "platform_url".into(),
            source_name: "platform_url".into(),
            problem: "this run uses several named platforms, so it is not clear which URL platform_url replaces".into(),
            hint: "set url (or url_env) in each [platforms.<name>] table instead".into(),
        });
    }
    crate::net::base_url(
        &text,
        &crate::net::UrlSetting {
            name: "url",
            source: &source,
            example,
            credential_fix: &format!("set token_env (and user) in {section}"),
        },
    )
}

/// A named platform's credential: `token_env`, else `token_file`, else `platform_token` (one
/// platform only), and where it came from.
fn named_credential(
    settings: &Settings,
    env: &Env,
    name: &str,
    keys: &CommonKeys<'_>,
    single: bool,
) -> Result<(Option<SecretString>, CredentialSource)> {
    let section = format!("[platforms.{name}]");
    if let Some(var) = keys.token_env {
        let token = env_var(env, var, "token_env", name, "the platform's credential")?;
        let token = token.trim();
        if let Some(problem) = credential_problem(token) {
            return Err(Error::InvalidSetting {
                name: var.to_string(),
                source_name: format!("token_env of {section}"),
                problem: format!("the value {problem}"),
                hint: CREDENTIAL_FIX.into(),
            });
        }
        return Ok((
            Some(SecretString::from(token.to_string())),
            CredentialSource {
                setting: var.to_string(),
                source: format!("token_env of {section}"),
                present: true,
            },
        ));
    }
    if let Some(path) = keys.token_file {
        let token = token_file(path, &section)?;
        return Ok((
            Some(token),
            CredentialSource {
                setting: "token_file".into(),
                source: format!("{path} (token_file of {section})"),
                present: true,
            },
        ));
    }
    Ok(if single {
        (
            settings.platform_token.clone(),
            CredentialSource {
                setting: "platform_token".into(),
                source: "FERRY_PLATFORM_TOKEN / platform_token_file".into(),
                present: settings.platform_token.is_some(),
            },
        )
    } else {
        (
            None,
            CredentialSource {
                setting: format!("token_env of {section}"),
                source: "ferry.toml".into(),
                present: false,
            },
        )
    })
}

/// The credential in a `token_file`: one line a header can carry.
fn token_file(path: &str, section: &str) -> Result<SecretString> {
    let text = read_text(std::path::Path::new(path), TOKEN_FILE_LIMIT).map_err(|e| {
        Error::InvalidSetting {
            name: "token_file".into(),
            source_name: section.to_string(),
            problem: e.to_string(),
            hint: e.fix("name a readable file that holds only the credential"),
        }
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::InvalidSetting {
            name: "token_file".into(),
            source_name: section.to_string(),
            problem: format!("{} is empty", quote(path)),
            hint: "write the credential into the file".into(),
        });
    }
    if let Some(problem) = credential_problem(token) {
        return Err(Error::InvalidSetting {
            name: "token_file".into(),
            source_name: section.to_string(),
            problem: format!("the credential in {} {problem}", quote(path)),
            hint: CREDENTIAL_FIX.into(),
        });
    }
    Ok(SecretString::from(token.to_string()))
}
