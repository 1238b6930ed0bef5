//! Checking a phase's description before anything is sent: every value source parses, the
//! status lists can match something, a log has what its mode needs.

use super::spec::{self, LogMode, LogSpec, PhaseSpec, StatusSpec};
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
        check_logs(&s("logs"), l)?;
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

/// The `[<phase>.logs]` table: where the log is (`path` or `url`, exactly one), what its mode
/// needs (`lines`, `text`), keys that belong to another mode, and every source and pointer.
pub(super) fn check_logs(section: &str, l: &LogSpec) -> Result<()> {
    let bad = |message: String| Error::ConfigFile {
        path: format!("ferry.toml {section}"),
        message,
    };
    for (name, text) in [
        ("next_offset", &l.next_offset),
        ("complete", &l.complete),
        ("more", &l.more),
        ("lines", &l.lines),
        ("cursor", &l.cursor),
        ("url", &l.url),
        ("archived", &l.archived),
    ] {
        if let Some(text) = text {
            check_source(section, name, text)?;
        }
    }
    for (name, text) in [
        ("items", &l.items),
        ("text", &l.text),
        ("time", &l.time),
        ("level", &l.level),
        ("key", &l.key),
    ] {
        if let Some(text) = text
            && !(text.is_empty() || text.starts_with('/'))
        {
            return Err(bad(format!(
                "`{name}` = {} is not a JSON Pointer\n  fix: write it as a pointer such as \"/message\" (\"\" is the whole value)",
                crate::error::quote(text)
            )));
        }
    }
    let Some(mode) = l.mode else {
        if l.archived.is_none() {
            return Err(bad("says neither how to read the live log nor where archived logs are\n  fix: add mode = \"offset\" (or full, cursor, entries, stream, websocket) with path or url, or archived = \"/pointer\" to a list of log URLs".into()));
        }
        if l.path.is_some() || l.url.is_some() {
            return Err(bad("has a path or url but no mode\n  fix: add mode = \"offset\", \"full\", \"cursor\", \"entries\", \"stream\" or \"websocket\"".into()));
        }
        return Ok(());
    };
    let name = mode.name();
    match (&l.path, &l.url) {
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "has both `path` and `url`; mode = \"{name}\" reads one log\n  fix: keep path (a template joined to the platform URL) or url (a value read from the status answer, e.g. url = \"/log_url\"), not both"
            )));
        }
        (None, None) => {
            return Err(bad(format!(
                "mode = \"{name}\" needs where the log is\n  fix: add path = \"/builds/{{{{ id }}}}/log\", or url = \"/log_url\" to read it from the status answer"
            )));
        }
        _ => {}
    }
    if mode == LogMode::Cursor && l.lines.is_none() {
        return Err(bad("mode = \"cursor\" needs `lines` (where the lines are) and usually `cursor`\n  fix: add lines = \"/lines\" and cursor = \"/next\"".into()));
    }
    if mode == LogMode::Entries && l.text.is_none() {
        return Err(bad("mode = \"entries\" needs `text` (where an entry's message is, inside one entry)\n  fix: add text = \"/message\" (and items = \"/logs\" when the entries are not the whole answer)".into()));
    }
    check_mode_keys(l, mode).map_err(bad)
}

/// Keys that only some modes read: one given to another mode is a mistake, not a no-op.
fn check_mode_keys(l: &LogSpec, mode: LogMode) -> std::result::Result<(), String> {
    use LogMode::{Cursor, Entries, Offset, Stream, Websocket};
    let keys: [(&str, bool, &[LogMode]); 10] = [
        ("next_offset", l.next_offset.is_some(), &[Offset]),
        ("lines", l.lines.is_some(), &[Cursor]),
        ("cursor", l.cursor.is_some(), &[Cursor, Entries]),
        ("start", l.start.is_some(), &[Cursor, Entries]),
        ("items", l.items.is_some(), &[Entries]),
        ("text", l.text.is_some(), &[Entries, Websocket]),
        ("time", l.time.is_some(), &[Entries]),
        ("level", l.level.is_some(), &[Entries]),
        ("key", l.key.is_some(), &[Entries]),
        ("format", l.format.is_some(), &[Stream]),
    ];
    for (key, given, modes) in keys {
        if given && !modes.contains(&mode) {
            let names: Vec<&str> = modes.iter().map(|m| m.name()).collect();
            return Err(format!(
                "`{key}` is read only by mode = {}, not by mode = \"{}\"\n  fix: remove `{key}`, or use a mode that reads it",
                names.join(" or "),
                mode.name()
            ));
        }
    }
    if l.auth.is_some() && mode != Websocket {
        return Err(format!(
            "`auth` is for mode = \"websocket\"; mode = \"{}\" sends the credential to the platform's origin only, as every request does\n  fix: remove `auth`",
            mode.name()
        ));
    }
    Ok(())
}
