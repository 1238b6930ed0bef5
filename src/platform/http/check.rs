//! Checking a phase's description before anything is sent (so `ferry check` fails first): every
//! value source parses and reads only what exists where it is read, the phase starts its
//! operation one way (trigger or observe), a request sends one body, a `find` or `observe` says
//! where the id is and how to pick an item, the status lists can match something, a log has what
//! its mode needs.

use super::source::{Source, is_fetch_name};
use super::spec::{
    self, BeforeSpec, FindSpec, LogAuth, LogMode, LogSpec, PhaseSpec, StatusSpec, TriggerSpec,
};
use super::{bad_source, condition, template};
use crate::error::{Error, Result, quote};
use crate::platform::event::Phase;

fn check_source(section: &str, name: &str, text: &str) -> Result<()> {
    match Source::parse(text) {
        None => Err(bad_source(section, name, text)),
        // Only outputs read a fetch: nothing else is read after the fetches.
        Some(Source::Fetch(fetch, _)) => Err(config(
            section,
            format!(
                "`{name}` = {} reads the fetch `{fetch}`, but fetches are read only after success, for outputs\n  fix: read this value from the answer at hand (a JSON Pointer such as /data/id, or header:Location)",
                quote(text)
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn config(section: &str, message: String) -> Error {
    Error::ConfigFile {
        path: format!("ferry.toml {section}"),
        message,
    }
}

pub(super) fn check_phase(phase: Phase, spec: &PhaseSpec) -> Result<()> {
    let s = |part: &str| format!("[{phase}.{part}]");
    check_start(phase, spec)?;
    if let Some(r) = &spec.resolve {
        check_source(&s("resolve"), "until", &r.until)?;
        for (name, text) in &r.capture {
            check_source(&s("resolve"), name, text)?;
        }
        check_conditions(&s("resolve"), "failure", &r.failure)?;
    }
    if let Some(h) = &spec.history {
        for (name, pointer) in [("started", &h.started), ("finished", &h.finished)] {
            if !pointer.starts_with('/') {
                return Err(bad_source(&s("history"), name, pointer));
            }
        }
        if !h.items.is_empty() && !h.items.starts_with('/') {
            return Err(bad_source(&s("history"), "items", &h.items));
        }
    }
    check_status(&s("status"), &spec.status)?;
    if let Some(l) = &spec.logs {
        check_logs(&s("logs"), l)?;
    }
    check_outputs(phase, spec)
}

/// How the phase starts its operation: one of trigger and observe, each request sound.
fn check_start(phase: Phase, spec: &PhaseSpec) -> Result<()> {
    for (n, before) in spec.before.iter().enumerate() {
        check_before(&format!("[[{phase}.before]] #{}", n + 1), before)?;
    }
    match (&spec.trigger, &spec.observe) {
        (Some(_), Some(_)) => Err(config(
            &format!("[{phase}]"),
            format!(
                "the phase has both [{phase}.trigger] and [{phase}.observe], and can only start its operation one way\n  fix: keep [{phase}.trigger] to start an operation, or [{phase}.observe] to follow one started elsewhere"
            ),
        )),
        (None, None) => Err(config(
            &format!("[{phase}]"),
            format!(
                "the phase has neither [{phase}.trigger] nor [{phase}.observe]\n  fix: add [{phase}.trigger] (the request that starts the operation) or [{phase}.observe] (to follow one another phase started)"
            ),
        )),
        (Some(t), None) => check_trigger(phase, t),
        (None, Some(o)) => check_find(&format!("[{phase}.observe]"), o, Look::Observe),
    }
}

fn check_trigger(phase: Phase, t: &TriggerSpec) -> Result<()> {
    let section = format!("[{phase}.trigger]");
    match (&t.id, &t.find) {
        (None, None) => {
            return Err(config(
                &section,
                "the trigger says neither where the operation's id is (`id`) nor how to find it (`find`)\n  fix: add id = \"/id\" (a JSON Pointer into the answer, or header:Location), or a [<phase>.trigger.find] list request".into(),
            ));
        }
        (Some(id), _) => check_source(&section, "id", id)?,
        (None, Some(_)) => {}
    }
    for (name, text) in &t.capture {
        check_source(&section, name, text)?;
    }
    check_body(
        &section,
        t.body.is_some(),
        t.body_file.as_deref(),
        t.content_type.is_some(),
    )?;
    match &t.find {
        Some(find) => check_find(&format!("[{phase}.trigger.find]"), find, Look::Find),
        None => Ok(()),
    }
}

fn check_before(section: &str, b: &BeforeSpec) -> Result<()> {
    match (&b.path, &b.url) {
        (Some(_), Some(_)) => {
            return Err(config(
                section,
                "has both `path` and `url`\n  fix: keep one (they mean the same: where the request goes)".into(),
            ));
        }
        (None, None) => {
            return Err(config(
                section,
                "says nowhere to send it\n  fix: add path = \"/sources\" (joined to the platform URL) or url = \"{{ put_url | raw }}\"".into(),
            ));
        }
        _ => {}
    }
    for (name, text) in &b.capture {
        check_source(section, name, text)?;
    }
    check_body(
        section,
        b.body.is_some(),
        b.body_file.as_deref(),
        b.content_type.is_some(),
    )
}

/// One body at most; a `body_file` that names no variable must exist already.
fn check_body(
    section: &str,
    body: bool,
    body_file: Option<&str>,
    content_type: bool,
) -> Result<()> {
    match body_file {
        Some(_) if body => Err(config(
            section,
            "has both `body` and `body_file`, and a request sends one body\n  fix: keep body (JSON) or body_file (a file sent as it is)".into(),
        )),
        Some(file) if template::names(file).is_empty() && !std::path::Path::new(file).is_file() => {
            Err(config(
                &format!("{section} body_file"),
                format!(
                    "{} is not a file (paths are relative to the working directory)\n  fix: build the file before ferry runs, or point body_file at it",
                    quote(file)
                ),
            ))
        }
        None if content_type => Err(config(
            section,
            "has `content_type` without `body_file` (a JSON body is sent as application/json)\n  fix: remove content_type, or add body_file".into(),
        )),
        _ => Ok(()),
    }
}

/// Which table a [`FindSpec`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    Find,
    Observe,
}

fn check_find(section: &str, f: &FindSpec, look: Look) -> Result<()> {
    let Some(id) = &f.id else {
        let example = if look == Look::Observe && f.path.is_none() {
            "id = \"{{ build.release }}\" (a template naming the operation)"
        } else {
            "id = \"/id\" (a JSON Pointer inside one item of the list)"
        };
        return Err(config(
            section,
            format!("says nowhere what the operation's id is\n  fix: add {example}"),
        ));
    };
    let Some(_) = &f.path else {
        if look == Look::Find {
            return Err(config(
                section,
                "has no `path` (the list request that finds the operation)\n  fix: add path = \"/services/{{ vars.service }}/deploys\"".into(),
            ));
        }
        if !matches!(Source::parse(id), Some(Source::Template(_))) {
            return Err(config(
                section,
                format!(
                    "id = {} names no value, and without `path` nothing is read\n  fix: name the id with a template (id = \"{{{{ build.release }}}}\"), or add path = \"…\" to find it in a list",
                    quote(id)
                ),
            ));
        }
        if f.items.is_some() || !f.matches.is_empty() || f.newest.is_some() {
            return Err(config(
                section,
                "has items, match or newest but no `path` to read a list from\n  fix: add path = \"…\" (the list request), or remove them".into(),
            ));
        }
        return check_captures(section, f);
    };
    if !matches!(Source::parse(id), Some(Source::Pointer(_))) {
        return Err(config(
            section,
            format!(
                "id = {} is not a JSON Pointer into one item of the list\n  fix: write id = \"/id\"",
                quote(id)
            ),
        ));
    }
    if f.items.is_none() {
        return Err(config(
            section,
            "says nowhere where the list is in the answer (`items`)\n  fix: add items = \"/deploys\" (a JSON Pointer to the array), or items = \"\" when the answer is the array itself".into(),
        ));
    }
    check_search(section, f)?;
    check_captures(section, f)
}

/// How an item is picked: pointers that are pointers, and something to pick by.
fn check_search(section: &str, f: &FindSpec) -> Result<()> {
    let not_pointer = |p: &str| !p.is_empty() && !p.starts_with('/');
    for pointer in f.matches.keys() {
        if not_pointer(pointer) {
            return Err(config(
                &format!("{section} match"),
                format!(
                    "{} is not a JSON Pointer into an item\n  fix: write it with a leading slash, e.g. match = {{ \"/commit/id\" = [\"{{{{ sha }}}}\"] }}",
                    quote(pointer)
                ),
            ));
        }
    }
    for (key, value) in [("items", &f.items), ("newest", &f.newest)] {
        if let Some(p) = value
            && not_pointer(p)
        {
            return Err(config(
                &format!("{section} {key}"),
                format!(
                    "{} is not a JSON Pointer\n  fix: write it with a leading slash, e.g. {key} = \"/{}\"",
                    quote(p),
                    if key == "items" { "items" } else { "createdAt" }
                ),
            ));
        }
    }
    if f.matches.is_empty() && f.newest.is_none() {
        return Err(config(
            section,
            "says neither which item is the operation (`match`) nor to take the newest (`newest`), so any item would do\n  fix: add match = { \"/commit/id\" = [\"{{ sha }}\"] } and/or newest = \"/createdAt\"".into(),
        ));
    }
    if let Some(t) = &f.timeout
        && humantime::parse_duration(t).is_err()
    {
        return Err(config(
            &format!("{section} timeout"),
            format!(
                "{} is not a duration\n  fix: write it like \"2m\" or \"90s\"",
                quote(t)
            ),
        ));
    }
    Ok(())
}

fn check_captures(section: &str, f: &FindSpec) -> Result<()> {
    for (name, text) in &f.capture {
        check_source(section, name, text)?;
    }
    Ok(())
}

/// Outputs read what exists: the last status answer, a header, a template, or a fetch the
/// phase describes.
fn check_outputs(phase: Phase, spec: &PhaseSpec) -> Result<()> {
    for name in spec.fetch.keys() {
        if !is_fetch_name(name) || name == "header" {
            return Err(config(
                &format!("[{phase}.fetch]"),
                format!(
                    "{} cannot name a fetch (outputs read it as <name>:/pointer)\n  fix: use letters, digits, _ and - only, and not `header`",
                    quote(name)
                ),
            ));
        }
    }
    let section = format!("[{phase}.outputs]");
    for (name, text) in &spec.outputs {
        match Source::parse(text) {
            None => return Err(bad_source(&section, name, text)),
            Some(Source::Fetch(fetch, _)) if !spec.fetch.contains_key(&fetch) => {
                let known = if spec.fetch.is_empty() {
                    "the phase describes no fetch".to_string()
                } else {
                    format!(
                        "the phase's fetches are {}",
                        spec.fetch
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(config(
                    &section,
                    format!(
                        "`{name}` = {} reads the fetch `{fetch}`, but {known}\n  fix: add a [{phase}.fetch.{fetch}] request (path = \"…\"), or correct the name",
                        quote(text)
                    ),
                ));
            }
            Some(_) => {}
        }
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
    for (key, conds) in [
        ("running", &spec.running),
        ("success", &spec.success),
        ("failure", &spec.failure),
    ] {
        check_conditions(section, key, conds)?;
    }
    for p in condition::all_pointers(spec) {
        if !p.is_empty() && !p.starts_with('/') {
            return Err(bad_source(section, "field", &p));
        }
    }
    if let Some(message) = &spec.message {
        check_source(section, "message", message)?;
    }
    if let Some(estimate) = &spec.estimate {
        check_source(section, "estimate", estimate)?;
    }
    if let Some(poll) = &spec.long_poll
        && (poll.wait.is_empty() || poll.since.as_deref() == Some(""))
    {
        return Err(config(
            section,
            "long_poll names an empty query parameter\n  fix: name the platform's parameters, e.g. long_poll = { wait = \"wait\", since = \"since\" }".into(),
        ));
    }
    Ok(())
}

/// Every condition table tests something, and a list of values is not empty: a table that tests
/// nothing would hold for every answer, a test against no value for none. (A key that is neither
/// a pointer nor an operator is refused where the file is read, `spec.rs`, so at its line.)
fn check_conditions(section: &str, key: &str, conds: &[spec::Condition]) -> Result<()> {
    let example = "e.g. { \"/status\" = [\"done\"] } or { present = \"/finished_at\" }";
    for cond in conds {
        let spec::Condition::AllOf(tests) = cond else {
            continue;
        };
        if tests.is_empty() {
            return Err(config(
                section,
                format!(
                    "`{key}` has a condition that tests nothing ({{}}), which every answer would meet\n  fix: say what it tests, {example}"
                ),
            ));
        }
        for t in tests {
            match t {
                spec::Test::OneOf(p, values) if values.is_empty() => {
                    return Err(config(
                        section,
                        format!(
                            "`{key}` compares {} with no value at all (an empty list), which no answer would meet\n  fix: list the values, e.g. {{ {} = [\"done\"] }}",
                            quote(p),
                            quote(p)
                        ),
                    ));
                }
                _ => {}
            }
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
    if let Some(locate) = &l.locate {
        check_locate(section, l, locate).map_err(bad)?;
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

/// `[<phase>.logs.locate]`: what it is asked for is read from its answer.
fn check_locate(
    section: &str,
    l: &LogSpec,
    locate: &spec::RequestSpec,
) -> std::result::Result<(), String> {
    let locate_section = format!("{}.locate]", section.trim_end_matches(']'));
    if locate.path.trim().is_empty() {
        return Err(format!(
            "{locate_section} has an empty `path`\n  fix: give the request that says where the log is, e.g. path = \"/apps/{{{{ id }}}}/logs\""
        ));
    }
    if l.path.is_some() {
        return Err(format!(
            "has both `path` and {locate_section}; the locate answer says where the log is\n  fix: remove `path` and read the log's URL from the locate answer with url = \"/live_url\""
        ));
    }
    if l.url.is_none() && l.archived.is_none() {
        return Err(format!(
            "has {locate_section} but reads nothing from its answer\n  fix: add url = \"/live_url\" (the live log) and/or archived = \"/historic_urls\" (the logs kept after the end), pointers into the locate answer"
        ));
    }
    for (key, text) in [("url", &l.url), ("archived", &l.archived)] {
        if let Some(text) = text
            && matches!(Source::parse(text), Some(Source::Template(_)))
        {
            return Err(format!(
                "`{key}` = {} is a template, so the answer of {locate_section} is never read\n  fix: point {key} into that answer (e.g. {key} = \"/live_url\"), or remove {locate_section}",
                quote(text)
            ));
        }
    }
    Ok(())
}

/// Keys that only some modes read: one given to another mode is a mistake, not a no-op.
fn check_mode_keys(l: &LogSpec, mode: LogMode) -> std::result::Result<(), String> {
    use LogMode::{Cursor, Entries, Offset, Stream, Websocket};
    let keys: [(&str, bool, &[LogMode]); 12] = [
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
        ("subscribe", l.subscribe.is_some(), &[Websocket]),
        ("replay", l.replay.is_some(), &[Websocket]),
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
    if l.auth.is_some() && mode != Websocket && l.archived.is_none() {
        return Err(format!(
            "`auth` is for mode = \"websocket\" and the `archived` logs; mode = \"{}\" sends the credential to the platform's origin only, as every request does\n  fix: remove `auth`",
            mode.name()
        ));
    }
    if l.subscribe.as_ref().is_some_and(|s| !s.is_object()) {
        return Err("`subscribe` is not a table; it is sent as the first frame, a JSON object\n  fix: write subscribe = { deploy_id = \"{{ id }}\" }".into());
    }
    match &l.auth {
        Some(LogAuth::Frame { field, origin }) => check_frame_auth(l, field, origin),
        _ => Ok(()),
    }
}

/// `auth = { frame = { field, origin } }`: the token goes into the `subscribe` frame, and only
/// to an origin written in the description, over `wss` (plain `ws` to a loopback address only).
fn check_frame_auth(l: &LogSpec, field: &str, origin: &str) -> std::result::Result<(), String> {
    if l.subscribe.is_none() {
        return Err("`auth.frame` puts the platform token into the `subscribe` frame, and there is none\n  fix: add subscribe = { … } (the first frame the WebSocket expects), or remove `auth`".into());
    }
    if !field.starts_with('/') {
        return Err(format!(
            "`auth.frame.field` = {} is not a JSON Pointer into the subscribe frame\n  fix: write it as a pointer such as \"/access_token\"",
            crate::error::quote(field)
        ));
    }
    let url = url::Url::parse(origin).ok().filter(|u| {
        matches!(u.scheme(), "ws" | "wss" | "http" | "https")
            && u.has_host()
            && u.path() == "/"
            && u.query().is_none()
            && u.username().is_empty()
    });
    let Some(url) = url else {
        return Err(format!(
            "`auth.frame.origin` = {} is not an origin\n  fix: write the WebSocket's scheme, host and port only, e.g. \"wss://socketeer.services.netlify.com\"",
            crate::error::quote(origin)
        ));
    };
    let http = super::logs::transport::as_http(&url).unwrap_or(url);
    if !crate::net::credential_may_travel(&http) {
        return Err(format!(
            "`auth.frame.origin` = {} is not wss, and the token must not travel unencrypted\n  fix: use wss:// (plain ws is allowed only for localhost)",
            crate::error::quote(origin)
        ));
    }
    Ok(())
}
