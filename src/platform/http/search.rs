//! Picking one operation out of a list the platform answered (`[<phase>.trigger.find]`,
//! `[<phase>.observe]` with a `path`): the array at `items`, the items whose fields `match`, and
//! of those the `newest` — under `find`, only one created after the trigger was sent.
//!
//! Also what `[<phase>.history]` picks from (`watch.rs`).
//!
//! Pure: nothing here sends a request or waits (`observe.rs` does).

use std::time::{Duration, SystemTime};

use super::condition::field_text;
use super::template::{Target, render};
use crate::error::Result;
use crate::platform::backend::Vars;

/// How much earlier than ferry's clock the platform's may put the creation of an operation that
/// a trigger just started (clocks differ a little).
pub(super) const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// What to look for in a list, templates already filled.
pub(super) struct Wanted<'a> {
    /// The array's pointer (`""`: the whole answer).
    pub items: &'a str,
    /// Pointer inside an item → the values it may have (as text).
    pub matches: Vec<(&'a str, Vec<String>)>,
    /// The pointer of an item's creation time, to pick the newest.
    pub newest: Option<&'a str>,
    /// Only items created at or after this (minus [`CLOCK_SKEW`]).
    pub after: Option<SystemTime>,
}

/// An answer that does not fit the description.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Misfit {
    /// Nothing at `items`, or not an array.
    NotAList,
    /// An item's `newest` field is not a time ferry reads (the value).
    NotATime(String),
}

/// A `match` table with its templates filled: pointer → the values it may have, as text.
pub(super) fn matches<'s>(
    section: &str,
    table: &'s std::collections::BTreeMap<String, Vec<toml::Value>>,
    vars: &Vars,
) -> Result<Vec<(&'s str, Vec<String>)>> {
    let mut out = Vec::new();
    for (pointer, allowed) in table {
        let mut values = Vec::new();
        for v in allowed {
            values.push(match v {
                toml::Value::String(t) => {
                    render(t, vars, Target::Text).map_err(|e| e.in_section(section))?
                }
                other => other.to_string(),
            });
        }
        out.push((pointer.as_str(), values));
    }
    Ok(out)
}

/// The item that fits, `None` when none does (yet).
pub(super) fn pick<'b>(
    body: &'b serde_json::Value,
    wanted: &Wanted<'_>,
) -> Result<Option<&'b serde_json::Value>, Misfit> {
    let list = body
        .pointer(wanted.items)
        .and_then(serde_json::Value::as_array)
        .ok_or(Misfit::NotAList)?;
    let fits = |item: &serde_json::Value| {
        wanted.matches.iter().all(|(pointer, allowed)| {
            let actual = field_text(item, pointer);
            allowed.contains(&actual)
        })
    };
    let candidates = list.iter().filter(|item| fits(item));
    let Some(newest) = wanted.newest else {
        return Ok(candidates.into_iter().next());
    };
    let floor = wanted
        .after
        .map(|t| t.checked_sub(CLOCK_SKEW).unwrap_or(SystemTime::UNIX_EPOCH));
    let mut best: Option<(SystemTime, &serde_json::Value)> = None;
    for item in candidates {
        // An item without the field cannot be said to be new.
        let Some(value) = item.pointer(newest).filter(|v| !v.is_null()) else {
            continue;
        };
        let when = time(value)
            .ok_or_else(|| Misfit::NotATime(crate::net::shorten(&value.to_string(), 60)))?;
        if floor.is_some_and(|f| when < f) {
            continue;
        }
        if best.is_none_or(|(b, _)| when > b) {
            best = Some((when, item));
        }
    }
    Ok(best.map(|(_, item)| item))
}

/// A time as platforms write it: RFC 3339 (`2024-05-01T12:00:00Z`, fractions and offsets
/// allowed), or a Unix time in seconds or milliseconds.
pub(super) fn time(value: &serde_json::Value) -> Option<SystemTime> {
    match value {
        serde_json::Value::Number(n) => unix(n.as_f64()?),
        serde_json::Value::String(s) => {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(n) => unix(n),
                Err(_) => rfc3339(s),
            }
        }
        _ => None,
    }
}

/// Seconds (or, beyond the year 5000 in seconds, milliseconds) since the Unix epoch.
fn unix(n: f64) -> Option<SystemTime> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = if n > 1e11 { n / 1000.0 } else { n };
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

fn rfc3339(s: &str) -> Option<SystemTime> {
    // humantime reads UTC only: an offset (`+02:00`) is taken off by hand.
    let split = s
        .len()
        .checked_sub(6)
        .and_then(|at| Some((s.get(..at)?, s.get(at..)?)));
    let (local, offset) = match split {
        Some((local, tail))
            if local.len() >= 19
                && (tail.starts_with('+') || tail.starts_with('-'))
                && tail.as_bytes().get(3) == Some(&b':') =>
        {
            let hours: u64 = tail.get(1..3)?.parse().ok()?;
            let minutes: u64 = tail.get(4..6)?.parse().ok()?;
            let d = Duration::from_secs(hours * 3600 + minutes * 60);
            (local, Some((tail.starts_with('+'), d)))
        }
        _ => (s, None),
    };
    let t = humantime::parse_rfc3339_weak(local.trim_end_matches(['Z', 'z'])).ok()?;
    match offset {
        // 12:00+02:00 is 10:00 UTC.
        Some((true, d)) => t.checked_sub(d),
        Some((false, d)) => t.checked_add(d),
        None => Some(t),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    /// Render's list of deploys: `[{ deploy, cursor }]`, newest first.
    fn deploys() -> serde_json::Value {
        json!([
            { "deploy": { "id": "dep-3", "commit": { "id": "bbb" }, "createdAt": "2024-05-01T12:00:09.5Z" }, "cursor": "c3" },
            { "deploy": { "id": "dep-2", "commit": { "id": "aaa" }, "createdAt": "2024-05-01T12:00:04Z" }, "cursor": "c2" },
            { "deploy": { "id": "dep-1", "commit": { "id": "aaa" }, "createdAt": "2024-05-01T11:00:00Z" }, "cursor": "c1" }
        ])
    }

    fn wanted(matches: Vec<(&'static str, Vec<String>)>, after: Option<&str>) -> Wanted<'static> {
        Wanted {
            items: "",
            matches,
            newest: Some("/deploy/createdAt"),
            after: after.map(at),
        }
    }

    fn id(found: Option<&serde_json::Value>) -> Option<&str> {
        found.and_then(|f| f.pointer("/deploy/id")?.as_str())
    }

    #[test]
    fn the_newest_created_after_the_trigger_is_picked() {
        let body = deploys();
        let got = pick(&body, &wanted(vec![], Some("2024-05-01T12:00:00Z"))).unwrap();
        assert_eq!(id(got), Some("dep-3"));
        // A deploy created a little before (clocks differ) still counts; an hour before never.
        let got = pick(
            &body,
            &wanted(
                vec![("/deploy/commit/id", vec!["aaa".into()])],
                Some("2024-05-01T12:00:06Z"),
            ),
        )
        .unwrap();
        assert_eq!(id(got), Some("dep-2"));
        let got = pick(
            &body,
            &wanted(
                vec![("/deploy/commit/id", vec!["aaa".into()])],
                Some("2024-05-01T12:05:00Z"),
            ),
        )
        .unwrap();
        assert_eq!(id(got), None);
    }

    #[test]
    fn without_newest_the_first_match_is_picked() {
        let body = deploys();
        let w = Wanted {
            items: "",
            matches: vec![("/deploy/commit/id", vec!["aaa".into()])],
            newest: None,
            after: None,
        };
        assert_eq!(id(pick(&body, &w).unwrap()), Some("dep-2"));
    }

    #[test]
    fn an_answer_that_does_not_fit_says_how() {
        let body = json!({ "deploys": [] });
        let w = Wanted {
            items: "/items",
            matches: vec![],
            newest: None,
            after: None,
        };
        assert_eq!(pick(&body, &w), Err(Misfit::NotAList));
        let body = json!([{ "deploy": { "createdAt": "yesterday" } }]);
        assert_eq!(
            pick(&body, &wanted(vec![], None)),
            Err(Misfit::NotATime("\"yesterday\"".into()))
        );
    }

    #[test]
    fn times_are_read_in_the_forms_platforms_write() {
        let noon = at("2024-05-01T12:00:00Z");
        for text in [
            json!("2024-05-01T12:00:00Z"),
            json!("2024-05-01T12:00:00.000Z"),
            json!("2024-05-01T14:00:00+02:00"),
            json!("2024-05-01T09:30:00-02:30"),
            json!("2024-05-01T12:00:00+00:00"),
            json!(1_714_564_800),
            json!(1_714_564_800_000_u64),
            json!("1714564800"),
        ] {
            assert_eq!(time(&text), Some(noon), "{text}");
        }
        assert_eq!(time(&json!("soon")), None);
        assert_eq!(time(&json!(true)), None);
        assert_eq!(time(&json!(-1)), None);
    }
}
