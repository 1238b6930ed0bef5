//! Stage 3 — plan: settings + context + the platform description → what will run, before any
//! side effect. `--dry-run` and `ferry check` print it.
//!
//! Each phase runs on one platform: the `http` description of `[platform]`, or a named
//! `[platforms.<name>]` picked with `platform = "<name>"` (see [`named`]).

mod named;
mod subject;

pub use subject::Subject;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::ci::Context;
use crate::config::settings::{DURATION_FIX, parse_duration};
use crate::config::{FileConfig, Settings};
use crate::env::Env;
use crate::error::{Error, Result, quote};
use crate::platform::engine::Timing;
use crate::platform::http::client::Auth;
use crate::platform::http::spec::{AuthScheme, PlatformSpec, PollSpec};
use crate::platform::{Backend, Command, Phase, Vars};
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
    /// The platform each phase runs on.
    pub phase_platforms: Vec<PhasePlatform>,
    /// Template values that differ per phase (`platform_url`).
    #[serde(skip)]
    pub phase_vars: BTreeMap<Phase, Vars>,
    /// The change request and commit this run reports on, decided once.
    #[serde(skip)]
    pub subject: Subject,
}

/// One phase's platform, as the plan shows it (never a credential).
#[derive(Clone, Debug, Serialize)]
pub struct PhasePlatform {
    pub phase: Phase,
    /// The name in `[platforms.<name>]`, or `platform` for `[platform]`.
    pub key: String,
    pub kind: &'static str,
    pub platform: String,
    pub url: String,
    /// How the credential is sent.
    pub auth: &'static str,
}

mod humantime_serde_secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The plan and the backends that will carry it out.
pub struct Planned {
    pub plan: Plan,
    /// One backend per platform in use, with its poll cadence and the phases it runs.
    pub backends: Vec<PlannedBackend>,
    pub redactor: Redactor,
}

/// A platform's backend in a plan.
pub struct PlannedBackend {
    pub backend: Box<dyn Backend>,
    pub timing: Timing,
    pub phases: Vec<Phase>,
}

impl Planned {
    /// The backend and cadence that run `phase`.
    pub fn backend(&self, phase: Phase) -> Option<(&dyn Backend, &Timing)> {
        self.backends
            .iter()
            .find(|b| b.phases.contains(&phase))
            .map(|b| (b.backend.as_ref(), &b.timing))
    }
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
                problem: format!("{} has no `=`", quote(flag)),
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
                problem: format!("{} is not a variable name", quote(name)),
                hint: "use a plain name (set as vars.NAME) or build.NAME for a build output".into(),
            });
        } else {
            format!("vars.{name}")
        };
        out.insert(key, value.to_string());
    }
    Ok(out)
}

/// Builds the plan. `no_build` skips the build phase of a deploy. `env` is read only for the
/// variables a named platform points at (`url_env`, `token_env`, `user_env`).
pub fn plan(
    command: Command,
    no_build: bool,
    settings: &Settings,
    file: Option<&FileConfig>,
    context: &Context,
    overrides: &Vars,
    env: &Env,
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
    let phases = match command {
        Command::Build => vec![Phase::Build],
        Command::Deploy if no_build || file.build.is_none() => vec![Phase::Deploy],
        Command::Deploy => vec![Phase::Build, Phase::Deploy],
        Command::Stop => vec![Phase::Stop],
    };
    for phase in &phases {
        let present = match phase {
            Phase::Build => file.build.is_some(),
            Phase::Deploy => file.deploy.is_some(),
            Phase::Stop => file.stop.is_some(),
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
    let subject = Subject::decide(settings, context);
    let environment = settings
        .environment
        .clone()
        .or_else(|| subject.pr_number.map(|n| format!("review-{n}")));
    if environment.is_none() && command != Command::Build {
        return Err(Error::MissingSetting {
            name: "environment".into(),
            hint: "set --environment, FERRY_ENVIRONMENT or `environment` in ferry.toml (e.g. staging); on a pull/merge request it defaults to review-<number>".into(),
        });
    }
    let chosen = named::choose(settings, file, &phases, env)?;
    let redactor = chosen.redactor.clone();
    let first = chosen
        .phase_platforms
        .first()
        .cloned()
        .ok_or_else(|| Error::Unsupported {
            what: "a run without phases".into(),
            hint: "report this as a bug".into(),
        })?;
    let base = Url::parse(&first.url).map_err(|e| Error::InvalidSetting {
        name: "platform_url".into(),
        source_name: first.key.clone(),
        problem: format!("{} is not a URL ({e})", quote(&first.url)),
        hint: "use an absolute http(s) URL".into(),
    })?;
    let mut vars = vars(&subject, file, context, environment.as_deref(), &base);
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut phase_vars = BTreeMap::new();
    for p in &chosen.phase_platforms {
        phase_vars.insert(
            p.phase,
            Vars::from([(
                "platform_url".to_string(),
                p.url.trim_end_matches('/').to_string(),
            )]),
        );
    }
    Ok(Planned {
        plan: Plan {
            command,
            environment,
            phases,
            platform: first.platform.clone(),
            platform_url: first.url.clone(),
            auth: first.auth,
            vars,
            timeout: settings.timeout,
            phase_timeouts: chosen.phase_timeouts,
            detach: settings.detach,
            phase_platforms: chosen.phase_platforms,
            phase_vars,
            subject,
        },
        backends: chosen.backends,
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

fn timing(poll: &PollSpec, section: &str, settings: &Settings) -> Result<Timing> {
    let bad = |key: &str, problem: String, fix: &str| Error::ConfigFile {
        path: settings.config.display().to_string(),
        message: format!("{section} {key} = {problem}\n  fix: {fix}"),
    };
    let spec = PollOf { poll };
    let initial = parse_duration(&spec.poll.initial)
        .map_err(|problem| bad("initial", problem, DURATION_FIX))?;
    let max =
        parse_duration(&spec.poll.max).map_err(|problem| bad("max", problem, DURATION_FIX))?;
    let heartbeat_fix = "use a positive duration of at most 30s, like 10s or 20s";
    let heartbeat = parse_duration(&spec.poll.heartbeat)
        .map_err(|problem| bad("heartbeat", problem, heartbeat_fix))?;
    if heartbeat > Duration::from_secs(30) {
        return Err(bad(
            "heartbeat",
            format!("{} is longer than 30s", quote(&spec.poll.heartbeat)),
            heartbeat_fix,
        ));
    }
    if !(1.0..=10.0).contains(&spec.poll.factor) {
        return Err(Error::ConfigFile {
            path: settings.config.display().to_string(),
            message: format!(
                "{section} factor = {} is out of range\n  fix: use a factor between 1.0 (constant) and 10.0",
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

/// Lets `timing` read `spec.poll.x` for any platform's poll table.
struct PollOf<'a> {
    poll: &'a PollSpec,
}

fn vars(
    subject: &Subject,
    file: &FileConfig,
    context: &Context,
    environment: Option<&str>,
    base: &Url,
) -> Vars {
    let mut v = Vars::new();
    let mut put = |k: &str, val: Option<String>| {
        v.insert(k.to_string(), val.unwrap_or_default());
    };
    let sha = subject.sha.clone();
    put(
        "short_sha",
        sha.as_ref().map(|s| s.chars().take(7).collect()),
    );
    put("sha", sha);
    put("ref_name", context.ref_name.clone());
    put("repository", context.repository.clone());
    put("pr_number", subject.pr_number.map(|n| n.to_string()));
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
