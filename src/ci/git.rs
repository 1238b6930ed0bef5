//! Stage 1, outside CI: the commit and branch of the git checkout ferry runs in, read from the
//! repository's files (`.git/HEAD`, the ref's loose file or `packed-refs`), from the working
//! directory upwards, and the repository's path from its `origin` remote (`.git/config`). A `.git` *file* (`gitdir: …`, a worktree or submodule) is followed, and a
//! worktree's branch refs are read from the repository it shares (`commondir`).
//!
//! Must not run `git`, read the process environment or write anything; the directory to start
//! from is a parameter. What cannot be read stays `None`: this is a convenience for local runs,
//! never a reason to fail.

use std::path::{Path, PathBuf};

use super::remote::Remote;
use crate::config::read::read_text;

/// The most bytes of `HEAD`, a loose ref, `commondir` or a `.git` file read.
const SMALL_FILE_LIMIT: u64 = 4 * 1024;

/// The most bytes of `packed-refs` read (a repository with many tags).
const PACKED_REFS_LIMIT: u64 = 32 * 1024 * 1024;

/// What the checkout's `HEAD` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Head {
    /// The commit checked out (`None` on a branch with no commit yet).
    pub(crate) sha: Option<String>,
    /// The branch (or tag) name, `None` when `HEAD` is detached.
    pub(crate) ref_name: Option<String>,
    pub(crate) is_tag: bool,
    /// `owner/name` of the `origin` remote (credentials in its URL are never kept).
    pub(crate) repository: Option<String>,
}

/// The `HEAD` of the git checkout holding `cwd` (or one of its parents), when there is one.
pub(crate) fn head(cwd: &Path) -> Option<Head> {
    let dirs = cwd.ancestors().find_map(git_dirs)?;
    let text = read_text(&dirs.git.join("HEAD"), SMALL_FILE_LIMIT).ok()?;
    let text = text.trim();
    if let Some(name) = text.strip_prefix("ref:") {
        let name = name.trim();
        if !safe_ref(name) {
            return None;
        }
        let (ref_name, is_tag) = match (
            name.strip_prefix("refs/heads/"),
            name.strip_prefix("refs/tags/"),
        ) {
            (Some(branch), _) => (branch, false),
            (None, Some(tag)) => (tag, true),
            (None, None) => (name, false),
        };
        return Some(Head {
            sha: resolve(&dirs, name),
            ref_name: Some(ref_name.to_string()),
            is_tag,
            repository: origin(&dirs),
        });
    }
    object_id(text).map(|sha| Head {
        sha: Some(sha),
        ref_name: None,
        is_tag: false,
        repository: origin(&dirs),
    })
}

/// The repository path of the `origin` remote in the shared `config` (`[remote "origin"]`,
/// `url = …`), as [`Remote`] reads it.
fn origin(dirs: &GitDirs) -> Option<String> {
    let config = read_text(&dirs.common.join("config"), SMALL_FILE_LIMIT).ok()?;
    let mut in_origin = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_origin = line.replace(char::is_whitespace, "") == "[remote\"origin\"]";
        } else if in_origin
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "url"
        {
            return Remote::parse(value).map(|r| r.path);
        }
    }
    None
}

/// A repository's directories: where `HEAD` is, and where the shared refs are (the same but for
/// a linked worktree).
struct GitDirs {
    git: PathBuf,
    common: PathBuf,
}

/// The git directories of a checkout whose top is `dir`, when `dir/.git` is one.
fn git_dirs(dir: &Path) -> Option<GitDirs> {
    let dot_git = dir.join(".git");
    let meta = std::fs::metadata(&dot_git).ok()?;
    let git = if meta.is_dir() {
        dot_git
    } else {
        let text = read_text(&dot_git, SMALL_FILE_LIMIT).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        dir.join(target)
    };
    let common = match read_text(&git.join("commondir"), SMALL_FILE_LIMIT) {
        Ok(text) if !text.trim().is_empty() => git.join(text.trim()),
        _ => git.clone(),
    };
    Some(GitDirs { git, common })
}

/// The commit `name` (`refs/heads/main`) points at: its loose file (the worktree's own, then the
/// shared one), else its line in `packed-refs`.
fn resolve(dirs: &GitDirs, name: &str) -> Option<String> {
    for base in [&dirs.git, &dirs.common] {
        if let Ok(text) = read_text(&base.join(name), SMALL_FILE_LIMIT) {
            return object_id(text.trim());
        }
    }
    let packed = read_text(&dirs.common.join("packed-refs"), PACKED_REFS_LIMIT).ok()?;
    packed
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with('^'))
        .find_map(|line| {
            let (id, line_name) = line.split_once(' ')?;
            (line_name.trim() == name).then(|| object_id(id)).flatten()
        })
}

/// `text` when it is an object id (40 hex digits for SHA-1, 64 for SHA-256), in lower case.
fn object_id(text: &str) -> Option<String> {
    let ok = matches!(text.len(), 40 | 64) && text.chars().all(|c| c.is_ascii_hexdigit());
    ok.then(|| text.to_ascii_lowercase())
}

/// Whether a symbolic ref names a ref inside the repository (`refs/…`, no `..`, no control
/// characters): a hostile `HEAD` cannot make ferry read a file elsewhere.
fn safe_ref(name: &str) -> bool {
    name.starts_with("refs/")
        && !name.chars().any(char::is_control)
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_branch_is_read_from_its_loose_ref_in_a_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join(".git/HEAD"), "ref: refs/heads/feature/x\n");
        write(
            &dir.path().join(".git/refs/heads/feature/x"),
            &format!("{SHA}\n"),
        );
        let sub = dir.path().join("app/web");
        std::fs::create_dir_all(&sub).unwrap();
        let head = head(&sub).unwrap();
        assert_eq!(head.sha.as_deref(), Some(SHA));
        assert_eq!(head.ref_name.as_deref(), Some("feature/x"));
        assert!(!head.is_tag);
        assert_eq!(head.repository, None);
    }

    #[test]
    fn the_repository_is_the_origin_remote_s_path_without_its_credentials() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join(".git/HEAD"), &format!("{SHA}\n"));
        for (url, repository) in [
            (
                "git@github.com:octo-org/octo-repo.git",
                "octo-org/octo-repo",
            ),
            (
                "https://user:s3cret@gitlab.example.com/group/sub/app.git",
                "group/sub/app",
            ),
        ] {
            write(
                &dir.path().join(".git/config"),
                &format!(
                    "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = git@x:other/repo.git\n[remote \"origin\"]\n\turl = {url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
                ),
            );
            let head = head(dir.path()).unwrap();
            assert_eq!(head.repository.as_deref(), Some(repository), "{url}");
        }
    }

    #[test]
    fn a_packed_ref_and_a_detached_head_are_read() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join(".git/HEAD"), "ref: refs/heads/main\n");
        write(
            &dir.path().join(".git/packed-refs"),
            &format!(
                "# pack-refs with: peeled fully-peeled sorted\n{} refs/heads/dev\n{SHA} refs/heads/main\n^{}\n",
                "f".repeat(40),
                "e".repeat(40)
            ),
        );
        assert_eq!(head(dir.path()).unwrap().sha.as_deref(), Some(SHA));
        write(
            &dir.path().join(".git/HEAD"),
            &format!("{}\n", SHA.to_uppercase()),
        );
        let detached = head(dir.path()).unwrap();
        assert_eq!(detached.sha.as_deref(), Some(SHA));
        assert_eq!(detached.ref_name, None);
    }

    #[test]
    fn a_worktree_s_git_file_is_followed_to_the_shared_refs() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main/.git");
        write(&main.join("refs/heads/topic"), &format!("{SHA}\n"));
        write(&main.join("worktrees/wt/HEAD"), "ref: refs/heads/topic\n");
        write(&main.join("worktrees/wt/commondir"), "../..\n");
        write(
            &dir.path().join("wt/.git"),
            "gitdir: ../main/.git/worktrees/wt\n",
        );
        let head = head(&dir.path().join("wt")).unwrap();
        assert_eq!(head.sha.as_deref(), Some(SHA));
        assert_eq!(head.ref_name.as_deref(), Some("topic"));
    }

    #[test]
    fn an_unborn_branch_a_tag_and_hostile_heads() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join(".git/HEAD"), "ref: refs/heads/main\n");
        let unborn = head(dir.path()).unwrap();
        assert_eq!(unborn.sha, None);
        assert_eq!(unborn.ref_name.as_deref(), Some("main"));
        write(&dir.path().join(".git/HEAD"), "ref: refs/tags/v1.2\n");
        write(&dir.path().join(".git/refs/tags/v1.2"), SHA);
        let tag = head(dir.path()).unwrap();
        assert!(tag.is_tag);
        assert_eq!(tag.ref_name.as_deref(), Some("v1.2"));
        for hostile in [
            "ref: ../../etc/passwd",
            "ref: refs/../../x",
            "not a sha",
            "",
        ] {
            write(&dir.path().join(".git/HEAD"), hostile);
            assert_eq!(head(dir.path()), None, "{hostile}");
        }
    }

    #[test]
    fn no_repository_is_none() {
        let dir = tempfile::tempdir().unwrap();
        // The temp dir's parents are not a checkout on any sane test machine; a child of it
        // surely holds none of its own.
        let none = dir.path().join("x");
        std::fs::create_dir_all(&none).unwrap();
        assert!(git_dirs(&none).is_none());
    }
}
