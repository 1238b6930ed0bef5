//! `ferry demo`'s forge stand-in: at the end of the run, writes into a folder what the pull-request
//! comment (`comment.md`) and the job summary (`summary.md`) would say, so the whole experience
//! can be seen without a forge, a token or a network.
//!
//! Both files come from the same comment model the real reporters use ([`CommentBody`],
//! [`Summary`]), so the preview is the real thing, not a mock-up.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;

use super::comment::{CommentBody, GITHUB_COMMENT_LIMIT, GITLAB_NOTE_LIMIT, State};
use super::row::Row;
use super::summary::{GITHUB_SUMMARY_LIMIT, Summary};
use super::{Sink, Stamped};
use crate::ci::{Context, Forge};
use crate::error::{Error, Result};
use crate::platform::RunOutcome;

/// The file name of the comment preview.
pub(crate) const COMMENT_FILE: &str = "comment.md";
/// The file name of the summary preview.
pub(crate) const SUMMARY_FILE: &str = "summary.md";

/// Writes `comment.md` and `summary.md` into a folder at `finish`.
#[derive(Debug)]
pub struct Preview {
    dir: PathBuf,
    updated: Option<SystemTime>,
    written: Vec<PathBuf>,
}

impl Preview {
    /// A preview written into `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            updated: None,
            written: Vec::new(),
        }
    }

    /// Shows `time` as the row's "Updated" time instead of the time of `finish` (stable output).
    #[must_use]
    pub fn with_updated(mut self, time: SystemTime) -> Self {
        self.updated = Some(time);
        self
    }

    /// The folder written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files written by `finish` (empty before), comment first.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// The comment and the summary for `outcome`, as they would be posted.
    pub fn render(
        outcome: &RunOutcome,
        context: &Context,
        updated: SystemTime,
    ) -> (String, String) {
        let row = Row::from_outcome(outcome, context, updated);
        let limit = match context.forge {
            Some(Forge::Gitlab) => GITLAB_NOTE_LIMIT,
            _ => GITHUB_COMMENT_LIMIT,
        };
        let comment = CommentBody::new(State {
            rows: vec![row.clone()],
        })
        .render(limit);
        let summary = Summary::new(outcome, row).render(GITHUB_SUMMARY_LIMIT);
        (comment, summary)
    }
}

async fn write(path: PathBuf, text: &str) -> Result<PathBuf> {
    tokio::fs::write(&path, text)
        .await
        .map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
    Ok(path)
}

#[async_trait]
impl Sink for Preview {
    fn name(&self) -> &'static str {
        "preview"
    }

    async fn event(&mut self, _event: Stamped<'_>) -> Result<()> {
        Ok(())
    }

    async fn finish(&mut self, outcome: &RunOutcome, context: &Context) -> Result<()> {
        let updated = self.updated.unwrap_or_else(SystemTime::now);
        let (comment, summary) = Preview::render(outcome, context, updated);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|source| Error::Io {
                path: self.dir.display().to_string(),
                source,
            })?;
        let comment = write(self.dir.join(COMMENT_FILE), &comment).await?;
        self.written.push(comment);
        let summary = write(self.dir.join(SUMMARY_FILE), &summary).await?;
        self.written.push(summary);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[tokio::test]
    async fn writes_comment_and_summary() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut preview = Preview::new(dir.path().join("out")).with_updated(fixture::start());
        fixture::run(&mut preview, &fixture::failed_outcome()).await;
        let written = preview.written().to_vec();
        assert_eq!(
            written,
            [
                dir.path().join("out/comment.md"),
                dir.path().join("out/summary.md")
            ]
        );
        let comment = std::fs::read_to_string(&written[0]).unwrap_or_default();
        let state = CommentBody::parse(&comment).unwrap_or_default();
        assert_eq!(state.rows.len(), 1);
        assert_eq!(state.rows[0].environment, "review-42");
        assert_eq!(state.rows[0].commit.as_deref(), Some(fixture::SHA));
        let summary = std::fs::read_to_string(&written[1]).unwrap_or_default();
        insta::assert_snapshot!("summary_failed", summary);
    }

    #[test]
    fn summary_of_a_successful_run() {
        let (comment, summary) = Preview::render(
            &fixture::succeeded_outcome(),
            &fixture::context(),
            fixture::start(),
        );
        assert!(comment.starts_with("<!-- ferry:v1 -->\n"));
        insta::assert_snapshot!("summary_succeeded", summary);
    }

    #[tokio::test]
    async fn an_unwritable_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
        let mut preview = Preview::new(file.join("sub"));
        let err = preview
            .finish(&fixture::failed_outcome(), &fixture::context())
            .await;
        assert!(matches!(err, Err(Error::Io { .. })));
        assert!(preview.written().is_empty());
    }
}
