//! The GitLab CI/CD components run for real by gitlab-ci-local (npm, pinned in package.json),
//! with the freshly built binary on `PATH`, against the simulated platform and the fake GitLab:
//! - `deploy` (review apps: the deploy job, then the stop job with the same arguments) and
//!   `production`, included as the component project includes itself (`@$CI_COMMIT_SHA`);
//! - the default rules (one pipeline per push) and the inputs' `options` and `regex`;
//! - the examples as shipped: `include: component:` of another project at a version, cloned
//!   over Git's HTTP protocol as from a GitLab instance, and `include: remote:` with `inputs:`.
//!
//! The catalog project's own pipeline (`.gitlab-ci.yml`) is in `gitlab_catalog.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::sim::{Route, Script};

use crate::support::fake_gitlab::FakeGitlab;
use crate::support::fake_http::FakeHttp;
use crate::support::git_http;
use crate::support::{SIMULATOR_TOML, Sim};

const TOKEN: &str = "glpat-componentTestToken0001";
const ME: u64 = 31;
const PIPELINE: u64 = 6001;
const REPO: &str = env!("CARGO_MANIFEST_DIR");

pub(crate) fn tool() -> PathBuf {
    let path = Path::new(REPO).join("node_modules/.bin/gitlab-ci-local");
    assert!(
        path.exists(),
        "gitlab-ci-local is missing: run `bash .ci/test` (or `npm ci`) once to install the test tools"
    );
    path
}

pub(crate) fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A consumer project on branch `branch`: a git repository with `remote` as its origin (from
/// which gitlab-ci-local derives `CI_SERVER_FQDN` and `CI_PROJECT_PATH`), ferry.toml, this
/// repository's `templates/` (a project includes its own components from its working tree) and
/// the given `.gitlab-ci.yml`.
fn consumer(ci: &str, remote: &str, branch: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_templates(root);
    std::fs::write(root.join("ferry.toml"), SIMULATOR_TOML).unwrap();
    std::fs::write(root.join(".gitlab-ci.yml"), ci).unwrap();
    git(root, &["init", "-q", "-b", branch]);
    git(root, &["remote", "add", "origin", remote]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "consumer"]);
    dir
}

/// This repository's components (`templates/`) copied into `root/templates/`.
fn copy_templates(root: &Path) {
    std::fs::create_dir_all(root.join("templates")).unwrap();
    for entry in std::fs::read_dir(Path::new(REPO).join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            root.join("templates").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
}

const ORIGIN: &str = "https://gitlab.example.com/group/app.git";

pub(crate) struct Gcl {
    pub(crate) ok: bool,
    /// stdout alone (a listing).
    pub(crate) stdout: String,
    /// stdout and stderr.
    pub(crate) output: String,
}

/// gitlab-ci-local in `repo` with these arguments and `--variable`s, every job in the shell.
pub(crate) fn gcl(repo: &Path, args: &[&str], variables: &[(&str, String)]) -> Gcl {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ferry"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), "/usr/local/bin:/usr/bin:/bin");
    let mut cmd = Command::new(tool());
    cmd.current_dir(repo)
        .env_clear()
        .env("PATH", path)
        .env("HOME", repo)
        .args(["--force-shell-executor", "--no-color"])
        .env(
            "GCL_IGNORE_PREDEFINED_VARS",
            "GITLAB_CI,CI_API_V4_URL,CI_PROJECT_ID,CI_PIPELINE_ID,CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH",
        );
    for (k, v) in variables {
        cmd.args(["--variable", &format!("{k}={v}")]);
    }
    cmd.args(args);
    let out = cmd.output().unwrap();
    Gcl {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn head(repo: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The dotenv report gitlab-ci-local kept for a job.
pub(crate) fn dotenv_report(repo: &Path, job: &str, file: &str) -> String {
    let mut stack = vec![repo.join(".gitlab-ci-local")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == file)
                && path.to_string_lossy().contains(job)
            {
                return std::fs::read_to_string(path).unwrap();
            }
        }
    }
    panic!("no dotenv report {file} of {job} under .gitlab-ci-local");
}

/// The jobs a pipeline would have, as `name;stage;when;allowFailure;environment;needs` lines.
pub(crate) fn jobs(repo: &Path, variables: &[(&str, String)]) -> Vec<String> {
    let listed = gcl(repo, &["--list-csv"], variables);
    assert!(listed.ok, "{}", listed.output);
    listed
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("name;"))
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// The fake GitLab of a consumer's pipeline: the token's user and the pipeline of its commit.
fn gitlab_of(repo: &Path) -> FakeGitlab {
    let fake = FakeGitlab::start();
    fake.user(TOKEN, ME, "ferry-bot")
        .pipeline(PIPELINE, &head(repo));
    fake
}

/// The names of the jobs a pipeline would have.
pub(crate) fn job_names(repo: &Path, variables: &[(&str, String)]) -> Vec<String> {
    jobs(repo, variables)
        .iter()
        .map(|l| l.split(';').next().unwrap_or_default().to_string())
        .collect()
}

/// A GitLab merge-request pipeline (MR !7 of project 42) reporting to `fake`.
fn merge_request_pipeline(fake: &FakeGitlab) -> Vec<(&'static str, String)> {
    vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", fake.api_url()),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_PIPELINE_ID", PIPELINE.to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_IID", "7".to_string()),
        ("CI_MERGE_REQUEST_PROJECT_ID", "42".to_string()),
        ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "42".to_string()),
        ("FERRY_TOKEN", TOKEN.to_string()),
    ]
}

/// What a review app's deploy left behind: the URL in the dotenv report, the status and the
/// sticky note on GitLab.
fn assert_review_deployed(repo: &Path, job: &str, sim: &Sim, fake: &FakeGitlab, env: &str) {
    let dotenv = dotenv_report(repo, job, "ferry.env");
    let url = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("FERRY_URL="))
        .unwrap_or_else(|| panic!("no FERRY_URL in\n{dotenv}"));
    assert!(url.starts_with(&sim.url()), "{url}");
    assert!(dotenv.contains("FERRY_STATUS=succeeded"), "{dotenv}");
    // (gitlab-ci-local does not expand `environment:url` from dotenv reports as GitLab does, so
    // the report itself is what is checked.)
    assert_eq!(
        fake.posted_states(&format!("ferry/{env}"))
            .last()
            .map(String::as_str),
        Some("success")
    );
    let notes = fake.ferry_notes("42", 7, ME);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].body.contains(env), "{}", notes[0].body);
}

#[test]
fn the_review_component_deploys_and_stops_with_the_same_arguments() {
    let sim = Sim::start(Script::fast());
    // The platform's address and the app come only through `args`: the stop job must get them
    // too, or it cannot find what to tear down.
    let repo = consumer(
        "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA\n    inputs:\n      environment: review/$CI_MERGE_REQUEST_IID\n      args: --platform-url \"$SIM_URL\" --var app=shop\n",
        ORIGIN,
        "feature",
    );
    let fake = gitlab_of(repo.path());
    let mut vars = merge_request_pipeline(&fake);
    vars.push(("SIM_URL", sim.url()));

    let deploy = gcl(repo.path(), &["ferry-deploy"], &vars);
    assert!(deploy.ok, "{}", deploy.output);
    assert!(
        deploy.output.contains("PASS  ferry-deploy"),
        "{}",
        deploy.output
    );
    assert_eq!(sim.count_route(Route::Trigger, "/apps/shop/builds"), 1);
    assert_eq!(sim.count_route(Route::Trigger, "/apps/shop/deployments"), 1);
    assert_review_deployed(repo.path(), "ferry-deploy", &sim, &fake, "review/7");

    let stop = gcl(repo.path(), &["ferry-stop"], &vars);
    assert!(stop.ok, "{}", stop.output);
    assert!(stop.output.contains("PASS  ferry-stop"), "{}", stop.output);
    assert_eq!(
        sim.count_route(Route::Trigger, "/apps/shop/environments/review%2F7"),
        1,
        "{}",
        stop.output
    );
    // The stop updated the same note's row.
    let notes = fake.ferry_notes("42", 7, ME);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.to_lowercase().contains("stopped"),
        "{}",
        notes[0].body
    );
    fake.assert_clean();
}

#[test]
fn the_production_component_deploys_the_default_branch_when_run_by_hand() {
    let sim = Sim::start(Script::fast());
    let repo = consumer(
        "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/production@$CI_COMMIT_SHA\n",
        ORIGIN,
        "main",
    );
    let fake = gitlab_of(repo.path());
    let vars = vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", fake.api_url()),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_PIPELINE_ID", PIPELINE.to_string()),
        ("CI_PIPELINE_SOURCE", "push".to_string()),
        ("CI_DEFAULT_BRANCH", "main".to_string()),
        ("FERRY_TOKEN", TOKEN.to_string()),
        ("FERRY_PLATFORM_URL", sim.url()),
    ];
    // A manual job that blocks the pipeline (allow_failure false) in the default branch's
    // pipeline.
    assert_eq!(
        jobs(repo.path(), &vars),
        ["ferry-production;deploy;manual;false;production;"]
    );
    let preview = gcl(repo.path(), &["--preview"], &vars);
    assert!(preview.ok, "{}", preview.output);
    for part in [
        "deployment_tier: production",
        "resource_group: production",
        "url: $FERRY_URL",
    ] {
        assert!(preview.output.contains(part), "{part}:\n{}", preview.output);
    }
    for absent in ["on_stop", "auto_stop_in", "action: stop"] {
        assert!(
            !preview.output.contains(absent),
            "{absent}:\n{}",
            preview.output
        );
    }

    let run = gcl(
        repo.path(),
        &["--manual", "ferry-production", "ferry-production"],
        &vars,
    );
    assert!(run.ok, "{}", run.output);
    assert!(
        run.output.contains("PASS  ferry-production"),
        "{}",
        run.output
    );
    assert_eq!(sim.count_route(Route::Trigger, "/deployments"), 1);
    let dotenv = dotenv_report(repo.path(), "ferry-production", "ferry.env");
    assert!(dotenv.contains("FERRY_ENVIRONMENT=production"), "{dotenv}");
    assert!(dotenv.contains("FERRY_STATUS=succeeded"), "{dotenv}");
    assert_eq!(
        fake.posted_states("ferry/production")
            .last()
            .map(String::as_str),
        Some("success"),
        "{}",
        run.output
    );
    fake.assert_clean();
}

#[test]
fn the_default_rules_put_each_job_in_one_pipeline_per_push() {
    let repo = consumer(
        "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/production@$CI_COMMIT_SHA\n",
        ORIGIN,
        "feature",
    );
    let names = |vars: &[(&str, String)]| job_names(repo.path(), vars);
    let var = |k: &'static str, v: &str| (k, v.to_string());
    let review = ["ferry-deploy", "ferry-stop"];
    // A merge request's pipeline has the review app.
    assert_eq!(
        names(&[
            var("CI_PIPELINE_SOURCE", "merge_request_event"),
            var("CI_MERGE_REQUEST_IID", "7")
        ]),
        review
    );
    // The branch pipeline of the same push, with the merge request open, has none: one deploy
    // per push, not two racing for the same environment.
    assert_eq!(
        names(&[
            var("CI_COMMIT_BRANCH", "feature"),
            var("CI_OPEN_MERGE_REQUESTS", "group/app!7")
        ]),
        Vec::<String>::new()
    );
    // A branch without a merge request gets its review app.
    assert_eq!(names(&[var("CI_COMMIT_BRANCH", "feature")]), review);
    // The default branch gets production, not a review app.
    assert_eq!(
        names(&[
            var("CI_COMMIT_BRANCH", "main"),
            var("CI_DEFAULT_BRANCH", "main")
        ]),
        ["ferry-production"]
    );
    // A tag gets nothing by default.
    assert_eq!(
        names(&[var("CI_COMMIT_TAG", "1.0.0"), var("CI_COMMIT_BRANCH", "")]),
        Vec::<String>::new()
    );
}

#[test]
fn inputs_outside_their_options_or_pattern_are_refused_before_any_job_runs() {
    for (inputs, says) in [
        (
            "when: sometimes",
            "`when` input: `sometimes` cannot be used because it is not in the list of allowed options",
        ),
        (
            "deployment_tier: prod",
            "`deployment_tier` input: `prod` cannot be used",
        ),
        (
            "job_prefix: \"my deploy\"",
            "`job_prefix` input: `my deploy` does not match required regex",
        ),
    ] {
        let repo = consumer(
            &format!(
                "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/production@$CI_COMMIT_SHA\n    inputs:\n      {inputs}\n"
            ),
            ORIGIN,
            "main",
        );
        let listed = gcl(repo.path(), &["--list-csv"], &[]);
        assert!(!listed.ok, "{inputs}: accepted\n{}", listed.output);
        assert!(listed.output.contains(says), "{inputs}:\n{}", listed.output);
    }
}

/// The example pipeline as shipped (`examples/gitlab/.gitlab-ci.yml`): it includes
/// `$CI_SERVER_FQDN/ferry-dev/ferry/<component>@<version>`, which gitlab-ci-local clones at that
/// tag from the instance the consumer lives on, here a Git HTTP server holding this repository's
/// components at the example's version.
#[test]
fn the_example_pipeline_includes_the_components_by_version_from_the_instance() {
    let example =
        std::fs::read_to_string(Path::new(REPO).join("examples/gitlab/.gitlab-ci.yml")).unwrap();
    let version = included_version(&example);
    assert!(
        example.contains(&format!("ferry-dev/ferry/production@{version}")),
        "both components at one version:\n{example}"
    );
    let (_instance, server) = instance(&version);

    let sim = Sim::start(Script::fast());
    let repo = consumer(
        &example,
        &format!("{}/group/app.git", server.url()),
        "feature",
    );
    let fake = gitlab_of(repo.path());
    let mut vars = merge_request_pipeline(&fake);
    vars.push(("FERRY_PLATFORM_URL", sim.url()));

    let deploy = gcl(repo.path(), &["ferry-deploy"], &vars);
    assert!(deploy.ok, "{}", deploy.output);
    assert!(
        deploy
            .output
            .contains(&format!("ferry-dev/ferry {version}")),
        "the component came from the instance at {version}:\n{}",
        deploy.output
    );
    assert_eq!(sim.count_route(Route::Trigger, "/deployments"), 1);
    assert_review_deployed(repo.path(), "ferry-deploy", &sim, &fake, "review/feature");
    // The same file, on the default branch, has the manual production job instead.
    let main = jobs(
        repo.path(),
        &[
            ("CI_COMMIT_BRANCH", "main".into()),
            ("CI_DEFAULT_BRANCH", "main".into()),
        ],
    );
    assert!(
        main.iter()
            .any(|j| j.starts_with("ferry-production;deploy;manual;false;production")),
        "{main:?}"
    );
    assert!(
        !main.iter().any(|j| j.starts_with("ferry-deploy")),
        "{main:?}"
    );
    fake.assert_clean();
}

/// A GitLab instance's Git server holding ferry's component project (`ferry-dev/ferry`: this
/// repository's `templates/` and `README.md`) tagged `version`.
fn instance(version: &str) -> (tempfile::TempDir, FakeHttp) {
    let instance = tempfile::tempdir().unwrap();
    let work = instance.path().join("work");
    copy_templates(&work);
    std::fs::copy(Path::new(REPO).join("README.md"), work.join("README.md")).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "components"]);
    git(&work, &["tag", version]);
    let bare = instance.path().join("repos/ferry-dev/ferry.git");
    let (work, bare) = (work.to_str().unwrap(), bare.to_str().unwrap());
    git(instance.path(), &["clone", "-q", "--bare", work, bare]);
    let server = git_http::serve_repositories(&instance.path().join("repos"));
    (instance, server)
}

/// The version a snippet includes ferry's components at (`…/ferry-dev/ferry/<name>@<version>`).
fn included_version(snippet: &str) -> String {
    let version = snippet
        .split("ferry-dev/ferry/")
        .nth(1)
        .and_then(|rest| rest.split_once('@'))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ferry-dev/ferry/<name>@<version> in\n{snippet}"))
        .to_string();
    assert!(
        semver_like(&version),
        "catalog versions are X.Y.Z, not {version}"
    );
    version
}

/// Every `include:` of ferry's components that the README's GitLab chapter shows, run as a
/// consumer's whole `.gitlab-ci.yml`: GitLab accepts its inputs, and the job it adds deploys.
#[test]
fn every_component_snippet_in_the_readme_deploys() {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    let chapter = readme
        .split("\n## GitLab CI\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let snippets: Vec<&str> = chapter
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.contains("component: $CI_SERVER_FQDN/ferry-dev/ferry/"))
        .collect();
    assert!(snippets.len() >= 3, "{snippets:#?}");
    let version = included_version(snippets[0]);
    let (_instance, server) = instance(&version);
    let sim = Sim::start(Script::fast());
    for snippet in snippets {
        assert_eq!(
            included_version(snippet),
            version,
            "one version:\n{snippet}"
        );
        let repo = consumer(snippet, &format!("{}/group/app.git", server.url()), "main");
        let fake = gitlab_of(repo.path());
        let mut vars = merge_request_pipeline(&fake);
        vars.push(("FERRY_PLATFORM_URL", sim.url()));
        vars.push(("CI_DEFAULT_BRANCH", "main".into()));
        // A merge request's pipeline for a review app, the default branch's for production.
        let review = snippet.contains("/deploy@");
        if !review {
            vars.retain(|(k, _)| !k.starts_with("CI_MERGE_REQUEST") && *k != "CI_PIPELINE_SOURCE");
            vars.push(("CI_PIPELINE_SOURCE", "push".into()));
        }
        let job = if review {
            "ferry-deploy"
        } else {
            "ferry-production"
        };
        let listed = jobs(repo.path(), &vars);
        assert!(
            listed.iter().any(|l| l.starts_with(&format!("{job};"))),
            "{snippet}\n{listed:?}"
        );
        let before = sim.count_route(Route::Trigger, "/deployments");
        let run = gcl(repo.path(), &["--manual", job, job], &vars);
        assert!(run.ok, "{snippet}\n{}", run.output);
        assert_eq!(sim.count_route(Route::Trigger, "/deployments"), before + 1);
        fake.assert_clean();
    }
}

/// `examples/gitlab/remote-include.yml` as shipped, for instances that cannot mirror ferry's
/// project: the component file fetched by URL (here from a local server holding this
/// repository's files at the URL's path), with `inputs:`.
#[test]
fn the_remote_include_example_deploys_with_its_inputs() {
    let example =
        std::fs::read_to_string(Path::new(REPO).join("examples/gitlab/remote-include.yml"))
            .unwrap();
    let prefix = "https://raw.githubusercontent.com/ferry-dev/ferry/";
    let (before, after) = example
        .split_once(prefix)
        .expect("the example includes a file of ferry's repository by URL");
    let (tag, rest) = after.split_once('/').unwrap();
    assert!(
        tag.starts_with('v') && semver_like(&tag[1..]),
        "a release tag (vX.Y.Z), not {tag}"
    );
    assert!(rest.starts_with("templates/deploy.yml"), "{rest}");
    let files = git_http::serve_files(Path::new(REPO));
    let ci = format!("{before}{}/{rest}", files.url());
    assert!(ci.contains("inputs:"), "{ci}");

    let sim = Sim::start(Script::fast());
    let repo = consumer(&ci, ORIGIN, "feature");
    let fake = gitlab_of(repo.path());
    let mut vars = merge_request_pipeline(&fake);
    vars.push(("FERRY_PLATFORM_URL", sim.url()));
    let deploy = gcl(repo.path(), &["ferry-deploy"], &vars);
    assert!(deploy.ok, "{}", deploy.output);
    assert_eq!(
        files
            .requests()
            .iter()
            .filter(|r| r.target == "/templates/deploy.yml")
            .count(),
        1
    );
    assert_review_deployed(repo.path(), "ferry-deploy", &sim, &fake, "review/7");
    fake.assert_clean();
}

/// `X.Y.Z` with an optional pre-release, as the CI/CD catalog requires of a version.
pub(crate) fn semver_like(version: &str) -> bool {
    let (core, pre) = version.split_once('-').unwrap_or((version, "x"));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !pre.is_empty()
}
