//! Durations in script files, written as human strings (`"1.5s"`, `"300ms"`) and parsed with
//! `humantime`. Serde glue only: no other knowledge of scripts lives here.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::config::settings::MAX_DURATION;
use crate::error::quote;

/// Parses one human duration of at most [`MAX_DURATION`] (31 days, as for ferry's own settings:
/// a script must not make the simulator add past the end of its clock), with an error that says
/// how to write one.
fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    let d = humantime::parse_duration(text).map_err(|e| {
        E::custom(format!(
            "invalid duration {}: {e} (write e.g. \"1.5s\", \"300ms\" or \"2m\", at most 31 days)",
            quote(text)
        ))
    })?;
    if d > MAX_DURATION {
        return Err(E::custom(format!(
            "invalid duration {}: a duration is at most 31 days",
            quote(text)
        )));
    }
    Ok(d)
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

    #[test]
    fn refuses_more_than_31_days() {
        assert_eq!(
            parse::<serde::de::value::Error>("31days").unwrap(),
            MAX_DURATION
        );
        for huge in [
            "32days",
            "18446744073709551615s",
            "99999999999999999999999s",
        ] {
            let err = parse::<serde::de::value::Error>(huge)
                .unwrap_err()
                .to_string();
            assert!(err.contains("at most 31 days"), "{err}");
        }
    }
}
