//! Templates proved by `ferry check` before anything runs: a typo in a name, an earlier phase's
//! output, a syntax error, an unknown filter, a named platform's key, a secret not set — each
//! named with its file, table and key, a "did you mean" and the fix, exit 2, nothing sent. And
//! `{{ secrets.NAME }}`: taken from `FERRY_SECRET_<NAME>`, sent, shown nowhere.

use ferry::sim::Script;

use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run};

/// A value that must reach the platform and no output.
const SECRET: &str = "trigger-s3cr3t-9f1c2e";

/// `ferry check` on this config against a running simulator, with `env` added.
fn check(sim: &Sim, config: &str, env: &[(&str, &str)]) -> Run {
    let work = Workdir::with_config(config);
    let mut cmd = work.ferry();
    cmd.args(["check"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// Exit 2, every part in stderr, no panic, and the simulator got no request.
#[track_caller]
fn refused(r: &Run, sim: &Sim, parts: &[&str]) {
    r.assert_says(2, parts);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

/// The simulator's example with one text replaced (which must be there).
fn simulator_with(from: &str, to: &str) -> String {
    assert!(SIMULATOR_TOML.contains(from), "{from}");
    SIMULATOR_TOML.replacen(from, to, 1)
}

#[test]
fn a_mistyped_var_is_named_with_its_table_key_and_the_likely_name() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with(
        "path = \"/v1/apps/{{ vars.app }}/builds\"",
        "path = \"/v1/apps/{{ vars.ap }}/builds\"",
    );
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:31: [build.trigger] path",
            "names `vars.ap`",
            "did you mean `vars.app`?",
            "fix: add ap = \"…\" under [vars]",
        ],
    );
}

#[test]
fn a_mistyped_output_of_the_build_is_named_in_the_deploy() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with("{{ build.artifact }}", "{{ build.artefact }}");
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:62: [deploy.trigger] body.artifact",
            "names `build.artefact`",
            "did you mean `build.artifact`?",
            "[build.outputs]",
        ],
    );
}

#[test]
fn an_output_of_a_build_that_is_skipped_needs_its_stand_in() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let deploy = |extra: &[&str]| {
        run(work
            .ferry()
            .args(["deploy", "--no-build", "--dry-run"])
            .args(extra)
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"))
    };
    refused(
        &deploy(&[]),
        &sim,
        &[
            "[deploy.trigger] body.artifact",
            "names `build.artifact`",
            "--var build.artifact=",
        ],
    );
    deploy(&["--var", "build.artifact=registry/app:1"]).assert_code(0);
}

#[test]
fn an_unterminated_template_is_a_syntax_error_not_text_sent() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with("sha = \"{{ sha }}\"", "sha = \"{{ sha\"");
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:34: [build.trigger] body.sha",
            "the template \"{{ sha\" cannot be read: syntax error",
            "fix: write values as {{ name }}",
        ],
    );
}

#[test]
fn an_unknown_filter_is_named_with_the_likely_one() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with(
        "path = \"/v1/builds/{{ id }}\"",
        "path = \"/v1/builds/{{ id | rwa }}\"",
    );
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:39: [build.status] path",
            "unknown filter",
            "rwa",
            "did you mean `raw`?",
        ],
    );
}

#[test]
fn a_captured_value_is_not_there_before_its_request() {
    let sim = Sim::start(Script::fast());
    // The trigger's id exists only once the trigger answered: not in the trigger's own path.
    let config = simulator_with(
        "path = \"/v1/apps/{{ vars.app }}/builds\"",
        "path = \"/v1/apps/{{ vars.app }}/builds/{{ id }}\"",
    );
    let r = check(&sim, &config, &[]);
    refused(&r, &sim, &["[build.trigger] path", "names `id`"]);
}

#[test]
fn a_typo_in_a_named_platform_s_key_is_named() {
    let sim = Sim::start(Script::fast());
    let config = r#"
[vars]
app = "shop"

[platforms.ci]
kind = "jenkins"
url_env = "JENKINS_URL"
user = "ci-bot"
token_env = "JENKINS_TOKEN"

[deploy]
platform = "ci"
job = "deploy-{{ vars.app }}"
parameters = { GIT_COMMIT = "{{ sah }}", TARGET = "{{ environment }}" }
"#;
    let env = [
        ("JENKINS_URL", sim.url()),
        ("JENKINS_TOKEN", "jenkins-token-1".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = check(&sim, config, &env);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:14: [deploy.parameters] GIT_COMMIT",
            "names `sah`",
            "did you mean `sha`?",
        ],
    );
    let fixed = config.replace("{{ sah }}", "{{ sha }}");
    check(&sim, &fixed, &env).assert_code(0);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

/// The simulator's build trigger sending a credential in its body, as GitLab's pipeline trigger
/// takes its `token`: a nested `token` key, written as a template.
fn with_body_token() -> String {
    simulator_with(
        "body = { sha = \"{{ sha }}\", ref = \"{{ ref_name }}\", repository = \"{{ repository }}\" }\nexpect = [200, 201]\nid = \"/id\"\n",
        "expect = [200, 201]\nid = \"/id\"\n\n[build.trigger.body]\nsha = \"{{ sha }}\"\ntoken = \"{{ secrets.trigger }}\"\n",
    )
}

#[test]
fn a_secret_not_set_is_named_with_its_variable() {
    let sim = Sim::start(Script::fast());
    let r = check(&sim, &with_body_token(), &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:39: [build.trigger] body.token",
            "names `secrets.trigger`",
            "fix: set FERRY_SECRET_TRIGGER as a masked CI variable",
        ],
    );
    // Given, the same file (a `token` key in a body) is valid, and the plan does not show it.
    let r = check(
        &sim,
        &with_body_token(),
        &[("FERRY_SECRET_TRIGGER", SECRET)],
    );
    r.assert_code(0);
    assert!(
        !r.stdout.contains(SECRET) && !r.stderr.contains(SECRET),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_secret_reaches_its_request_and_no_output() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(&with_body_token());
    let r = run(work
        .ferry()
        .args(["deploy", "--json"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("FERRY_SECRET_TRIGGER", SECRET));
    r.assert_code(0);
    let requests = sim.requests();
    let trigger = requests
        .iter()
        .find(|q| q.method == "POST" && q.path.ends_with("/builds"))
        .expect("a build trigger");
    let body: serde_json::Value = serde_json::from_str(&trigger.body).unwrap();
    assert_eq!(body["token"], SECRET, "{body}");
    // Sent only in the request that names it.
    let carrying = requests
        .iter()
        .filter(|q| q.body.contains(SECRET) || q.path.contains(SECRET));
    assert_eq!(carrying.count(), 1, "{requests:?}");
    assert!(!r.stdout.contains(SECRET), "{}", r.stdout);
    assert!(!r.stderr.contains(SECRET), "{}", r.stderr);
}

#[test]
fn ferry_s_own_token_at_the_top_level_is_still_refused_without_echo() {
    let sim = Sim::start(Script::fast());
    let config = format!("token = \"{SECRET}\"\n{}", with_body_token());
    let r = check(&sim, &config, &[("FERRY_SECRET_TRIGGER", SECRET)]);
    refused(&r, &sim, &["`token` is a secret", "FERRY_TOKEN"]);
    assert!(!r.stderr.contains(SECRET), "{}", r.stderr);
}

#[test]
fn url_values_are_encoded_unless_raw() {
    let sim = Sim::start(Script::fast());
    let build = |config: &str| {
        let work = Workdir::with_config(config);
        run(work
            .ferry()
            .args(["build", "--var", "app=a/b c"])
            .env("FERRY_PLATFORM_URL", sim.url()))
    };
    build(SIMULATOR_TOML);
    build(&simulator_with(
        "{{ vars.app }}/builds",
        "{{ vars.app | raw }}/builds",
    ));
    let paths: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|q| q.method == "POST")
        .map(|q| q.path)
        .collect();
    assert!(
        paths.contains(&"/v1/apps/a%2Fb%20c/builds".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/v1/apps/a/b%20c/builds".to_string()),
        "{paths:?}"
    );
}

#[test]
fn every_example_and_preset_passes_check() {
    let sim = Sim::start(Script::fast());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [root.clone(), root.join("platforms")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 7, "{files:?}");
    let url = sim.url();
    let env = [
        ("FERRY_PLATFORM_TOKEN", "platform-token-1"),
        ("JENKINS_URL", url.as_str()),
        ("JENKINS_TOKEN", "jenkins-token-1"),
        ("ARGOCD_URL", url.as_str()),
        ("ARGOCD_TOKEN", "argocd-token-1"),
        ("FERRY_VAR_APP", "shop"),
        ("FERRY_VAR_APP_ID", "shop"),
        ("FERRY_VAR_SERVICE", "srv-1"),
        ("FERRY_VAR_SITE", "site-1"),
        ("FERRY_VAR_PROJECT", "project-1"),
    ];
    for file in &files {
        let work = Workdir::with_config(&std::fs::read_to_string(file).unwrap());
        let mut cmd = work.ferry();
        cmd.args(["check"])
            .env("FERRY_ENVIRONMENT", "staging")
            .envs(env);
        // Named platforms carry their own URLs; the others take the simulator's.
        if !file.ends_with("jenkins-argocd.toml") {
            cmd.env("FERRY_PLATFORM_URL", &url);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 0, "{}:\n{}", file.display(), r.stderr);
    }
    for preset in ["heroku", "render", "netlify", "digitalocean"] {
        let config = format!("[platform]\npreset = \"{preset}\"\n");
        let r = check(&sim, &config, &env);
        assert_eq!(r.code, 0, "preset {preset}:\n{}", r.stderr);
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_secret_is_never_sent_to_another_origin() {
    let sim = Sim::start(Script::fast());
    // The same simulator under another name: another origin as far as ferry can tell.
    let other = sim.url().replace("127.0.0.1", "localhost");
    assert_ne!(other, sim.url());
    let config = simulator_with(
        "[build.trigger]\n",
        &format!(
            "[[build.before]]\nurl = \"{other}/v1/apps/demo-app/builds\"\nheaders = {{ X-Token = \"{{{{ secrets.trigger }}}}\" }}\n\n[build.trigger]\n"
        ),
    );
    let work = Workdir::with_config(&config);
    let r = run(work
        .ferry()
        .args(["build"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_SECRET_TRIGGER", SECRET));
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not the platform's origin"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
    let requests = sim.requests();
    assert!(
        requests
            .iter()
            .all(|q| !q.headers.iter().any(|(_, v)| v.contains(SECRET))),
        "{requests:?}"
    );
}

#[test]
fn a_value_empty_for_this_run_is_a_warning_naming_its_setting() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = run(work
        .ferry()
        .args(["check"])
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_ENVIRONMENT", "staging"));
    r.assert_code(0);
    assert!(
        r.stderr.contains(
            "[build.trigger] body.sha: `sha` is empty for this run, so the template \"{{ sha }}\" sends it empty"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--sha / FERRY_SHA"), "{}", r.stderr);
    // Once per name, where it is first sent.
    assert_eq!(
        r.stderr.matches("`sha` is empty").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_phase_the_command_does_not_run_is_read_too() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with(
        "path = \"/v1/apps/{{ vars.app }}/environments/{{ environment }}\"",
        "path = \"/v1/apps/{{ vars.app }}/environments/{{ environment\"",
    );
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:88: [stop.trigger] path",
            "cannot be read: syntax error",
        ],
    );
}

#[test]
fn a_platform_table_s_mistyped_var_or_secret_is_named() {
    let sim = Sim::start(Script::fast());
    let config = simulator_with(
        "probe = { path = \"/v1/apps/{{ vars.app }}\" }",
        "probe = { path = \"/v1/apps/{{ vars.ap }}\" }",
    );
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "ferry.toml:22: [platform] probe.path",
            "`vars.ap`",
            "did you mean `vars.app`?",
            "fix: add ap = \"…\" under [vars]",
        ],
    );
    let config = simulator_with(
        "name = \"simulator\"",
        "name = \"simulator\"\nheaders = { X-Api-Key = \"{{ secrets.api_key }}\" }",
    );
    let r = check(&sim, &config, &[]);
    refused(
        &r,
        &sim,
        &[
            "[platform] headers",
            "`secrets.api_key`",
            "FERRY_SECRET_API_KEY",
        ],
    );
    let r = check(&sim, &config, &[("FERRY_SECRET_API_KEY", SECRET)]);
    r.assert_code(0);
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
}
