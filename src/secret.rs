//! Secrets: held in `SecretString`, and redacted from any text ferry did not write itself.
//!
//! GitLab masks only variables flagged as masked, and platform logs may echo anything, so ferry
//! removes every secret it knows from log lines and error messages before they reach a sink.

use std::sync::Arc;

pub use secrecy::{ExposeSecret, SecretString};

/// What a redacted secret is replaced with.
pub const MASK: &str = "***";

/// The set of secret values to remove from untrusted text. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<SecretString>>,
}

impl Redactor {
    /// A redactor for these secrets (values shorter than 4 characters are ignored: masking them
    /// would shred ordinary text and they protect nothing).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        let secrets = secrets
            .into_iter()
            .filter(|s| s.expose_secret().len() >= 4)
            .cloned()
            .collect();
        Self {
            secrets: Arc::new(secrets),
        }
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter() {
            let value = secret.expose_secret();
            if out.contains(value) {
                out = out.replace(value, MASK);
            }
        }
        out
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_and_ignores_tiny_values() {
        let secrets = [SecretString::from("tok-123"), SecretString::from("ab")];
        let r = Redactor::new(&secrets);
        assert_eq!(r.redact("a tok-123 b tok-123 ab"), "a *** b *** ab");
    }
}
