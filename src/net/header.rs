//! A credential as a header value: ASCII without control characters (what HTTP can carry), and
//! marked sensitive so no debug output ever shows it.

use reqwest::header::HeaderValue;

/// `value` as a sensitive header value; `None` when a header cannot carry it (a line break, a
/// control or a non-ASCII character), so that the caller refuses it instead of sending nothing.
pub(crate) fn secret_value(value: &str) -> Option<HeaderValue> {
    if !value.is_ascii() {
        return None;
    }
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_a_header_can_carry_and_always_sensitive() {
        assert!(secret_value("Bearer abc-123").is_some_and(|v| v.is_sensitive()));
        for bad in ["a\nb", "tök", "a\u{0}b", "a\rb"] {
            assert!(secret_value(bad).is_none(), "{bad:?}");
        }
    }
}
