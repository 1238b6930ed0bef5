//! Which CI are we in: the vendor markers, checked in a fixed order, then the provider's rules.
//!
//! Order matters: Forgejo and Gitea runners also set `GITHUB_ACTIONS=true` (and `ACT=true`), so
//! they are checked first; the first matching vendor wins (not the last, as in ci-info).
//! `CI=false` never means CI, and a bare `CI=true` names no vendor: without a marker the
//! context is `local`, with a note saying why.

use std::path::Path;

use super::{
    Ci, Context, azure, bitbucket, buildkite, circleci, drone, forgejo, git, github, gitlab,
    jenkins, travis, woodpecker,
};
use crate::env::Env;

/// [`detect`], and outside CI the commit and branch of the git checkout holding `cwd` (read from
/// its files, see [`git`]): a local run deploys what is checked out. Inside a CI the CI's own
/// variables are the truth, and nothing is read from the disk.
pub(crate) fn detect_in(env: &Env, cwd: &Path) -> Context {
    let mut ctx = detect(env);
    if ctx.ci == Ci::Local
        && ctx.sha.is_none()
        && ctx.ref_name.is_none()
        && let Some(head) = git::head(cwd)
    {
        ctx.sha = head.sha;
        ctx.ref_name = head.ref_name;
        ctx.is_tag = head.is_tag;
        if ctx.repository.is_none() {
            ctx.repository = head.repository;
        }
        ctx.notes
            .push("not in CI: sha, ref_name and repository read from the git checkout".to_owned());
    }
    ctx
}

/// Detects the CI provider and reads the context of this run.
///
/// Never fails: what the environment cannot tell stays `None`, and anything odd (a missing event
/// payload, a marker without its variables) is explained in [`Context::notes`].
pub fn detect(env: &Env) -> Context {
    match Ci::from_env(env) {
        Ci::Forgejo => forgejo::read(env, Ci::Forgejo),
        Ci::Gitea => forgejo::read(env, Ci::Gitea),
        Ci::Github => github::read(env),
        Ci::Gitlab => gitlab::read(env),
        Ci::Bitbucket => bitbucket::read(env),
        Ci::Jenkins => jenkins::read(env),
        Ci::Circleci => circleci::read(env),
        Ci::AzurePipelines => azure::read(env),
        Ci::Buildkite => buildkite::read(env),
        Ci::Woodpecker => woodpecker::read(env),
        Ci::Drone => drone::read(env),
        Ci::Travis => travis::read(env),
        Ci::Local => local(env),
    }
}

impl Ci {
    /// The provider whose marker variable is set, first match wins; [`Ci::Local`] otherwise.
    pub fn from_env(env: &Env) -> Ci {
        let is =
            |name: &str, value: &str| env.get(name).is_some_and(|v| v.eq_ignore_ascii_case(value));
        if env.is_true("FORGEJO_ACTIONS") {
            Ci::Forgejo
        } else if env.is_true("GITEA_ACTIONS") {
            Ci::Gitea
        } else if env.is_true("GITHUB_ACTIONS") {
            Ci::Github
        } else if env.is_true("GITLAB_CI") {
            Ci::Gitlab
        } else if env.get("BITBUCKET_BUILD_NUMBER").is_some()
            || env.get("BITBUCKET_PIPELINE_UUID").is_some()
        {
            Ci::Bitbucket
        } else if env.is_true("CIRCLECI") {
            Ci::Circleci
        } else if env.is_true("TF_BUILD") {
            Ci::AzurePipelines
        } else if env.is_true("BUILDKITE") {
            Ci::Buildkite
        } else if is("CI", "woodpecker") || is("CI_SYSTEM_NAME", "woodpecker") {
            // Checked before Drone: Woodpecker grew out of Drone.
            Ci::Woodpecker
        } else if env.is_true("DRONE") {
            Ci::Drone
        } else if env.is_true("TRAVIS") {
            Ci::Travis
        } else if env.get("JENKINS_URL").is_some() || env.get("JENKINS_HOME").is_some() {
            // Last: `JENKINS_*` may leak into agents that run other CIs' jobs.
            Ci::Jenkins
        } else {
            Ci::Local
        }
    }
}

/// Not in a known CI. Explains the two cases that look like CI but aren't detected.
fn local(env: &Env) -> Context {
    let mut ctx = Context::local();
    // gitlab-ci-local synthesises GitLab's variables but sets `GITLAB_CI=false`. We take it at
    // its word: a local run that should report to GitLab opts in with `--variable GITLAB_CI=true`
    // (as our own CI does), instead of a terminal posting statuses by accident.
    if env
        .get("GITLAB_CI")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        && env.get("CI_SERVER_URL").is_some()
        && env.get("CI_PROJECT_PATH").is_some()
    {
        ctx.notes.push(
            "GITLAB_CI=false with GitLab variables (gitlab-ci-local?): treated as local; set \
             GITLAB_CI=true (gitlab-ci-local --variable GITLAB_CI=true) to detect GitLab CI"
                .to_owned(),
        );
    } else if env
        .get("CI")
        .is_some_and(|v| !v.eq_ignore_ascii_case("false"))
    {
        ctx.notes.push(format!(
            "CI={} names no CI provider ferry knows: treated as local, with nothing detected",
            env.get("CI").unwrap_or_default()
        ));
    }
    ctx
}
