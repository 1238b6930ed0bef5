//! The README quotes the example files that CI validates, verbatim, so the two cannot drift.

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
