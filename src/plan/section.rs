//! The phase sections, read for the platforms they name.
//!
//! A phase section without `platform` runs on `[platform]` (the `http` description, as always).
//! `platform = "<name>"` picks `[platforms.<name>]`, whose `kind` decides what the rest of the
//! section means (`http`: a phase description; `jenkins`: a job; `argocd`: an application).
//! Every section is read, even for phases this run does not do; its `timeout` is parsed here,
//! once.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Settings;
use crate::config::file::{FileConfig, PhaseKeys, PhaseSection};
use crate::config::settings::{DURATION_FIX, parse_duration};
use crate::error::{Error, Result, quote};
use crate::platform::Phase;
use crate::platform::named::{KindPhase, NamedPlatform};

/// `None` for `[platform]`, else the name in `[platforms.<name>]`.
pub(super) type Key = Option<String>;

/// A phase section, read for its platform.
pub(super) struct Section {
    /// The platform it runs on.
    pub(super) key: Key,
    /// Its own time limit.
    pub(super) timeout: Option<Duration>,
    /// Its keys, read by the platform's kind.
    pub(super) spec: KindPhase,
}

/// Every phase section of the file, read.
pub(super) fn read_all(settings: &Settings, file: &FileConfig) -> Result<BTreeMap<Phase, Section>> {
    let mut sections = BTreeMap::new();
    for phase in [Phase::Build, Phase::Deploy, Phase::Stop] {
        if let Some(section) = read(settings, file, phase)? {
            sections.insert(phase, section);
        }
    }
    Ok(sections)
}

fn section_of(file: &FileConfig, phase: Phase) -> Option<&PhaseSection> {
    match phase {
        Phase::Build => file.build.as_ref(),
        Phase::Deploy => file.deploy.as_ref(),
        Phase::Stop => file.stop.as_ref(),
    }
}

/// Reads one phase section: its keys, read by the kind of the platform it names, and its time
/// limit.
fn read(settings: &Settings, file: &FileConfig, phase: Phase) -> Result<Option<Section>> {
    let Some(section) = section_of(file, phase) else {
        return Ok(None);
    };
    let (key, spec) = match &section.keys {
        PhaseKeys::Http(spec) => (None, KindPhase::Http(spec.clone())),
        PhaseKeys::On { platform, table } => {
            let named = named(settings, file, phase, platform)?;
            let spec = named
                .read_phase(platform, phase, table)
                .map_err(|message| config_error(settings, &format!("[{phase}]"), message))?;
            (Some(platform.clone()), spec)
        }
    };
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
    Ok(Some(Section { key, timeout, spec }))
}

/// The `[platforms.<name>]` a phase names.
fn named<'f>(
    settings: &Settings,
    file: &'f FileConfig,
    phase: Phase,
    name: &str,
) -> Result<&'f NamedPlatform> {
    file.platforms.get(name).ok_or_else(|| {
        let known: Vec<&str> = file.platforms.keys().map(String::as_str).collect();
        config_error(
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
        )
    })
}

/// Each platform's name is repeated in messages, and its credential comes from one place. (The
/// keys its kind does not take were refused when the file was read.)
pub(super) fn check_platforms(settings: &Settings, file: &FileConfig) -> Result<()> {
    for (name, p) in &file.platforms {
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
    }
    Ok(())
}

pub(super) fn config_error(settings: &Settings, section: &str, message: String) -> Error {
    Error::ConfigFile {
        path: format!("{} {section}", settings.config.display()),
        message,
    }
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
