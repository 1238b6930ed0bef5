//! The sticky merge-request note: one note per MR holding the shared multi-environment table
//! ([`CommentBody`]), found by ferry's hidden marker **and** its author (`GET /user`), across all
//! pages (Danger once duplicated notes by reading page 1 only), written with the same
//! concurrency rule as the GitHub comment: re-read right before writing, merge, write, then read
//! back and re-merge if another job's write replaced ours.
//!
//! The search lists notes oldest first (`sort=asc`, `order_by=created_at`, 100 a page) and stops
//! at the first match: the oldest ferry note of this author is the canonical one, so a usual MR
//! costs one page. When ferry had to create the note, it lists every page once more to catch a
//! note another job created at the same moment: all such notes are merged into the oldest and the
//! newer ones deleted, so concurrent first deploys end with one note holding every row.
//!
//! What is not possible with GitLab's API: a conditional update (no `If-Match` on notes). A job
//! whose read→write spans another job's whole write-and-check could still drop that job's row; the
//! read-back after a short random pause makes that window a few milliseconds of network time.

use std::time::Duration;

use gitlab::api::common::SortOrder;
use gitlab::api::projects::merge_requests::notes::{
    CreateMergeRequestNote, EditMergeRequestNote, MergeRequestNotes, NoteOrderBy,
};
use gitlab::api::projects::repository::commits::MergeRequests;
use gitlab::api::users::CurrentUser;
use serde::Deserialize;

use super::client::{Failure, GitlabClient, NextPage};
use super::endpoints::{DeleteMergeRequestNote, MergeRequestNote, PageOf};
use super::target::ProjectRef;
use crate::config::CommentMode;
use crate::report::{CommentBody, GITLAB_NOTE_LIMIT, Row, State};

/// GitLab's largest page.
const PER_PAGE: u64 = 100;
/// Pages read at most while searching (10 000 notes).
const MAX_PAGES: u64 = 100;
/// Write-and-check rounds before giving up.
const ROUNDS: usize = 4;

/// A note as GitLab lists it (`doc/api/notes.md`); only what ferry reads.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Note {
    pub(crate) id: u64,
    pub(crate) body: String,
    pub(crate) author: Author,
    #[serde(default)]
    pub(crate) system: bool,
}

/// A note's author, or the token's user.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Author {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) username: String,
}

/// A merge request as `commits/:sha/merge_requests` lists it; only what ferry reads.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MergeRequest {
    pub(crate) iid: u64,
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) source_branch: String,
    #[serde(default)]
    pub(crate) target_project_id: Option<u64>,
}

/// The note writer for one merge request.
pub(crate) struct Notes<'c> {
    pub(crate) client: &'c GitlabClient,
    pub(crate) project: ProjectRef,
    pub(crate) iid: u64,
    /// A pause before reading back, randomised per call (tests may set it to zero).
    pub(crate) settle: fn() -> Duration,
}

/// The pause before reading a written note back: 150–450 ms, random so that concurrent jobs do
/// not check in lock step.
pub(crate) fn settle() -> Duration {
    Duration::from_millis(150 + rand::random::<u64>() % 300)
}

/// The token's user (`GET /user`), whose notes are ferry's.
pub(crate) async fn current_user(client: &GitlabClient) -> Result<Author, Failure> {
    client
        .call::<Author, _>(&CurrentUser::builder().build().map_err(|e| bug(&e))?)
        .await
}

/// The open merge request of `sha` in `project` (a branch pipeline): the one whose source
/// branch is `branch` when several are open, else the newest.
pub(crate) async fn open_merge_request(
    client: &GitlabClient,
    project: &ProjectRef,
    sha: &str,
    branch: Option<&str>,
) -> Result<Option<u64>, Failure> {
    let endpoint = MergeRequests::builder()
        .project(project.name_or_id())
        .sha(sha)
        .build()
        .map_err(|e| bug(&e))?;
    let mrs: Vec<MergeRequest> = client.call(&endpoint).await?;
    let here = match project {
        ProjectRef::Id(id) => Some(*id),
        ProjectRef::Path(_) => None,
    };
    let mut open: Vec<&MergeRequest> = mrs
        .iter()
        .filter(|m| m.state == "opened")
        .filter(|m| here.is_none() || m.target_project_id.is_none() || m.target_project_id == here)
        .collect();
    open.sort_by_key(|m| std::cmp::Reverse(m.iid));
    Ok(open
        .iter()
        .find(|m| Some(m.source_branch.as_str()) == branch)
        .or(open.first())
        .map(|m| m.iid))
}

fn bug(e: &dyn std::error::Error) -> Failure {
    Failure {
        method: "-".into(),
        url: "-".into(),
        status: None,
        message: format!("ferry built an invalid request: {e}"),
        hint: Some(crate::error::BUG_FIX.into()),
    }
}

impl Notes<'_> {
    /// Writes `row` in the mode asked for.
    pub(crate) async fn write(
        &self,
        mode: CommentMode,
        me: Option<&Author>,
        row: &Row,
    ) -> Result<(), Failure> {
        match (mode, me) {
            (CommentMode::Off, _) => Ok(()),
            (CommentMode::New, _) => {
                let mut state = State::default();
                state.upsert(row.clone());
                let (body, _) = CommentBody::new(state).render_fitted(GITLAB_NOTE_LIMIT);
                self.create(&body).await.map(drop)
            }
            (CommentMode::Update, Some(me)) => self.upsert(me, row).await,
            (CommentMode::Update, None) => Err(bug(&std::fmt::Error)),
        }
    }

    /// The sticky update: see the module docs.
    async fn upsert(&self, me: &Author, row: &Row) -> Result<(), Failure> {
        for _ in 0..ROUNDS {
            let done = match self.find(me, true).await?.into_iter().next() {
                Some(note) => self.update(&note, row).await?,
                None => self.create_first(me, row).await?,
            };
            if done {
                return Ok(());
            }
        }
        Err(Failure {
            method: "PUT".into(),
            url: format!("merge request !{} notes", self.iid),
            status: None,
            message: format!(
                "the note kept being rewritten by other jobs; the row of {:?} may be missing",
                row.environment
            ),
            hint: Some("re-run the job; if it keeps happening, report it with the job log".into()),
        })
    }

    /// Merges `row` into `note`, writes it, reads it back: true when it holds the row.
    async fn update(&self, note: &Note, row: &Row) -> Result<bool, Failure> {
        let env = row.environment.as_str();
        let mut state = CommentBody::parse(&note.body).unwrap_or_default();
        state.upsert(row.clone());
        let (body, stored) = CommentBody::new(state).render_fitted(GITLAB_NOTE_LIMIT);
        match self.edit(note.id, &body).await {
            Err(f) if f.status == Some(404) => return Ok(false), // deleted meanwhile
            other => other?,
        }
        tokio::time::sleep((self.settle)()).await;
        match self.get(note.id).await {
            Ok(back) => Ok(holds(&back.body, env, stored.row(env))),
            Err(f) if f.status == Some(404) => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// Creates the note, then looks for notes other jobs created meanwhile and folds them into
    /// the oldest: true when ours is the only one and holds the row.
    async fn create_first(&self, me: &Author, row: &Row) -> Result<bool, Failure> {
        let env = row.environment.as_str();
        let mut state = State::default();
        state.upsert(row.clone());
        let (body, stored) = CommentBody::new(state).render_fitted(GITLAB_NOTE_LIMIT);
        let created = self.create(&body).await?;
        tokio::time::sleep((self.settle)()).await;
        let mine = self.find(me, false).await?;
        if let [only] = mine.as_slice()
            && only.id == created.id
            && holds(&only.body, env, stored.row(env))
        {
            return Ok(true);
        }
        if mine.len() > 1 {
            self.fold(&mine, row).await?;
        }
        Ok(false)
    }

    /// Merges duplicates (`notes`, oldest first) into the oldest and deletes the others.
    async fn fold(&self, notes: &[Note], row: &Row) -> Result<(), Failure> {
        let Some((keep, others)) = notes.split_first() else {
            return Ok(());
        };
        let mut state = CommentBody::parse(&keep.body).unwrap_or_default();
        for n in others {
            state.merge(CommentBody::parse(&n.body).unwrap_or_default());
        }
        if state
            .row(&row.environment)
            .is_none_or(|r| r.updated < row.updated)
        {
            state.upsert(row.clone());
        }
        let (body, _) = CommentBody::new(state).render_fitted(GITLAB_NOTE_LIMIT);
        match self.edit(keep.id, &body).await {
            Err(f) if f.status == Some(404) => return Ok(()),
            other => other?,
        }
        for n in others {
            match self.delete(n.id).await {
                Err(f) if f.status != Some(404) => return Err(f),
                _ => {}
            }
        }
        Ok(())
    }

    /// ferry's notes by `me`, oldest first; only the first one when `first_only`.
    async fn find(&self, me: &Author, first_only: bool) -> Result<Vec<Note>, Failure> {
        let list = MergeRequestNotes::builder()
            .project(self.project.name_or_id())
            .merge_request(self.iid)
            .order_by(NoteOrderBy::CreatedAt)
            .sort(SortOrder::Ascending)
            .build()
            .map_err(|e| bug(&e))?;
        let mut found = Vec::new();
        let mut page = 1;
        while page <= MAX_PAGES {
            let notes: Vec<Note> = self
                .client
                .call(&PageOf {
                    inner: &list,
                    number: page,
                    size: PER_PAGE,
                })
                .await?;
            let count = notes.len();
            found.extend(notes.into_iter().filter(|n| is_ours(n, me)));
            if first_only && !found.is_empty() {
                break;
            }
            // `X-Next-Page` names the next page and is empty on the last one. Without the header
            // (lists over 10 000 items, a proxy that strips it) a full page means "maybe more".
            match self.client.next_page() {
                NextPage::Page(next) if next > page => page = next,
                NextPage::Unknown if count as u64 >= PER_PAGE => page += 1,
                _ => break,
            }
        }
        Ok(found)
    }

    async fn get(&self, note: u64) -> Result<Note, Failure> {
        self.client
            .call(&MergeRequestNote {
                project: self.project.name_or_id(),
                merge_request: self.iid,
                note,
            })
            .await
    }

    async fn create(&self, body: &str) -> Result<Note, Failure> {
        let endpoint = CreateMergeRequestNote::builder()
            .project(self.project.name_or_id())
            .merge_request(self.iid)
            .body(body)
            .build()
            .map_err(|e| bug(&e))?;
        self.client.call(&endpoint).await.map_err(explain)
    }

    async fn edit(&self, note: u64, body: &str) -> Result<(), Failure> {
        let endpoint = EditMergeRequestNote::builder()
            .project(self.project.name_or_id())
            .merge_request(self.iid)
            .note(note)
            .body(body)
            .build()
            .map_err(|e| bug(&e))?;
        self.client
            .call::<Note, _>(&endpoint)
            .await
            .map(drop)
            .map_err(explain)
    }

    async fn delete(&self, note: u64) -> Result<(), Failure> {
        self.client
            .call_ignore(&DeleteMergeRequestNote {
                project: self.project.name_or_id(),
                merge_request: self.iid,
                note,
            })
            .await
    }
}

/// A ferry note of this author: not a system note, ferry's marker, written by `me`.
fn is_ours(note: &Note, me: &Author) -> bool {
    !note.system && note.author.id == me.id && CommentBody::has_marker(&note.body)
}

/// True when `body` shows exactly `row` for `env` (what this job wrote, as stored).
fn holds(body: &str, env: &str, row: Option<&Row>) -> bool {
    CommentBody::parse(body).is_some_and(|s| s.row(env) == row)
}

fn explain(f: Failure) -> Failure {
    let hint = match f.status {
        Some(401) => "the token is not valid (expired or revoked?): create a project access token with the `api` scope and role Developer, and store it as the masked CI/CD variable FERRY_TOKEN".to_string(),
        Some(404) => "GitLab does not know this merge request for the token: check `pr_number` and that the token's user can see the project".into(),
        _ => return f,
    };
    f.with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = include_str!("../../../tests/fixtures/gitlab-api/merge_request_note.json");
    const NOTES: &str = include_str!("../../../tests/fixtures/gitlab-api/notes_list.json");
    const USER: &str = include_str!("../../../tests/fixtures/gitlab-api/current_user.json");
    const MRS: &str = include_str!("../../../tests/fixtures/gitlab-api/commit_merge_requests.json");

    #[test]
    fn documented_responses_parse() {
        let n: Note = serde_json::from_str(NOTE).unwrap();
        assert_eq!((n.id, n.author.id, n.system), (301, 1, false));
        assert_eq!(n.body, "Comment for MR");
        let list: Vec<Note> = serde_json::from_str(NOTES).unwrap();
        assert_eq!(list.iter().map(|n| n.id).collect::<Vec<_>>(), [302, 305]);
        assert!(list.iter().all(|n| n.system));
        let me: Author = serde_json::from_str(USER).unwrap();
        assert_eq!((me.id, me.username.as_str()), (1, "john_smith"));
        let mrs: Vec<MergeRequest> = serde_json::from_str(MRS).unwrap();
        assert_eq!(mrs[0].iid, 1);
        assert_eq!(mrs[0].state, "opened");
        assert_eq!(mrs[0].source_branch, "test-branch");
        assert_eq!(mrs[0].target_project_id, Some(35));
    }

    fn note(id: u64, author: u64, body: &str, system: bool) -> Note {
        Note {
            id,
            body: body.into(),
            author: Author {
                id: author,
                username: String::new(),
            },
            system,
        }
    }

    #[test]
    fn ours_needs_the_marker_the_author_and_no_system_flag() {
        let me = Author {
            id: 7,
            username: "ferry-bot".into(),
        };
        let body = CommentBody::default().render(GITLAB_NOTE_LIMIT);
        assert!(is_ours(&note(1, 7, &body, false), &me));
        assert!(
            !is_ours(&note(2, 8, &body, false), &me),
            "a look-alike by another user"
        );
        assert!(!is_ours(&note(3, 7, &body, true), &me));
        assert!(!is_ours(&note(4, 7, "hello", false), &me));
    }
}
