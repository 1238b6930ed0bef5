//! The closed set of platform kinds (`http`, `jenkins`, `argocd`): `[platforms.<name>]` read by
//! its `kind`, a phase section on it read by the same kind, and the hand-over to the kind's
//! backend, which plans itself. Each kind's keys live with its backend
//! (`http::spec::HttpPlatform`, `jenkins::spec::JenkinsPlatform`, `argocd::spec::ArgoPlatform`)
//! and serde refuses any other key (`deny_unknown_fields`).
//!
//! serde cannot flatten the keys every kind shares into each kind's table and still refuse the
//! unknown ones, so each kind's struct repeats them and lends them out as [`CommonKeys`].

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use super::argocd::ArgoBackend;
use super::argocd::spec::{ArgoPhase, ArgoPlatform};
use super::event::Phase;
use super::http::HttpBackend;
use super::http::spec::{HttpPlatform, PhaseSpec, PollSpec};
use super::jenkins::JenkinsBackend;
use super::jenkins::spec::{JenkinsPhase, JenkinsPlatform};
use super::planned::{BackendRequest, PlannedBackend};
use crate::error::{Result, clip_lines, quote};

/// `[platforms.<name>]`, by `kind`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum NamedPlatform {
    /// Described in `ferry.toml`, like `[platform]`.
    #[serde(deserialize_with = "http_keys")]
    Http(HttpPlatform),
    /// Jenkins' remote build API.
    #[serde(deserialize_with = "jenkins_keys")]
    Jenkins(JenkinsPlatform),
    /// Argo CD's API server.
    #[serde(deserialize_with = "argocd_keys")]
    Argocd(ArgoPlatform),
}

/// A phase section (`[build]`, `[deploy]`, `[stop]`) read by its platform's kind.
#[derive(Clone, Debug)]
pub(crate) enum KindPhase {
    /// A request description, on `[platform]` or a `kind = "http"` platform.
    Http(Box<PhaseSpec>),
    /// A Jenkins job.
    Jenkins(JenkinsPhase),
    /// An Argo CD application to sync.
    Argocd(ArgoPhase),
}

/// The keys every kind of named platform has: its name, where it is, where its credential comes
/// from, and how often it is polled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CommonKeys<'a> {
    /// A display name for messages (default: `<kind> (<host>)`).
    pub name: Option<&'a str>,
    /// The base URL.
    pub url: Option<&'a str>,
    /// An environment variable holding the base URL; wins over `url` when set.
    pub url_env: Option<&'a str>,
    /// The environment variable holding the credential.
    pub token_env: Option<&'a str>,
    /// A file holding the credential.
    pub token_file: Option<&'a str>,
    /// The user the credential belongs to, for the kinds that have one (`jenkins`, `http`).
    pub user: Option<&'a str>,
    /// An environment variable holding that user (wins over `user`).
    pub user_env: Option<&'a str>,
    /// Poll cadence, as `[platform.poll]`.
    pub poll: &'a PollSpec,
}

impl NamedPlatform {
    /// The kind, as written in `kind`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            NamedPlatform::Http(_) => "http",
            NamedPlatform::Jenkins(_) => "jenkins",
            NamedPlatform::Argocd(_) => "argocd",
        }
    }

    /// The keys every kind has.
    pub(crate) fn common(&self) -> CommonKeys<'_> {
        match self {
            NamedPlatform::Http(p) => p.common(),
            NamedPlatform::Jenkins(p) => p.common(),
            NamedPlatform::Argocd(p) => p.common(),
        }
    }

    /// Reads the keys of a `phase` section on this platform (`name`) as its kind says; `Err` is
    /// the message, with its fix.
    pub(crate) fn read_phase(
        &self,
        name: &str,
        phase: Phase,
        table: &toml::Table,
    ) -> std::result::Result<KindPhase, String> {
        let value = toml::Value::Table(table.clone());
        let bad = |e: toml::de::Error, fix: &str| {
            let hint = unknown_key(e.message()).map_or_else(String::new, |(key, takes)| {
                crate::suggest::did_you_mean(key, takes.split('`').skip(1).step_by(2))
            });
            format!(
                "{}{hint} (a phase on the {} platform {})\n  fix: {fix}",
                clip_lines(e.to_string().trim_end()),
                self.kind(),
                quote(name)
            )
        };
        Ok(match self {
            NamedPlatform::Http(_) => KindPhase::Http(Box::new(
                value
                    .try_into()
                    .map_err(|e| bad(e, super::http::spec::PHASE_FIX))?,
            )),
            NamedPlatform::Jenkins(_) => KindPhase::Jenkins(
                value
                    .try_into()
                    .map_err(|e| bad(e, super::jenkins::spec::PHASE_FIX))?,
            ),
            NamedPlatform::Argocd(_) if phase != Phase::Deploy => {
                return Err(format!(
                    "the argocd platform `{name}` can only deploy (sync an application), not {phase}\n  fix: run the {phase} on a jenkins or http platform"
                ));
            }
            NamedPlatform::Argocd(_) => KindPhase::Argocd(
                value
                    .try_into()
                    .map_err(|e| bad(e, super::argocd::spec::PHASE_FIX))?,
            ),
        })
    }

    /// Hands the platform named in `req` to its kind's backend, which plans itself.
    pub(crate) fn plan(
        req: BackendRequest<'_, &NamedPlatform, KindPhase>,
    ) -> Result<PlannedBackend> {
        match req.platform {
            NamedPlatform::Http(p) => HttpBackend::plan(req.narrow(p.connection(), |s| match s {
                KindPhase::Http(s) => Some(*s),
                _ => None,
            })),
            NamedPlatform::Jenkins(p) => JenkinsBackend::plan(req.narrow(p, |s| match s {
                KindPhase::Jenkins(s) => Some(s),
                _ => None,
            })),
            NamedPlatform::Argocd(p) => ArgoBackend::plan(req.narrow(p, |s| match s {
                KindPhase::Argocd(s) => Some(s),
                _ => None,
            })),
        }
    }
}

fn http_keys<'de, D: Deserializer<'de>>(de: D) -> Result<HttpPlatform, D::Error> {
    keys_of(de, "http")
}

fn jenkins_keys<'de, D: Deserializer<'de>>(de: D) -> Result<JenkinsPlatform, D::Error> {
    keys_of(de, "jenkins")
}

fn argocd_keys<'de, D: Deserializer<'de>>(de: D) -> Result<ArgoPlatform, D::Error> {
    keys_of(de, "argocd")
}

/// One kind's table (`kind` already taken off by the tag), read by the kind's struct. serde
/// refuses a key the struct does not have; that refusal is said in ferry's words, naming the key,
/// the kind and the keys it takes. Any other problem keeps serde's words, with where it is
/// (`in poll.factor`).
fn keys_of<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    de: D,
    kind: &str,
) -> Result<T, D::Error> {
    let table = toml::Table::deserialize(de)?;
    let keys: Vec<String> = table.keys().cloned().collect();
    toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
        D::Error::custom(match unknown_key(e.message()) {
            Some((key, takes)) if keys.iter().any(|k| k == key) => format!(
                "`{key}` means nothing for kind = \"{kind}\"{}\n  fix: remove it; kind = \"{kind}\" takes `kind`, {takes} (the README's \"Jenkins and Argo CD\" section lists each kind's keys)",
                crate::suggest::did_you_mean(key, takes.split('`').skip(1).step_by(2))
            ),
            _ => e.to_string().trim_end().to_string(),
        })
    })
}

/// The key and the expected keys in serde's refusal of an unknown key (`` unknown field `user`,
/// expected one of `name`, `url` ``).
fn unknown_key(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let takes = rest.strip_prefix(", expected ")?;
    Some((key, takes.strip_prefix("one of ").unwrap_or(takes)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        platforms: BTreeMap<String, NamedPlatform>,
    }

    fn parse(table: &str) -> Result<NamedPlatform, String> {
        toml::from_str::<File>(&format!("[platforms.p]\n{table}"))
            .map(|mut f| f.platforms.remove("p").unwrap())
            .map_err(|e| e.to_string())
    }

    const COMMON: &str = "name = \"ci\"\nurl = \"https://p.example.com\"\nurl_env = \"P_URL\"\ntoken_env = \"P_TOKEN\"\n[platforms.p.poll]\ninitial = \"1s\"\n";

    #[test]
    fn each_kind_takes_its_own_keys() {
        let http = parse(&format!(
            "kind = \"http\"\nuser = \"u\"\nuser_env = \"U\"\nauth = \"basic\"\nauth_header = \"X-Key\"\nheaders = {{ X-A = \"b\" }}\n{COMMON}"
        ))
        .unwrap();
        let NamedPlatform::Http(h) = &http else {
            panic!("{http:?}")
        };
        assert_eq!(h.headers["X-A"], "b");
        assert_eq!(h.auth_header.as_deref(), Some("X-Key"));
        let jenkins = parse(&format!(
            "kind = \"jenkins\"\nuser = \"u\"\nuser_env = \"U\"\ntoken_file = \"t\"\n{COMMON}"
        ))
        .unwrap();
        assert!(matches!(jenkins, NamedPlatform::Jenkins(_)));
        let argocd = parse(&format!("kind = \"argocd\"\n{COMMON}")).unwrap();
        assert!(matches!(argocd, NamedPlatform::Argocd(_)));
        for (p, kind) in [(&http, "http"), (&jenkins, "jenkins"), (&argocd, "argocd")] {
            assert_eq!(p.kind(), kind);
            let c = p.common();
            assert_eq!(c.name, Some("ci"));
            assert_eq!(c.url, Some("https://p.example.com"));
            assert_eq!(c.url_env, Some("P_URL"));
            assert_eq!(c.poll.initial, "1s");
        }
        assert_eq!(jenkins.common().user, Some("u"));
        assert_eq!(jenkins.common().token_file, Some("t"));
        assert_eq!(argocd.common().user, None);
    }

    #[test]
    fn a_key_a_kind_does_not_take_is_refused_naming_it() {
        let cases = [
            ("http", "bogus = 1", "bogus"),
            ("jenkins", "auth = \"basic\"", "auth"),
            ("jenkins", "headers = { A = \"b\" }", "headers"),
            ("argocd", "user = \"x\"", "user"),
            ("argocd", "user_env = \"X\"", "user_env"),
            ("argocd", "auth_header = \"X\"", "auth_header"),
        ];
        for (kind, line, key) in cases {
            let err = parse(&format!("kind = \"{kind}\"\n{line}\n")).unwrap_err();
            assert!(
                err.contains(&format!("`{key}` means nothing for kind = \"{kind}\"")),
                "{err}"
            );
            // Where: toml quotes the table's header.
            assert!(err.contains("[platforms.p]"), "{err}");
            // What the kind takes instead.
            assert!(err.contains("takes `kind`, "), "{err}");
            assert!(err.contains("`token_env`"), "{err}");
        }
        let err = parse("kind = \"argocd\"\nuser = \"x\"\n").unwrap_err();
        assert!(!err.contains("`user`,"), "argocd takes no user: {err}");
    }

    #[test]
    fn other_problems_keep_serde_s_words_and_say_where() {
        let err = parse("kind = \"jenkins\"\n[platforms.p.poll]\nbogus = \"1s\"\n").unwrap_err();
        assert!(err.contains("unknown field `bogus`"), "{err}");
        assert!(err.contains("in `poll`"), "{err}");
        assert!(!err.contains("means nothing"), "{err}");
        let err = parse("kind = \"argocd\"\nurl = 3\n").unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        assert!(err.contains("in `url`"), "{err}");
        let err = parse("kind = \"gitlab\"\n").unwrap_err();
        assert!(err.contains("unknown variant `gitlab`"), "{err}");
        let err = parse("url = \"https://p.example.com\"\n").unwrap_err();
        assert!(err.contains("missing field `kind`"), "{err}");
    }

    #[test]
    fn a_phase_is_read_by_its_platform_s_kind() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        let jenkins = parse("kind = \"jenkins\"\n").unwrap();
        let job = jenkins.read_phase("ci", Phase::Build, &table("job = \"shop\"\n"));
        assert!(matches!(job, Ok(KindPhase::Jenkins(_))), "{job:?}");
        let e = jenkins
            .read_phase("ci", Phase::Build, &table("application = \"shop\"\n"))
            .unwrap_err();
        assert!(e.contains("unknown field `application`"), "{e}");
        assert!(e.contains("a phase on the jenkins platform \"ci\""), "{e}");
        assert!(e.contains("fix: a Jenkins phase has job"), "{e}");
        let e = jenkins
            .read_phase("ci", Phase::Build, &table("jobs = \"shop\"\n"))
            .unwrap_err();
        assert!(e.contains("; did you mean `job`? (a phase on"), "{e}");
        let argocd = parse("kind = \"argocd\"\n").unwrap();
        let app = table("application = \"shop\"\n");
        let sync = argocd.read_phase("cd", Phase::Deploy, &app);
        assert!(matches!(sync, Ok(KindPhase::Argocd(_))), "{sync:?}");
        let e = argocd.read_phase("cd", Phase::Build, &app).unwrap_err();
        assert!(e.contains("can only deploy"), "{e}");
    }

    #[test]
    fn serde_s_refusal_of_a_key_is_read() {
        assert_eq!(
            unknown_key("unknown field `user`, expected one of `name`, `url`"),
            Some(("user", "`name`, `url`"))
        );
        assert_eq!(
            unknown_key("unknown field `x`, expected `a` or `b`"),
            Some(("x", "`a` or `b`"))
        );
        assert_eq!(unknown_key("missing field `kind`"), None);
    }
}
