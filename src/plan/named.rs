//! Which platform runs each phase, and the backends for them, before anything is sent.
//!
//! A phase section without `platform` runs on `[platform]` (the `http` description, as always).
//! `platform = "<name>"` picks `[platforms.<name>]`, whose `kind` decides what the rest of the
//! section means (`http`: a phase description; `jenkins`: a job; `argocd`: an application). Every
//! section is checked, even for phases this run does not do; only the platforms this run uses
//! need their URL and credential.
//!
//! Credentials: `token_env` names the environment variable holding it, `token_file` a file. With
//! neither, a run that uses one platform only takes `platform_token` (`FERRY_PLATFORM_TOKEN`).
//! URLs: `url_env`, else `url`; `platform_url` overrides the URL when the run uses one platform
//! only (or `[platform]`'s when that is among several).

use std::collections::BTreeMap;
use std::time::Duration;

use url::Url;

use super::{PhasePlatform, PlannedBackend, auth, platform_url, timing};
use crate::config::Settings;
use crate::config::file::{FileConfig, PhaseKeys, PhaseSection};
use crate::config::read::{TOKEN_FILE_LIMIT, read_text};
use crate::config::settings::{CREDENTIAL_FIX, DURATION_FIX, credential_problem, parse_duration};
use crate::env::Env;
use crate::error::{Error, Result, clip_lines, quote};
use crate::platform::argocd::ArgoBackend;
use crate::platform::argocd::spec::ArgoPhase;
use crate::platform::credential::CredentialSource;
use crate::platform::http::client::{Auth, Client};
use crate::platform::http::spec::{AuthScheme, PhaseSpec, PlatformSpec};
use crate::platform::http::{HttpBackend, Phases};
use crate::platform::jenkins::JenkinsBackend;
use crate::platform::jenkins::spec::JenkinsPhase;
use crate::platform::named::NamedPlatform;
use crate::platform::{Backend, Phase};
use crate::secret::{Redactor, SecretString};

/// What [`choose`] decided.
pub(super) struct Chosen {
    pub(super) backends: Vec<PlannedBackend>,
    pub(super) phase_platforms: Vec<PhasePlatform>,
    pub(super) phase_timeouts: BTreeMap<Phase, Duration>,
    pub(super) redactor: Redactor,
}

/// A phase section, read for its platform: the platform, the time limit, and the rest of the
/// section checked against the platform's kind.
struct Section {
    key: Key,
    timeout: Option<Duration>,
    typed: Typed,
}

/// A phase section's keys, checked against its platform's kind.
enum Typed {
    Http(Box<PhaseSpec>),
    Jenkins(JenkinsPhase),
    Argo(ArgoPhase),
}

/// `None` for `[platform]`, else the name in `[platforms.<name>]`.
type Key = Option<String>;

fn key_name(key: &Key) -> String {
    key.clone().unwrap_or_else(|| "platform".into())
}

fn section_of(file: &FileConfig, phase: Phase) -> Option<&PhaseSection> {
    match phase {
        Phase::Build => file.build.as_ref(),
        Phase::Deploy => file.deploy.as_ref(),
        Phase::Stop => file.stop.as_ref(),
    }
}

fn config_error(settings: &Settings, section: &str, message: String) -> Error {
    Error::ConfigFile {
        path: format!("{} {section}", settings.config.display()),
        message,
    }
}

/// Reads one phase section: its time limit, parsed once here, and its keys, checked against
/// the platform it names.
fn read_section(settings: &Settings, file: &FileConfig, phase: Phase) -> Result<Option<Section>> {
    let Some(section) = section_of(file, phase) else {
        return Ok(None);
    };
    let (key, typed) = typed(settings, file, phase, section)?;
    let timeout = section
        .timeout
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|problem| {
            config_error(
                settings,
                &format!("[{phase}]"),
                format!("timeout = {problem}\n  fix: {DURATION_FIX}"),
            )
        })?;
    Ok(Some(Section {
        key,
        timeout,
        typed,
    }))
}

/// Checks a phase section's keys against the platform it names.
fn typed(
    settings: &Settings,
    file: &FileConfig,
    phase: Phase,
    section: &PhaseSection,
) -> Result<(Key, Typed)> {
    let (name, table) = match &section.keys {
        PhaseKeys::Http(spec) => return Ok((None, Typed::Http(spec.clone()))),
        PhaseKeys::On { platform, table } => (platform, table),
    };
    let Some(named) = file.platforms.get(name) else {
        let known: Vec<&str> = file.platforms.keys().map(String::as_str).collect();
        return Err(config_error(
            settings,
            &format!("[{phase}]"),
            format!(
                "platform = {} names no {} table\n  fix: {}",
                quote(name),
                table_name(name),
                if known.is_empty() {
                    format!(
                        "add {} with kind = \"jenkins\", \"argocd\" or \"http\" and its url",
                        table_name(name)
                    )
                } else {
                    format!("use one of: {}", known.join(", "))
                }
            ),
        ));
    };
    let value = toml::Value::Table(table.clone());
    let bad = |e: toml::de::Error, kind: &str, keys: &str| {
        config_error(
            settings,
            &format!("[{phase}]"),
            format!(
                "{} (a phase on the {kind} platform {})\n  fix: {keys}",
                clip_lines(e.to_string().trim_end()),
                quote(name)
            ),
        )
    };
    let typed = match named {
        NamedPlatform::Http(_) => Typed::Http(Box::new(value.try_into().map_err(|e| {
            bad(
                e,
                "http",
                "describe the phase as for [platform]: trigger, status, and optionally resolve, logs, cancel, outputs",
            )
        })?)),
        NamedPlatform::Jenkins(_) => Typed::Jenkins(value.try_into().map_err(|e| {
            bad(
                e,
                "jenkins",
                "a Jenkins phase has job, and optionally branch, parameters, unstable, outputs, timeout",
            )
        })?),
        NamedPlatform::Argocd(_) => {
            if phase != Phase::Deploy {
                return Err(config_error(
                    settings,
                    &format!("[{phase}]"),
                    format!(
                        "the argocd platform `{name}` can only deploy (sync an application), not {phase}\n  fix: run the {phase} on a jenkins or http platform"
                    ),
                ));
            }
            Typed::Argo(value.try_into().map_err(|e| {
                bad(
                    e,
                    "argocd",
                    "an Argo CD deploy has application, and optionally revision, project, app_namespace, prune, suspended, watch, timeout",
                )
            })?)
        }
    };
    Ok((Some(name.clone()), typed))
}

/// A platform's name is repeated in messages, and its credential comes from one place. (The
/// keys its kind does not take were refused when the file was read.)
fn check_platform(settings: &Settings, name: &str, p: &NamedPlatform) -> Result<()> {
    if !usable_name(name) {
        return Err(config_error(
            settings,
            "[platforms]",
            format!(
                "the platform name {} is not a usable name\n  fix: name it with one line of at most {MAX_NAME_CHARS} characters, e.g. [platforms.jenkins]",
                quote(name)
            ),
        ));
    }
    let keys = p.common();
    if keys.token_env.is_some() && keys.token_file.is_some() {
        return Err(config_error(
            settings,
            &format!("[platforms.{name}]"),
            "both token_env and token_file are set\n  fix: keep one: token_env names an environment variable, token_file a file".into(),
        ));
    }
    Ok(())
}

/// The longest name a `[platforms.<name>]` table may have, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Whether a platform name is short and printable enough to repeat in messages.
fn usable_name(name: &str) -> bool {
    name.chars().count() <= MAX_NAME_CHARS && !name.chars().any(char::is_control)
}

/// `[platforms.<name>]` for a message, with the name itself when it is usable.
fn table_name(name: &str) -> String {
    if usable_name(name) {
        format!("[platforms.{name}]")
    } else {
        "[platforms.<name>]".to_string()
    }
}

/// A named platform's URL, credential and user, read now.
struct Access {
    url: Url,
    token: Option<SecretString>,
    credential: CredentialSource,
    user: Option<String>,
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

fn access(
    settings: &Settings,
    env: &Env,
    name: &str,
    p: &NamedPlatform,
    single: bool,
    default_used: bool,
) -> Result<Access> {
    let section = format!("[platforms.{name}]");
    let keys = p.common();
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
    let example = format!("https://{}.example.com", p.kind());
    let url = crate::net::base_url(
        &text,
        &crate::net::UrlSetting {
            name: "url",
            source: &source,
            example: &example,
            credential_fix: &format!("set token_env (and user) in {section}"),
        },
    )?;
    let (token, credential) = if let Some(var) = keys.token_env {
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
        (
            Some(SecretString::from(token.to_string())),
            CredentialSource {
                setting: var.to_string(),
                source: format!("token_env of {section}"),
                present: true,
            },
        )
    } else if let Some(path) = keys.token_file {
        let text = read_text(std::path::Path::new(path), TOKEN_FILE_LIMIT).map_err(|e| {
            Error::InvalidSetting {
                name: "token_file".into(),
                source_name: section.clone(),
                problem: e.to_string(),
                hint: e.fix("name a readable file that holds only the credential"),
            }
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::InvalidSetting {
                name: "token_file".into(),
                source_name: section,
                problem: format!("{} is empty", quote(path)),
                hint: "write the credential into the file".into(),
            });
        }
        if let Some(problem) = credential_problem(token) {
            return Err(Error::InvalidSetting {
                name: "token_file".into(),
                source_name: section,
                problem: format!("the credential in {} {problem}", quote(path)),
                hint: CREDENTIAL_FIX.into(),
            });
        }
        (
            Some(SecretString::from(token.to_string())),
            CredentialSource {
                setting: "token_file".into(),
                source: format!("{path} (token_file of {section})"),
                present: true,
            },
        )
    } else if single {
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
    };
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

fn need_token(name: &str, p: &NamedPlatform, why: &str) -> Error {
    Error::MissingSetting {
        name: format!("token_env of [platforms.{name}]"),
        hint: format!(
            "{why}: set token_env = \"{}_TOKEN\" in [platforms.{name}] and that variable from your CI's secrets (or token_file; with a single platform FERRY_PLATFORM_TOKEN works too)",
            p.kind().to_ascii_uppercase()
        ),
    }
}

/// Decides the platform of every phase and builds the backends this run needs.
pub(super) fn choose(
    settings: &Settings,
    file: &FileConfig,
    phases: &[Phase],
    env: &Env,
) -> Result<Chosen> {
    for (name, p) in &file.platforms {
        check_platform(settings, name, p)?;
    }
    // Every section is checked, used by this run or not.
    let mut sections: BTreeMap<Phase, Section> = BTreeMap::new();
    for phase in [Phase::Build, Phase::Deploy, Phase::Stop] {
        if let Some(section) = read_section(settings, file, phase)? {
            sections.insert(phase, section);
        }
    }
    // The platforms this run uses, in the order of its phases.
    let mut used: Vec<Key> = Vec::new();
    for phase in phases {
        if let Some(Section { key, .. }) = sections.get(phase)
            && !used.contains(key)
        {
            used.push(key.clone());
        }
    }
    let single = used.len() == 1;
    let default_used = used.contains(&None);
    let mut secrets: Vec<SecretString> = settings
        .token
        .iter()
        .chain(settings.platform_token.iter())
        .cloned()
        .collect();
    // Tokens the CI itself hands out are secrets too: GitLab masks CI_JOB_TOKEN in the job log,
    // but not in a note or anywhere else ferry writes.
    for name in ["CI_JOB_TOKEN", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN"] {
        if let Some(value) = env.get(name) {
            secrets.push(SecretString::from(value.to_string()));
        }
    }
    let mut accesses: BTreeMap<String, Access> = BTreeMap::new();
    // Basic credentials come back base64-encoded as a pair: each pair is a form of its own.
    let mut basics: Vec<(String, SecretString)> = Vec::new();
    if let (Some(user), Some(token), true) = (
        file.platform.as_ref().and_then(|p| p.auth_user.clone()),
        settings.platform_token.as_ref(),
        default_used,
    ) {
        basics.push((user, token.clone()));
    }
    for key in used.iter().flatten() {
        let p = &file.platforms[key];
        let a = access(settings, env, key, p, single, default_used)?;
        secrets.extend(a.token.iter().cloned());
        if let (Some(user), Some(token)) = (&a.user, &a.token) {
            basics.push((user.clone(), token.clone()));
        }
        accesses.insert(key.clone(), a);
    }
    let redactor = basics
        .iter()
        .fold(Redactor::builder().secrets(&secrets), |b, (user, token)| {
            b.basic(user, token)
        })
        .build();

    let mut chosen = Chosen {
        backends: Vec::new(),
        phase_platforms: Vec::new(),
        phase_timeouts: BTreeMap::new(),
        redactor: redactor.clone(),
    };
    for (phase, section) in &sections {
        if let Some(d) = section.timeout {
            chosen.phase_timeouts.insert(*phase, d);
        }
    }
    for key in &used {
        let on_it: Vec<Phase> = phases
            .iter()
            .copied()
            .filter(|p| sections.get(p).is_some_and(|s| &s.key == key))
            .collect();
        let (backend, timing, kind, url, auth_name, display): (
            Box<dyn Backend>,
            _,
            &'static str,
            Url,
            &'static str,
            String,
        ) = match key {
            None => {
                let Some(spec) = file.platform.as_ref() else {
                    return Err(Error::ConfigFile {
                        path: settings.config.display().to_string(),
                        message: "there is no [platform] section\n  fix: add [platform] with at least url = \"https://…\" (or set platform_url), or name a platform with platform = \"<name>\" in the phase".into(),
                    });
                };
                let base = platform_url(settings, spec)?;
                let (a, auth_name) = auth(spec, settings.platform_token.as_ref())?;
                let display = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| base.host_str().unwrap_or("platform").to_string());
                let client = Client::new(display.clone(), base.clone(), &a, redactor.clone())?;
                let phases_spec = http_phases(&sections, &None);
                let backend = HttpBackend::new(client, spec.headers.clone(), phases_spec)?;
                let timing = timing(&spec.poll, "[platform.poll]", settings)?;
                (Box::new(backend), timing, "http", base, auth_name, display)
            }
            Some(name) => {
                let p = &file.platforms[name];
                let a = accesses.remove(name).ok_or_else(|| Error::Unsupported {
                    what: format!("platform {name} without access"),
                    hint: "report this as a bug".into(),
                })?;
                let display = p.common().name.map_or_else(
                    || format!("{} ({})", p.kind(), a.url.host_str().unwrap_or(name)),
                    str::to_string,
                );
                let timing = timing(
                    p.common().poll,
                    &format!("[platforms.{name}.poll]"),
                    settings,
                )?;
                let url = a.url.clone();
                let (backend, auth_name): (Box<dyn Backend>, &'static str) = match p {
                    NamedPlatform::Http(h) => {
                        let spec = PlatformSpec {
                            kind: crate::platform::http::spec::Kind::Http,
                            name: Some(display.clone()),
                            url: Some(url.to_string()),
                            auth: h.auth,
                            auth_user: a.user.clone(),
                            auth_header: h.auth_header.clone(),
                            headers: h.headers.clone(),
                            poll: h.poll.clone(),
                        };
                        let needs = spec.auth.unwrap_or(if a.token.is_some() {
                            AuthScheme::Bearer
                        } else {
                            AuthScheme::None
                        });
                        if needs != AuthScheme::None && a.token.is_none() {
                            return Err(need_token(name, p, "this platform sends a token"));
                        }
                        let (auth_value, auth_name) = auth(&spec, a.token.as_ref())?;
                        let client = Client::new(
                            display.clone(),
                            url.clone(),
                            &auth_value,
                            redactor.clone(),
                        )?;
                        let backend = HttpBackend::new(
                            client,
                            h.headers.clone(),
                            http_phases(&sections, key),
                        )?;
                        (Box::new(backend), auth_name)
                    }
                    NamedPlatform::Jenkins(_) => {
                        let auth_value = match (&a.user, &a.token) {
                            (Some(login), Some(secret)) => Auth::Basic {
                                user: login.clone(),
                                password: secret.clone(),
                            },
                            (None, None) => Auth::None,
                            (None, Some(_)) => {
                                return Err(Error::MissingSetting {
                                    name: format!("user of [platforms.{name}]"),
                                    hint: format!(
                                        "a Jenkins API token belongs to a user: set user = \"<jenkins user id>\" (or user_env) in [platforms.{name}]"
                                    ),
                                });
                            }
                            (Some(_), None) => {
                                return Err(need_token(
                                    name,
                                    p,
                                    "`user` is set, and Jenkins needs that user's API token",
                                ));
                            }
                        };
                        let auth_name = if matches!(auth_value, Auth::None) {
                            "none"
                        } else {
                            "basic"
                        };
                        let client = Client::new(
                            display.clone(),
                            url.clone(),
                            &auth_value,
                            redactor.clone(),
                        )?;
                        let mut jobs = BTreeMap::new();
                        for (phase, s) in &sections {
                            if let (true, Typed::Jenkins(j)) = (&s.key == key, &s.typed) {
                                jobs.insert(*phase, j.clone());
                            }
                        }
                        (
                            Box::new(JenkinsBackend::new(client, jobs, a.credential.clone())?),
                            auth_name,
                        )
                    }
                    NamedPlatform::Argocd(_) => {
                        let Some(token) = a.token.clone() else {
                            return Err(need_token(
                                name,
                                p,
                                "Argo CD's API needs a bearer token (an account or project token)",
                            ));
                        };
                        let client = Client::new(
                            display.clone(),
                            url.clone(),
                            &Auth::Bearer(token),
                            redactor.clone(),
                        )?;
                        let mut apps = BTreeMap::new();
                        for (phase, s) in &sections {
                            if let (true, Typed::Argo(a)) = (&s.key == key, &s.typed) {
                                apps.insert(*phase, a.clone());
                            }
                        }
                        (
                            Box::new(ArgoBackend::new(client, apps, a.credential.clone())?),
                            "bearer",
                        )
                    }
                };
                (backend, timing, p.kind(), url, auth_name, display)
            }
        };
        for phase in &on_it {
            chosen.phase_platforms.push(PhasePlatform {
                phase: *phase,
                key: key_name(key),
                kind,
                platform: display.clone(),
                url: url.to_string(),
                auth: auth_name,
            });
        }
        chosen.backends.push(PlannedBackend {
            backend,
            timing,
            phases: on_it,
        });
    }
    chosen.phase_platforms.sort_by_key(|p| {
        phases
            .iter()
            .position(|q| *q == p.phase)
            .unwrap_or(usize::MAX)
    });
    Ok(chosen)
}

/// The `http` phase descriptions of one platform.
fn http_phases(sections: &BTreeMap<Phase, Section>, key: &Key) -> Phases {
    let get = |phase: Phase| match sections.get(&phase) {
        Some(Section {
            key: k,
            typed: Typed::Http(spec),
            ..
        }) if k == key => Some(spec.as_ref().clone()),
        _ => None,
    };
    Phases {
        build: get(Phase::Build),
        deploy: get(Phase::Deploy),
        stop: get(Phase::Stop),
    }
}
