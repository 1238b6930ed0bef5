//! Which platform runs each phase, and the backend for each platform in use, before anything is
//! sent.
//!
//! The sections are read first ([`section`](super::section)), every one of them; only the
//! platforms this run uses need their URL and credential ([`access`](super::access)). Each
//! platform's backend then plans itself from a [`BackendRequest`]: `[platform]` is an `http`
//! platform, a named one is handed to its kind by [`NamedPlatform::plan`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::section::{self, Key, Section};
use super::{PhasePlatform, access};
use crate::config::Settings;
use crate::config::file::FileConfig;
use crate::config::settings::{DURATION_FIX, parse_duration};
use crate::env::Env;
use crate::error::{Error, Result, quote};
use crate::platform::Phase;
use crate::platform::engine::Timing;
use crate::platform::http::HttpBackend;
use crate::platform::http::spec::PollSpec;
use crate::platform::named::{KindPhase, NamedPlatform};
use crate::platform::planned::{Access, BackendRequest, PlannedBackend};
use crate::secret::{Redactor, SecretString};

/// What [`choose`] decided.
pub(super) struct Chosen {
    pub(super) backends: Vec<PlannedBackend>,
    pub(super) phase_platforms: Vec<PhasePlatform>,
    pub(super) phase_timeouts: BTreeMap<Phase, Duration>,
    pub(super) redactor: Redactor,
}

fn key_name(key: &Key) -> String {
    key.clone().unwrap_or_else(|| "platform".into())
}

/// Decides the platform of every phase and builds the backends this run needs.
pub(super) fn choose(
    settings: &Settings,
    file: &FileConfig,
    phases: &[Phase],
    env: &Env,
    withheld: bool,
) -> Result<Chosen> {
    section::check_platforms(settings, file)?;
    // Every section is read, used by this run or not.
    let sections = section::read_all(settings, file)?;
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
    let mut accesses: BTreeMap<String, Access> = BTreeMap::new();
    for name in used.iter().flatten() {
        let p = &file.platforms[name];
        let place = access::Use {
            single,
            default_used,
            withheld,
        };
        let a = access::named(settings, env, name, p, place)?;
        accesses.insert(name.clone(), a);
    }
    let redactor = redactor(settings, file, env, default_used, accesses.values());

    let mut chosen = Chosen {
        backends: Vec::new(),
        phase_platforms: Vec::new(),
        phase_timeouts: sections
            .iter()
            .filter_map(|(phase, s)| s.timeout.map(|d| (*phase, d)))
            .collect(),
        redactor: redactor.clone(),
    };
    for key in &used {
        let runs: Vec<Phase> = phases
            .iter()
            .copied()
            .filter(|p| sections.get(p).is_some_and(|s| &s.key == key))
            .collect();
        let on_it: BTreeMap<Phase, KindPhase> = sections
            .iter()
            .filter(|(_, s)| &s.key == key)
            .map(|(phase, s)| (*phase, s.spec.clone()))
            .collect();
        let (planned, shown) = match key {
            None => plan_default(settings, file, runs, on_it, &redactor, withheld)?,
            Some(name) => {
                let access = accesses.remove(name).ok_or_else(|| Error::Internal {
                    what: format!("platform {name} is planned without its URL and credential"),
                })?;
                let p = &file.platforms[name];
                plan_named(settings, name, p, access, runs, on_it, &redactor)?
            }
        };
        for phase in &planned.phases {
            chosen.phase_platforms.push(PhasePlatform {
                phase: *phase,
                key: key_name(key),
                kind: shown.kind,
                platform: shown.display.clone(),
                url: shown.url.clone(),
                auth: planned.auth,
            });
        }
        chosen.backends.push(planned);
    }
    chosen.phase_platforms.sort_by_key(|p| {
        phases
            .iter()
            .position(|q| *q == p.phase)
            .unwrap_or(usize::MAX)
    });
    Ok(chosen)
}

/// A platform in use, as the plan shows it.
struct Shown {
    kind: &'static str,
    display: String,
    url: String,
}

impl Shown {
    fn of<P, S>(req: &BackendRequest<'_, P, S>) -> Self {
        Self {
            kind: req.kind,
            display: req.display.clone(),
            url: req.access.url.to_string(),
        }
    }
}

/// `[platform]`: the `http` description, planned by the http backend.
fn plan_default(
    settings: &Settings,
    file: &FileConfig,
    runs: Vec<Phase>,
    sections: BTreeMap<Phase, KindPhase>,
    redactor: &Redactor,
    withheld: bool,
) -> Result<(PlannedBackend, Shown)> {
    let Some(spec) = file.platform.as_ref() else {
        return Err(Error::ConfigFile {
            path: settings.config.display().to_string(),
            message: "there is no [platform] section\n  fix: add [platform] with at least url = \"https://…\" (or set platform_url), or name a platform with platform = \"<name>\" in the phase".into(),
        });
    };
    let access = access::default(settings, spec, withheld)?;
    let display = spec
        .name
        .clone()
        .unwrap_or_else(|| access.url.host_str().unwrap_or("platform").to_string());
    let req = BackendRequest {
        table: "[platform]".into(),
        name: None,
        kind: "http",
        platform: spec.connection(),
        display,
        access,
        sections: sections
            .into_iter()
            .filter_map(|(phase, s)| match s {
                KindPhase::Http(spec) => Some((phase, *spec)),
                _ => None,
            })
            .collect(),
        runs,
        timing: timing(&spec.poll, "[platform.poll]", settings)?,
        redactor,
    };
    let shown = Shown::of(&req);
    Ok((HttpBackend::plan(req)?, shown))
}

/// `[platforms.<name>]`, planned by its kind's backend.
fn plan_named(
    settings: &Settings,
    name: &str,
    p: &NamedPlatform,
    access: Access,
    runs: Vec<Phase>,
    sections: BTreeMap<Phase, KindPhase>,
    redactor: &Redactor,
) -> Result<(PlannedBackend, Shown)> {
    let keys = p.common();
    let display = keys.name.map_or_else(
        || format!("{} ({})", p.kind(), access.url.host_str().unwrap_or(name)),
        str::to_string,
    );
    let req = BackendRequest {
        table: format!("[platforms.{name}]"),
        name: Some(name),
        kind: p.kind(),
        platform: p,
        display,
        access,
        sections,
        runs,
        timing: timing(keys.poll, &format!("[platforms.{name}.poll]"), settings)?,
        redactor,
    };
    let shown = Shown::of(&req);
    Ok((NamedPlatform::plan(req)?, shown))
}

/// Every secret of the run, in every form it may be shown in.
fn redactor<'a>(
    settings: &Settings,
    file: &FileConfig,
    env: &Env,
    default_used: bool,
    accesses: impl Iterator<Item = &'a Access>,
) -> Redactor {
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
    // `{{ secrets.NAME }}` values go into requests and never into any output.
    secrets.extend(super::secrets(env).into_values());
    // Basic credentials come back base64-encoded as a pair: each pair is a form of its own.
    let mut basics: Vec<(String, SecretString)> = Vec::new();
    if let (Some(user), Some(token), true) = (
        file.platform.as_ref().and_then(|p| p.auth_user.clone()),
        settings.platform_token.as_ref(),
        default_used,
    ) {
        basics.push((user, token.clone()));
    }
    for a in accesses {
        secrets.extend(a.token.iter().cloned());
        if let (Some(user), Some(token)) = (&a.user, &a.token) {
            basics.push((user.clone(), token.clone()));
        }
    }
    basics
        .iter()
        .fold(Redactor::builder().secrets(&secrets), |b, (user, token)| {
            b.basic(user, token)
        })
        .build()
}

/// A platform's poll cadence (`[platform.poll]`, `[platforms.<name>.poll]`).
fn timing(poll: &PollSpec, section: &str, settings: &Settings) -> Result<Timing> {
    let bad = |key: &str, problem: String, fix: &str| Error::ConfigFile {
        path: settings.config.display().to_string(),
        message: format!("{section} {key} = {problem}\n  fix: {fix}"),
    };
    let initial =
        parse_duration(&poll.initial).map_err(|problem| bad("initial", problem, DURATION_FIX))?;
    let max = parse_duration(&poll.max).map_err(|problem| bad("max", problem, DURATION_FIX))?;
    let log_pace =
        parse_duration(&poll.log_pace).map_err(|problem| bad("log_pace", problem, DURATION_FIX))?;
    let heartbeat_fix = "use a positive duration of at most 30s, like 10s or 20s";
    let heartbeat = parse_duration(&poll.heartbeat)
        .map_err(|problem| bad("heartbeat", problem, heartbeat_fix))?;
    if heartbeat > Duration::from_secs(30) {
        return Err(bad(
            "heartbeat",
            format!("{} is longer than 30s", quote(&poll.heartbeat)),
            heartbeat_fix,
        ));
    }
    if !(1.0..=10.0).contains(&poll.factor) {
        return Err(Error::ConfigFile {
            path: settings.config.display().to_string(),
            message: format!(
                "{section} factor = {} is out of range\n  fix: use a factor between 1.0 (constant) and 10.0",
                poll.factor
            ),
        });
    }
    Ok(Timing {
        poll_initial: initial,
        poll_max: max.max(initial),
        factor: poll.factor,
        heartbeat,
        log_pace,
        ..Timing::default()
    })
}
