//! Secrets: held in `SecretString`, and redacted from any text ferry did not write itself.
//!
//! GitLab masks only variables flagged as masked, and platform logs may echo anything, so ferry
//! removes every secret it knows from log lines, ids, URLs, outputs and error messages before
//! they reach any output. A secret is removed in every form it is likely to come back in:
//!
//! - as it is;
//! - percent-encoded (a token in a query string or a path), with either encoding set;
//! - JSON-escaped (a platform echoing it inside a JSON error body);
//! - base64, standard and URL-safe, at each of the three alignments a secret can have inside a
//!   longer base64 text (the same rule as the GitHub runner's masks), so HTTP Basic credentials
//!   (`user:token`) echoed back are masked too; for Basic credentials ferry knows, the whole
//!   `base64(user:token)` is a form of its own;
//! - any password in a URL's userinfo (`https://user:…@host`), known to ferry or not.
//!
//! Overlapping forms are merged before masking, and [`Redactor::safe_cut`] tells a splitter where
//! it may cut a long text so that no secret is split in two halves that each escape redaction.
//!
//! What cannot be redacted (SECURITY.md): a secret shorter than [`MIN_SECRET`] characters, and
//! transformations other than the ones above (a secret reversed, hashed, or split by the platform
//! itself).

use std::sync::Arc;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
pub use secrecy::{ExposeSecret, SecretString};

/// What a redacted secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are not redacted: masking them would shred ordinary text and they
/// protect nothing.
pub const MIN_SECRET: usize = 4;

/// Derived forms (base64 slices) shorter than this are not used: a 4-character base64 run
/// appears in ordinary text far too often.
const MIN_DERIVED: usize = 8;

/// The set of secret values to remove from untrusted text. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Every form of every secret; `None` when there is none.
    forms: Option<AhoCorasick>,
    /// The longest form, in bytes (how far a secret can reach across a cut).
    longest: usize,
    /// How many secrets (not forms) are known.
    secrets: usize,
}

/// Collects secrets (and Basic credentials) for a [`Redactor`].
#[derive(Default)]
pub struct RedactorBuilder {
    forms: Vec<String>,
    secrets: usize,
}

impl RedactorBuilder {
    /// Adds a secret and its derived forms. Values shorter than [`MIN_SECRET`] are ignored.
    #[must_use]
    pub fn secret(mut self, secret: &SecretString) -> Self {
        let value = secret.expose_secret();
        if value.len() < MIN_SECRET {
            return self;
        }
        self.secrets += 1;
        self.forms.push(value.to_string());
        for set in [crate::net::PATH_SEGMENT, NON_ALPHANUMERIC] {
            self.forms.push(utf8_percent_encode(value, set).to_string());
        }
        if let Ok(json) = serde_json::to_string(value) {
            self.forms.push(json[1..json.len() - 1].to_string());
            // Some encoders also escape `/` (`\/`).
            self.forms.push(json[1..json.len() - 1].replace('/', "\\/"));
        }
        let bytes = value.as_bytes();
        for shift in 0..3 {
            let Some(rest) = bytes.get(shift..) else {
                continue;
            };
            // Only whole 3-byte groups encode the same whatever surrounds them.
            let whole = &rest[..rest.len() / 3 * 3];
            for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                let encoded = engine.encode(whole);
                if encoded.len() >= MIN_DERIVED {
                    self.forms.push(encoded);
                }
            }
        }
        self
    }

    /// Adds every secret of `secrets`.
    #[must_use]
    pub fn secrets<'a>(self, secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        secrets.into_iter().fold(self, Self::secret)
    }

    /// Adds HTTP Basic credentials: the password as a secret, and `base64(user:password)` whole.
    #[must_use]
    pub fn basic(mut self, user: &str, password: &SecretString) -> Self {
        let pair = format!("{user}:{}", password.expose_secret());
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let encoded = engine.encode(pair.as_bytes());
            if encoded.len() >= MIN_DERIVED {
                self.forms.push(encoded);
            }
        }
        self.secret(password)
    }

    /// The redactor.
    pub fn build(mut self) -> Redactor {
        self.forms.sort();
        self.forms.dedup();
        let longest = self.forms.iter().map(String::len).max().unwrap_or(0);
        // Building fails only for pattern sets far beyond anything ferry holds.
        let forms = (!self.forms.is_empty())
            .then(|| AhoCorasick::new(&self.forms).ok())
            .flatten();
        Redactor {
            inner: Arc::new(Inner {
                forms,
                longest,
                secrets: self.secrets,
            }),
        }
    }
}

impl Redactor {
    /// A redactor for these secrets (values shorter than [`MIN_SECRET`] are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        Self::builder().secrets(secrets).build()
    }

    /// A builder, for Basic credentials and secrets gathered from several places.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// Redacts `text` where it is, allocating only when there is something to mask (the path
    /// every log line takes).
    pub fn redact_in_place(&self, text: &mut String) {
        if self.inner.forms.is_none() && !text.contains("://") {
            return;
        }
        let redacted = self.redact(text);
        if redacted != *text {
            *text = redacted;
        }
    }

    /// `text` with every known secret (in every form) and every URL password replaced by
    /// [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let spans = self.spans(text.as_bytes());
        if spans.is_empty() && !text.contains("://") {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        if out.contains("://") {
            out = mask_userinfo(&out);
        }
        out
    }

    /// Where `text` may be cut near `at` so that no secret straddles the cut: `at` itself when
    /// nothing does, else the start of the earliest straddling secret; when that is the very
    /// start, the end of the straddling secrets (a piece a little longer than asked is better
    /// than a secret in two halves). `None` while `text` does not reach far enough past `at` to
    /// tell (a secret may be arriving): wait for more of it.
    pub fn safe_cut(&self, text: &[u8], at: usize) -> Option<usize> {
        let at = at.min(text.len());
        let Some(forms) = &self.inner.forms else {
            return Some(at);
        };
        let reach = self.inner.longest;
        if text.len() < at + reach {
            return None;
        }
        let from = at.saturating_sub(reach);
        let to = at + reach;
        let straddling: Vec<(usize, usize)> = forms
            .find_overlapping_iter(&text[from..to])
            .map(|m| (from + m.start(), from + m.end()))
            .filter(|(s, e)| *s < at && *e > at)
            .collect();
        Some(match straddling.iter().map(|(s, _)| *s).min() {
            None => at,
            Some(0) => straddling.iter().map(|(_, e)| *e).max().unwrap_or(at),
            Some(start) => start,
        })
    }

    /// How many secrets this redactor knows.
    pub fn len(&self) -> usize {
        self.inner.secrets
    }

    /// True when it knows no secret (URL passwords are still masked).
    pub fn is_empty(&self) -> bool {
        self.inner.secrets == 0
    }

    /// The byte ranges of every form found in `text`, overlapping ones merged, on character
    /// boundaries.
    fn spans(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let Some(forms) = &self.inner.forms else {
            return Vec::new();
        };
        // Overlapping matches come ordered by where they end: sort by start, then merge.
        let mut spans: Vec<(usize, usize)> = forms
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// Masks the password of every `scheme://user:password@host` in `text` (and a userinfo without
/// a password that looks like a token: 16 characters or more).
fn mask_userinfo(text: &str) -> String {
    mask_userinfo_with(text, |userinfo| match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{MASK}"),
        None if userinfo.chars().count() >= 16 => MASK.to_string(),
        None => userinfo.to_string(),
    })
}

/// Masks every userinfo (`user:password@`, `token@`) of every URL in `text` whole: for quoting a
/// URL that was refused for carrying one.
pub(crate) fn mask_all_userinfo(text: &str) -> String {
    mask_userinfo_with(text, |_| MASK.to_string())
}

fn mask_userinfo_with(text: &str, mask: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(&mask(&authority[..at]));
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.inner.secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        let secrets: Vec<SecretString> = secrets.iter().map(|s| SecretString::from(*s)).collect();
        Redactor::new(&secrets)
    }

    #[test]
    fn replaces_every_occurrence_and_ignores_tiny_values() {
        let r = redactor(&["tok-123", "ab"]);
        assert_eq!(r.redact("a tok-123 b tok-123 ab"), "a *** b *** ab");
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn percent_encoded_and_json_escaped_forms_are_masked() {
        let r = redactor(&["p@ss/w rd\"x"]);
        assert_eq!(r.redact("q=p%40ss%2Fw%20rd%22x&"), "q=***&");
        assert_eq!(r.redact(r#"{"t":"p@ss/w rd\"x"}"#), r#"{"t":"***"}"#);
        assert_eq!(r.redact(r#"{"t":"p@ss\/w rd\"x"}"#), r#"{"t":"***"}"#);
        let dash = redactor(&["shop-token-9"]);
        assert_eq!(dash.redact("t=shop%2Dtoken%2D9"), "t=***");
    }

    #[test]
    fn base64_at_any_alignment_and_basic_credentials_are_masked() {
        let token = "s3cr3t-t0ken-value";
        let r = Redactor::builder()
            .basic("alice", &SecretString::from(token))
            .build();
        let basic = STANDARD_NO_PAD.encode(format!("alice:{token}"));
        let shown = r.redact(&format!("Authorization: Basic {basic}=="));
        assert_eq!(shown, "Authorization: Basic ***==");
        // The same, padded by the standard encoder, and a shorter form inside a longer one.
        let padded = base64::engine::general_purpose::STANDARD.encode(format!("alice:{token}"));
        assert_eq!(
            r.redact(&format!("Basic {padded}")),
            format!("Basic ***{}", &padded[basic.len()..])
        );
        // Inside someone else's base64, at each alignment: the token's bytes are gone.
        for prefix in ["", "x", "xy", "xyz"] {
            let encoded = STANDARD_NO_PAD.encode(format!("{prefix}{token}!"));
            let shown = r.redact(&encoded);
            assert!(shown.contains(MASK), "{prefix:?}: {shown}");
            assert!(shown.len() < 12, "{prefix:?}: too much left: {shown}");
        }
    }

    #[test]
    fn url_passwords_are_masked_known_or_not() {
        let r = redactor(&["tok-secret-1"]);
        assert_eq!(
            r.redact("see https://bob:hunter2@h.example/x?t=tok-secret-1 now"),
            "see https://bob:***@h.example/x?t=*** now"
        );
        assert_eq!(
            r.redact("git https://ghp_0123456789abcdefghij@github.com/o/r"),
            "git https://***@github.com/o/r"
        );
        assert_eq!(
            r.redact("ssh://git@github.com/o/r"),
            "ssh://git@github.com/o/r"
        );
        assert_eq!(Redactor::default().redact("a://b:c@d"), "a://b:***@d");
    }

    #[test]
    fn overlapping_secrets_are_masked_as_one() {
        let r = redactor(&["abcdef", "defghi"]);
        assert_eq!(r.redact("xabcdefghiy"), "x***y");
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let r = redactor(&["SECRET-VALUE-42"]);
        let text = b"0123456789SECRET-VALUE-42abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";
        // A cut inside the secret moves to its start.
        assert_eq!(r.safe_cut(text, 15), Some(10));
        assert_eq!(r.safe_cut(text, 10), Some(10));
        assert_eq!(r.safe_cut(text, 26), Some(26));
        // A secret at the very start: the cut moves past it.
        let start =
            b"SECRET-VALUE-42abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";
        assert_eq!(r.safe_cut(start, 5), Some(15));
        // Not enough text after the cut to know whether a secret is arriving.
        assert_eq!(r.safe_cut(b"0123456789SECRET-VAL", 15), None);
        assert_eq!(Redactor::default().safe_cut(text, 5), Some(5));
    }

    #[test]
    fn multibyte_text_stays_valid() {
        let r = redactor(&["ünïcødé-tøkên"]);
        assert_eq!(r.redact("é ünïcødé-tøkên é"), "é *** é");
    }
}
