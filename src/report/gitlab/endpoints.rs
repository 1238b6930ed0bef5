//! The endpoints the `gitlab` crate does not have, written against its [`Endpoint`] trait:
//! reading and deleting one merge-request note (the crate has list, create and edit only), and
//! one page of a pageable list (the crate pages internally and hides `X-Next-Page`, which the
//! sticky-note search needs to stop at the first match).
//!
//! Paths and parameters follow GitLab's `doc/api/notes.md` ("Get single merge request note",
//! "Delete a merge request note") and `doc/api/rest/index.md` (offset pagination).

use std::borrow::Cow;

use gitlab::api::common::NameOrId;
use gitlab::api::{BodyError, Endpoint, Pageable, QueryParams, UrlBase};
use http::Method;

/// `GET /projects/:id/merge_requests/:merge_request_iid/notes/:note_id`
pub(crate) struct MergeRequestNote<'a> {
    pub(crate) project: NameOrId<'a>,
    pub(crate) merge_request: u64,
    pub(crate) note: u64,
}

impl Endpoint for MergeRequestNote<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        note_path(&self.project, self.merge_request, self.note).into()
    }
}

/// `DELETE /projects/:id/merge_requests/:merge_request_iid/notes/:note_id`
pub(crate) struct DeleteMergeRequestNote<'a> {
    pub(crate) project: NameOrId<'a>,
    pub(crate) merge_request: u64,
    pub(crate) note: u64,
}

impl Endpoint for DeleteMergeRequestNote<'_> {
    fn method(&self) -> Method {
        Method::DELETE
    }

    fn endpoint(&self) -> Cow<'static, str> {
        note_path(&self.project, self.merge_request, self.note).into()
    }
}

fn note_path(project: &NameOrId<'_>, merge_request: u64, note: u64) -> String {
    // `NameOrId` displays a path URL-encoded (`group%2Fproject`), as the crate's endpoints do.
    format!("projects/{project}/merge_requests/{merge_request}/notes/{note}")
}

/// Page `page` (1-based) of a pageable endpoint, `per_page` items at most (GitLab allows 100).
pub(crate) struct PageOf<'e, E> {
    pub(crate) inner: &'e E,
    pub(crate) number: u64,
    pub(crate) size: u64,
}

impl<E: Endpoint + Pageable> Endpoint for PageOf<'_, E> {
    fn method(&self) -> Method {
        self.inner.method()
    }

    fn endpoint(&self) -> Cow<'static, str> {
        self.inner.endpoint()
    }

    fn url_base(&self) -> UrlBase {
        self.inner.url_base()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = self.inner.parameters();
        params.push("page", self.number).push("per_page", self.size);
        params
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        self.inner.body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_documented_ones() {
        let get = MergeRequestNote {
            project: "group/project".into(),
            merge_request: 7,
            note: 1602,
        };
        assert_eq!(
            get.endpoint(),
            "projects/group%2Fproject/merge_requests/7/notes/1602"
        );
        assert_eq!(get.method(), Method::GET);
        let del = DeleteMergeRequestNote {
            project: 5_u64.into(),
            merge_request: 7,
            note: 1602,
        };
        assert_eq!(del.endpoint(), "projects/5/merge_requests/7/notes/1602");
        assert_eq!(del.method(), Method::DELETE);
    }
}
