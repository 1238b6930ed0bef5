//! The README quotes the example files that CI validates and the tests run, verbatim, so the two
//! cannot drift; and it shows no pipeline snippet that no test runs.

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn the_readme_quotes_every_example_workflow() {
    let readme = readme();
    for file in [
        "examples/github/review-app.yml",
        "examples/github/release.yml",
        "examples/github/deploy-only.yml",
        "examples/gitlab/.gitlab-ci.yml",
        "examples/gitlab/remote-include.yml",
    ] {
        let text =
            std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(
            readme.contains(&text),
            "README.md does not quote {file} verbatim"
        );
    }
}

#[test]
fn the_readme_names_the_test_command_that_ci_runs() {
    let readme = readme();
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(readme.contains("bash .ci/test"));
    assert!(ci.contains("bash .ci/test"));
}

/// Every pipeline (YAML) block of the README is an example file, quoted whole, which
/// `github_examples.rs` or `gitlab_ci_local.rs` runs as shipped; or an `include:` of ferry's GitLab
/// components, which `gitlab_ci_local::every_component_snippet_in_the_readme_deploys` runs.
#[test]
fn every_pipeline_snippet_in_the_readme_is_run_by_a_test() {
    let readme = readme();
    let examples: Vec<String> = ["examples/github", "examples/gitlab"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(format!("{}/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        })
        .collect();
    for block in readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
    {
        let example = examples.iter().any(|e| e == block);
        let component = block.contains("component: $CI_SERVER_FQDN/ferry-dev/ferry/")
            && readme
                .split("\n## GitLab CI\n")
                .nth(1)
                .is_some_and(|chapter| {
                    chapter
                        .split("\n## ")
                        .next()
                        .is_some_and(|c| c.contains(block))
                });
        assert!(
            example || component,
            "README.md shows a pipeline that no test runs; make it an example file (quoted whole) \
             or a component include in the GitLab CI chapter:\n{block}"
        );
    }
}
