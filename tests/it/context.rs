//! Context detection over real CI payloads and documented variables.
//!
//! Each case loads `tests/fixtures/<ci>/base.env` plus a case file (`KEY=value` lines, later
//! files win), runs `ferry::testing::detect`, and compares the whole public JSON of the
//! context, so every field is asserted. GitHub-style event payloads are the octokit examples in
//! `tests/fixtures/github/`; where no example covers a case, the test derives one from a real
//! payload with a small, commented edit (see `derived_payload`).

use std::path::{Path, PathBuf};

use ferry::env::Env;
use ferry::testing::{Ci, Context, detect};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Loads `KEY=value` files (blank lines and `#` comments skipped; empty values kept, as CIs
/// export them). A relative `GITHUB_EVENT_PATH` is resolved against the file's directory.
fn load_env(files: &[&str]) -> Env {
    let mut vars = Vec::new();
    for file in files {
        let path = fixtures().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{file}: not KEY=value: {line}"));
            let value = if key == "GITHUB_EVENT_PATH" && !value.is_empty() {
                let dir = path.parent().expect("fixture has a directory");
                dir.join(value).to_string_lossy().into_owned()
            } else {
                value.to_owned()
            };
            vars.push((key.to_owned(), value));
        }
    }
    Env::from_iter(vars)
}

/// A fixture case of one CI: `<ci>/base.env` then `<ci>/<case>.env`.
fn case(ci: &str, name: &str) -> Env {
    load_env(&[&format!("{ci}/base.env"), &format!("{ci}/{name}.env")])
}

/// Writes a real payload after a minimal edit to a temporary file, and points the env at it.
/// The directory must outlive the detection.
fn derived_payload(
    env: Env,
    source: &str,
    edit: impl FnOnce(&mut Value),
) -> (tempfile::TempDir, Env) {
    let text = std::fs::read_to_string(fixtures().join("github").join(source)).expect("payload");
    let mut payload: Value = serde_json::from_str(&text).expect("payload is JSON");
    edit(&mut payload);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("event.json");
    std::fs::write(&path, serde_json::to_vec(&payload).expect("serialise")).expect("write");
    let env = env.with("GITHUB_EVENT_PATH", path.to_string_lossy());
    (dir, env)
}

fn public(ctx: &Context) -> Value {
    serde_json::to_value(ctx).expect("context serialises")
}

/// Asserts the whole public JSON, with the notes shown on failure.
#[track_caller]
fn assert_context(ctx: &Context, expected: &Value) {
    assert_eq!(&public(ctx), expected, "notes: {:#?}", ctx.notes);
}

const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const MERGE: &str = "ffac537e6cbbf934b08745a378932722df287a53";
const JOB: &str = "https://github.com/Codertocat/Hello-World/actions/runs/1658821493";
const OCTO_JOB: &str = "https://github.com/octo-org/octo-repo/actions/runs/1658821493";

fn github(
    repository: &str,
    sha: Option<&str>,
    ref_name: Option<&str>,
    is_tag: bool,
    change_request: &Value,
) -> Value {
    json!({
        "ci": "github",
        "forge": "github",
        "api_url": "https://api.github.com",
        "repository": repository,
        "sha": sha,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": format!("https://github.com/{repository}/actions/runs/1658821493"),
    })
}

fn change_request(
    number: Option<u64>,
    source: Option<&str>,
    target: Option<&str>,
    is_fork: Option<bool>,
) -> Value {
    json!({
        "number": number,
        "source_branch": source,
        "target_branch": target,
        "is_fork": is_fork,
    })
}

// ---------------------------------------------------------------------------------------------
// The public JSON shape

#[test]
fn context_json_has_exactly_the_public_keys() {
    let ctx = detect(&case("github", "pull_request-opened"));
    let value = public(&ctx);
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "ci",
        "forge",
        "api_url",
        "repository",
        "sha",
        "ref_name",
        "is_tag",
        "change_request",
        "job_url",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);

    let mut cr_keys: Vec<&str> = value["change_request"]
        .as_object()
        .expect("change request object")
        .keys()
        .map(String::as_str)
        .collect();
    cr_keys.sort_unstable();
    assert_eq!(
        cr_keys,
        vec!["is_fork", "number", "source_branch", "target_branch"]
    );

    // Nulls are printed, not skipped.
    let local = public(&detect(&Env::new()));
    assert_eq!(local.as_object().map(serde_json::Map::len), Some(9));
    assert_eq!(local["change_request"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

#[test]
fn context_github_push_branch() {
    let ctx = detect(&case("github", "push-branch"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
            Some("master"),
            false,
            &Value::Null,
        ),
    );
    assert_eq!(ctx.ci, Ci::Github);
    assert_eq!(ctx.run.event.as_deref(), Some("push"));
    assert_eq!(ctx.run.run_id.as_deref(), Some("1658821493"));
    assert_eq!(ctx.run.run_attempt.as_deref(), Some("3"));
    assert_eq!(ctx.run.server_url.as_deref(), Some("https://github.com"));
    assert_eq!(ctx.run.checkout_sha, None);
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
}

#[test]
fn context_github_push_tag() {
    let ctx = detect(&case("github", "push-tag"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
            Some("simple-tag"),
            true,
            &Value::Null,
        ),
    );
}

#[test]
fn context_github_pull_request_reports_the_head_not_the_merge_commit() {
    let ctx = detect(&case("github", "pull_request-opened"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
}

#[test]
fn context_github_pull_request_from_a_fork() {
    // No octokit example comes from a fork: the head repository is renamed to a fork's.
    let (_dir, env) = derived_payload(
        case("github", "pull_request-opened"),
        "pull_request-opened.json",
        |p| {
            p["pull_request"]["head"]["repo"]["full_name"] = json!("octocat/Hello-World");
            p["pull_request"]["head"]["label"] = json!("octocat:changes");
        },
    );
    assert_context(
        &detect(&env),
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(true)),
        ),
    );
}

#[test]
fn context_github_pull_request_from_a_deleted_fork() {
    // GitHub sends `head.repo: null` once the fork is deleted: that counts as a fork.
    let (_dir, env) = derived_payload(
        case("github", "pull_request-opened"),
        "pull_request-opened.json",
        |p| p["pull_request"]["head"]["repo"] = Value::Null,
    );
    assert_context(
        &detect(&env),
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(true)),
        ),
    );
}

#[test]
fn context_github_pull_request_closed() {
    let ctx = detect(&case("github", "pull_request-closed"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    assert_eq!(
        ctx.run.checkout_sha.as_deref(),
        Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85")
    );
}

#[test]
fn context_github_pull_request_closed_and_merged() {
    // The octokit "closed" example is unmerged; a merged one differs by `merged` (and its
    // timestamp). GITHUB_REF is then the base branch, so only the payload knows the PR.
    let (_dir, env) = derived_payload(
        case("github", "pull_request-merged"),
        "pull_request-closed.json",
        |p| {
            p["pull_request"]["merged"] = json!(true);
            p["pull_request"]["merged_at"] = p["pull_request"]["closed_at"].clone();
        },
    );
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
}

#[test]
fn context_github_pull_request_target_ignores_the_base_ref_and_sha() {
    let ctx = detect(&case("github", "pull_request_target"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    assert_eq!(ctx.run.event.as_deref(), Some("pull_request_target"));
    assert_eq!(
        ctx.run.checkout_sha.as_deref(),
        Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
    );
}

#[test]
fn context_github_pull_request_review_reads_branches_from_the_payload() {
    // GITHUB_HEAD_REF and GITHUB_BASE_REF are empty for reviews.
    let ctx = detect(&case("github", "pull_request_review-submitted"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
}

#[test]
fn context_github_pull_request_without_event_file() {
    let env = case("github", "pull_request-opened")
        .with("GITHUB_EVENT_PATH", "/nonexistent/ferry/event.json");
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            None,
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), None),
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
    assert!(
        ctx.notes
            .iter()
            .any(|n| n.contains("/nonexistent/ferry/event.json")),
        "{:?}",
        ctx.notes
    );
    assert!(
        ctx.notes.iter().any(|n| n.contains("`sha`")),
        "{:?}",
        ctx.notes
    );

    // Unset rather than missing: same facts, a note naming the variable.
    let env = case("github", "pull_request-opened").with("GITHUB_EVENT_PATH", "");
    let unset = detect(&env);
    assert_eq!(public(&unset), public(&ctx));
    assert!(unset.notes.iter().any(|n| n.contains("GITHUB_EVENT_PATH")));
}

#[test]
fn context_github_unparsable_event_file_falls_back_to_variables() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("event.json");
    std::fs::write(&path, "{\"truncated\": ").expect("write");
    let env = case("github", "push-branch").with("GITHUB_EVENT_PATH", path.to_string_lossy());
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
            Some("master"),
            false,
            &Value::Null,
        ),
    );
    assert!(
        ctx.notes.iter().any(|n| n.contains("cannot parse")),
        "{:?}",
        ctx.notes
    );
}

#[test]
fn context_github_merge_group() {
    let ctx = detect(&case("github", "merge_group-checks_requested"));
    assert_context(
        &ctx,
        &json!({
            "ci": "github",
            "forge": "github",
            "api_url": "https://api.github.com",
            "repository": "octo-org/octo-repo",
            "sha": "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d",
            "ref_name": "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64",
            "is_tag": false,
            "change_request": null,
            "job_url": OCTO_JOB,
        }),
    );
    assert_eq!(ctx.run.queued_change_request, Some(104));
}

#[test]
fn context_github_workflow_run_with_a_pull_request() {
    let ctx = detect(&case("github", "workflow_run-completed"));
    assert_context(
        &ctx,
        &github(
            "octo-org/octo-repo",
            Some("3484a3fb816e0859fd6e1cea078d76385ff50625"),
            Some("master"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_github_workflow_run_from_a_fork_pull_request() {
    // GitHub leaves `pull_requests` empty for forks (actions/runner#3444): the triggering run is
    // made a fork's pull_request run by emptying the list and renaming the head repository.
    let (_dir, env) = derived_payload(
        case("github", "workflow_run-completed"),
        "workflow_run-completed.json",
        |p| {
            let run = &mut p["workflow_run"];
            run["event"] = json!("pull_request");
            run["pull_requests"] = json!([]);
            run["head_repository"]["full_name"] = json!("octocat/octo-repo");
        },
    );
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "octo-org/octo-repo",
            Some("3484a3fb816e0859fd6e1cea078d76385ff50625"),
            Some("master"),
            false,
            &change_request(None, Some("master"), None, Some(true)),
        ),
    );
    assert!(
        ctx.notes.iter().any(|n| n.contains("pr_number")),
        "{:?}",
        ctx.notes
    );
}

#[test]
fn context_github_workflow_run_without_pull_requests() {
    let (_dir, env) = derived_payload(
        case("github", "workflow_run-completed"),
        "workflow_run-completed.json",
        |p| p["workflow_run"]["pull_requests"] = json!([]),
    );
    assert_context(
        &detect(&env),
        &github(
            "octo-org/octo-repo",
            Some("3484a3fb816e0859fd6e1cea078d76385ff50625"),
            Some("master"),
            false,
            &Value::Null,
        ),
    );
}

#[test]
fn context_github_workflow_dispatch_on_a_branch() {
    assert_context(
        &detect(&case("github", "workflow_dispatch")),
        &github(
            "octo-org/octo-repo",
            Some(MERGE),
            Some("main"),
            false,
            &Value::Null,
        ),
    );
}

#[test]
fn context_github_workflow_dispatch_on_a_tag() {
    // The octokit example was dispatched on a branch; dispatching on a tag changes its `ref`.
    let (_dir, env) = derived_payload(
        case("github", "workflow_dispatch-tag"),
        "workflow_dispatch.json",
        |p| p["ref"] = json!("refs/tags/v1.0.0"),
    );
    assert_context(
        &detect(&env),
        &github(
            "octo-org/octo-repo",
            Some(MERGE),
            Some("v1.0.0"),
            true,
            &Value::Null,
        ),
    );
}

#[test]
fn context_github_schedule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("event.json");
    std::fs::write(&path, "{}").expect("write");
    let env = case("github", "schedule").with("GITHUB_EVENT_PATH", path.to_string_lossy());
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "octo-org/octo-repo",
            Some(MERGE),
            Some("main"),
            false,
            &Value::Null,
        ),
    );
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
}

#[test]
fn context_github_issue_comment_on_an_issue_is_not_a_change_request() {
    let ctx = detect(&case("github", "issue_comment-created"));
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            Some(MERGE),
            Some("master"),
            false,
            &Value::Null,
        ),
    );
    assert!(!ctx.run.sha_needs_lookup);
}

#[test]
fn context_github_issue_comment_on_a_pull_request() {
    // The octokit examples comment on an issue; on a pull request GitHub adds
    // `issue.pull_request` with the pull request's URLs.
    let (_dir, env) = derived_payload(
        case("github", "issue_comment-created"),
        "issue_comment-created.json",
        |p| {
            p["issue"]["pull_request"] = json!({
                "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1",
                "html_url": "https://github.com/Codertocat/Hello-World/pull/1",
                "diff_url": "https://github.com/Codertocat/Hello-World/pull/1.diff",
                "patch_url": "https://github.com/Codertocat/Hello-World/pull/1.patch",
                "merged_at": null,
            });
        },
    );
    let ctx = detect(&env);
    assert_context(
        &ctx,
        &github(
            "Codertocat/Hello-World",
            None,
            None,
            false,
            &change_request(Some(1), None, None, None),
        ),
    );
    assert!(ctx.run.sha_needs_lookup);
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_github_release() {
    assert_context(
        &detect(&case("github", "release-published")),
        &github(
            "Codertocat/Hello-World",
            Some(MERGE),
            Some("0.0.1"),
            true,
            &Value::Null,
        ),
    );
}

#[test]
fn context_github_enterprise_server_keeps_its_api_url() {
    let ctx = detect(&case("github", "ghes-pull_request-opened"));
    assert_context(
        &ctx,
        &json!({
            "ci": "github",
            "forge": "github",
            "api_url": "https://octocoders.github.io/api/v3",
            "repository": "Codertocat/Hello-World",
            "sha": "14977a7b5485400124827221a04bfb474bcd72d1",
            "ref_name": "changes",
            "is_tag": false,
            "change_request": change_request(Some(2), Some("changes"), Some("master"), Some(false)),
            "job_url": "https://octocoders.github.io/Codertocat/Hello-World/actions/runs/1658821493",
        }),
    );
    assert_eq!(
        ctx.run.server_url.as_deref(),
        Some("https://octocoders.github.io")
    );
}

#[test]
fn context_github_job_url_is_the_run_page() {
    let ctx = detect(&case("github", "push-branch"));
    assert_eq!(ctx.job_url.as_deref(), Some(JOB));
}

// ---------------------------------------------------------------------------------------------
// Forgejo and Gitea Actions

fn forgejo_like(
    ci: &str,
    server: &str,
    run_number: u32,
    sha: Option<&str>,
    ref_name: Option<&str>,
    is_tag: bool,
    change_request: &Value,
) -> Value {
    json!({
        "ci": ci,
        "forge": ci,
        "api_url": format!("{server}/api/v1"),
        "repository": "Codertocat/Hello-World",
        "sha": sha,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": format!("{server}/Codertocat/Hello-World/actions/runs/{run_number}"),
    })
}

#[test]
fn context_forgejo_is_not_github() {
    let ctx = detect(&case("forgejo", "push"));
    assert_eq!(ctx.ci, Ci::Forgejo);
    assert_context(
        &ctx,
        &forgejo_like(
            "forgejo",
            "https://codeberg.org",
            12,
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
            Some("master"),
            false,
            &Value::Null,
        ),
    );
    assert_eq!(ctx.run.server_url.as_deref(), Some("https://codeberg.org"));
}

#[test]
fn context_forgejo_pull_request() {
    let ctx = detect(&case("forgejo", "pull_request"));
    assert_context(
        &ctx,
        &forgejo_like(
            "forgejo",
            "https://codeberg.org",
            12,
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    assert_eq!(
        ctx.run.checkout_sha, None,
        "GITHUB_SHA is the head on Forgejo"
    );
}

#[test]
fn context_forgejo_pull_request_without_event_file() {
    // GITHUB_SHA is the head and refs/pull/<n>/head carries the number.
    let env = case("forgejo", "pull_request").with("GITHUB_EVENT_PATH", "");
    assert_context(
        &detect(&env),
        &forgejo_like(
            "forgejo",
            "https://codeberg.org",
            12,
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), None),
        ),
    );
}

#[test]
fn context_forgejo_pull_request_target() {
    let ctx = detect(&case("forgejo", "pull_request_target"));
    assert_context(
        &ctx,
        &forgejo_like(
            "forgejo",
            "https://codeberg.org",
            12,
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(false)),
        ),
    );
    // Without the payload the base's SHA must not stand in for the head.
    let env = case("forgejo", "pull_request_target").with("GITHUB_EVENT_PATH", "");
    let ctx = detect(&env);
    assert_eq!(ctx.sha, None);
    assert_eq!(
        ctx.change_request
            .and_then(|cr| cr.source_branch)
            .as_deref(),
        Some("changes")
    );
}

#[test]
fn context_gitea_push_tag() {
    let ctx = detect(&case("gitea", "push-tag"));
    assert_eq!(ctx.ci, Ci::Gitea);
    assert_context(
        &ctx,
        &forgejo_like(
            "gitea",
            "https://gitea.example.com",
            4,
            Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
            Some("simple-tag"),
            true,
            &Value::Null,
        ),
    );
}

#[test]
fn context_gitea_pull_request_from_a_fork() {
    // Gitea's pull_request payload has the same `head.repo.full_name` / `base.repo.full_name`
    // fields as GitHub's; the octokit example is renamed to come from a fork.
    let (_dir, env) = derived_payload(
        case("gitea", "pull_request"),
        "pull_request-opened.json",
        |p| p["pull_request"]["head"]["repo"]["full_name"] = json!("octocat/Hello-World"),
    );
    assert_context(
        &detect(&env),
        &forgejo_like(
            "gitea",
            "https://gitea.example.com",
            4,
            Some(HEAD),
            Some("changes"),
            false,
            &change_request(Some(2), Some("changes"), Some("master"), Some(true)),
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// GitLab CI

const GL_SHA: &str = "1ecfd275763eff1d6b4844ea3168962458c9f27a";
const GL_HEAD: &str = "9a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
const GL_JOB: &str = "https://example.com/gitlab-org/gitlab/-/jobs/50";

fn gitlab(
    repository: &str,
    sha: &str,
    ref_name: &str,
    is_tag: bool,
    change_request: &Value,
    job_url: &str,
) -> Value {
    json!({
        "ci": "gitlab",
        "forge": "gitlab",
        "api_url": "https://example.com/api/v4",
        "repository": repository,
        "sha": sha,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": job_url,
    })
}

#[test]
fn context_gitlab_branch_pipeline() {
    let ctx = detect(&case("gitlab", "branch"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_SHA,
            "main",
            false,
            &Value::Null,
            GL_JOB,
        ),
    );
    // Open merge requests are a hint for reporters, never the change request.
    assert_eq!(
        ctx.run.open_change_requests,
        vec!["gitlab-org/gitlab!333", "gitlab-org/gitlab-foss!11"]
    );
    assert_eq!(ctx.run.event.as_deref(), Some("push"));
    assert_eq!(ctx.run.run_id.as_deref(), Some("1000"));
    assert_eq!(ctx.run.job_id.as_deref(), Some("50"));
    assert_eq!(ctx.run.project_id.as_deref(), Some("34"));
    assert_eq!(ctx.run.change_request_project_id, None);
    assert_eq!(ctx.run.server_url.as_deref(), Some("https://example.com"));
    assert_eq!(ctx.run.checkout_sha, None);
    assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
}

#[test]
fn context_gitlab_tag_pipeline() {
    assert_context(
        &detect(&case("gitlab", "tag")),
        &gitlab(
            "gitlab-org/gitlab",
            GL_SHA,
            "1.0.0",
            true,
            &Value::Null,
            GL_JOB,
        ),
    );
}

#[test]
fn context_gitlab_merge_request_pipeline_uses_the_iid() {
    let ctx = detect(&case("gitlab", "mr-detached"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_SHA,
            "feature/login",
            false,
            &change_request(Some(1), Some("feature/login"), Some("main"), Some(false)),
            GL_JOB,
        ),
    );
    assert_eq!(ctx.run.event.as_deref(), Some("merge_request_event"));
    assert_eq!(ctx.run.change_request_project_id.as_deref(), Some("34"));
    assert_eq!(ctx.run.checkout_sha, None);
}

#[test]
fn context_gitlab_merged_results_pipeline_reports_the_source_head() {
    let ctx = detect(&case("gitlab", "mr-merged-results"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_HEAD,
            "feature/login",
            false,
            &change_request(Some(1), Some("feature/login"), Some("main"), Some(false)),
            GL_JOB,
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(GL_SHA));
}

#[test]
fn context_gitlab_merge_train_labelled_detached() {
    let ctx = detect(&case("gitlab", "mr-merge-train"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_HEAD,
            "feature/login",
            false,
            &change_request(Some(1), Some("feature/login"), Some("main"), Some(false)),
            GL_JOB,
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(GL_SHA));
}

#[test]
fn context_gitlab_fork_merge_request_running_in_the_fork() {
    let ctx = detect(&case("gitlab", "mr-fork-in-fork"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_SHA,
            "fix-typo",
            false,
            &change_request(Some(2), Some("fix-typo"), Some("main"), Some(true)),
            "https://example.com/contributor/gitlab/-/jobs/50",
        ),
    );
    assert_eq!(ctx.run.project_id.as_deref(), Some("35"));
    assert_eq!(ctx.run.change_request_project_id.as_deref(), Some("34"));
}

#[test]
fn context_gitlab_fork_merge_request_running_in_the_parent() {
    let ctx = detect(&case("gitlab", "mr-fork-in-parent"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            GL_SHA,
            "fix-typo",
            false,
            &change_request(Some(2), Some("fix-typo"), Some("main"), Some(true)),
            GL_JOB,
        ),
    );
    assert_eq!(ctx.run.project_id.as_deref(), Some("34"));
    assert_eq!(ctx.run.change_request_project_id.as_deref(), Some("34"));
}

#[test]
fn context_gitlab_external_pull_request() {
    let ctx = detect(&case("gitlab", "external-pr"));
    assert_context(
        &ctx,
        &gitlab(
            "gitlab-org/gitlab",
            "7c2e6b1f0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
            "feature/login",
            false,
            &change_request(Some(42), Some("feature/login"), Some("main"), Some(false)),
            GL_JOB,
        ),
    );
    assert_eq!(
        ctx.run.external_repository.as_deref(),
        Some("gitlab-org/gitlab")
    );
    assert_eq!(
        ctx.run.event.as_deref(),
        Some("external_pull_request_event")
    );
}

#[test]
fn context_gitlab_self_managed_with_a_relative_url_root() {
    let ctx = detect(&case("gitlab", "self-managed"));
    assert_context(
        &ctx,
        &json!({
            "ci": "gitlab",
            "forge": "gitlab",
            "api_url": "https://example.com/gitlab/api/v4",
            "repository": "gitlab-org/gitlab",
            "sha": GL_SHA,
            "ref_name": "main",
            "is_tag": false,
            "change_request": null,
            "job_url": "https://example.com/gitlab/gitlab-org/gitlab/-/jobs/50",
        }),
    );
    assert_eq!(
        ctx.run.server_url.as_deref(),
        Some("https://example.com/gitlab")
    );
}

#[test]
fn context_gitlab_never_copies_the_repository_url() {
    let token = "glcbt-64_s3cr3tjobt0ken";
    for name in [
        "branch",
        "tag",
        "mr-detached",
        "mr-merged-results",
        "mr-fork-in-fork",
        "external-pr",
        "self-managed",
    ] {
        let env = case("gitlab", name)
            .with(
                "CI_REPOSITORY_URL",
                format!("https://gitlab-ci-token:{token}@example.com/gitlab-org/gitlab.git"),
            )
            .with("CI_JOB_TOKEN", token);
        let ctx = detect(&env);
        for shown in [public(&ctx).to_string(), ctx.describe(), format!("{ctx:?}")] {
            assert!(!shown.contains(token), "{name}: {shown}");
            assert!(!shown.contains("gitlab-ci-token"), "{name}: {shown}");
        }
    }
}

#[test]
fn context_gitlab_ci_local_with_gitlab_ci_false_is_local() {
    // gitlab-ci-local sets GITLAB_CI=false: we take it at its word (local, with a note)...
    let env = load_env(&["gitlab/gitlab-ci-local.env"]);
    let ctx = detect(&env);
    assert_eq!(ctx.ci, Ci::Local);
    assert_eq!(public(&ctx), public(&Context::local()));
    assert!(
        ctx.notes.iter().any(|n| n.contains("GITLAB_CI=true")),
        "{:?}",
        ctx.notes
    );
    // ... and `--variable GITLAB_CI=true`, as our own CI passes it, makes it GitLab.
    let ctx = detect(&env.with("GITLAB_CI", "true"));
    assert_context(
        &ctx,
        &json!({
            "ci": "gitlab",
            "forge": "gitlab",
            "api_url": "https://gitlab.example.com/api/v4",
            "repository": "grp/proj",
            "sha": GL_SHA,
            "ref_name": "main",
            "is_tag": false,
            "change_request": null,
            "job_url": null,
        }),
    );
}

// ---------------------------------------------------------------------------------------------
// Not in CI

#[test]
fn context_local_without_markers() {
    for env in [
        Env::new(),
        Env::new().with("CI", "false"),
        Env::new().with("CI", "true"),
        Env::new().with("CI", "1"),
        Env::new().with("GITHUB_ACTIONS", "false"),
        Env::new().with("GITLAB_CI", ""),
    ] {
        let ctx = detect(&env);
        assert_eq!(ctx.ci, Ci::Local, "{env:?}");
        assert_eq!(public(&ctx), public(&Context::local()));
    }
    // `CI=false` is silent; a bare `CI=true` explains why nothing was detected.
    assert!(detect(&Env::new().with("CI", "false")).notes.is_empty());
    let bare = detect(&Env::new().with("CI", "true"));
    assert!(
        bare.notes.iter().any(|n| n.contains("CI=true")),
        "{:?}",
        bare.notes
    );
}

#[test]
fn context_detection_order_prefers_forgejo_then_gitea_then_github() {
    let forgejo = Env::new()
        .with("GITHUB_ACTIONS", "true")
        .with("GITEA_ACTIONS", "true")
        .with("FORGEJO_ACTIONS", "true");
    assert_eq!(Ci::from_env(&forgejo), Ci::Forgejo);
    let gitea = Env::new()
        .with("GITHUB_ACTIONS", "true")
        .with("GITEA_ACTIONS", "true");
    assert_eq!(Ci::from_env(&gitea), Ci::Gitea);
    assert_eq!(
        Ci::from_env(&Env::new().with("GITHUB_ACTIONS", "true")),
        Ci::Github
    );
}

// ---------------------------------------------------------------------------------------------
// The human description

#[test]
fn context_describe_a_fork_pull_request() {
    let (_dir, env) = derived_payload(
        case("github", "pull_request-opened"),
        "pull_request-opened.json",
        |p| p["pull_request"]["head"]["repo"] = Value::Null,
    );
    let text = detect(&env).describe();
    assert_eq!(
        text,
        format!(
            "CI: github (forge github, API https://api.github.com)\n\
             repository: Codertocat/Hello-World\n\
             commit: {HEAD}\n\
             ref: changes (branch)\n\
             change request: #2 changes → master (from a fork)\n\
             job: {JOB}\n"
        )
    );
}

#[test]
fn context_describe_shows_unknowns_and_notes() {
    let env = case("github", "pull_request-opened").with("GITHUB_EVENT_PATH", "");
    let text = detect(&env).describe();
    assert!(text.contains("commit: unknown\n"), "{text}");
    assert!(
        text.contains("change request: #2 changes → master (fork unknown)\n"),
        "{text}"
    );
    assert!(
        text.contains("note: GITHUB_EVENT_PATH is not set"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Other CI providers (forge-agnostic ones guess the forge for public hosts only)

const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

#[test]
fn context_bitbucket_push() {
    let ctx = detect(&case("bitbucket", "push"));
    assert_eq!(ctx.ci, Ci::Bitbucket);
    assert_context(
        &ctx,
        &json!({
            "ci": "bitbucket",
            "forge": "bitbucket",
            "api_url": "https://api.bitbucket.org/2.0",
            "repository": "my-workspace/my-repo",
            "sha": "7f3a9c1e2b4d",
            "ref_name": "main",
            "is_tag": false,
            "change_request": null,
            "job_url": "https://bitbucket.org/my-workspace/my-repo/pipelines/results/42\
                        /steps/%7B0a5c8f2e-6b7d-4e9f-8a1b-2c3d4e5f6a7b%7D",
        }),
    );
}

#[test]
fn context_bitbucket_tag() {
    let ctx = detect(&case("bitbucket", "tag"));
    assert_eq!(ctx.ref_name.as_deref(), Some("v1.0.0"));
    assert!(ctx.is_tag);
    assert_eq!(ctx.change_request, None);
}

#[test]
fn context_bitbucket_pull_request() {
    let ctx = detect(&case("bitbucket", "pr"));
    assert_context(
        &ctx,
        &json!({
            "ci": "bitbucket",
            "forge": "bitbucket",
            "api_url": "https://api.bitbucket.org/2.0",
            "repository": "my-workspace/my-repo",
            "sha": "7f3a9c1e2b4d",
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(7), Some("feature/login"), Some("main"), None),
            "job_url": "https://bitbucket.org/my-workspace/my-repo/pipelines/results/42\
                        /steps/%7B0a5c8f2e-6b7d-4e9f-8a1b-2c3d4e5f6a7b%7D",
        }),
    );
}

#[test]
fn context_jenkins_multibranch_push() {
    let ctx = detect(&case("jenkins", "multibranch-push"));
    assert_eq!(ctx.ci, Ci::Jenkins);
    assert_context(
        &ctx,
        &json!({
            "ci": "jenkins",
            "forge": "github",
            "api_url": "https://api.github.com",
            "repository": "octo-org/octo-repo",
            "sha": SHA,
            "ref_name": "main",
            "is_tag": false,
            "change_request": null,
            "job_url": "https://jenkins.example.com/job/app/job/main/42/",
        }),
    );
}

#[test]
fn context_jenkins_multibranch_tag() {
    let ctx = detect(&case("jenkins", "multibranch-tag"));
    assert_eq!(ctx.ref_name.as_deref(), Some("v1.0.0"));
    assert!(ctx.is_tag);
    assert_eq!(ctx.sha.as_deref(), Some(SHA));
}

#[test]
fn context_jenkins_multibranch_pull_request_from_a_fork() {
    let ctx = detect(&case("jenkins", "multibranch-pr"));
    assert_context(
        &ctx,
        &json!({
            "ci": "jenkins",
            "forge": "github",
            "api_url": "https://api.github.com",
            "repository": "octo-org/octo-repo",
            // GIT_COMMIT may be the merge commit: unknown, to be looked up.
            "sha": null,
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(7), Some("feature/login"), Some("main"), Some(true)),
            "job_url": "https://jenkins.example.com/job/app/job/PR-7/3/",
        }),
    );
    assert!(ctx.run.sha_needs_lookup);
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_jenkins_multibranch_pull_request_from_the_same_repository() {
    let env = case("jenkins", "multibranch-pr").with("CHANGE_FORK", "");
    let cr = detect(&env).change_request.expect("change request");
    assert_eq!(cr.is_fork, Some(false));
}

#[test]
fn context_jenkins_ghprb() {
    let ctx = detect(&case("jenkins", "ghprb"));
    assert_context(
        &ctx,
        &json!({
            "ci": "jenkins",
            "forge": "github",
            "api_url": "https://api.github.com",
            "repository": "octo-org/octo-repo",
            "sha": HEAD,
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(12), Some("feature/login"), Some("main"), None),
            "job_url": "https://jenkins.example.com/job/app-pr/12/",
        }),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_jenkins_gitlab_plugin_merge_request() {
    let ctx = detect(&case("jenkins", "gitlab-mr"));
    assert_context(
        &ctx,
        &json!({
            "ci": "jenkins",
            "forge": "gitlab",
            "api_url": null,
            "repository": "group/app",
            "sha": GL_HEAD,
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(3), Some("feature/login"), Some("main"), Some(true)),
            "job_url": "https://jenkins.example.com/job/app-mr/5/",
        }),
    );
}

#[test]
fn context_jenkins_freestyle_strips_origin() {
    let ctx = detect(&case("jenkins", "freestyle"));
    assert_context(
        &ctx,
        &json!({
            "ci": "jenkins",
            "forge": null,
            "api_url": null,
            "repository": "team/app",
            "sha": SHA,
            "ref_name": "feature/x",
            "is_tag": false,
            "change_request": null,
            "job_url": "https://jenkins.example.com/job/app/42/",
        }),
    );
}

fn circleci(ref_name: Option<&str>, is_tag: bool, change_request: &Value) -> Value {
    json!({
        "ci": "circleci",
        "forge": "github",
        "api_url": "https://api.github.com",
        "repository": "octo-org/octo-repo",
        "sha": SHA,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": "https://circleci.com/gh/octo-org/octo-repo/123",
    })
}

#[test]
fn context_circleci_push() {
    let ctx = detect(&case("circleci", "push"));
    assert_eq!(ctx.ci, Ci::Circleci);
    assert_context(&ctx, &circleci(Some("main"), false, &Value::Null));
}

#[test]
fn context_circleci_tag() {
    assert_context(
        &detect(&case("circleci", "tag")),
        &circleci(Some("v1.0.0"), true, &Value::Null),
    );
}

#[test]
fn context_circleci_pull_request_from_the_same_repository() {
    assert_context(
        &detect(&case("circleci", "pr")),
        &circleci(
            Some("feature/login"),
            false,
            &change_request(Some(7), Some("feature/login"), None, Some(false)),
        ),
    );
}

#[test]
fn context_circleci_pull_request_from_a_fork() {
    // `pull/8` is CircleCI's placeholder, not the source branch.
    assert_context(
        &detect(&case("circleci", "fork-pr")),
        &circleci(
            None,
            false,
            &change_request(Some(8), None, None, Some(true)),
        ),
    );
}

const AZURE_JOB: &str =
    "https://dev.azure.com/fabrikamfiber/Fabrikam%20Fiber/_build/results?buildId=1234";

#[test]
fn context_azure_pipelines_push() {
    let ctx = detect(&case("azure-pipelines", "push"));
    assert_eq!(ctx.ci, Ci::AzurePipelines);
    assert_context(
        &ctx,
        &json!({
            "ci": "azure-pipelines",
            "forge": "azure",
            "api_url": "https://dev.azure.com/fabrikamfiber",
            "repository": "Fabrikam Fiber/FabrikamFiber",
            "sha": SHA,
            // The whole branch, not BUILD_SOURCEBRANCHNAME's last segment.
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": null,
            "job_url": AZURE_JOB,
        }),
    );
}

#[test]
fn context_azure_pipelines_tag() {
    let ctx = detect(&case("azure-pipelines", "tag"));
    assert_eq!(ctx.ref_name.as_deref(), Some("v1.0.0"));
    assert!(ctx.is_tag);
}

#[test]
fn context_azure_pipelines_azure_repos_pull_request() {
    let ctx = detect(&case("azure-pipelines", "pr"));
    assert_context(
        &ctx,
        &json!({
            "ci": "azure-pipelines",
            "forge": "azure",
            "api_url": "https://dev.azure.com/fabrikamfiber",
            "repository": "Fabrikam Fiber/FabrikamFiber",
            "sha": HEAD,
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(17), Some("feature/login"), Some("main"), Some(false)),
            "job_url": AZURE_JOB,
        }),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_azure_pipelines_github_pull_request_from_a_fork() {
    let ctx = detect(&case("azure-pipelines", "github-pr"));
    assert_context(
        &ctx,
        &json!({
            "ci": "azure-pipelines",
            "forge": "github",
            "api_url": "https://api.github.com",
            "repository": "octo-org/octo-repo",
            "sha": HEAD,
            "ref_name": "feature/login",
            "is_tag": false,
            "change_request": change_request(Some(7), Some("feature/login"), Some("main"), Some(true)),
            "job_url": AZURE_JOB,
        }),
    );
}

fn buildkite(ref_name: &str, is_tag: bool, change_request: &Value) -> Value {
    json!({
        "ci": "buildkite",
        "forge": "github",
        "api_url": "https://api.github.com",
        "repository": "acme-inc/my-project",
        "sha": SHA,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": "https://buildkite.com/acme-inc/my-project/builds/1514\
                    #e44f9784-e20e-4b93-a21d-f41fd5869db9",
    })
}

#[test]
fn context_buildkite_push() {
    let ctx = detect(&case("buildkite", "push"));
    assert_eq!(ctx.ci, Ci::Buildkite);
    assert_context(&ctx, &buildkite("main", false, &Value::Null));
}

#[test]
fn context_buildkite_tag() {
    assert_context(
        &detect(&case("buildkite", "tag")),
        &buildkite("v1.0.0", true, &Value::Null),
    );
}

#[test]
fn context_buildkite_pull_request_from_a_fork() {
    assert_context(
        &detect(&case("buildkite", "pr")),
        &buildkite(
            "feature/login",
            false,
            &change_request(Some(7), Some("feature/login"), Some("main"), Some(true)),
        ),
    );
    let same_repo = case("buildkite", "pr").with(
        "BUILDKITE_PULL_REQUEST_REPO",
        "git://github.com/acme-inc/my-project.git",
    );
    let cr = detect(&same_repo).change_request.expect("change request");
    assert_eq!(cr.is_fork, Some(false));
}

#[test]
fn context_buildkite_symbolic_commit_is_not_a_sha() {
    let ctx = detect(&case("buildkite", "push").with("BUILDKITE_COMMIT", "HEAD"));
    assert_eq!(ctx.sha, None);
    assert!(!ctx.notes.is_empty());
}

fn woodpecker(ref_name: &str, is_tag: bool, change_request: &Value) -> Value {
    json!({
        "ci": "woodpecker",
        "forge": "forgejo",
        "api_url": "https://codeberg.org/api/v1",
        "repository": "john-doe/my-repo",
        "sha": SHA,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": "https://ci.example.com/repos/7/pipeline/8/2",
    })
}

#[test]
fn context_woodpecker_push() {
    let ctx = detect(&case("woodpecker", "push"));
    assert_eq!(ctx.ci, Ci::Woodpecker);
    assert_context(&ctx, &woodpecker("main", false, &Value::Null));
    assert_eq!(ctx.run.event.as_deref(), Some("push"));
}

#[test]
fn context_woodpecker_tag() {
    assert_context(
        &detect(&case("woodpecker", "tag")),
        &woodpecker("v1.0.0", true, &Value::Null),
    );
}

#[test]
fn context_woodpecker_pull_request_reads_the_source_branch() {
    assert_context(
        &detect(&case("woodpecker", "pr")),
        &woodpecker(
            "feature/login",
            false,
            &change_request(Some(1), Some("feature/login"), Some("main"), None),
        ),
    );
}

fn drone(ref_name: &str, is_tag: bool, change_request: &Value) -> Value {
    json!({
        "ci": "drone",
        "forge": "github",
        "api_url": "https://api.github.com",
        "repository": "octocat/hello-world",
        "sha": SHA,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": "https://drone.company.com/octocat/hello-world/42",
    })
}

#[test]
fn context_drone_push() {
    let ctx = detect(&case("drone", "push"));
    assert_eq!(ctx.ci, Ci::Drone);
    assert_context(&ctx, &drone("main", false, &Value::Null));
}

#[test]
fn context_drone_tag() {
    assert_context(
        &detect(&case("drone", "tag")),
        &drone("v1.0.0", true, &Value::Null),
    );
}

#[test]
fn context_drone_pull_request_reads_the_source_branch() {
    assert_context(
        &detect(&case("drone", "pr")),
        &drone(
            "feature/login",
            false,
            &change_request(Some(42), Some("feature/login"), Some("main"), None),
        ),
    );
}

fn travis(sha: &str, ref_name: &str, is_tag: bool, change_request: &Value) -> Value {
    json!({
        "ci": "travis",
        "forge": null,
        "api_url": null,
        "repository": "octo-org/octo-repo",
        "sha": sha,
        "ref_name": ref_name,
        "is_tag": is_tag,
        "change_request": change_request,
        "job_url": "https://app.travis-ci.com/github/octo-org/octo-repo/jobs/456",
    })
}

#[test]
fn context_travis_push() {
    let ctx = detect(&case("travis", "push"));
    assert_eq!(ctx.ci, Ci::Travis);
    assert_context(&ctx, &travis(SHA, "main", false, &Value::Null));
}

#[test]
fn context_travis_tag() {
    assert_context(
        &detect(&case("travis", "tag")),
        &travis(SHA, "v1.0.0", true, &Value::Null),
    );
}

#[test]
fn context_travis_pull_request_from_a_fork() {
    let ctx = detect(&case("travis", "pr"));
    assert_context(
        &ctx,
        &travis(
            HEAD,
            "feature/login",
            false,
            &change_request(Some(7), Some("feature/login"), Some("main"), Some(true)),
        ),
    );
    assert_eq!(ctx.run.checkout_sha.as_deref(), Some(MERGE));
}

#[test]
fn context_every_provider_fixture_is_detected_as_its_ci() {
    for (dir, ci) in [
        ("github", Ci::Github),
        ("forgejo", Ci::Forgejo),
        ("gitea", Ci::Gitea),
        ("gitlab", Ci::Gitlab),
        ("bitbucket", Ci::Bitbucket),
        ("jenkins", Ci::Jenkins),
        ("circleci", Ci::Circleci),
        ("azure-pipelines", Ci::AzurePipelines),
        ("buildkite", Ci::Buildkite),
        ("woodpecker", Ci::Woodpecker),
        ("drone", Ci::Drone),
        ("travis", Ci::Travis),
    ] {
        let env = load_env(&[&format!("{dir}/base.env")]);
        assert_eq!(Ci::from_env(&env), ci, "{dir}");
        assert_eq!(detect(&env).ci, ci, "{dir}");
    }
}
