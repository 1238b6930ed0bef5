//! How network failures and answers read in messages: one line per error chain, and long text
//! shortened on a character boundary (the one "shorten with …" of the crate).

use std::borrow::Cow;

/// An error and its sources as one line (parts already said are not repeated).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// `text` (trimmed) in at most `max` characters: whole when it fits, else cut on a character
/// boundary with `…` as its last character.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    fit(text.trim(), max).into_owned()
}

/// `text` in at most `max` characters, the last one `…` when something was cut (borrowed when it
/// fits: the limits of a Markdown cell or a commit status description include the `…`).
pub(crate) fn fit(text: &str, max: usize) -> Cow<'_, str> {
    if text.char_indices().nth(max).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("ééé", 2), "é…");
        assert_eq!(shorten("ab", 5), "ab");
        assert_eq!(shorten("  ab  ", 2), "ab");
        assert!(matches!(fit("ab", 2), Cow::Borrowed("ab")));
    }

    #[test]
    fn chains_do_not_repeat_themselves() {
        let inner = std::io::Error::other("connection reset");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "connection reset");
    }
}
