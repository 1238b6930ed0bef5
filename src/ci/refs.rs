//! Git ref names as CIs spell them (`refs/heads/…`, `refs/tags/…`, `refs/pull/<n>/merge`, the
//! merge-queue branch), turned into short names.
//!
//! Pure string parsing: no environment, no I/O. Never split a ref on `/` to find a branch: branch
//! names contain slashes. A prefix is stripped once, from the left.

/// A ref as a CI reports it, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GitRef<'a> {
    /// `refs/heads/<name>`.
    Branch(&'a str),
    /// `refs/tags/<name>`.
    Tag(&'a str),
    /// `refs/pull/<n>/merge` (GitHub) or `refs/pull/<n>/head` (Gitea, Forgejo, Woodpecker).
    Pull(u64),
    /// Anything else, kept whole: a short name (`main`) or a ref we don't know.
    Other(&'a str),
}

impl<'a> GitRef<'a> {
    /// Classifies `full`, stripping one leading `refs/heads/` or `refs/tags/`.
    pub(crate) fn parse(full: &'a str) -> Self {
        if let Some(name) = full.strip_prefix("refs/heads/") {
            GitRef::Branch(name)
        } else if let Some(name) = full.strip_prefix("refs/tags/") {
            GitRef::Tag(name)
        } else if let Some(number) = pull_number(full) {
            GitRef::Pull(number)
        } else {
            GitRef::Other(full)
        }
    }

    /// The short branch or tag name; `None` for a pull ref, which names no branch.
    pub(crate) fn name(self) -> Option<&'a str> {
        match self {
            GitRef::Branch(name) | GitRef::Tag(name) | GitRef::Other(name) => {
                Some(name).filter(|n| !n.is_empty())
            }
            GitRef::Pull(_) => None,
        }
    }

    pub(crate) fn is_tag(self) -> bool {
        matches!(self, GitRef::Tag(_))
    }

    /// The pull request number of a `refs/pull/<n>/…` ref.
    pub(crate) fn pull(self) -> Option<u64> {
        match self {
            GitRef::Pull(number) => Some(number),
            _ => None,
        }
    }
}

/// `refs/pull/<n>/merge` or `refs/pull/<n>/head` → `n`.
fn pull_number(full: &str) -> Option<u64> {
    let rest = full.strip_prefix("refs/pull/")?;
    let (number, kind) = rest.split_once('/')?;
    if kind != "merge" && kind != "head" {
        return None;
    }
    parse_number(number)
}

/// A change-request number: ASCII digits only (no sign, no spaces), as every CI prints it.
pub(crate) fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The temporary branch GitHub's merge queue creates for a group:
/// `gh-readonly-queue/<base>/pr-<number>-<sha>` (`<base>` may contain slashes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MergeQueueBranch<'a> {
    /// The branch the group merges into.
    pub(crate) base: &'a str,
    /// The pull request at the tip of the group (a group may batch several).
    pub(crate) number: u64,
    /// The head commit of that pull request.
    pub(crate) sha: &'a str,
}

impl<'a> MergeQueueBranch<'a> {
    /// Parses the short branch name (a leading `refs/heads/` is accepted and stripped).
    pub(crate) fn parse(branch: &'a str) -> Option<Self> {
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        let rest = branch.strip_prefix("gh-readonly-queue/")?;
        // The last segment is `pr-<n>-<sha>`; everything before it is the base branch.
        let (base, last) = rest.rsplit_once('/')?;
        let (number, sha) = last.strip_prefix("pr-")?.split_once('-')?;
        if base.is_empty() || sha.is_empty() || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Self {
            base,
            number: parse_number(number)?,
            sha,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_one_prefix_and_keeps_slashes() {
        assert_eq!(GitRef::parse("refs/heads/main"), GitRef::Branch("main"));
        assert_eq!(
            GitRef::parse("refs/heads/feature/x/y"),
            GitRef::Branch("feature/x/y")
        );
        assert_eq!(GitRef::parse("refs/tags/v1.2.3"), GitRef::Tag("v1.2.3"));
        // Only one prefix is stripped: a branch literally named `refs/heads/x` stays whole.
        assert_eq!(
            GitRef::parse("refs/heads/refs/heads/x"),
            GitRef::Branch("refs/heads/x")
        );
        assert_eq!(GitRef::parse("main"), GitRef::Other("main"));
        assert!(GitRef::parse("refs/tags/v1").is_tag());
        assert!(!GitRef::parse("refs/heads/v1").is_tag());
        assert_eq!(GitRef::parse("refs/heads/").name(), None);
    }

    #[test]
    fn pull_refs() {
        assert_eq!(GitRef::parse("refs/pull/42/merge"), GitRef::Pull(42));
        assert_eq!(GitRef::parse("refs/pull/7/head"), GitRef::Pull(7));
        assert_eq!(GitRef::parse("refs/pull/42/merge").name(), None);
        assert_eq!(GitRef::parse("refs/pull/42/merge").pull(), Some(42));
        for other in [
            "refs/pull/x/merge",
            "refs/pull/42",
            "refs/pull/42/other",
            "refs/pull/-1/merge",
            "refs/pull//merge",
            "refs/pull/+4/head",
        ] {
            assert_eq!(GitRef::parse(other), GitRef::Other(other), "{other}");
        }
    }

    #[test]
    fn numbers_are_plain_digits() {
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number(" 42"), None);
        assert_eq!(parse_number("+42"), None);
        assert_eq!(parse_number("false"), None);
        assert_eq!(parse_number("99999999999999999999999"), None);
    }

    #[test]
    fn merge_queue_branch() {
        let sha = "929f8209d40f77f4abc622a499c93a83babdbe64";
        let branch = format!("refs/heads/gh-readonly-queue/main/pr-104-{sha}");
        assert_eq!(
            MergeQueueBranch::parse(&branch),
            Some(MergeQueueBranch {
                base: "main",
                number: 104,
                sha
            })
        );
        let nested = format!("gh-readonly-queue/release/2.x/pr-7-{sha}");
        assert_eq!(
            MergeQueueBranch::parse(&nested).map(|b| (b.base, b.number)),
            Some(("release/2.x", 7))
        );
        for bad in [
            "main",
            "gh-readonly-queue/main",
            "gh-readonly-queue/main/pr-x-abc",
            "gh-readonly-queue/main/pr-1-",
            "gh-readonly-queue/main/pr-1-xyz",
            "gh-readonly-queue//pr-1-abc",
            "gh-readonly-queue/main/104-abc",
        ] {
            assert_eq!(MergeQueueBranch::parse(bad), None, "{bad}");
        }
    }
}
