//! The GitLab CI/CD component run for real by gitlab-ci-local (npm, pinned in package.json):
//! `include: component:` of this repository at `$CI_COMMIT_SHA`, the deploy job and then the
//! stop job, with the freshly built binary on `PATH`, against the simulated platform.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry::sim::{Route, Script};

use crate::support::{SIMULATOR_TOML, Sim};

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
        .args(["--force-shell-executor", "--no-color"]);
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

#[test]
fn the_component_deploys_and_stops_a_review_app() {
    let sim = Sim::start(Script::fast());
    let repo = consumer("");
    let vars = vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_IID", "7".to_string()),
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
    let deploy_body = sim
        .requests()
        .into_iter()
        .find(|r| r.route == Some(Route::Trigger) && r.path.contains("/deployments"))
        .unwrap()
        .body;
    assert!(deploy_body.contains("review/7"), "{deploy_body}");

    let stop = run_job(repo.path(), "ferry-stop", &vars);
    assert!(stop.ok, "{}", stop.output);
    assert_eq!(
        sim.count_route(Route::Trigger, "/environments/review%2F7"),
        1
    );
}
