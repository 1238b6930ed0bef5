//! The one sticky pull-request comment: found by its hidden marker **and** its author across all
//! pages, one row per environment, rows merged so that concurrent jobs lose none.
//!
//! The body is the shared comment model ([`CommentBody`]): a table plus the rows as an invisible
//! state, so a job only replaces its own environment's row. GitHub has no conditional update for
//! comments, so concurrency is handled by writing, then reading back:
//!
//! - **update**: after `PATCH`, wait a moment (a random 250–750 ms, longer than another job's
//!   read-to-write gap) and read the comment again; if another job's write removed or aged
//!   this job's row, merge it back in and write again (a few rounds at most). Each writer checks
//!   its own row after its own write, so the last writer always leaves every row it read plus
//!   its own, and the earlier writers repair theirs;
//! - **create**: two jobs that found no comment both create one. After `POST`, the pages from the
//!   last one seen are read again; when an older ferry comment by the same author exists, this
//!   job merges its row into it and deletes its own, so one comment remains.
//!
//! Comments by anyone else, marker or not, are never touched (the marker can be copied; the
//! author cannot). The body is always within GitHub's 65,536-character limit ([`super::super::fit`]).
//!
//! Calls, one page of comments: update = list + `PATCH` + read back (3); create = list + `POST` +
//! list again (3).

use std::time::Duration;

use serde_json::{Value, json};

use super::client::{Client, GITHUB};
use super::identity::Identity;
use super::target::Repo;
use crate::error::{Error, Result};
use crate::net::Replay;
use crate::report::comment::{CommentBody, GITHUB_COMMENT_LIMIT, State};
use crate::report::row::Row;

/// Comments per page (GitHub's maximum).
const PER_PAGE: u32 = 100;
/// Pages read at most (10,000 comments).
const MAX_PAGES: u32 = 100;
/// Write-and-check rounds at most before giving up with a warning.
const ROUNDS: usize = 4;

/// A ferry comment found on the pull request.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) id: u64,
    pub(crate) body: String,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) id: u64,
    pub(crate) url: Option<String>,
    pub(crate) created: bool,
}

/// The sticky comment of one pull request.
pub(crate) struct Sticky<'a> {
    pub(crate) client: &'a Client,
    pub(crate) repo: &'a Repo,
    pub(crate) pr: u64,
    pub(crate) identity: &'a Identity,
    /// The wait before reading back (random when `None`).
    pub(crate) settle: Option<Duration>,
}

impl Sticky<'_> {
    /// Puts `row` into the sticky comment (creating it if needed).
    pub(crate) async fn upsert(&self, row: &Row) -> Result<Written> {
        let (mine, last_page) = self.find(1).await?;
        match mine.into_iter().next() {
            Some(found) => {
                let state = CommentBody::parse(&found.body).unwrap_or_default();
                let url = self.write_and_check(found.id, state, row).await?;
                Ok(Written {
                    id: found.id,
                    url,
                    created: false,
                })
            }
            None => self.create(row, last_page).await,
        }
    }

    /// A new comment holding only `row` (comment mode `new`).
    pub(crate) async fn post_new(&self, row: &Row) -> Result<Written> {
        let (body, _) = CommentBody::new(State {
            rows: vec![row.clone()],
        })
        .render_fitted(GITHUB_COMMENT_LIMIT);
        let r = self
            .client
            .post(
                &self.comments_path(),
                &json!({ "body": body }),
                Replay::Never,
            )
            .await?;
        Ok(Written {
            id: self.id_of(&r.body, &self.comments_path())?,
            url: r.body["html_url"].as_str().map(str::to_owned),
            created: true,
        })
    }

    async fn create(&self, row: &Row, last_page: u32) -> Result<Written> {
        let written = self.post_new(row).await?;
        self.settle().await;
        // Another job may have created one meanwhile: the oldest wins.
        let (mine, _) = self.find(last_page).await?;
        let Some(older) = mine.into_iter().find(|f| f.id < written.id) else {
            return Ok(written);
        };
        let state = CommentBody::parse(&older.body).unwrap_or_default();
        let url = self.write_and_check(older.id, state, row).await?;
        self.client.delete(&self.comment_path(written.id)).await?;
        Ok(Written {
            id: older.id,
            url,
            created: false,
        })
    }

    /// Writes `state` + `row` into comment `id`, then reads it back until the row is there.
    async fn write_and_check(
        &self,
        id: u64,
        mut state: State,
        row: &Row,
    ) -> Result<Option<String>> {
        let mut url = None;
        for _ in 0..ROUNDS {
            put(&mut state, row.clone());
            let (body, _) = CommentBody::new(state).render_fitted(GITHUB_COMMENT_LIMIT);
            let r = self
                .client
                .patch(&self.comment_path(id), &json!({ "body": body }))
                .await?;
            url = r.body["html_url"].as_str().map(str::to_owned).or(url);
            self.settle().await;
            let now = self.client.get(&self.comment_path(id)).await?;
            let text = now.body["body"].as_str().unwrap_or_default();
            state = CommentBody::parse(text).unwrap_or_default();
            if holds(&state, row) {
                return Ok(url);
            }
            tracing::debug!(id, "another job overwrote the comment; merging again");
        }
        Err(Error::BadResponse {
            platform: GITHUB.into(),
            url: self.client.url(&self.comment_path(id)),
            problem: format!(
                "other jobs kept overwriting the comment; the row of {} may be missing",
                row.environment
            ),
            hint: "run the deploy again, or set `comment = \"new\"` for one comment per run".into(),
        })
    }

    /// Ferry's comments by this identity, oldest first, reading every page from `first`; and the
    /// last page number read.
    async fn find(&self, first: u32) -> Result<(Vec<Found>, u32)> {
        let mut mine = Vec::new();
        let mut page = first.max(1);
        loop {
            let path = format!("{}?per_page={PER_PAGE}&page={page}", self.comments_path());
            let r = self.client.get(&path).await?;
            let list = r.body.as_array().cloned().unwrap_or_default();
            for c in &list {
                let body = c["body"].as_str().unwrap_or_default();
                let author = c["user"]["login"].as_str().unwrap_or_default();
                if CommentBody::has_marker(body)
                    && self.identity.matches(author)
                    && let Some(id) = c["id"].as_u64()
                {
                    mine.push(Found {
                        id,
                        body: body.to_owned(),
                    });
                }
            }
            // Follow `Link: rel="next"`, but on the documented path: GitHub's links use
            // `/repositories/{id}/…`, which is the same list.
            if r.next_page().is_none() || list.is_empty() || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        mine.sort_by_key(|f| f.id);
        Ok((mine, page))
    }

    async fn settle(&self) {
        let wait = self
            .settle
            .unwrap_or_else(|| Duration::from_millis(250 + rand::random::<u64>() % 500));
        tokio::time::sleep(wait).await;
    }

    fn comments_path(&self) -> String {
        self.repo.path(&format!("/issues/{}/comments", self.pr))
    }

    fn comment_path(&self, id: u64) -> String {
        self.repo.path(&format!("/issues/comments/{id}"))
    }

    fn id_of(&self, body: &Value, path: &str) -> Result<u64> {
        body["id"].as_u64().ok_or_else(|| Error::BadResponse {
            platform: GITHUB.into(),
            url: self.client.url(path),
            problem: "the new comment has no id".into(),
            hint: "check GITHUB_API_URL points at GitHub's REST API".into(),
        })
    }
}

/// Puts `row` in, unless the comment already holds a newer row for its environment.
fn put(state: &mut State, row: Row) {
    match state.row(&row.environment) {
        Some(existing) if existing.updated > row.updated => {}
        _ => state.upsert(row),
    }
}

/// True when `state` holds `row` or a newer row of its environment.
fn holds(state: &State, row: &Row) -> bool {
    state
        .row(&row.environment)
        .is_some_and(|r| r.updated >= row.updated)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::report::row::RowStatus;

    fn row(env: &str, secs: u64) -> Row {
        Row::new(
            env,
            RowStatus::Ready,
            UNIX_EPOCH + Duration::from_secs(secs),
        )
    }

    #[test]
    fn a_newer_row_is_never_replaced_by_an_older_one() {
        let mut state = State::default();
        put(&mut state, row("a", 10));
        put(&mut state, row("a", 5));
        assert!(holds(&state, &row("a", 10)));
        put(&mut state, row("b", 1));
        assert_eq!(state.rows.len(), 2);
        assert!(!holds(&state, &row("c", 1)));
    }
}
