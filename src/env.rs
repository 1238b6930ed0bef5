//! The process environment as a value.
//!
//! Nothing below the CLI reads `std::env`: `main.rs` captures the environment once into an [`Env`]
//! and every stage takes it as an input, so each stage is testable with a plain map.

use std::collections::BTreeMap;

/// A snapshot of environment variables. Empty values read as unset (CIs export many as `""`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name`, or `None` when it is unset **or empty**.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The raw value of `name`, empty strings included.
    pub fn get_raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// True when `name` is set to `true` (any case), as CIs spell their markers.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Sets a variable (builder style, for tests and for the demo).
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Sets a variable in place.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// All variables whose name starts with `prefix`, empty values dropped, in name order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.vars
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Values may be secrets, so `Debug` shows names only.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_read_as_unset() {
        let env = Env::new().with("A", "").with("B", "x");
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get_raw("A"), Some(""));
        assert_eq!(env.get("B"), Some("x"));
    }

    #[test]
    fn prefix_listing_skips_empty_and_other_names() {
        let env = Env::new()
            .with("FERRY_A", "1")
            .with("FERRY_B", "")
            .with("FERRYX", "no")
            .with("GITHUB_SHA", "s");
        let got: Vec<_> = env.with_prefix("FERRY_").collect();
        assert_eq!(got, vec![("FERRY_A", "1")]);
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Env::new().with("FERRY_TOKEN", "s3cret");
        assert!(!format!("{env:?}").contains("s3cret"));
    }
}
