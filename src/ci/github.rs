//! GitHub Actions (`GITHUB_ACTIONS=true`, checked after Forgejo and Gitea, which set it too).
//!
//! The SHA and pull-request number depend on the event (reference: `ci-environments.md` §4 and
//! `github.md` §10). `GITHUB_SHA` is never reported for a pull request: it is the synthetic
//! merge commit (`pull_request`) or the base tip (`pull_request_target`); it goes to
//! `run.checkout_sha` instead. No API is called here.
//!
//! The job URL is the run page, `{server}/{repo}/actions/runs/{GITHUB_RUN_ID}`: the environment
//! holds no job id, and only the REST API documents `…/runs/{id}/attempts/{n}`, not a web page,
//! so `GITHUB_RUN_ATTEMPT` is kept in `run.run_attempt` and left out of the URL.

use super::actions::{self, EventKind, PullRequestFacts};
use super::event::Payload;
use super::refs::{GitRef, MergeQueueBranch};
use super::{ChangeRequest, Ci, Context, Forge};
use crate::env::Env;

pub(crate) fn read(env: &Env) -> Context {
    let (mut ctx, payload) = actions::start(env, Ci::Github, Forge::Github, "GITHUB_RUN_ID");
    let payload = payload.as_ref();
    match EventKind::of(env, payload) {
        EventKind::PullRequest { .. } => {
            let pr = PullRequestFacts::read(env, payload);
            if pr.head_sha.is_none() {
                ctx.notes.push(
                    "the pull request's head commit is not in the event payload, and GITHUB_SHA \
                     is a merge or base commit: set `sha` to report on the head"
                        .to_owned(),
                );
            }
            let sha = pr.head_sha.clone();
            pr.apply(sha, &mut ctx);
        }
        EventKind::MergeGroup => merge_group(env, payload, &mut ctx),
        EventKind::WorkflowRun => workflow_run(payload, &mut ctx),
        EventKind::IssueComment => actions::issue_comment(env, payload, &mut ctx),
        EventKind::Other => actions::read_ref(env, &mut ctx),
    }
    actions::finish(env, &mut ctx);
    ctx
}

/// `merge_group`: the group's head commit on its `gh-readonly-queue/<base>/pr-<n>-<sha>` branch.
/// No change request: a group may batch several pull requests. The number in the branch name
/// (the group's tip) goes to `run.queued_change_request` for reporters that want it.
fn merge_group(env: &Env, payload: Option<&Payload>, ctx: &mut Context) {
    ctx.sha = payload
        .and_then(|p| p.string("/merge_group/head_sha"))
        .or_else(|| env.get("GITHUB_SHA").map(str::to_owned));
    let head_ref = payload
        .and_then(|p| p.str("/merge_group/head_ref"))
        .or_else(|| env.get("GITHUB_REF"));
    ctx.ref_name = head_ref
        .and_then(|r| GitRef::parse(r).name())
        .map(str::to_owned);
    ctx.run.queued_change_request = ctx
        .ref_name
        .as_deref()
        .and_then(MergeQueueBranch::parse)
        .map(|b| b.number);
}

/// `workflow_run`: this run reports on the run that triggered it, so the SHA and branch are the
/// triggering run's (`workflow_run.head_sha`, `workflow_run.head_branch`), never `GITHUB_SHA`
/// (the default branch's tip).
///
/// Change request (our choice, the reference leaves it open): the first entry of
/// `workflow_run.pull_requests`, when there is one, whatever the triggering event, since GitHub
/// only lists pull requests whose head matches the run. The list is empty for forks
/// (actions/runner#3444): when the triggering run was a pull request from another repository
/// (`head_repository` ≠ `repository`), the change request is recorded with an unknown number,
/// so reporters know it's a fork and can ask for `pr_number`.
fn workflow_run(payload: Option<&Payload>, ctx: &mut Context) {
    let Some(p) = payload else {
        ctx.notes.push(
            "workflow_run without its event payload: the triggering run's commit is unknown; \
             set `sha`"
                .to_owned(),
        );
        return;
    };
    ctx.sha = p.string("/workflow_run/head_sha");
    ctx.ref_name = p.string("/workflow_run/head_branch");
    let is_fork = match (
        p.str("/workflow_run/head_repository/full_name"),
        p.str("/workflow_run/repository/full_name"),
    ) {
        (Some(head), Some(base)) => Some(!head.eq_ignore_ascii_case(base)),
        _ => None,
    };
    let listed = p
        .get("/workflow_run/pull_requests")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if listed > 0 {
        if listed > 1 {
            ctx.notes.push(format!(
                "the triggering run lists {listed} pull requests; reporting on the first"
            ));
        }
        ctx.change_request = Some(ChangeRequest {
            number: p.number("/workflow_run/pull_requests/0/number"),
            source_branch: p.string("/workflow_run/pull_requests/0/head/ref"),
            target_branch: p.string("/workflow_run/pull_requests/0/base/ref"),
            is_fork,
        });
    } else if is_fork == Some(true)
        && p.str("/workflow_run/event")
            .is_some_and(|e| e.starts_with("pull_request"))
    {
        ctx.notes.push(
            "the triggering run is a pull request from a fork, whose number GitHub leaves out \
             of workflow_run.pull_requests: set `pr_number`"
                .to_owned(),
        );
        ctx.change_request = Some(ChangeRequest {
            number: None,
            source_branch: ctx.ref_name.clone(),
            target_branch: None,
            is_fork: Some(true),
        });
    }
}
