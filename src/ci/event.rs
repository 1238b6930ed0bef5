//! The event payload of GitHub-style Actions (GitHub, Forgejo, Gitea): the JSON file named by
//! `GITHUB_EVENT_PATH`.
//!
//! Read leniently as a [`serde_json::Value`] and queried with JSON Pointers: payload fields drift
//! between GitHub, GHES versions, Gitea and Forgejo, and a field we don't know must never fail
//! detection. A missing, unparsable or oversized file (over [`EVENT_FILE_LIMIT`], 25 MiB) is not
//! an error: it adds a note and detection falls back to the variables alone.

use std::path::Path;

use serde_json::Value;

use crate::config::read::{EVENT_FILE_LIMIT, read_bytes};
use crate::env::Env;
use crate::error::quote;

/// A parsed event payload (always a JSON object).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Payload(Value);

impl Payload {
    /// Reads and parses the file named by `GITHUB_EVENT_PATH`. On any failure, pushes a note
    /// saying what went wrong and returns `None`.
    pub(crate) fn load(env: &Env, notes: &mut Vec<String>) -> Option<Self> {
        let Some(path) = env.get("GITHUB_EVENT_PATH") else {
            notes.push(
                "GITHUB_EVENT_PATH is not set: the event payload is unknown, so the context \
                 comes from the variables alone"
                    .to_owned(),
            );
            return None;
        };
        let shown = quote(path);
        let bytes = match read_bytes(Path::new(path), EVENT_FILE_LIMIT) {
            Ok(bytes) => bytes,
            Err(err) => {
                notes.push(format!(
                    "cannot use the event payload (GITHUB_EVENT_PATH): {err}; the context comes \
                     from the variables alone"
                ));
                return None;
            }
        };
        // Parsed from the bytes, which are dropped at once: one copy of the payload at a time
        // beyond the parse itself.
        let parsed = serde_json::from_slice::<Value>(&bytes);
        drop(bytes);
        match parsed {
            Ok(value @ Value::Object(_)) => Some(Self(value)),
            Ok(_) => {
                notes.push(format!(
                    "the event payload {shown} is not a JSON object: the context comes from the \
                     variables alone"
                ));
                None
            }
            Err(err) => {
                notes.push(format!(
                    "cannot parse the event payload {shown} ({err}): the context comes from the \
                     variables alone"
                ));
                None
            }
        }
    }

    /// Wraps an already parsed value (unit tests).
    #[cfg(test)]
    pub(crate) fn from_value(value: Value) -> Self {
        Self(value)
    }

    /// The value at a JSON Pointer (`/pull_request/head/sha`); `Some(Value::Null)` for an
    /// explicit `null`, `None` when absent.
    pub(crate) fn get(&self, pointer: &str) -> Option<&Value> {
        self.0.pointer(pointer)
    }

    /// A non-empty string at `pointer`.
    pub(crate) fn str(&self, pointer: &str) -> Option<&str> {
        self.get(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A non-empty string at `pointer`, owned.
    pub(crate) fn string(&self, pointer: &str) -> Option<String> {
        self.str(pointer).map(str::to_owned)
    }

    /// A non-negative integer at `pointer` (a JSON number, or a string of digits).
    pub(crate) fn number(&self, pointer: &str) -> Option<u64> {
        match self.get(pointer)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => super::refs::parse_number(s),
            _ => None,
        }
    }

    /// True when `pointer` holds something other than `null` or `false`.
    pub(crate) fn present(&self, pointer: &str) -> bool {
        !matches!(
            self.get(pointer),
            None | Some(Value::Null | Value::Bool(false))
        )
    }

    /// Whether the pull request at `pr` (a pointer such as `/pull_request`) comes from a fork:
    /// `head.repo.full_name != base.repo.full_name`, and a `null` head repository (deleted
    /// fork) counts as a fork. Owner ids are not compared. `None` when the payload can't tell.
    pub(crate) fn pull_request_is_fork(&self, pr: &str) -> Option<bool> {
        match self.get(&format!("{pr}/head/repo"))? {
            Value::Null => Some(true),
            head => {
                let head = head.get("full_name")?.as_str()?;
                let base = self.str(&format!("{pr}/base/repo/full_name"))?;
                Some(!head.eq_ignore_ascii_case(base))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lenient_accessors() {
        let p = Payload::from_value(json!({
            "number": 3,
            "text": "7",
            "empty": "",
            "null": null,
            "no": false,
            "obj": {},
        }));
        assert_eq!(p.number("/number"), Some(3));
        assert_eq!(p.number("/text"), Some(7));
        assert_eq!(p.number("/missing"), None);
        assert_eq!(p.str("/empty"), None);
        assert!(p.present("/obj"));
        assert!(!p.present("/null"));
        assert!(!p.present("/no"));
        assert!(!p.present("/missing"));
    }

    #[test]
    fn fork_rules() {
        let pr = |head: Value| {
            Payload::from_value(json!({"pull_request": {
                "head": {"repo": head},
                "base": {"repo": {"full_name": "o/r"}},
            }}))
            .pull_request_is_fork("/pull_request")
        };
        assert_eq!(pr(json!({"full_name": "o/r"})), Some(false));
        assert_eq!(pr(json!({"full_name": "O/R"})), Some(false));
        assert_eq!(pr(json!({"full_name": "fork/r"})), Some(true));
        assert_eq!(pr(Value::Null), Some(true));
        assert_eq!(pr(json!({"id": 1})), None);
        let no_head_repo = Payload::from_value(json!({"pull_request": {"head": {}}}));
        assert_eq!(no_head_repo.pull_request_is_fork("/pull_request"), None);
    }

    #[test]
    fn missing_and_broken_files_become_notes() {
        let mut notes = Vec::new();
        assert!(Payload::load(&Env::new(), &mut notes).is_none());
        let env = Env::new().with("GITHUB_EVENT_PATH", "/nonexistent/event.json");
        assert!(Payload::load(&env, &mut notes).is_none());
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("event.json");
        std::fs::write(&broken, "{not json").unwrap();
        let env = Env::new().with("GITHUB_EVENT_PATH", broken.to_str().unwrap());
        assert!(Payload::load(&env, &mut notes).is_none());
        std::fs::write(&broken, "[1]").unwrap();
        assert!(Payload::load(&env, &mut notes).is_none());
        assert_eq!(notes.len(), 4, "{notes:#?}");
    }

    #[test]
    fn devices_pipes_and_huge_files_become_notes() {
        let dir = tempfile::tempdir().unwrap();
        let mut notes = Vec::new();
        let env = Env::new().with("GITHUB_EVENT_PATH", "/dev/zero");
        assert!(Payload::load(&env, &mut notes).is_none());
        assert!(
            notes[0].contains("\"/dev/zero\" is not a regular file"),
            "{notes:#?}"
        );
        let env = Env::new().with("GITHUB_EVENT_PATH", dir.path().to_str().unwrap());
        assert!(Payload::load(&env, &mut notes).is_none());
        assert!(notes[1].contains("a directory"), "{notes:#?}");
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(EVENT_FILE_LIMIT + 1).unwrap();
        let env = Env::new().with("GITHUB_EVENT_PATH", big.to_str().unwrap());
        assert!(Payload::load(&env, &mut notes).is_none());
        assert!(notes[2].contains("limit of 25 MiB"), "{notes:#?}");
    }
}
