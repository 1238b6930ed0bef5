//! Durations in script files, written as human strings (`"1.5s"`, `"300ms"`) and parsed with
//! `humantime`. Serde glue only: no other knowledge of scripts lives here.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses one human duration, with an error that says how to write one.
fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text).map_err(|e| {
        E::custom(format!(
            "invalid duration {text:?}: {e} (write e.g. \"1.5s\", \"300ms\" or \"2m\")"
        ))
    })
}

/// `#[serde(deserialize_with)]` for a `Duration` field.
pub(crate) fn required<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(de)?;
    parse(&text)
}

/// `#[serde(deserialize_with)]` for an `Option<Duration>` field.
pub(crate) fn optional<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Duration>, D::Error> {
    match Option::<String>::deserialize(de)? {
        Some(text) => parse(&text).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fractions_and_rejects_bare_numbers() {
        assert_eq!(
            parse::<serde::de::value::Error>("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse::<serde::de::value::Error>("300ms").unwrap(),
            Duration::from_millis(300)
        );
        let err = parse::<serde::de::value::Error>("12")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"1.5s\""), "{err}");
    }
}
