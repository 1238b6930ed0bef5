//! Stage 3 — plan: settings + context + the platform description → what will run, before any
//! side effect. `--dry-run` and `ferry check` print it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::ci::Context;
use crate::config::settings::parse_duration;
use crate::config::{FileConfig, Settings};
use crate::error::{Error, Result};
use crate::platform::engine::Timing;
use crate::platform::http::client::{Auth, Client};
use crate::platform::http::spec::{AuthScheme, PlatformSpec};
use crate::platform::http::{HttpBackend, Phases};
use crate::platform::{Command, Phase, Vars};
use crate::secret::{Redactor, SecretString};

/// What a run will do.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub command: Command,
    pub environment: Option<String>,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    pub platform: String,
    pub platform_url: String,
    /// How the platform token is sent (never the token).
    pub auth: &'static str,
    /// Template variables every phase starts from (no secrets in here).
    pub vars: Vars,
    #[serde(with = "humantime_serde_secs")]
    pub timeout: Duration,
    #[serde(skip)]
    pub phase_timeouts: BTreeMap<Phase, Duration>,
    pub detach: bool,
    #[serde(skip)]
    pub timing: Timing,
}

mod humantime_serde_secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The plan and the backend that will carry it out.
pub struct Planned {
    pub plan: Plan,
    pub backend: HttpBackend,
    pub redactor: Redactor,
}

/// Template values given with `--var` / `FERRY_VAR_<NAME>`: `name=value` becomes
/// `vars.name`; `build.name=value` stands in for an output of a build that is not run.
pub fn overrides(env: &crate::env::Env, flags: &[String]) -> Result<Vars> {
    let mut out = Vars::new();
    for (name, value) in env.with_prefix("FERRY_VAR_") {
        let key = name.trim_start_matches("FERRY_VAR_").to_ascii_lowercase();
        out.insert(format!("vars.{key}"), value.to_string());
    }
    for flag in flags {
        let Some((name, value)) = flag.split_once('=') else {
            return Err(Error::InvalidSetting {
                name: "var".into(),
                source_name: "--var".into(),
                problem: format!("{flag:?} has no `=`"),
                hint: "write --var NAME=VALUE, e.g. --var app=shop or --var build.artifact=registry/app:1.2".into(),
            });
        };
        let name = name.trim();
        let key = if let Some(output) = name.strip_prefix("build.") {
            format!("build.{output}")
        } else if name.contains('.') || name.is_empty() {
            return Err(Error::InvalidSetting {
                name: "var".into(),
                source_name: "--var".into(),
                problem: format!("{name:?} is not a variable name"),
                hint: "use a plain name (set as vars.NAME) or build.NAME for a build output".into(),
            });
        } else {
            format!("vars.{name}")
        };
        out.insert(key, value.to_string());
    }
    Ok(out)
}

/// Builds the plan. `no_build` skips the build phase of a deploy.
pub fn plan(
    command: Command,
    no_build: bool,
    settings: &Settings,
    file: Option<&FileConfig>,
    context: &Context,
    overrides: &Vars,
) -> Result<Planned> {
    let Some(file) = file else {
        return Err(Error::MissingSetting {
            name: "config".into(),
            hint: format!(
                "no settings file at {}; write a ferry.toml describing your platform (examples/simulator.toml is a complete one) or point --config / FERRY_CONFIG at it",
                settings.config.display()
            ),
        });
    };
    let Some(spec) = file.platform.as_ref() else {
        return Err(Error::ConfigFile {
            path: settings.config.display().to_string(),
            message: "there is no [platform] section\n  fix: add [platform] with at least url = \"https://…\" (or set platform_url)".into(),
        });
    };
    let phases_spec = Phases {
        build: file.build.clone(),
        deploy: file.deploy.clone(),
        stop: file.stop.clone(),
    };
    let phases = match command {
        Command::Build => vec![Phase::Build],
        Command::Deploy if no_build || phases_spec.build.is_none() => vec![Phase::Deploy],
        Command::Deploy => vec![Phase::Build, Phase::Deploy],
        Command::Stop => vec![Phase::Stop],
    };
    for phase in &phases {
        let present = match phase {
            Phase::Build => phases_spec.build.is_some(),
            Phase::Deploy => phases_spec.deploy.is_some(),
            Phase::Stop => phases_spec.stop.is_some(),
        };
        if !present {
            return Err(Error::ConfigFile {
                path: settings.config.display().to_string(),
                message: format!(
                    "`ferry {}` needs a [{phase}] section, and there is none\n  fix: describe the {phase} request in [{phase}] (see the README's http platform reference)",
                    command.as_str()
                ),
            });
        }
    }
    let environment = settings.environment.clone().or_else(|| {
        context
            .change_request
            .as_ref()
            .and_then(|c| c.number)
            .or(settings.pr_number)
            .map(|n| format!("review-{n}"))
    });
    if environment.is_none() && command != Command::Build {
        return Err(Error::MissingSetting {
            name: "environment".into(),
            hint: "set --environment, FERRY_ENVIRONMENT or `environment` in ferry.toml (e.g. staging); on a pull/merge request it defaults to review-<number>".into(),
        });
    }
    let base = platform_url(settings, spec)?;
    let (auth, auth_name) = auth(spec, settings.platform_token.as_ref())?;
    let secrets: Vec<&SecretString> = settings
        .token
        .iter()
        .chain(settings.platform_token.iter())
        .collect();
    let redactor = Redactor::new(secrets);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| base.host_str().unwrap_or("platform").to_string());
    let client = Client::new(name.clone(), base.clone(), auth, redactor.clone())?;
    let backend = HttpBackend::new(client, spec.headers.clone(), phases_spec.clone())?;
    let timing = timing(spec, settings)?;
    let mut phase_timeouts = BTreeMap::new();
    for (phase, p) in [
        (Phase::Build, &phases_spec.build),
        (Phase::Deploy, &phases_spec.deploy),
        (Phase::Stop, &phases_spec.stop),
    ] {
        if let Some(t) = p.as_ref().and_then(|p| p.timeout.as_deref()) {
            phase_timeouts.insert(phase, parse_duration(t).unwrap_or(settings.timeout));
        }
    }
    let mut vars = vars(settings, file, context, environment.as_deref(), &base);
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Planned {
        plan: Plan {
            command,
            environment,
            phases,
            platform: name,
            platform_url: base.to_string(),
            auth: auth_name,
            vars,
            timeout: settings.timeout,
            phase_timeouts,
            detach: settings.detach,
            timing,
        },
        backend,
        redactor,
    })
}

fn platform_url(settings: &Settings, spec: &PlatformSpec) -> Result<Url> {
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
    let url = Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    url.ok_or_else(|| Error::InvalidSetting {
        name: "platform_url".into(),
        source_name: "url in [platform]".into(),
        problem: format!("{text:?} is not an absolute http(s) URL"),
        hint: "use an absolute http(s) URL such as https://paas.example.com/api".into(),
    })
}

fn auth(spec: &PlatformSpec, token: Option<&SecretString>) -> Result<(Auth, &'static str)> {
    let scheme = spec.auth.unwrap_or(if token.is_some() {
        AuthScheme::Bearer
    } else {
        AuthScheme::None
    });
    let need = |scheme: &str| Error::MissingSetting {
        name: "platform_token".into(),
        hint: format!(
            "[platform] auth = \"{scheme}\" needs a token: set FERRY_PLATFORM_TOKEN (a CI secret) or FERRY_PLATFORM_TOKEN_FILE"
        ),
    };
    Ok(match scheme {
        AuthScheme::None => (Auth::None, "none"),
        AuthScheme::Bearer => (
            Auth::Bearer(token.cloned().ok_or_else(|| need("bearer"))?),
            "bearer",
        ),
        AuthScheme::Basic => {
            let user = spec.auth_user.clone().ok_or_else(|| Error::ConfigFile {
                path: "ferry.toml [platform]".into(),
                message:
                    "auth = \"basic\" needs auth_user (the user name; the token is the password)"
                        .into(),
            })?;
            (
                Auth::Basic {
                    user,
                    password: token.cloned().ok_or_else(|| need("basic"))?,
                },
                "basic",
            )
        }
        AuthScheme::Header => {
            let name = spec.auth_header.clone().ok_or_else(|| Error::ConfigFile {
                path: "ferry.toml [platform]".into(),
                message: "auth = \"header\" needs auth_header (the header's name, e.g. X-Api-Key)"
                    .into(),
            })?;
            (
                Auth::Header {
                    name,
                    value: token.cloned().ok_or_else(|| need("header"))?,
                },
                "header",
            )
        }
    })
}

fn timing(spec: &PlatformSpec, settings: &Settings) -> Result<Timing> {
    let bad = |key: &str, value: &str| Error::ConfigFile {
        path: settings.config.display().to_string(),
        message: format!(
            "[platform.poll] {key} = {value:?} is not a duration\n  fix: use a duration like 250ms, 5s or 1m"
        ),
    };
    let initial =
        parse_duration(&spec.poll.initial).ok_or_else(|| bad("initial", &spec.poll.initial))?;
    let max = parse_duration(&spec.poll.max).ok_or_else(|| bad("max", &spec.poll.max))?;
    let heartbeat = parse_duration(&spec.poll.heartbeat)
        .filter(|d| *d <= Duration::from_secs(30))
        .ok_or_else(|| bad("heartbeat (at most 30s)", &spec.poll.heartbeat))?;
    if !(1.0..=10.0).contains(&spec.poll.factor) {
        return Err(Error::ConfigFile {
            path: settings.config.display().to_string(),
            message: format!(
                "[platform.poll] factor = {} is out of range\n  fix: use a factor between 1.0 (constant) and 10.0",
                spec.poll.factor
            ),
        });
    }
    Ok(Timing {
        poll_initial: initial,
        poll_max: max.max(initial),
        factor: spec.poll.factor,
        heartbeat,
        ..Timing::default()
    })
}

fn vars(
    settings: &Settings,
    file: &FileConfig,
    context: &Context,
    environment: Option<&str>,
    base: &Url,
) -> Vars {
    let mut v = Vars::new();
    let mut put = |k: &str, val: Option<String>| {
        v.insert(k.to_string(), val.unwrap_or_default());
    };
    let sha = settings.sha.clone().or_else(|| context.sha.clone());
    put(
        "short_sha",
        sha.as_ref().map(|s| s.chars().take(7).collect()),
    );
    put("sha", sha);
    put("ref_name", context.ref_name.clone());
    put("repository", context.repository.clone());
    put(
        "pr_number",
        settings
            .pr_number
            .or_else(|| context.change_request.as_ref().and_then(|c| c.number))
            .map(|n| n.to_string()),
    );
    put("environment", environment.map(str::to_string));
    put("job_url", context.job_url.clone());
    put("ci", Some(context.ci.as_str().to_string()));
    put(
        "platform_url",
        Some(base.as_str().trim_end_matches('/').to_string()),
    );
    for (name, value) in &file.vars {
        put(
            &format!("vars.{name}"),
            crate::config::file::text(Some(value)),
        );
    }
    v
}
