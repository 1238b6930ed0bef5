//! Checking a phase's description before anything is sent: every value source parses, the
//! status lists can match something, a cursor log says where its lines are.

use super::spec::{self, LogMode, PhaseSpec, StatusSpec};
use super::{bad_source, condition, source::Source};
use crate::error::{Error, Result};
use crate::platform::event::Phase;

fn check_source(section: &str, name: &str, text: &str) -> Result<()> {
    Source::parse(text)
        .map(|_| ())
        .ok_or_else(|| bad_source(section, name, text))
}

pub(super) fn check_phase(phase: Phase, spec: &PhaseSpec) -> Result<()> {
    let s = |part: &str| format!("[{phase}.{part}]");
    check_source(&s("trigger"), "id", &spec.trigger.id)?;
    for (name, text) in &spec.trigger.capture {
        check_source(&s("trigger"), name, text)?;
    }
    if let Some(r) = &spec.resolve {
        check_source(&s("resolve"), "until", &r.until)?;
        for (name, text) in &r.capture {
            check_source(&s("resolve"), name, text)?;
        }
    }
    check_status(&s("status"), &spec.status)?;
    if let Some(l) = &spec.logs {
        for (name, text) in [
            ("next_offset", &l.next_offset),
            ("complete", &l.complete),
            ("more", &l.more),
            ("lines", &l.lines),
            ("cursor", &l.cursor),
        ] {
            if let Some(text) = text {
                check_source(&s("logs"), name, text)?;
            }
        }
        if l.mode == LogMode::Cursor && l.lines.is_none() {
            return Err(Error::ConfigFile {
                path: format!("ferry.toml {}", s("logs")),
                message: "mode = \"cursor\" needs `lines` (where the lines are) and usually `cursor`\n  fix: add lines = \"/lines\" and cursor = \"/next\"".into(),
            });
        }
    }
    for (name, text) in &spec.outputs {
        check_source(&s("outputs"), name, text)?;
    }
    Ok(())
}

fn check_status(section: &str, spec: &StatusSpec) -> Result<()> {
    let has_value = spec
        .running
        .iter()
        .chain(&spec.success)
        .chain(&spec.failure)
        .any(|c| matches!(c, spec::Condition::Value(_)));
    if has_value && spec.field.is_none() {
        return Err(Error::ConfigFile {
            path: format!("ferry.toml {section}"),
            message: "plain values in running/success/failure need `field` (the JSON Pointer they are compared with)\n  fix: add field = \"/status\", or write each condition as a table like { \"/status\" = [\"done\"] }".into(),
        });
    }
    if spec.success.is_empty() {
        return Err(Error::ConfigFile {
            path: format!("ferry.toml {section}"),
            message: "`success` is empty, so the operation could never succeed\n  fix: list the values that mean success, e.g. success = [\"succeeded\"]".into(),
        });
    }
    for p in condition::pointers(spec) {
        if !p.is_empty() && !p.starts_with('/') {
            return Err(bad_source(section, "field", &p));
        }
    }
    Ok(())
}
