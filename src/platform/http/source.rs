//! Value sources: where a value is found in a response (`/json/pointer`, `header:Name`,
//! `<fetch>:/pointer` into the answer of a named fetch, or a `{{ template }}` over known values).

use std::collections::BTreeMap;

use super::template::{self, Target, Vars};

/// A parsed value source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A JSON Pointer into the response body (`""` is the whole body).
    Pointer(String),
    /// A response header.
    Header(String),
    /// A template over known values.
    Template(String),
    /// A JSON Pointer into the answer of the request `[<phase>.fetch.<name>]`: (name, pointer).
    Fetch(String, String),
}

impl Source {
    /// Parses the source syntax; `None` when it is none of the four forms.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("header:") {
            Some(Source::Header(name.trim().to_ascii_lowercase()))
        } else if text.contains("{{") {
            Some(Source::Template(text.to_string()))
        } else if text.is_empty() || text.starts_with('/') {
            Some(Source::Pointer(text.to_string()))
        } else if let Some((name, pointer)) = text.split_once(':')
            && is_fetch_name(name)
            && (pointer.is_empty() || pointer.starts_with('/'))
            && !pointer.starts_with("//")
        {
            Some(Source::Fetch(name.to_string(), pointer.to_string()))
        } else {
            None
        }
    }

    /// The value, as text; `None` when absent or null.
    pub(crate) fn extract(
        &self,
        body: Option<&serde_json::Value>,
        headers: &[(String, String)],
        vars: &Vars,
    ) -> Option<String> {
        match self {
            Source::Pointer(p) => body.and_then(|b| b.pointer(p)).and_then(value_text),
            Source::Header(name) => headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            Source::Template(t) => template::render(t, vars, Target::Text).ok(),
            Source::Fetch(..) => None,
        }
    }

    /// The value, as text, with the answers of the phase's fetches at hand (outputs).
    pub(crate) fn extract_with(
        &self,
        body: Option<&serde_json::Value>,
        headers: &[(String, String)],
        vars: &Vars,
        fetched: &BTreeMap<String, serde_json::Value>,
    ) -> Option<String> {
        match self {
            Source::Fetch(name, pointer) => fetched
                .get(name)
                .and_then(|b| b.pointer(pointer))
                .and_then(value_text),
            other => other.extract(body, headers, vars),
        }
    }
}

/// A name a `[<phase>.fetch.<name>]` table can have: letters, digits, `_` and `-`.
pub(crate) fn is_fetch_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A JSON value as text: strings as they are, numbers and booleans printed, null as `None`.
pub(crate) fn value_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// True for the spellings of "yes" a header or field may use.
pub(crate) fn truthy(text: Option<&str>) -> bool {
    text.is_some_and(|t| matches!(t.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(Source::parse("/a/0"), Some(Source::Pointer("/a/0".into())));
        assert_eq!(
            Source::parse("header:Location"),
            Some(Source::Header("location".into()))
        );
        assert!(matches!(
            Source::parse("{{ id }}"),
            Some(Source::Template(_))
        ));
        assert_eq!(Source::parse("id"), None);
        assert_eq!(
            Source::parse("app:/web_url"),
            Some(Source::Fetch("app".into(), "/web_url".into()))
        );
        assert_eq!(Source::parse("a b:/x"), None);
        assert_eq!(Source::parse("app:x"), None);
        // A literal URL is not a fetch named `wss`.
        assert_eq!(Source::parse("wss://logs.example/l"), None);
    }

    #[test]
    fn a_fetch_source_reads_the_named_answer_only() {
        let src = Source::parse("app:/web_url").unwrap();
        let fetched = BTreeMap::from([(
            "app".to_string(),
            serde_json::json!({"web_url": "https://shop.example.com"}),
        )]);
        let status = serde_json::json!({"web_url": "https://wrong.example.com"});
        assert_eq!(src.extract(Some(&status), &[], &Vars::new()), None);
        assert_eq!(
            src.extract_with(Some(&status), &[], &Vars::new(), &fetched)
                .as_deref(),
            Some("https://shop.example.com")
        );
        let other = Source::parse("db:/web_url").unwrap();
        assert_eq!(
            other.extract_with(Some(&status), &[], &Vars::new(), &fetched),
            None
        );
    }

    #[test]
    fn extracts_numbers_as_text_and_null_as_none() {
        let body = serde_json::json!({"n": 7, "s": "x", "z": null});
        let s = |p: &str| Source::Pointer(p.into()).extract(Some(&body), &[], &Vars::new());
        assert_eq!(s("/n").as_deref(), Some("7"));
        assert_eq!(s("/s").as_deref(), Some("x"));
        assert_eq!(s("/z"), None);
        assert_eq!(s("/missing"), None);
    }
}
