//! Stage 2 — what was asked: raw inputs from four sources, merged and validated into [`Settings`].
//!
//! Precedence: flags > `FERRY_*` > `INPUT_*` (inside a GitHub Action) > `ferry.toml` > defaults.
//! Validation happens before anything is triggered and names the setting, its source, the problem
//! and the fix. This stage never reads the process environment and never imports `report`.

pub(crate) mod file;
pub(crate) mod layer;
pub(crate) mod locate;
pub(crate) mod names;
pub(crate) mod preset;
pub(crate) mod read;
pub(crate) mod settings;

use std::path::{Path, PathBuf};

pub(crate) use file::FileConfig;
pub use layer::Layer;
pub(crate) use layer::{RawSettings, SourceKind};
pub(crate) use settings::{CommentMode, DeploymentsMode, Settings};

use crate::env::Env;
use crate::error::Result;

/// Everything the user asked for: validated settings and the parsed file (if any).
#[derive(Clone, Debug)]
pub(crate) struct Loaded {
    pub settings: Settings,
    pub file: Option<FileConfig>,
    /// Warnings for the start of the run (a `FERRY_*` name nothing reads), printed by `lib`.
    pub warnings: Vec<String>,
}

/// Reads every source and validates. `flags` is the command line's layer; `cwd` resolves the
/// default `ferry.toml`.
pub(crate) fn load(env: &Env, flags: Layer, cwd: &Path) -> Result<Loaded> {
    let env_layer = layer::from_env(env)?;
    let inputs = layer::from_inputs(env)?;
    // The file's path itself comes from the other sources.
    let chosen = flags
        .config
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| env_layer.config.clone().filter(|s| !s.is_empty()))
        .or_else(|| inputs.config.clone().filter(|s| !s.is_empty()));
    let path = chosen
        .as_deref()
        .map_or_else(|| cwd.join("ferry.toml"), |p| cwd.join(p));
    // Messages name the file as the user wrote it (`ferry.toml:39`), not the whole path.
    let shown = path_for_messages(&path, cwd);
    let file = FileConfig::load(&path, &shown, chosen.is_some())?;
    let mut layers = vec![
        (flags, SourceKind::Flags),
        (env_layer, SourceKind::Env),
        (inputs, SourceKind::Inputs),
    ];
    if let Some(f) = &file {
        layers.push((f.layer(), SourceKind::File(shown.clone())));
    }
    let raw = RawSettings::merge(layers)?;
    let settings = Settings::validate(&raw, PathBuf::from(shown))?;
    let warnings = names::unknown(env, file.as_ref());
    Ok(Loaded {
        settings,
        file,
        warnings,
    })
}

fn path_for_messages(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map_or_else(|_| path.to_path_buf(), PathBuf::from)
        .display()
        .to_string()
}
