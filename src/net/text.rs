//! How network failures and answers read in messages: one line per error chain, and long text
//! shortened on a character boundary.

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

/// The first `max` characters of `text` (trimmed), on a character boundary, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("ééé", 2), "éé…");
        assert_eq!(shorten("ab", 5), "ab");
    }

    #[test]
    fn chains_do_not_repeat_themselves() {
        let inner = std::io::Error::other("connection reset");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "connection reset");
    }
}
