//! The human description of a [`Context`] printed by `ferry context` (without `--json`).
//!
//! Plain text, one fact per line, `unknown` where detection found nothing, then the notes.
//! Values come from the environment and payloads, so control characters are replaced: a crafted
//! variable must not drive the terminal.

use std::fmt::Write as _;

use super::Context;

impl Context {
    /// A short multi-line description, e.g.
    ///
    /// ```text
    /// CI: github (forge github, API https://api.github.com)
    /// repository: octo-org/octo-repo
    /// commit: ec26c3e57ca3a959ca5aad62de7213c562f8c821
    /// ref: changes (branch)
    /// change request: #2 changes → master (from a fork)
    /// job: https://github.com/octo-org/octo-repo/actions/runs/1658821493
    /// note: …
    /// ```
    pub fn describe(&self) -> String {
        let known = |value: Option<&str>| clean(value.unwrap_or("unknown"));
        let mut out = String::new();
        let forge = self.forge.map_or("unknown", |f| f.as_str());
        let _ = writeln!(
            out,
            "CI: {} (forge {forge}, API {})",
            self.ci.as_str(),
            known(self.api_url.as_deref())
        );
        let _ = writeln!(out, "repository: {}", known(self.repository.as_deref()));
        let _ = writeln!(out, "commit: {}", known(self.sha.as_deref()));
        match &self.ref_name {
            Some(name) => {
                let kind = if self.is_tag { "tag" } else { "branch" };
                let _ = writeln!(out, "ref: {} ({kind})", clean(name));
            }
            None => out.push_str("ref: unknown\n"),
        }
        match &self.change_request {
            Some(cr) => {
                let number = cr
                    .number
                    .map_or_else(|| "unknown".to_owned(), |n| format!("#{n}"));
                let fork = match cr.is_fork {
                    Some(true) => "from a fork",
                    Some(false) => "same repository",
                    None => "fork unknown",
                };
                let _ = writeln!(
                    out,
                    "change request: {number} {} → {} ({fork})",
                    known(cr.source_branch.as_deref()),
                    known(cr.target_branch.as_deref()),
                );
            }
            None => out.push_str("change request: none\n"),
        }
        let _ = writeln!(out, "job: {}", known(self.job_url.as_deref()));
        for note in &self.notes {
            let _ = writeln!(out, "note: {}", clean(note));
        }
        out
    }
}

/// Replaces control characters (escape sequences, newlines) with `�`.
fn clean(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{ChangeRequest, Ci, Forge};
    use super::*;

    #[test]
    fn local_is_all_unknown() {
        let text = Context::local().describe();
        assert_eq!(
            text,
            "CI: local (forge unknown, API unknown)\nrepository: unknown\ncommit: unknown\n\
             ref: unknown\nchange request: none\njob: unknown\n"
        );
    }

    #[test]
    fn describes_a_fork_pull_request() {
        let mut ctx = Context::empty(Ci::Github);
        ctx.forge = Some(Forge::Github);
        ctx.api_url = Some("https://api.github.com".to_owned());
        ctx.repository = Some("o/r".to_owned());
        ctx.sha = Some("abc".to_owned());
        ctx.ref_name = Some("feature".to_owned());
        ctx.change_request = Some(ChangeRequest {
            number: Some(42),
            source_branch: Some("feature".to_owned()),
            target_branch: Some("main".to_owned()),
            is_fork: Some(true),
        });
        ctx.job_url = Some("https://github.com/o/r/actions/runs/1".to_owned());
        ctx.notes.push("a note\x1b[31m".to_owned());
        let text = ctx.describe();
        assert!(text.starts_with("CI: github (forge github, API https://api.github.com)\n"));
        assert!(text.contains("ref: feature (branch)\n"));
        assert!(text.contains("change request: #42 feature → main (from a fork)\n"));
        assert!(text.contains("note: a note\u{fffd}[31m\n"));
        assert!(!text.contains('\x1b'));
    }
}
