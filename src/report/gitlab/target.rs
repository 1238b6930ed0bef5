//! Where a GitLab report goes: the commit status's project, commit and pipeline, and the merge
//! request whose note ferry keeps (resolved from the context, explicit settings first).
//!
//! Rules (`gitlab.md` §3, §6; GitLab's `app/services/ci/create_commit_status_service.rb`):
//!
//! - The status is attached to this pipeline with `pipeline_id` and **no `ref`** (in merge-request
//!   pipelines the ref is `refs/merge-requests/<iid>/head`; `ref` + `pipeline_id` gives 404).
//!   GitLab looks the pipeline up by `sha` **and** id, so the commit must be the pipeline's own
//!   (`CI_COMMIT_SHA`): in merged-results and merge-train pipelines that is the temporary merge
//!   commit, not the source-branch head shown in the note. An explicit `sha` setting that is not
//!   the pipeline's commit is sent without `pipeline_id` (GitLab then picks that commit's newest
//!   pipeline, or creates an external one).
//! - The status goes to the project the pipeline runs in (`CI_PROJECT_ID`); the note to the
//!   merge request's project (`CI_MERGE_REQUEST_PROJECT_ID`), which differs for fork MRs.
//! - The MR is `pr_number`, else `CI_MERGE_REQUEST_IID`, else (branch pipelines) an item of
//!   `CI_OPEN_MERGE_REQUESTS` in this project, else an API look-up by commit. External
//!   pull-request pipelines have a GitHub pull request, not a merge request: no note.

use gitlab::api::common::NameOrId;

use crate::ci::Context;
use crate::plan::Subject;

/// A project as the API takes it: its numeric id when known, else its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProjectRef {
    Id(u64),
    Path(String),
}

impl ProjectRef {
    /// From a `CI_*_PROJECT_ID`-style value (digits) or a path.
    pub(crate) fn parse(text: &str) -> Self {
        match text.trim().parse::<u64>() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(text.trim().to_string()),
        }
    }

    /// For the `gitlab` crate's endpoint builders.
    pub(crate) fn name_or_id(&self) -> NameOrId<'_> {
        match self {
            ProjectRef::Id(id) => NameOrId::Id(*id),
            ProjectRef::Path(p) => NameOrId::Name(p.as_str().into()),
        }
    }
}

/// Where the commit status goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusTarget {
    pub(crate) project: ProjectRef,
    pub(crate) sha: String,
    pub(crate) pipeline_id: Option<u64>,
}

/// The merge request that gets the note, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NoteTarget {
    /// This MR.
    MergeRequest { project: ProjectRef, iid: u64 },
    /// Ask the API which open MR has this commit (a branch pipeline).
    LookUp {
        project: ProjectRef,
        sha: String,
        branch: Option<String>,
    },
    /// No MR: a normal case (a push to the default branch, a tag), with the reason for `-v`.
    None(&'static str),
    /// A merge-request pipeline whose IID ferry cannot use: a warning.
    Invalid(String),
}

/// The commit the note's row shows: `sha` setting, else the head the author pushed.
pub(crate) fn head_sha(subject: &Subject) -> Option<String> {
    subject.sha.clone()
}

/// Where the commit status goes, when the project and commit are known.
pub(crate) fn status_target(subject: &Subject, context: &Context) -> Option<StatusTarget> {
    let project = context
        .run
        .project_id
        .as_deref()
        .or(context.repository.as_deref())
        .map(ProjectRef::parse)?;
    // The pipeline's own commit: CI_COMMIT_SHA (kept as `checkout_sha` when it is a merge commit).
    let pipeline_sha = context
        .run
        .checkout_sha
        .clone()
        .or_else(|| context.sha.clone());
    let sha = subject
        .explicit_sha
        .clone()
        .or_else(|| pipeline_sha.clone())?;
    let pipeline_id = context
        .run
        .run_id
        .as_deref()
        .and_then(|id| id.trim().parse::<u64>().ok())
        .filter(|_| pipeline_sha.as_deref() == Some(sha.as_str()));
    Some(StatusTarget {
        project,
        sha,
        pipeline_id,
    })
}

/// Which merge request gets the note.
pub(crate) fn note_target(subject: &Subject, context: &Context) -> NoteTarget {
    let mr_project = context
        .run
        .change_request_project_id
        .as_deref()
        .or(context.run.project_id.as_deref())
        .or(context.repository.as_deref())
        .map(ProjectRef::parse);
    if let Some(iid) = subject.explicit_pr {
        return match mr_project {
            Some(project) => NoteTarget::MergeRequest { project, iid },
            None => NoteTarget::Invalid(
                "`pr_number` is set but the project is unknown (CI_PROJECT_ID is not set)".into(),
            ),
        };
    }
    if let Some(repo) = &context.run.external_repository {
        let _ = repo;
        return NoteTarget::None("external pull-request pipeline: the pull request is on GitHub");
    }
    if let Some(cr) = &context.change_request {
        return match (cr.number, mr_project) {
            (Some(iid), Some(project)) => NoteTarget::MergeRequest { project, iid },
            (None, _) => NoteTarget::Invalid(
                "this merge-request pipeline has no usable CI_MERGE_REQUEST_IID (it is missing or not a number); set `pr_number` (FERRY_PR_NUMBER) to the MR's IID".into(),
            ),
            (Some(_), None) => NoteTarget::Invalid(
                "the merge request's project is unknown (CI_MERGE_REQUEST_PROJECT_ID is not set)".into(),
            ),
        };
    }
    if context.is_tag {
        return NoteTarget::None("tag pipeline");
    }
    let Some(project) = mr_project else {
        return NoteTarget::None("the project is unknown");
    };
    // CI_OPEN_MERGE_REQUESTS: `group/project!iid`, up to 4, possibly from other projects.
    let here = context.repository.as_deref().unwrap_or_default();
    let listed = context.run.open_change_requests.iter().find_map(|item| {
        let (path, iid) = item.rsplit_once('!')?;
        let iid = iid.trim().parse::<u64>().ok()?;
        (here.is_empty() || path.eq_ignore_ascii_case(here)).then_some(iid)
    });
    if let Some(iid) = listed {
        return NoteTarget::MergeRequest { project, iid };
    }
    match head_sha(subject) {
        Some(sha) => NoteTarget::LookUp {
            project,
            sha,
            branch: context.ref_name.clone(),
        },
        None => NoteTarget::None("the commit is unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{ChangeRequest, Ci, Forge};
    use crate::config::{RawSettings, Settings};
    use std::path::PathBuf;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const MERGE: &str = "2222222222222222222222222222222222222222";

    /// The subject of a run with neither `pr_number` nor `sha` set, in context `c`.
    fn detected(c: &Context) -> Subject {
        let settings =
            Settings::validate(&RawSettings::default(), PathBuf::from("ferry.toml")).unwrap();
        Subject::decide(&settings, c)
    }

    fn mr_context() -> Context {
        let mut c = Context::empty(Ci::Gitlab);
        c.forge = Some(Forge::Gitlab);
        c.repository = Some("acme/shop".into());
        c.sha = Some(HEAD.into());
        c.run.project_id = Some("42".into());
        c.run.change_request_project_id = Some("42".into());
        c.run.run_id = Some("9001".into());
        c.change_request = Some(ChangeRequest {
            number: Some(7),
            ..ChangeRequest::default()
        });
        c
    }

    #[test]
    fn a_merge_request_pipeline_reports_to_its_pipeline_and_mr() {
        let c = mr_context();
        assert_eq!(
            status_target(&detected(&c), &c),
            Some(StatusTarget {
                project: ProjectRef::Id(42),
                sha: HEAD.into(),
                pipeline_id: Some(9001)
            })
        );
        assert_eq!(
            note_target(&detected(&c), &c),
            NoteTarget::MergeRequest {
                project: ProjectRef::Id(42),
                iid: 7
            }
        );
    }

    #[test]
    fn merged_results_put_the_status_on_the_pipelines_merge_commit() {
        let mut c = mr_context();
        c.run.checkout_sha = Some(MERGE.into());
        let t = status_target(&detected(&c), &c).unwrap();
        assert_eq!(t.sha, MERGE);
        assert_eq!(t.pipeline_id, Some(9001));
        assert_eq!(head_sha(&detected(&c)).as_deref(), Some(HEAD));
    }

    #[test]
    fn an_explicit_other_sha_goes_without_pipeline_id() {
        let c = mr_context();
        let mut s = detected(&c);
        s.explicit_sha = Some("3333333333333333333333333333333333333333".into());
        s.sha.clone_from(&s.explicit_sha);
        let t = status_target(&s, &c).unwrap();
        assert_eq!(t.pipeline_id, None);
    }

    #[test]
    fn fork_mrs_get_the_note_in_the_target_project() {
        let mut c = mr_context();
        c.run.project_id = Some("99".into());
        assert_eq!(
            status_target(&detected(&c), &c).unwrap().project,
            ProjectRef::Id(99)
        );
        assert!(matches!(
            note_target(&detected(&c), &c),
            NoteTarget::MergeRequest {
                project: ProjectRef::Id(42),
                iid: 7
            }
        ));
    }

    #[test]
    fn branch_pipelines_use_the_open_list_then_the_api() {
        let mut c = mr_context();
        c.change_request = None;
        c.run.change_request_project_id = None;
        c.run.open_change_requests = vec!["other/repo!3".into(), "acme/shop!12".into()];
        assert!(matches!(
            note_target(&detected(&c), &c),
            NoteTarget::MergeRequest { iid: 12, .. }
        ));
        c.run.open_change_requests.clear();
        assert!(matches!(
            note_target(&detected(&c), &c),
            NoteTarget::LookUp { .. }
        ));
        c.is_tag = true;
        assert!(matches!(
            note_target(&detected(&c), &c),
            NoteTarget::None(_)
        ));
    }

    #[test]
    fn explicit_pr_number_wins_and_bad_iids_are_named() {
        let c = mr_context();
        let mut s = detected(&c);
        s.explicit_pr = Some(5);
        s.pr_number = Some(5);
        assert!(matches!(
            note_target(&s, &c),
            NoteTarget::MergeRequest { iid: 5, .. }
        ));
        let mut c = mr_context();
        c.change_request = Some(ChangeRequest::default());
        match note_target(&detected(&c), &c) {
            NoteTarget::Invalid(m) => assert!(m.contains("CI_MERGE_REQUEST_IID"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn external_pull_requests_get_no_note() {
        let mut c = mr_context();
        c.run.external_repository = Some("acme/shop-gh".into());
        assert!(matches!(
            note_target(&detected(&c), &c),
            NoteTarget::None(_)
        ));
    }
}
