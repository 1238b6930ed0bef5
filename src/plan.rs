//! Stage 3 — plan: settings + context + the platform description → what will run, before any
//! side effect. `--dry-run` and `ferry check` print it.
//!
//! Each phase runs on one platform: the `http` description of `[platform]`, or a named
//! `[platforms.<name>]` picked with `platform = "<name>"` (see `plan/named.rs`). The plan reads
//! the phase sections (`plan/section.rs`) and where each platform is (`plan/access.rs`); each
//! platform's backend plans itself ([`crate::platform::planned`]).

mod access;
mod named;
mod section;
mod subject;
mod templates;

pub(crate) use crate::platform::planned::PlannedBackend;
pub(crate) use subject::Subject;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::ci::Context;
use crate::config::{FileConfig, Settings};
use crate::env::Env;
use crate::error::{Error, Result, quote};
use crate::platform::described::Described;
use crate::platform::engine::Timing;
use crate::platform::{Backend, Command, Phase, Vars};
use crate::secret::{Redactor, SecretString};

/// What a run will do.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Plan {
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
    /// `secrets.<name>` from `FERRY_SECRET_<NAME>`: added to each phase's values, never shown
    /// (not in `vars`, redacted everywhere).
    #[serde(skip)]
    pub secrets: BTreeMap<String, SecretString>,
    /// What the checks found worth saying without stopping (a template value empty for this
    /// run), for the command to print.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// What each phase will send, in order, and what it waits for (never a credential).
    pub phase_requests: Vec<PhaseRequests>,
}

/// One phase's requests and wait, as the plan shows them.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PhaseRequests {
    pub phase: Phase,
    /// The phase's time limit.
    #[serde(with = "humantime_serde_secs")]
    pub timeout: Duration,
    #[serde(flatten)]
    pub described: Described,
}

/// One phase's platform, as the plan shows it (never a credential).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PhasePlatform {
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
pub(crate) struct Planned {
    pub plan: Plan,
    /// One backend per platform in use, with its poll cadence and the phases it runs.
    pub backends: Vec<PlannedBackend>,
    pub redactor: Redactor,
}

impl Planned {
    /// The backend and cadence that run `phase`.
    pub(crate) fn backend(&self, phase: Phase) -> Option<(&dyn Backend, &Timing)> {
        self.backends
            .iter()
            .find(|b| b.phases.contains(&phase))
            .map(|b| (b.backend.as_ref(), &b.timing))
    }
}

/// Template values given with `--var` / `FERRY_VAR_<NAME>`: `name=value` becomes
/// `vars.name`; `build.name=value` (`FERRY_BUILD_<NAME>`) stands in for an output of a build
/// that is not run, an earlier job's with no_build.
pub(crate) fn overrides(env: &crate::env::Env, flags: &[String]) -> Result<Vars> {
    let mut out = Vars::new();
    for (prefix, scope) in [("FERRY_VAR_", "vars"), ("FERRY_BUILD_", "build")] {
        for (name, value) in env.with_prefix(prefix) {
            let key = name.trim_start_matches(prefix).to_ascii_lowercase();
            out.insert(format!("{scope}.{key}"), value.to_string());
        }
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

/// What a plan is made from: every outside input, already read.
#[derive(Clone, Copy)]
pub(crate) struct PlanRequest<'a> {
    pub command: Command,
    pub settings: &'a Settings,
    /// The settings file, when there is one.
    pub file: Option<&'a FileConfig>,
    pub context: &'a Context,
    /// Template values given with `--var` / `FERRY_VAR_<NAME>` (see [`overrides`]).
    pub overrides: &'a Vars,
    /// Read only for the variables a named platform points at (`url_env`, `token_env`,
    /// `user_env`) and the CI's own tokens (to redact them).
    pub env: &'a Env,
    /// Whether the plan is for sending (a run, `check --probe`): then a credential the CI
    /// withholds (a fork's pull request) stops it here. `check` and `--dry-run` only show.
    pub sends: bool,
}

impl<'a> PlanRequest<'a> {
    /// `command` with the settings and file `loaded` read.
    pub(crate) fn new(
        command: Command,
        loaded: &'a crate::config::Loaded,
        context: &'a Context,
        overrides: &'a Vars,
        env: &'a Env,
    ) -> Self {
        Self {
            command,
            settings: &loaded.settings,
            file: loaded.file.as_ref(),
            context,
            overrides,
            env,
            sends: true,
        }
    }

    /// The same request for a plan that is only shown (`check`, `--dry-run`).
    pub(crate) fn shown_only(self) -> Self {
        Self {
            sends: false,
            ..self
        }
    }
}

/// Builds the plan.
pub(crate) fn plan(req: PlanRequest<'_>) -> Result<Planned> {
    let PlanRequest {
        command,
        settings,
        file,
        context,
        overrides,
        env,
        sends,
    } = req;
    let Some(file) = file else {
        return Err(Error::MissingSetting {
            name: "config".into(),
            hint: format!(
                "no settings file at {}; write a ferry.toml describing your platform (examples/simulator.toml is a complete one) or point --config / FERRY_CONFIG at it",
                settings.config.display()
            ),
        });
    };
    let phases = phases(command, file, settings)?;
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
    let withheld = sends && context.secrets_withheld();
    let chosen = named::choose(settings, file, &phases, env, withheld)?;
    let redactor = chosen.redactor.clone();
    let first = chosen
        .phase_platforms
        .first()
        .cloned()
        .ok_or_else(|| Error::Internal {
            what: "a run was planned without phases".into(),
        })?;
    let base = Url::parse(&first.url).map_err(|e| Error::InvalidSetting {
        name: "platform_url".into(),
        source_name: first.key.clone(),
        problem: format!("{} is not a URL ({e})", quote(&first.url)),
        hint: "use an absolute http(s) URL".into(),
    })?;
    let mut vars = vars(&subject, file, context, environment.as_deref(), &base);
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let (secrets, warnings) = check_templates(file, &phases, &vars, env, settings)?;
    let phase_vars = platform_urls(&chosen.phase_platforms);
    let phase_requests = describe(&PhaseInputs {
        phases: &phases,
        backends: &chosen.backends,
        vars: &vars,
        phase_vars: &phase_vars,
        timeouts: &chosen.phase_timeouts,
        timeout: settings.timeout,
        redactor: &redactor,
    });
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
            secrets,
            warnings,
            phase_requests,
        },
        backends: chosen.backends,
        redactor,
    })
}

/// The phases `command` runs, each described in the file.
fn phases(command: Command, file: &FileConfig, settings: &Settings) -> Result<Vec<Phase>> {
    let phases = match command {
        Command::Build if settings.no_build => {
            return Err(Error::Unsupported {
                what: "`ferry build` with no_build (it skips the build phase of `ferry deploy`: the build would have nothing to do)".into(),
                hint: "drop no_build (--no-build, FERRY_NO_BUILD, the action input) for this step".into(),
            });
        }
        Command::Build => vec![Phase::Build],
        Command::Deploy if settings.no_build || file.build.is_none() => vec![Phase::Deploy],
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
    Ok(phases)
}

/// The run's secrets, and every template of the file read and its names checked (see
/// `plan/templates.rs`), with the warnings for values empty in this run.
fn check_templates(
    file: &FileConfig,
    phases: &[Phase],
    vars: &Vars,
    env: &Env,
    settings: &Settings,
) -> Result<(BTreeMap<String, SecretString>, Vec<String>)> {
    let secrets = secrets(env);
    let warnings = templates::check(
        file,
        phases,
        &templates::Known {
            vars,
            secrets: &secrets.keys().cloned().collect(),
            path: &settings.config.display().to_string(),
        },
    )?;
    Ok((secrets, warnings))
}

/// `secrets.<name>` for every `FERRY_SECRET_<NAME>` in the environment (like `FERRY_VAR_<NAME>`
/// for `vars.<name>`).
pub(crate) fn secrets(env: &Env) -> BTreeMap<String, SecretString> {
    env.with_prefix("FERRY_SECRET_")
        .map(|(name, value)| {
            let key = name
                .trim_start_matches("FERRY_SECRET_")
                .to_ascii_lowercase();
            (
                format!("secrets.{key}"),
                SecretString::from(value.to_string()),
            )
        })
        .collect()
}

/// Each phase's own `platform_url` template value (its platform's URL).
fn platform_urls(platforms: &[PhasePlatform]) -> BTreeMap<Phase, Vars> {
    platforms
        .iter()
        .map(|p| {
            let url = p.url.trim_end_matches('/').to_string();
            (p.phase, Vars::from([("platform_url".to_string(), url)]))
        })
        .collect()
}

/// What [`describe`] reads.
struct PhaseInputs<'a> {
    phases: &'a [Phase],
    backends: &'a [PlannedBackend],
    vars: &'a Vars,
    phase_vars: &'a BTreeMap<Phase, Vars>,
    timeouts: &'a BTreeMap<Phase, Duration>,
    timeout: Duration,
    redactor: &'a Redactor,
}

/// Each phase's requests and wait, as its backend describes them (nothing is sent), redacted.
fn describe(d: &PhaseInputs<'_>) -> Vec<PhaseRequests> {
    d.phases
        .iter()
        .map(|phase| {
            let mut vars = d.vars.clone();
            vars.extend(phase_vars_of(d.phase_vars, *phase));
            let mut described = d
                .backends
                .iter()
                .find(|b| b.phases.contains(phase))
                .map(|b| b.backend.describe(*phase, &vars))
                .unwrap_or_default();
            for r in &mut described.requests {
                r.url = d.redactor.redact(&r.url);
            }
            PhaseRequests {
                phase: *phase,
                timeout: d.timeouts.get(phase).copied().unwrap_or(d.timeout),
                described,
            }
        })
        .collect()
}

/// The template values that differ for `phase` (its platform's URL).
fn phase_vars_of(map: &BTreeMap<Phase, Vars>, phase: Phase) -> Vars {
    map.get(&phase).cloned().unwrap_or_default()
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
