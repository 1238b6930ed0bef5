//! Stage `config`: a `ferry.toml` error said at its own line and table.
//!
//! Phase sections and presets are read through `toml::Value`, which keeps no positions, so serde's
//! error names only the way down (`in `status``, `in `build``) and toml points at the phase's
//! first line. Here the way down is read back from the error, followed in the user's own text
//! parsed with spans ([`toml::de::DeTable`]), and the key named by the error is found there:
//! `ferry.toml:39: [build.status]: unknown key `sucess`; did you mean `success`?`, the line quoted,
//! and a fix. This module only reads text and an error: it must not import `report`, read the
//! environment or decide anything about the settings themselves.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{Error, clip_lines};
use crate::suggest::did_you_mean;

/// Characters of a quoted line shown before it is cut.
const QUOTED_CHARS: usize = 120;

/// The fix for a value (not a key) the file gets wrong, when the message has none of its own.
const VALUE_FIX: &str = "correct the value named above (the README lists every key and its type)";

/// The fix for text that is not TOML at all.
const SYNTAX_FIX: &str = "correct the TOML on that line (strings in double quotes, tables as [name], one key = value per line)";

/// What a toml/serde error says, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The tables on the way to the key, outermost first (`["build", "status"]`).
    pub table: Vec<String>,
    /// The key the error is about, when it names one.
    pub key: Option<String>,
    /// For an unknown key, the keys its table takes.
    pub takes: Option<Vec<String>>,
    /// The message without its `in `…`` lines.
    pub message: String,
}

/// The error `err` raised reading `text` (the user's file, shown as `path`), said at its line.
pub(crate) fn file_error(err: &toml::de::Error, text: &str, path: &str) -> Error {
    let problem = problem(err, text);
    let doc = DeTable::parse(text).ok();
    let found = doc
        .as_ref()
        .and_then(|doc| find(doc.get_ref(), &problem.table, problem.key.as_deref()))
        .or_else(|| err.span().map(|s| s.start));
    let fix = if doc.is_some() { VALUE_FIX } else { SYNTAX_FIX };
    let (path, quoted) = match found {
        Some(offset) => {
            let (number, line) = line_at(text, offset);
            (format!("{path}:{number}"), format!("\n  {number} | {line}"))
        }
        None => (path.to_string(), String::new()),
    };
    Error::ConfigFile {
        path,
        message: say(&problem, &quoted, fix),
    }
}

/// The one-line problem, the quoted line and the fix.
fn say(problem: &Problem, quoted: &str, fix: &str) -> String {
    let table = if problem.table.is_empty() {
        String::new()
    } else {
        format!("[{}]: ", problem.table.join("."))
    };
    if let (Some(key), Some(takes)) = (&problem.key, &problem.takes) {
        let hint = did_you_mean(key, takes.iter().map(String::as_str));
        let known = if takes.is_empty() {
            "it takes no keys".to_string()
        } else {
            let names: Vec<String> = takes.iter().map(|k| format!("`{k}`")).collect();
            format!("it takes {}", names.join(", "))
        };
        let fix = match crate::suggest::closest(key, takes.iter().map(String::as_str)) {
            Some(name) => format!("rename it `{name}`"),
            None => format!("remove it or correct its name ({known}; the README lists every key)"),
        };
        return clip_lines(&format!(
            "{table}unknown key `{key}`{hint}{quoted}\n  fix: {fix}"
        ));
    }
    let key = match &problem.key {
        Some(key) if !problem.message.starts_with(&format!("`{key}`")) => format!("`{key}`: "),
        _ => String::new(),
    };
    // A message of ferry's own has its fix; the quoted line goes before it.
    let (first, rest) = match problem.message.split_once("\n  fix: ") {
        Some((first, fix)) => (first.to_string(), format!("\n  fix: {fix}")),
        None => (problem.message.clone(), format!("\n  fix: {fix}")),
    };
    clip_lines(&format!("{table}{key}{first}{quoted}{rest}"))
}

/// Takes `err` apart: the way down (from its span in `text`, then its `in `…`` lines, innermost
/// first), the key it names, and for an unknown key the keys expected.
pub(crate) fn problem(err: &toml::de::Error, text: &str) -> Problem {
    // With a span the message is apart from the quoted source; without one its keys are printed
    // as an `in `…`` line, like those of errors re-raised from within.
    let raw = match err.span() {
        Some(_) => err.message().to_string(),
        None => err.to_string(),
    };
    let mut path: Vec<String> = err
        .span()
        .and_then(|span| {
            let doc = DeTable::parse(text).ok()?;
            let mut path = Vec::new();
            path_at(doc.get_ref(), &span, &mut path).then_some(path)
        })
        .unwrap_or_default();
    let mut inner = Vec::new();
    let mut lines = Vec::new();
    for line in raw.trim_end().lines() {
        match line.strip_prefix("in `").and_then(|l| l.strip_suffix('`')) {
            Some(keys) => inner.push(keys),
            None => lines.push(line),
        }
    }
    for keys in inner.iter().rev() {
        path.extend(keys.split('.').map(str::to_string));
    }
    let message = lines.join("\n");
    let (key, takes) = match unknown_field(&message) {
        Some((key, takes)) => (Some(key), Some(takes)),
        None => (named_key(&message).or_else(|| path.last().cloned()), None),
    };
    if key.is_some() && path.last() == key.as_ref() {
        path.pop();
    }
    Problem {
        table: path,
        key,
        takes,
        message,
    }
}

/// serde's refusal of an unknown key: `` unknown field `x`, expected one of `a`, `b` `` (or
/// `` expected `a` ``, `` expected `a` or `b` ``, `there are no fields`).
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let first = rest.lines().next().unwrap_or("");
    let takes = first
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), takes))
}

/// The key a message of ferry's own starts with (`` `timeout` must be … ``).
fn named_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix('`')?;
    let (key, _) = rest.split_once('`')?;
    (!key.is_empty() && !key.contains(char::is_whitespace)).then(|| key.to_string())
}

/// The keys leading to the key or value at `span`, outermost first. A table's own span may be
/// only its header, so every table is searched, not only those whose span holds `span`.
fn path_at(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        if contains(&key.span(), span)
            || tables_in(value.get_ref())
                .iter()
                .any(|inner| path_at(inner, span, path))
            || contains(&value.span(), span)
        {
            return true;
        }
        path.pop();
    }
    false
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

/// Where in the text `key` is, under the tables `path`: the key's own place, else the deepest
/// table of the way down that the text has (a preset's key the user did not write).
fn find(doc: &DeTable<'_>, path: &[String], key: Option<&str>) -> Option<usize> {
    let mut here: Vec<&Spanned<DeValue<'_>>> = Vec::new();
    let mut best = None;
    let mut tables: Vec<&DeTable<'_>> = vec![doc];
    for name in path {
        let mut next = Vec::new();
        for table in &tables {
            if let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == name.as_str()) {
                best = Some(k.span().start);
                next.push(v);
            }
        }
        if next.is_empty() {
            break;
        }
        here = next;
        tables = here.iter().flat_map(|v| tables_in(v.get_ref())).collect();
    }
    let within = match key {
        Some(key) if path.is_empty() => key_in_tables(&[doc], key),
        Some(key) => here.iter().find_map(|v| key_in(v.get_ref(), key)),
        None => None,
    };
    within.or(best)
}

/// The tables a value is, or holds as an array of tables.
fn tables_in<'a, 'i>(value: &'a DeValue<'i>) -> Vec<&'a DeTable<'i>> {
    match value {
        DeValue::Table(t) => vec![t],
        DeValue::Array(items) => items
            .iter()
            .filter_map(|i| match i.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn key_in_tables(tables: &[&DeTable<'_>], key: &str) -> Option<usize> {
    tables.iter().find_map(|t| {
        t.iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span().start)
    })
}

/// The first place `key` is written, searching `value` depth-first (inline tables and arrays
/// included: a condition's operator sits in a table inside a list).
fn key_in(value: &DeValue<'_>, key: &str) -> Option<usize> {
    match value {
        DeValue::Table(t) => t.iter().find_map(|(k, v)| {
            if k.get_ref() == key {
                Some(k.span().start)
            } else {
                key_in(v.get_ref(), key)
            }
        }),
        DeValue::Array(items) => items.iter().find_map(|i| key_in(i.get_ref(), key)),
        _ => None,
    }
}

/// Where keys' values are in the user's `text`: `find(table, key, value)` is the line where
/// `table`'s `key` (dotted below the table: `body.sha`, `headers.X-Token`) holds `value`, when
/// the file writes it there (a preset's keys are not in it). The text is parsed once, for
/// messages about values found after reading, such as a template's names.
pub(crate) fn line_finder(text: &str) -> impl Fn(&str, &str, &str) -> Option<usize> + '_ {
    let doc = DeTable::parse(text).ok();
    move |table, key, value| {
        let doc = doc.as_ref()?;
        let parts: Vec<&str> = table
            .split('.')
            .chain(key.split('.'))
            .filter(|p| !p.is_empty())
            .collect();
        let (last, down) = parts.split_last()?;
        let mut tables: Vec<&DeTable<'_>> = vec![doc.get_ref()];
        for part in down {
            tables = tables
                .iter()
                .filter_map(|t| t.iter().find(|(k, _)| k.get_ref() == part))
                .flat_map(|(_, v)| tables_in(v.get_ref()))
                .collect();
        }
        tables
            .iter()
            .find_map(|t| {
                t.iter()
                    .find(|(k, v)| k.get_ref() == last && holds(v.get_ref(), value))
                    .map(|(k, _)| k.span().start)
            })
            .map(|offset| line_at(text, offset).0)
    }
}

/// Whether `v` is the string `text`, or a list holding it.
fn holds(v: &DeValue<'_>, text: &str) -> bool {
    match v {
        DeValue::String(s) => s.as_ref() == text,
        DeValue::Array(items) => items.iter().any(|i| holds(i.get_ref(), text)),
        _ => false,
    }
}

/// The 1-based number of the line holding `offset`, and that line (trimmed, cut).
fn line_at(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let number = before.matches('\n').count() + 1;
    let line = text.lines().nth(number - 1).unwrap_or("").trim();
    let line = match line.char_indices().nth(QUOTED_CHARS) {
        None => line.to_string(),
        Some((cut, _)) => format!("{}…", &line[..cut]),
    };
    (number, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    use crate::config::FileConfig;

    const STATUS: &str = "[build.trigger]\npath = \"/b\"\nid = \"/id\"\n\n[build.status]\npath = \"/s\"\nfield = \"/status\"\nsucess = [\"done\"]\n";

    #[test]
    fn a_key_s_value_is_found_at_its_line_in_a_table_an_inline_table_and_a_list_of_tables() {
        let text = "[build.trigger]\npath = \"/a\"\nbody = { sha = \"{{ sha }}\" }\n\n[[build.before]]\npath = \"/x\"\n\n[[build.before]]\npath = \"/y/{{ id }}\"\n";
        let line_of = line_finder(text);
        assert_eq!(line_of("build.trigger", "path", "/a"), Some(2));
        assert_eq!(line_of("build.trigger", "body.sha", "{{ sha }}"), Some(3));
        assert_eq!(line_of("build.before", "path", "/y/{{ id }}"), Some(9));
        // Not written by the user (a preset's): no line.
        assert_eq!(line_of("build.status", "path", "/s"), None);
        assert_eq!(line_of("build.trigger", "path", "/other"), None);
    }

    #[test]
    fn an_unknown_key_in_a_phase_is_found_at_its_line() {
        let err = toml::from_str::<FileConfig>(STATUS).unwrap_err();
        let p = problem(&err, STATUS);
        assert_eq!(p.table, ["build", "status"]);
        assert_eq!(p.key.as_deref(), Some("sucess"));
        assert!(p.takes.as_ref().unwrap().iter().any(|k| k == "success"));
        let msg = file_error(&err, STATUS, "ferry.toml").to_string();
        assert!(
            msg.starts_with(
                "ferry.toml:8: [build.status]: unknown key `sucess`; did you mean `success`?\n  8 | sucess = [\"done\"]\n  fix: rename it `success`"
            ),
            "{msg}"
        );
    }

    #[test]
    fn the_way_down_is_read_from_nested_in_lines() {
        // What a preset's merged table gives: no span, the way down innermost first.
        let value: toml::Value = STATUS.parse::<toml::Table>().unwrap().into();
        let err = FileConfig::deserialize(value).unwrap_err();
        let p = problem(&err, STATUS);
        assert_eq!(p.table, ["build", "status"], "{err}");
        let msg = file_error(&err, STATUS, "f").to_string();
        assert!(msg.starts_with("f:8: [build.status]: unknown key"), "{msg}");
    }

    #[test]
    fn top_level_keys_and_values_are_found_too() {
        let text = "timeout = \"1m\"\nenviroment = \"x\"\n";
        let err = toml::from_str::<FileConfig>(text).unwrap_err();
        let msg = file_error(&err, text, "f").to_string();
        assert!(
            msg.starts_with("f:2: unknown key `enviroment`; did you mean `environment`?"),
            "{msg}"
        );
        let text =
            "[platform]\nurl = \"https://x\"\n[platform.poll]\ninitial = \"1s\"\nfactor = \"x\"\n";
        let err = toml::from_str::<FileConfig>(text).unwrap_err();
        let msg = file_error(&err, text, "f").to_string();
        assert!(msg.starts_with("f:5: [platform.poll]: `factor`"), "{msg}");
        assert!(msg.contains("  5 | factor = \"x\"\n  fix: "), "{msg}");
    }

    #[test]
    fn a_key_far_from_anything_known_gets_the_list() {
        let text = "[build.status]\npath = \"/s\"\nzzzz = 1\n";
        let err = toml::from_str::<FileConfig>(text).unwrap_err();
        let msg = file_error(&err, text, "f").to_string();
        assert!(msg.contains("unknown key `zzzz`\n  3 | zzzz = 1"), "{msg}");
        assert!(
            msg.contains("fix: remove it or correct its name (it takes `path`"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_errors_keep_their_line() {
        let text = "timeout = \"1m\"\n[build\n";
        let err = toml::from_str::<FileConfig>(text).unwrap_err();
        let msg = file_error(&err, text, "f").to_string();
        assert!(msg.starts_with("f:2: "), "{msg}");
        assert!(
            msg.contains("  2 | [build\n  fix: correct the TOML on that line"),
            "{msg}"
        );
    }

    #[test]
    fn lines_are_counted_and_cut() {
        let text = format!("a = 1\n  b = 2\n{}\n", "c".repeat(300));
        assert_eq!(line_at(&text, 0), (1, "a = 1".into()));
        assert_eq!(line_at(&text, 8), (2, "b = 2".into()));
        let (n, line) = line_at(&text, 20);
        assert_eq!(n, 3);
        assert_eq!(line.chars().count(), QUOTED_CHARS + 1);
        assert_eq!(line_at("", 5), (1, String::new()));
    }
}
