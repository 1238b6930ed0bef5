//! Git remote URLs (`https://host/o/r.git`, `git@host:o/r.git`, `ssh://`, `git://`) reduced to a
//! host and a repository path, for the forge-agnostic CIs (Jenkins, CircleCI, Buildkite, Drone).
//!
//! Credentials in a URL (`https://user:token@host/…`) are dropped here and never kept: only the
//! host and the path leave this module.

use super::Forge;

/// The host and repository path of a remote, e.g. `github.com` and `octo-org/octo-repo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Remote {
    /// Lower-cased host name, without user or port.
    pub(crate) host: String,
    /// The path without leading or trailing `/` and without a `.git` suffix.
    pub(crate) path: String,
}

impl Remote {
    /// Parses a remote URL; `None` when it has no host or no path.
    pub(crate) fn parse(remote: &str) -> Option<Self> {
        let remote = remote.trim();
        let (host, path) = if remote.contains("://") {
            let url = url::Url::parse(remote).ok()?;
            (url.host_str()?.to_owned(), url.path().to_owned())
        } else {
            // scp-like syntax: `[user@]host:path`.
            let (authority, path) = remote.split_once(':')?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            (host.to_owned(), path.to_owned())
        };
        let path = path.trim_matches('/');
        let path = path
            .strip_suffix(".git")
            .unwrap_or(path)
            .trim_end_matches('/');
        if host.is_empty() || path.is_empty() {
            return None;
        }
        Some(Self {
            host: host.to_ascii_lowercase(),
            path: path.to_owned(),
        })
    }

    /// The forge and its API base when the host is a well-known public one. A heuristic, used
    /// only by CIs whose variables name no forge; self-hosted forges stay unknown.
    pub(crate) fn public_forge(&self) -> Option<(Forge, &'static str)> {
        match self.host.as_str() {
            "github.com" => Some((Forge::Github, "https://api.github.com")),
            "gitlab.com" => Some((Forge::Gitlab, "https://gitlab.com/api/v4")),
            "bitbucket.org" => Some((Forge::Bitbucket, "https://api.bitbucket.org/2.0")),
            "codeberg.org" => Some((Forge::Forgejo, "https://codeberg.org/api/v1")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(remote: &str) -> Option<(String, String)> {
        Remote::parse(remote).map(|r| (r.host, r.path))
    }

    #[test]
    fn parses_the_usual_remote_shapes() {
        let expected = Some(("github.com".to_owned(), "o/r".to_owned()));
        for remote in [
            "https://github.com/o/r.git",
            "https://github.com/o/r",
            "https://github.com/o/r/",
            "https://x-access-token:s3cret@github.com/o/r.git",
            "git@github.com:o/r.git",
            "github.com:o/r",
            "ssh://git@github.com:22/o/r.git",
            "git://github.com/o/r.git",
            "https://GitHub.com/o/r.git",
        ] {
            assert_eq!(parts(remote), expected, "{remote}");
        }
        assert_eq!(
            parts("https://gitlab.example.com/group/sub/proj.git"),
            Some(("gitlab.example.com".to_owned(), "group/sub/proj".to_owned()))
        );
    }

    #[test]
    fn rejects_what_is_not_a_remote() {
        for remote in [
            "",
            "https://github.com/",
            "https://github.com",
            "no-colon",
            ":o/r",
        ] {
            assert_eq!(parts(remote), None, "{remote}");
        }
    }

    #[test]
    fn never_keeps_credentials() {
        let remote = Remote::parse("https://user:s3cret@example.com/o/r.git");
        assert!(!format!("{remote:?}").contains("s3cret"));
    }

    #[test]
    fn public_forges_only() {
        let forge = |r: &str| Remote::parse(r).and_then(|r| r.public_forge()).map(|f| f.0);
        assert_eq!(forge("git@github.com:o/r.git"), Some(Forge::Github));
        assert_eq!(forge("https://gitlab.com/g/p.git"), Some(Forge::Gitlab));
        assert_eq!(forge("git@bitbucket.org:w/r.git"), Some(Forge::Bitbucket));
        assert_eq!(forge("https://ghe.example.com/o/r.git"), None);
    }
}
