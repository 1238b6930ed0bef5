//! Publishing the components to GitLab's CI/CD catalog, checked against the catalog's documented
//! rules (GitLab's `doc/ci/components/_index.md`): the component project's layout (a root
//! `README.md` documenting every component with an example; `templates/<name>.yml`, at most 30,
//! each a `spec:` header and jobs), and the project's own pipeline (`.gitlab-ci.yml`), run by
//! gitlab-ci-local: a mirrored release tag `vX.Y.Z` tests every component as a consumer includes
//! it, then a `release:` job creates the semantic version `X.Y.Z`, which publishes it; the
//! catalog's own tag starts no second pipeline. (The publish itself needs a GitLab instance.)

use std::collections::BTreeSet;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use crate::gitlab_ci_local::{dotenv_report, gcl, git, job_names, semver_like};
use crate::support::fake_gitlab::FakeGitlab;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Each component: its name and its file's text.
fn components() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(Path::new(REPO).join("templates")).unwrap() {
        let path = entry.unwrap().path();
        let (name, file) = if path.is_dir() {
            (path.file_name(), path.join("template.yml"))
        } else {
            (path.file_stem(), path.clone())
        };
        assert!(
            file.extension().is_some_and(|e| e == "yml") && file.exists(),
            "{}: the catalog reads templates/<name>.yml or templates/<name>/template.yml",
            path.display()
        );
        let name = name.unwrap().to_string_lossy().into_owned();
        found.push((name, std::fs::read_to_string(file).unwrap()));
    }
    found.sort();
    found
}

fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("$[[")
        .skip(1)
        .filter_map(|rest| rest.split_once("]]"))
        .filter_map(|(inside, _)| inside.trim().strip_prefix("inputs.").map(str::to_string))
        .collect()
}

#[test]
fn the_component_project_has_the_layout_the_catalog_requires() {
    let components = components();
    let names: Vec<&str> = components.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["deploy", "production"]);
    assert!(
        components.len() <= 30,
        "the catalog takes 30 components per project"
    );
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    // The license the catalog asks a component project to carry, the one Cargo.toml declares.
    let license = std::fs::read_to_string(Path::new(REPO).join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
    let manifest = std::fs::read_to_string(Path::new(REPO).join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"Apache-2.0\""));
    for (name, text) in &components {
        let (header, body) = text
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{name}: no `---` between the spec header and the jobs"));
        let spec = &YamlLoader::load_from_str(header).unwrap()[0];
        let inputs = spec["spec"]["inputs"]
            .as_hash()
            .unwrap_or_else(|| panic!("{name}: no spec:inputs"));
        let declared: BTreeSet<String> = inputs
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        // Every input typed and described (the catalog shows the descriptions), every one used,
        // and nothing used that is not declared.
        for (input, spec) in inputs {
            let input = input.as_str().unwrap();
            assert!(
                matches!(&spec["type"], Yaml::String(t) if ["string", "array", "number", "boolean"].contains(&t.as_str())),
                "{name}: input {input} has no type"
            );
            assert!(
                spec["description"].as_str().is_some_and(|d| d.len() > 10),
                "{name}: input {input} has no description"
            );
        }
        assert_eq!(
            placeholders(body),
            declared,
            "{name}: inputs used vs declared"
        );
        // The README documents it with an example of its catalog reference.
        assert!(
            readme.contains(&format!("#### `{name}`")),
            "README.md has no `#### `{name}`` section"
        );
        assert!(
            readme.contains(&format!("/ferry-dev/ferry/{name}@")),
            "README.md has no example including {name}"
        );
    }
    // Only what the release job in the project's own pipeline creates reaches the catalog.
    let pipeline = std::fs::read_to_string(Path::new(REPO).join(".gitlab-ci.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&pipeline).unwrap()[0];
    let release_jobs: Vec<&str> = doc
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, job)| !job["release"].is_badvalue())
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(release_jobs, ["create-release"]);
    for (name, _) in &components {
        assert!(
            pipeline.contains(&format!("$CI_PROJECT_PATH/{name}@$CI_COMMIT_SHA")),
            "the project's pipeline does not test {name}"
        );
    }
}

/// This repository as the GitLab project mirrors it (the files its pipeline reads).
fn mirror() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for file in [
        ".gitlab-ci.yml",
        "README.md",
        "examples/simulator.toml",
        "templates/deploy.yml",
        "templates/production.yml",
    ] {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(Path::new(REPO).join(file), to).unwrap();
    }
    git(root, &["init", "-q", "-b", "main"]);
    git(
        root,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/ferry-dev/ferry.git",
        ],
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "mirror"]);
    dir
}

#[test]
fn a_release_tag_tests_every_component_then_releases_its_semantic_version() {
    let repo = mirror();
    let tag = |t: &str| {
        vec![
            ("CI_COMMIT_TAG", t.to_string()),
            ("CI_COMMIT_BRANCH", String::new()),
        ]
    };
    assert_eq!(
        job_names(repo.path(), &tag("v1.4.2")),
        [
            "component-test-deploy",
            "component-test-stop",
            "component-test-production",
            "catalog-version",
            "create-release",
        ]
    );
    // The tags the release creates (1.4.2), and the moving major tag (v1), release nothing.
    // (In GitLab their pipelines do not even start: the workflow's first rule, the same
    // pattern, is the only one that lets a tag in. gitlab-ci-local does not apply `workflow:`
    // rules, so the pattern is checked here through the jobs' rules.)
    let pipeline = std::fs::read_to_string(Path::new(REPO).join(".gitlab-ci.yml")).unwrap();
    let release_tag = "if: $CI_COMMIT_TAG =~ /^v";
    assert_eq!(pipeline.matches(release_tag).count(), 3, "{pipeline}");
    for other in ["1.4.2", "v1"] {
        let names = job_names(repo.path(), &tag(other));
        assert!(
            !names
                .iter()
                .any(|n| n == "catalog-version" || n == "create-release"),
            "{other}: {names:?}"
        );
    }
    // The default branch tests the components and releases nothing.
    assert_eq!(
        job_names(
            repo.path(),
            &[
                ("CI_COMMIT_BRANCH", "main".into()),
                ("CI_DEFAULT_BRANCH", "main".into())
            ]
        ),
        [
            "component-test-deploy",
            "component-test-stop",
            "component-test-production"
        ]
    );

    // Each component's job runs ferry in a GitLab job and passes; the dry run sends nothing,
    // not even to GitLab.
    let fake = FakeGitlab::start();
    let mut vars = tag("v1.4.2");
    vars.extend([
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", fake.api_url()),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_PIPELINE_ID", "9001".to_string()),
    ]);
    for job in [
        "component-test-deploy",
        "component-test-stop",
        "component-test-production",
        "catalog-version",
    ] {
        let run = gcl(repo.path(), &["--manual", job, job], &vars);
        assert!(run.ok, "{job}:\n{}", run.output);
        assert!(
            run.output.contains(&format!("PASS  {job}")),
            "{}",
            run.output
        );
    }
    assert_eq!(fake.calls(), 0, "a dry run sent {:?}", fake.requests());

    // The release's tag is the semantic version the catalog accepts.
    let version = dotenv_report(repo.path(), "catalog-version", "catalog.env");
    assert_eq!(version.trim(), "CATALOG_VERSION=1.4.2");
    assert!(semver_like("1.4.2") && !semver_like("v1.4.2"));
    let preview = gcl(repo.path(), &["--preview"], &vars);
    assert!(preview.ok, "{}", preview.output);
    assert!(
        preview.output.contains("tag_name: $CATALOG_VERSION"),
        "{}",
        preview.output
    );
}
