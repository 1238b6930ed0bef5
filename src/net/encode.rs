//! Percent-encoding for one path segment (or a query value), the same for every client.
//!
//! RFC 3986 §2.3: the unreserved characters (`A–Z a–z 0–9 - . _ ~`) are never encoded; every
//! other byte is. So `shop-review` stays `shop-review` (an encoded `%2D` is equivalent by the RFC,
//! but not every server or proxy normalises it), `feature/x` becomes `feature%2Fx` (one segment),
//! and a value can never add a segment, a query or a fragment.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but the RFC 3986 unreserved characters.
pub(crate) const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` as one path segment.
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_everything_else_is_encoded() {
        assert_eq!(segment("shop-review_1.2~x"), "shop-review_1.2~x");
        assert_eq!(segment("feat/x y?#%"), "feat%2Fx%20y%3F%23%25");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
