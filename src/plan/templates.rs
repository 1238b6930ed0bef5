//! Stage 3 — plan: every template of the file is read and every name it uses checked against
//! what will exist when it is filled, before anything is sent (`ferry check`, and every run).
//!
//! Must not send a request or read the process environment: it reads the file's templates
//! (`FileConfig::templates`, in flow order), the run's values and the secrets' names. A name
//! that exists but is empty for this run is a warning, not an error.

use std::collections::BTreeSet;

use crate::config::file::{FileConfig, PhaseKeys, PhaseTemplates, TemplateUse, flow_rank};
use crate::error::{Error, Result, quote};
use crate::platform::http::template::{self, INVALID_FIX, TemplateError};
use crate::platform::{Phase, Vars};

/// Names the engine gives every phase besides the plan's values.
const ENGINE_NAMES: [&str; 1] = ["idempotency_key"];

/// Names a named platform's kind (Jenkins, Argo CD) gives its phase once triggered.
const NAMED_CAPTURES: [&str; 3] = ["id", "number", "app_url"];

/// Values of the context that may be empty, with what fills them.
const FILLED_BY: [(&str, &str); 7] = [
    ("sha", "`sha` (--sha / FERRY_SHA), or run in CI"),
    ("short_sha", "`sha` (--sha / FERRY_SHA), or run in CI"),
    (
        "ref_name",
        "the CI's branch or tag (GITHUB_REF_NAME, CI_COMMIT_REF_NAME, …): run in CI",
    ),
    (
        "repository",
        "the CI's repository (GITHUB_REPOSITORY, CI_PROJECT_PATH, …): run in CI",
    ),
    ("pr_number", "`pr_number` (--pr-number / FERRY_PR_NUMBER)"),
    (
        "environment",
        "`environment` (--environment / FERRY_ENVIRONMENT)",
    ),
    ("job_url", "the CI's job URL: run in CI"),
];

/// What the check compares names with.
pub(super) struct Known<'a> {
    /// The plan's values: context, settings, `vars.*`, `--var build.X` stand-ins.
    pub vars: &'a Vars,
    /// `secrets.<name>` for every `FERRY_SECRET_<NAME>` (values never looked at here).
    pub secrets: &'a BTreeSet<String>,
    /// The settings file, for messages.
    pub path: &'a str,
}

/// Checks every template of the planned `phases` (and reads those of the others and of the
/// platform tables), returning warnings for names that are empty for this run.
pub(super) fn check(file: &FileConfig, phases: &[Phase], known: &Known<'_>) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for (i, phase) in phases.iter().enumerate() {
        let Some(found) = file.templates.get(phase.as_str()) else {
            continue;
        };
        let at = Point {
            phase: *phase,
            earlier: &phases[..i],
            file,
            found,
        };
        for u in &found.uses {
            let names = template::check(&u.text).map_err(|e| invalid(known.path, u, &e))?;
            for name in names {
                at.check(&name, u, known, &mut warnings)?;
            }
        }
    }
    // Phases this command does not run and the platform tables: read, so a syntax error or an
    // unknown filter is told now. Their other names depend on the phase that fills them, but a
    // platform this run uses must have the `vars.*` and `secrets.*` it names.
    for (key, found) in &file.templates {
        if phases.iter().any(|p| p.as_str() == key) {
            continue;
        }
        for u in &found.uses {
            let names = template::check(&u.text).map_err(|e| invalid(known.path, u, &e))?;
            if key == "platform" && platform_in_use(file, phases, &u.table) {
                for name in names {
                    check_given(&name, u, known)?;
                }
            }
        }
    }
    Ok(warnings)
}

/// Whether the platform table `table` (`platform…`, `platforms.<name>…`) serves a planned phase.
fn platform_in_use(file: &FileConfig, phases: &[Phase], table: &str) -> bool {
    let named = table
        .strip_prefix("platforms.")
        .map(|rest| rest.split('.').next().unwrap_or(rest));
    phases
        .iter()
        .any(|p| match (section_keys(file, *p), named) {
            (Some(PhaseKeys::On { platform, .. }), Some(name)) => platform == name,
            (Some(PhaseKeys::Http(_)), None) => true,
            _ => false,
        })
}

/// A `vars.*` or `secrets.*` name in a platform's table has its value (other names are the
/// phase's, and told when it is filled).
fn check_given(name: &str, u: &TemplateUse, known: &Known<'_>) -> Result<()> {
    let given = if name.starts_with("vars.") {
        known.vars.contains_key(name)
    } else if name.starts_with("secrets.") {
        known.secrets.contains(name)
    } else {
        true
    };
    if given {
        return Ok(());
    }
    let names: Vec<&str> = known
        .vars
        .keys()
        .map(String::as_str)
        .chain(known.secrets.iter().map(String::as_str))
        .collect();
    let mean = crate::suggest::did_you_mean(name, names.iter().copied());
    let fix = given_fix(name).unwrap_or_default();
    Err(Error::ConfigFile {
        path: at(known.path, u),
        message: format!(
            "the template {} names `{name}`, and it has no value here{mean}\n  fix: {fix}",
            quote(&u.text)
        ),
    })
}

/// Where a template is filled: its phase and what came before it.
struct Point<'a> {
    phase: Phase,
    earlier: &'a [Phase],
    file: &'a FileConfig,
    found: &'a PhaseTemplates,
}

impl Point<'_> {
    fn check(
        &self,
        name: &str,
        u: &TemplateUse,
        known: &Known<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        if let Some(value) = known.vars.get(name) {
            if value.is_empty()
                && let Some((_, by)) = FILLED_BY.iter().find(|(n, _)| *n == name)
            {
                // Once per name, where it is first sent.
                let said = format!("`{name}` is empty for this run");
                if !warnings.iter().any(|w| w.contains(&said)) {
                    warnings.push(format!(
                        "{} [{}] {}: {said}, so the template {} sends it empty\n  fix: give it with {by}",
                        known.path,
                        u.table,
                        u.key,
                        quote(&u.text)
                    ));
                }
            }
            return Ok(());
        }
        if known.secrets.contains(name)
            || ENGINE_NAMES.contains(&name)
            || self.has_table(name, known)
            || self.is_earlier_output(name)
            || self.is_captured(name, u)
        {
            return Ok(());
        }
        Err(self.unknown(name, u, known))
    }

    /// `{{ vars }}`, `{{ build }}`: a whole table of values that exists.
    fn has_table(&self, name: &str, known: &Known<'_>) -> bool {
        let prefix = format!("{name}.");
        known.vars.keys().any(|k| k.starts_with(&prefix))
            || (name == "secrets" && !known.secrets.is_empty())
            || self.earlier.iter().any(|p| p.as_str() == name)
    }

    /// `build.id` or a declared `build.<output>` in a phase after the build.
    fn is_earlier_output(&self, name: &str) -> bool {
        let Some((phase, output)) = name.split_once('.') else {
            return false;
        };
        let output = output.split('.').next().unwrap_or(output);
        let Some(earlier) = self.earlier.iter().find(|p| p.as_str() == phase) else {
            return false;
        };
        output == "id"
            || match section_keys(self.file, *earlier) {
                Some(PhaseKeys::Http(spec)) => spec.outputs.contains_key(output),
                // A named platform's kind decides its outputs: allowed rather than refused.
                Some(PhaseKeys::On { .. }) | None => true,
            }
    }

    /// A value the phase's own requests captured before this template is filled.
    fn is_captured(&self, name: &str, u: &TemplateUse) -> bool {
        if matches!(
            section_keys(self.file, self.phase),
            Some(PhaseKeys::On { .. })
        ) {
            return NAMED_CAPTURES.contains(&name);
        }
        let rank = flow_rank(&u.table);
        let request_key = is_request_key(&u.key);
        let before = |table: &str| {
            let r = flow_rank(table);
            r < rank || (r == rank && (!request_key || r == 0))
        };
        match name {
            // The trigger's (or the observed operation's) id.
            "id" => {
                before(&format!("{}.trigger", self.phase))
                    || before(&format!("{}.observe", self.phase))
            }
            // The log position, in log requests.
            "offset" | "cursor" => u.table.rsplit('.').next() == Some("logs"),
            _ => self
                .found
                .captures
                .iter()
                .any(|(table, n)| n == name && before(table)),
        }
    }

    /// The message for a name that will not exist, with its fix.
    fn unknown(&self, name: &str, u: &TemplateUse, known: &Known<'_>) -> Error {
        let mut names: Vec<String> = known.vars.keys().cloned().collect();
        names.extend(known.secrets.iter().cloned());
        names.extend(ENGINE_NAMES.iter().map(ToString::to_string));
        for p in self.earlier {
            names.push(format!("{p}.id"));
            if let Some(PhaseKeys::Http(spec)) = section_keys(self.file, *p) {
                names.extend(spec.outputs.keys().map(|o| format!("{p}.{o}")));
            }
        }
        for (_, n) in &self.found.captures {
            if self.is_captured(n, u) && !names.contains(n) {
                names.push(n.clone());
            }
        }
        if self.is_captured("id", u) {
            names.push("id".into());
        }
        let mean = crate::suggest::did_you_mean(name, names.iter().map(String::as_str));
        let fix = self.fix(name, &names);
        Error::ConfigFile {
            path: at(known.path, u),
            message: format!(
                "the template {} names `{name}`, and it has no value here{mean}\n  fix: {fix}",
                quote(&u.text)
            ),
        }
    }

    fn fix(&self, name: &str, names: &[String]) -> String {
        if let Some(fix) = given_fix(name) {
            return fix;
        }
        if let Some((phase, output)) = name.split_once('.')
            && ["build", "deploy", "stop"].contains(&phase)
        {
            if self.earlier.iter().any(|p| p.as_str() == phase) {
                let prefix = format!("{phase}.");
                let outputs: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| n.starts_with(&prefix))
                    .collect();
                return format!(
                    "declare `{output}` under [{phase}.outputs], or use one of: {}",
                    outputs.join(", ")
                );
            }
            return format!(
                "the {phase} phase does not run before [{}] here: give the value with --var {name}=… / FERRY_VAR_…, or run the {phase} first",
                self.phase
            );
        }
        format!("use one of: {}", names.join(", "))
    }
}

/// How to give a `vars.*` or `secrets.*` value that is missing.
fn given_fix(name: &str) -> Option<String> {
    if let Some(var) = name.strip_prefix("vars.") {
        return Some(format!(
            "add {var} = \"…\" under [vars] (or give it with --var {var}=… / FERRY_VAR_{})",
            var.to_ascii_uppercase()
        ));
    }
    name.strip_prefix("secrets.").map(|secret| {
        format!(
            "set FERRY_SECRET_{} as a masked CI variable (a secret is never written in ferry.toml)",
            secret.to_ascii_uppercase()
        )
    })
}

/// The keys of `phase`'s section in the file.
fn section_keys(file: &FileConfig, phase: Phase) -> Option<&PhaseKeys> {
    let section = match phase {
        Phase::Build => file.build.as_ref(),
        Phase::Deploy => file.deploy.as_ref(),
        Phase::Stop => file.stop.as_ref(),
    };
    section.map(|s| &s.keys)
}

/// Keys filled to send the table's request (its own captures come after its answer).
fn is_request_key(key: &str) -> bool {
    let first = key.split('.').next().unwrap_or(key);
    matches!(
        first,
        "path" | "url" | "method" | "headers" | "body" | "body_file" | "content_type" | "query"
    )
}

/// Where a template is, for messages: `ferry.toml:29: [build.trigger] path` (the line when the
/// user's file writes it; a preset's template has none).
fn at(path: &str, u: &TemplateUse) -> String {
    match u.line {
        Some(line) => format!("{path}:{line}: [{}] {}", u.table, u.key),
        None => format!("{path} [{}] {}", u.table, u.key),
    }
}

/// The message for a template that cannot be read.
fn invalid(path: &str, u: &TemplateUse, e: &TemplateError) -> Error {
    let problem = match e {
        TemplateError::Invalid { problem, .. } => problem.clone(),
        TemplateError::Missing { name, .. } => format!("`{name}` has no value"),
    };
    Error::ConfigFile {
        path: at(path, u),
        message: format!(
            "the template {} cannot be read: {problem}\n  fix: {INVALID_FIX}",
            quote(&u.text)
        ),
    }
}
