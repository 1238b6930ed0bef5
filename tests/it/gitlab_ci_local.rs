//! The GitLab CI/CD component run for real by gitlab-ci-local (npm, pinned in package.json):
//! `include: component:` of this repository at `$CI_COMMIT_SHA`, the deploy job and then the
//! stop job, with the freshly built binary on `PATH`, against the simulated platform.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::sim::{Route, Script};

use crate::support::fake_gitlab::FakeGitlab;
use crate::support::{SIMULATOR_TOML, Sim};

const TOKEN: &str = "glpat-componentTestToken0001";
const ME: u64 = 31;
const PIPELINE: u64 = 6001;

fn tool() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/gitlab-ci-local");
    assert!(
        path.exists(),
        "gitlab-ci-local is missing: run `bash .ci/test` (or `npm ci`) once to install the test tools"
    );
    path
}

/// A consumer project: a git repository (with a remote, as gitlab-ci-local needs) including the
/// component from this repository's working tree at its own commit.
fn consumer(extra_ci: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/deploy.yml");
    std::fs::copy(component, root.join("templates/deploy.yml")).unwrap();
    std::fs::write(root.join("ferry.toml"), SIMULATOR_TOML).unwrap();
    std::fs::write(
        root.join(".gitlab-ci.yml"),
        format!(
            "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA\n    inputs:\n      environment: review/$CI_MERGE_REQUEST_IID\n      rules:\n        - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n{extra_ci}"
        ),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://gitlab.example.com/group/app.git",
    ]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "consumer"]);
    dir
}

struct Job {
    ok: bool,
    output: String,
}

fn run_job(repo: &Path, job: &str, variables: &[(&str, String)]) -> Job {
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
            "GITLAB_CI,CI_API_V4_URL,CI_PROJECT_ID,CI_PIPELINE_ID,CI_PIPELINE_SOURCE",
        );
    for (k, v) in variables {
        cmd.args(["--variable", &format!("{k}={v}")]);
    }
    cmd.arg(job);
    let out = cmd.output().unwrap();
    Job {
        ok: out.status.success(),
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
fn dotenv_report(repo: &Path, job: &str) -> String {
    let mut stack = vec![repo.join(".gitlab-ci-local")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "ferry.env")
                && path.to_string_lossy().contains(job)
            {
                return std::fs::read_to_string(path).unwrap();
            }
        }
    }
    panic!("no dotenv report of {job} under .gitlab-ci-local");
}

#[test]
fn the_component_deploys_and_stops_a_review_app() {
    let sim = Sim::start(Script::fast());
    let repo = consumer("");
    let sha = head(repo.path());
    let fake = FakeGitlab::start();
    fake.user(TOKEN, ME, "ferry-bot").pipeline(PIPELINE, &sha);
    let vars = vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", fake.api_url()),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_PIPELINE_ID", PIPELINE.to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_IID", "7".to_string()),
        ("CI_MERGE_REQUEST_PROJECT_ID", "42".to_string()),
        ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "42".to_string()),
        ("FERRY_TOKEN", TOKEN.to_string()),
        ("FERRY_PLATFORM_URL", sim.url()),
    ];
    let deploy = run_job(repo.path(), "ferry-deploy", &vars);
    assert!(deploy.ok, "{}", deploy.output);
    assert!(
        deploy.output.contains("PASS  ferry-deploy"),
        "{}",
        deploy.output
    );
    assert_eq!(sim.count_route(Route::Trigger, "/builds"), 1);
    assert_eq!(sim.count_route(Route::Trigger, "/deployments"), 1);
    // The environment URL came from ferry's dotenv report.
    let dotenv = dotenv_report(repo.path(), "ferry-deploy");
    let url = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("FERRY_URL="))
        .unwrap_or_else(|| panic!("no FERRY_URL in\n{dotenv}"))
        .to_string();
    assert!(
        url.starts_with(&sim.url()) && url.contains("review%2F7"),
        "{url}"
    );
    assert!(dotenv.contains("FERRY_STATUS=succeeded"), "{dotenv}");
    // (gitlab-ci-local does not expand `environment:url` from dotenv reports as GitLab does, so
    // the report itself is what is checked.)
    // The status and the note reached GitLab.
    assert_eq!(
        fake.posted_states("ferry/review/7")
            .last()
            .map(String::as_str),
        Some("success"),
        "{}",
        deploy.output
    );
    let notes = fake.ferry_notes("42", 7, ME);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].body.contains("review/7"), "{}", notes[0].body);

    let stop = run_job(repo.path(), "ferry-stop", &vars);
    assert!(stop.ok, "{}", stop.output);
    assert_eq!(
        sim.count_route(Route::Trigger, "/environments/review%2F7"),
        1
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
