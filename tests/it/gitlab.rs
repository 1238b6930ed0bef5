//! Reporting to GitLab end to end: the real binary, the simulated platform and a stateful fake
//! GitLab (`support::fake_gitlab`), for merge-request, merged-results, fork-MR and branch
//! pipelines; notes over several pages; concurrent environments; the job token alone; GitLab's
//! quirks (same-state 400, 409, 429); a relative URL root; bad input; no token anywhere.

use std::process::Command;
use std::time::{Duration, Instant};

use ferry::sim::{Outcome, Route, Script};

use crate::support::fake_gitlab::FakeGitlab;
use crate::support::{Run, SIMULATOR_TOML, Sim, Workdir, run, run_timed, spawn};

const HEAD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const MERGE: &str = "99887766554433221100ffeeddccbbaa00112233";
const TOKEN: &str = "glpat-FerryT0kenForTests-42";
const JOB_TOKEN: &str = "jobtok-3c9a7f1e5d2b";
const PLATFORM_TOKEN: &str = "plat-tok-7f3a9c2e";
const ME: u64 = 77;
const PIPELINE: u64 = 5001;
const PROJECT: &str = "42";
const IID: u64 = 7;
const STATUS: &str = "ferry/staging";

/// A fake GitLab that knows ferry's token and this pipeline.
fn gitlab() -> FakeGitlab {
    let fake = FakeGitlab::start();
    fake.user(TOKEN, ME, "ferry-bot").pipeline(PIPELINE, HEAD);
    fake
}

/// The variables of a GitLab merge-request pipeline job (detached), plus ferry's own.
fn mr_job(cmd: &mut Command, fake: &FakeGitlab, sim: &Sim, environment: &str) {
    cmd.env("GITLAB_CI", "true")
        .env("CI", "true")
        .env("CI_API_V4_URL", fake.api_url())
        .env("CI_SERVER_URL", fake.server_url())
        .env("CI_PROJECT_ID", PROJECT)
        .env("CI_PROJECT_PATH", "acme/shop")
        .env("CI_PROJECT_URL", format!("{}/acme/shop", fake.server_url()))
        .env("CI_COMMIT_SHA", HEAD)
        .env("CI_COMMIT_REF_NAME", "feature/login")
        .env("CI_PIPELINE_ID", PIPELINE.to_string())
        .env("CI_PIPELINE_SOURCE", "merge_request_event")
        .env("CI_JOB_ID", "880")
        .env("CI_JOB_NAME", "deploy")
        .env(
            "CI_JOB_URL",
            format!("{}/acme/shop/-/jobs/880", fake.server_url()),
        )
        .env("CI_JOB_TOKEN", JOB_TOKEN)
        .env(
            "CI_REPOSITORY_URL",
            format!("https://gitlab-ci-token:{JOB_TOKEN}@gitlab.example.com/acme/shop.git"),
        )
        .env("CI_MERGE_REQUEST_IID", IID.to_string())
        .env("CI_MERGE_REQUEST_PROJECT_ID", PROJECT)
        .env("CI_MERGE_REQUEST_PROJECT_PATH", "acme/shop")
        .env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", PROJECT)
        .env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/login")
        .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
        .env("FERRY_TOKEN", TOKEN)
        .env("FERRY_PLATFORM_URL", sim.url())
        .env("FERRY_PLATFORM_TOKEN", PLATFORM_TOKEN)
        .env("FERRY_ENVIRONMENT", environment);
}

fn deploy(work: &Workdir, fake: &FakeGitlab, sim: &Sim, tweak: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = work.ferry();
    cmd.args(["deploy", "--json"]);
    mr_job(&mut cmd, fake, sim, "staging");
    tweak(&mut cmd);
    run(&mut cmd)
}

/// The secrets must appear nowhere people or later jobs can read.
#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in [TOKEN, JOB_TOKEN, PLATFORM_TOKEN] {
        assert!(!text.contains(secret), "a token in {what}:\n{text}");
    }
}

#[track_caller]
fn assert_nothing_leaked(r: &Run, work: &Workdir, fake: &FakeGitlab) {
    assert_no_secret("stdout", &r.stdout);
    assert_no_secret("stderr", &r.stderr);
    assert_no_secret("the dotenv report", &work.read("ferry.env"));
    for n in fake.notes(PROJECT, IID) {
        assert_no_secret("a note", &n.body);
    }
    for r in fake.requests() {
        assert!(
            r.token.as_deref() == Some(TOKEN),
            "request without ferry's token: {r:?}"
        );
        for v in r.params.values().chain(r.query.values()) {
            assert_no_secret("a request parameter", v);
        }
    }
}

/// Snapshots a note body, with the parts that change from run to run filtered out.
fn assert_note_snapshot(name: &str, body: &str) {
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"<!-- ferry:state [A-Za-z0-9_-]+ -->", "<!-- ferry:state STATE -->"),
        (r"\| \d+(\.\d)?s \|", "| DURATION |"),
        (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?Z?( UTC)?", "TIME"),
    ]}, {
        insta::assert_snapshot!(name, body);
    });
}

#[test]
fn gitlab_mr_pipeline_deploy_sets_the_status_writes_one_note_and_the_dotenv_report() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();

    // Status: running then success, attached to this pipeline, no ref.
    assert_eq!(fake.posted_states(STATUS), ["running", "success"]);
    fake.expect_status(STATUS, &["success"]);
    let status = &fake.statuses(STATUS)[0];
    assert_eq!((status.sha.as_str(), status.pipeline_id), (HEAD, PIPELINE));
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert_eq!(status.target_url.as_deref(), Some(url.as_str()));
    assert!(
        status
            .description
            .as_deref()
            .unwrap()
            .starts_with("Deployed to staging in ")
    );
    for q in fake
        .requests()
        .iter()
        .filter(|q| q.path.contains("/statuses/"))
    {
        assert!(!q.params.contains_key("ref"), "{q:?}");
        assert_eq!(
            q.params.get("pipeline_id").map(String::as_str),
            Some("5001")
        );
    }

    // One note with the row, found later by marker and author.
    let notes = fake.ferry_notes(PROJECT, IID, ME);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("| **staging** | ✅ Ready"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains(&url));

    // Dotenv for `environment: url: $FERRY_URL`.
    let dotenv = work.read("ferry.env");
    assert!(dotenv.contains(&format!("FERRY_URL={url}\n")), "{dotenv}");
    assert!(dotenv.contains("FERRY_STATUS=succeeded\n"));
    assert!(dotenv.contains("FERRY_ENVIRONMENT=staging\n"));
    assert!(dotenv.contains("FERRY_BUILD_ID=b-1\n"));
    assert!(dotenv.contains("FERRY_DEPLOYMENT_ID=d-1\n"));

    // The request budget of an MR deploy.
    assert!(
        fake.calls() <= 8,
        "{} calls: {:#?}",
        fake.calls(),
        fake.requests()
    );
    assert_nothing_leaked(&r, &work, &fake);
    assert_note_snapshot("gitlab_note_success", &notes[0].body);
}

#[test]
fn gitlab_a_failed_deploy_fails_the_status_and_shows_the_log_tail() {
    let mut script = Script::fast();
    script.deploy.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(1);
    fake.assert_clean();
    assert_eq!(fake.posted_states(STATUS), ["running", "failed"]);
    let notes = fake.ferry_notes(PROJECT, IID, ME);
    assert_eq!(notes.len(), 1);
    let body = &notes[0].body;
    assert!(body.contains("❌ Failed"), "{body}");
    assert!(body.contains("<details>"), "{body}");
    assert!(work.read("ferry.env").contains("FERRY_STATUS=failed\n"));
    assert_nothing_leaked(&r, &work, &fake);
    assert_note_snapshot("gitlab_note_failure", body);
}

#[test]
fn gitlab_merged_results_pipeline_puts_the_status_on_the_pipeline_commit() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGitlab::start();
    fake.user(TOKEN, ME, "ferry-bot").pipeline(PIPELINE, MERGE);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("CI_COMMIT_SHA", MERGE)
            .env("CI_MERGE_REQUEST_EVENT_TYPE", "merged_result")
            .env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", HEAD);
    });
    r.assert_code(0);
    fake.assert_clean();
    let s = &fake.statuses(STATUS)[0];
    assert_eq!(
        (s.sha.as_str(), s.pipeline_id, s.state.as_str()),
        (MERGE, PIPELINE, "success")
    );
    // The note shows the commit the author pushed, never the temporary merge commit.
    let body = &fake.ferry_notes(PROJECT, IID, ME)[0].body;
    assert!(body.contains(&HEAD[..7]), "{body}");
    assert!(!body.contains(&MERGE[..7]), "{body}");
}

#[test]
fn gitlab_fork_mr_status_in_the_pipeline_project_note_in_the_target_project() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("CI_PROJECT_ID", "99")
            .env("CI_PROJECT_PATH", "contributor/shop")
            .env("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "99");
    });
    r.assert_code(0);
    fake.assert_clean();
    assert_eq!(fake.statuses(STATUS)[0].project, "99");
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
    assert!(fake.notes("99", IID).is_empty());
}

fn branch_job(c: &mut Command) {
    for v in [
        "CI_MERGE_REQUEST_IID",
        "CI_MERGE_REQUEST_PROJECT_ID",
        "CI_MERGE_REQUEST_PROJECT_PATH",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    ] {
        c.env_remove(v);
    }
    c.env("CI_PIPELINE_SOURCE", "push")
        .env("CI_COMMIT_BRANCH", "feature/login");
}

#[test]
fn gitlab_branch_pipeline_finds_the_open_mr_of_the_commit() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.commit_in_merge_request(HEAD, 42, 3, "merged", "feature/old")
        .commit_in_merge_request(HEAD, 42, IID, "opened", "feature/login");
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, branch_job);
    r.assert_code(0);
    fake.assert_clean();
    assert_eq!(fake.count("GET", "/repository/commits/"), 1);
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
    assert!(fake.notes(PROJECT, 3).is_empty());
    assert!(fake.calls() <= 8, "{} calls", fake.calls());
    fake.expect_status(STATUS, &["success"]);
}

#[test]
fn gitlab_branch_pipeline_uses_ci_open_merge_requests_without_a_lookup() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        branch_job(c);
        c.env(
            "CI_OPEN_MERGE_REQUESTS",
            format!("other/repo!1,acme/shop!{IID}"),
        );
    });
    r.assert_code(0);
    fake.assert_clean();
    assert_eq!(fake.count("GET", "/repository/commits/"), 0);
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
}

#[test]
fn gitlab_branch_pipeline_without_an_mr_only_sets_the_status() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, branch_job);
    r.assert_code(0);
    fake.assert_clean();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    fake.expect_status(STATUS, &["success"]);
    assert_eq!(fake.count("POST", "/notes"), 0);
}

#[test]
fn gitlab_external_pull_request_pipeline_sets_the_status_and_writes_no_note() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        branch_job(c);
        c.env("CI_PIPELINE_SOURCE", "external_pull_request_event")
            .env("CI_EXTERNAL_PULL_REQUEST_IID", "12")
            .env("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA", HEAD)
            .env(
                "CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY",
                "acme/shop-on-github",
            );
    });
    r.assert_code(0);
    fake.assert_clean();
    fake.expect_status(STATUS, &["success"]);
    assert_eq!(fake.count("GET", "/notes"), 0);
    assert_eq!(fake.count("GET", "/user"), 0);
}

#[test]
fn gitlab_notes_over_three_pages_with_a_look_alike_by_another_user() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    // Page 1: a look-alike ferry note by someone else (quoted, or another bot).
    let look_alike = "<!-- ferry:v1 -->\n### 🚢 Deployments\nquoted by a human";
    fake.note_by(PROJECT, IID, 5, look_alike);
    fake.chatter(PROJECT, IID, 5, 230);
    // Page 3 (of 100): ferry's own note from an earlier run, with another environment's row.
    let first = Workdir::with_config(SIMULATOR_TOML);
    let mut c = first.ferry();
    c.arg("deploy");
    mr_job(&mut c, &fake, &sim, "production");
    c.env("FERRY_COMMENT", "new");
    let r = run(&mut c);
    r.assert_code(0);
    fake.chatter(PROJECT, IID, 5, 20);
    let ours = fake.ferry_notes(PROJECT, IID, ME);
    assert_eq!(ours.len(), 1);
    let position = fake
        .notes(PROJECT, IID)
        .iter()
        .position(|n| n.id == ours[0].id)
        .unwrap();
    assert!(position >= 200, "ferry's note is on page 3 ({position})");

    let before = fake.calls();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();
    let calls: Vec<_> = fake.requests().into_iter().skip(before).collect();
    let list_pages: Vec<_> = calls
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/notes"))
        .map(|q| q.query.get("page").cloned().unwrap_or_default())
        .collect();
    assert_eq!(list_pages, ["1", "2", "3"]);
    assert!(calls.len() <= 8, "{} calls: {calls:#?}", calls.len());
    // Updated in place: still one note of ferry's, holding both environments; the look-alike
    // is untouched.
    let ours = fake.ferry_notes(PROJECT, IID, ME);
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.contains("**production**") && ours[0].body.contains("**staging**"));
    assert_eq!(fake.notes(PROJECT, IID)[0].body, look_alike);
    assert_eq!(
        fake.count("POST", "/notes"),
        1,
        "only the first run's `new` note"
    );
}

#[test]
fn gitlab_five_concurrent_environments_share_one_note() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    // Slow answers make the jobs overlap: usually several create the note at once and fold the
    // duplicates into the oldest, sometimes one creates and the others update.
    fake.latency(Duration::from_millis(80));
    let works: Vec<Workdir> = (0..5)
        .map(|_| Workdir::with_config(SIMULATOR_TOML))
        .collect();
    let children: Vec<_> = works
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut c = w.ferry();
            c.arg("deploy");
            mr_job(&mut c, &fake, &sim, &format!("review-{i}"));
            spawn(&mut c)
        })
        .collect();
    for child in children {
        let r = Run::of(&child.wait_with_output().unwrap());
        r.assert_code(0);
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    }
    fake.assert_clean();
    let ours = fake.ferry_notes(PROJECT, IID, ME);
    assert_eq!(ours.len(), 1, "{ours:#?}");
    for i in 0..5 {
        assert!(
            ours[0].body.contains(&format!("**review-{i}**")),
            "review-{i} lost:\n{}",
            ours[0].body
        );
    }
    for i in 0..5 {
        fake.expect_status(&format!("ferry/review-{i}"), &["success"]);
    }
}

#[test]
fn gitlab_a_slow_gitlab_never_holds_the_console_or_the_engine() {
    // Each GitLab answer takes LATENCY: `running` is posted when the build starts, `success` at
    // the end. The platform's whole run and the console's last line must not wait for either.
    const LATENCY: Duration = Duration::from_secs(2);
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.latency(LATENCY);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut cmd = work.ferry();
    cmd.arg("deploy");
    mr_job(&mut cmd, &fake, &sim, "staging");
    cmd.env("FERRY_COMMENT", "off");
    let started = Instant::now();
    let (r, lines) = run_timed(&mut cmd);
    let took = started.elapsed();
    r.assert_code(0);
    fake.assert_clean();
    assert_eq!(fake.posted_states(STATUS), ["running", "success"]);
    let at = |text: &str| {
        lines.iter().find(|(_, l)| l.contains(text)).map_or_else(
            || panic!("no line with {text:?}:\n{}", r.stderr),
            |(t, _)| *t,
        )
    };
    // The deploy's last log line and the result were written before GitLab answered `running`.
    for text in ["routing traffic", "staging deployed to"] {
        assert!(at(text) < LATENCY, "{text:?} waited for GitLab: {lines:#?}");
    }
    // ferry still waited for GitLab at the end: `running`, then `success`, one after the other
    // (about 2 × LATENCY, not once more for every event).
    assert!(took >= 2 * LATENCY, "{took:?}");
    assert!(took < 4 * LATENCY, "{took:?}");
}

#[test]
fn gitlab_only_the_job_token_gives_a_clear_notice_exit_0_and_the_dotenv_report() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env_remove("FERRY_TOKEN");
    });
    r.assert_code(0);
    assert_eq!(fake.calls(), 0, "nothing is sent with the job token");
    assert!(
        r.stderr.contains("only CI_JOB_TOKEN is available"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("cannot") || r.stderr.contains("does not let"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("project access token") && r.stderr.contains("FERRY_TOKEN"));
    assert!(
        !r.stderr.contains("warning:"),
        "a notice, not a failure: {}",
        r.stderr
    );
    assert!(work.read("ferry.env").contains("FERRY_STATUS=succeeded\n"));
    assert_nothing_leaked(&r, &work, &fake);

    // Also with fail_on_report_error: a missing permission is not a failed report.
    let r = deploy(&work, &fake, &sim, |c| {
        c.env_remove("FERRY_TOKEN")
            .env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(0);
}

#[test]
fn gitlab_no_token_at_all_is_one_notice_and_the_dotenv_report_is_still_written() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    for fail_on_report_error in ["false", "true"] {
        let r = deploy(&work, &fake, &sim, |c| {
            c.env_remove("FERRY_TOKEN")
                .env_remove("CI_JOB_TOKEN")
                .env("FERRY_FAIL_ON_REPORT_ERROR", fail_on_report_error);
        });
        r.assert_code(0);
        let notices: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("note: GitLab:"))
            .collect();
        assert_eq!(notices.len(), 1, "{}", r.stderr);
        assert!(
            notices[0].contains("no token was given")
                && notices[0].contains("the commit status and the merge-request note")
                && notices[0].contains("FERRY_TOKEN"),
            "{}",
            notices[0]
        );
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
        assert!(work.read("ferry.env").contains("FERRY_STATUS=succeeded\n"));
    }
    assert_eq!(fake.calls(), 0);
}

#[test]
fn gitlab_a_refused_status_is_one_warning_and_the_note_is_still_written() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.fail_next(
        "POST",
        "/statuses/",
        1,
        403,
        r#"{"message":"403 Forbidden"}"#,
    );
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();
    // The refused `running` closes the status for the run: no `success` is tried after it.
    assert_eq!(fake.count("POST", "/statuses/"), 1);
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: gitlab failed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(
        warnings[0].contains("so ferry skipped the commit status;")
            && warnings[0].contains("HTTP 403")
            && warnings[0].contains("Developer role"),
        "{}",
        warnings[0]
    );
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(0);
    fake.fail_next(
        "POST",
        "/statuses/",
        1,
        403,
        r#"{"message":"403 Forbidden"}"#,
    );
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(5);
}

#[test]
fn gitlab_same_state_400_is_taken_as_already_there() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    // An earlier attempt of this job left the status running.
    fake.existing_status(PROJECT, PIPELINE, STATUS, "running", ME);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(0);
    fake.assert_clean();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(fake.posted_states(STATUS), ["running", "success"]);
    fake.expect_status(STATUS, &["success"]);
}

#[test]
fn gitlab_409_on_a_status_is_retried() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.fail_next(
        "POST",
        "/statuses/",
        1,
        409,
        r#"{"message":"Another update to this commit status is in progress"}"#,
    );
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(fake.count("POST", "/statuses/"), 3);
    fake.expect_status(STATUS, &["success"]);
}

#[test]
fn gitlab_429_waits_for_retry_after() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.fail_next_with(
        "GET",
        "/user",
        1,
        429,
        r#"{"message":"Retry later"}"#,
        &[("Retry-After", "1"), ("RateLimit-Reset", "1")],
    );
    let work = Workdir::with_config(SIMULATOR_TOML);
    let started = Instant::now();
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.count("GET", "/user"), 2);
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
}

#[test]
fn gitlab_self_managed_under_a_relative_url_root() {
    let sim = Sim::start(Script::fast());
    let fake = FakeGitlab::start_at("/gitlab/api/v4");
    fake.user(TOKEN, ME, "ferry-bot").pipeline(PIPELINE, HEAD);
    assert!(fake.api_url().ends_with("/gitlab/api/v4"));
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    fake.assert_clean();
    fake.expect_status(STATUS, &["success"]);
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 1);
}

#[test]
fn gitlab_comment_modes_new_and_off() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    for _ in 0..2 {
        deploy(&work, &fake, &sim, |c| {
            c.env("FERRY_COMMENT", "new");
        })
        .assert_code(0);
    }
    assert_eq!(fake.ferry_notes(PROJECT, IID, ME).len(), 2);
    assert_eq!(fake.count("GET", "/user"), 0);
    deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_COMMENT", "off");
    })
    .assert_code(0);
    assert_eq!(fake.count("POST", "/notes"), 2);
    fake.assert_clean();
}

#[test]
fn gitlab_status_context_names_the_status_and_may_not_be_the_jobs_name_and_may_not_be_the_jobs_name()
 {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_STATUS_CONTEXT", "review app");
    })
    .assert_code(0);
    fake.expect_status("review app", &["success"]);

    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_STATUS_CONTEXT", "deploy");
    });
    r.assert_code(2);
    assert!(r.stderr.contains("status_context"), "{}", r.stderr);
    assert!(r.stderr.contains("name of this CI job"), "{}", r.stderr);
    assert_eq!(
        sim.count_route(Route::Trigger, "/deployments"),
        1,
        "nothing triggered"
    );
}

#[test]
fn gitlab_a_name_clash_with_another_job_is_a_warning_with_the_fix() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.job_named(STATUS);
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    assert!(r.stderr.contains("has already been taken"), "{}", r.stderr);
    assert!(r.stderr.contains("FERRY_STATUS_CONTEXT"), "{}", r.stderr);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(5);
}

#[test]
fn gitlab_missing_api_url_is_a_report_warning_and_the_dotenv_is_still_written() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env_remove("CI_API_V4_URL");
    });
    r.assert_code(0);
    assert!(r.stderr.contains("warning: gitlab failed"), "{}", r.stderr);
    assert!(r.stderr.contains("CI_API_V4_URL"), "{}", r.stderr);
    assert!(work.read("ferry.env").contains("FERRY_STATUS=succeeded\n"));
    assert_eq!(fake.calls(), 0);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env_remove("CI_API_V4_URL")
            .env("FERRY_FAIL_ON_REPORT_ERROR", "true");
    });
    r.assert_code(5);
}

#[test]
fn gitlab_a_non_numeric_iid_is_named_and_the_rest_is_reported() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("CI_MERGE_REQUEST_IID", "seven");
    });
    r.assert_code(0);
    fake.assert_clean();
    assert!(r.stderr.contains("CI_MERGE_REQUEST_IID"), "{}", r.stderr);
    assert!(r.stderr.contains("pr_number"), "{}", r.stderr);
    fake.expect_status(STATUS, &["success"]);
    assert!(work.read("ferry.env").contains("FERRY_STATUS=succeeded\n"));
}

#[test]
fn gitlab_an_error_body_that_is_not_json_is_shown_readably() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    fake.fail_next(
        "POST",
        "/notes",
        1,
        502,
        "<html><body>502 Bad Gateway</body></html>",
    );
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(0);
    assert!(r.stderr.contains("warning: gitlab failed"), "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 502"), "{}", r.stderr);
    assert!(
        r.stderr.contains("(not JSON) <html><body>502 Bad Gateway"),
        "{}",
        r.stderr
    );
    // The POST is not replayed blindly (it may have been applied).
    assert_eq!(fake.count("POST", "/notes"), 1);
    fake.expect_status(STATUS, &["success"]);
}

#[test]
fn gitlab_a_dotenv_path_that_cannot_be_written_fails_before_deploying() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let r = deploy(&work, &fake, &sim, |c| {
        c.env("FERRY_DOTENV", "no-such-folder/ferry.env");
    });
    r.assert_code(2);
    assert!(r.stderr.contains("dotenv"), "{}", r.stderr);
    assert!(r.stderr.contains("no-such-folder"), "{}", r.stderr);
    assert_eq!(sim.count_route(Route::Trigger, "/builds"), 0);
    assert_eq!(fake.calls(), 0);
}

#[test]
fn gitlab_dotenv_path_is_configurable() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    std::fs::create_dir(work.path().join("out")).unwrap();
    deploy(&work, &fake, &sim, |c| {
        c.args(["--dotenv", "out/deploy.env"]);
    })
    .assert_code(0);
    assert!(
        work.read("out/deploy.env")
            .contains("FERRY_STATUS=succeeded\n")
    );
    assert_eq!(work.read("ferry.env"), "");
}

#[test]
fn gitlab_log_is_in_sections_and_every_known_secret_is_redacted() {
    let sim = Sim::start(Script::fast());
    let fake = gitlab();
    // The platform's build log echoes both tokens (a verbose build tool, an `env` dump).
    let log = format!(
        "step 1: using token {PLATFORM_TOKEN}\nstep 2: GITLAB_TOKEN={TOKEN}\nstep 3: done\n"
    );
    let log_url = fake.serve_text("build.log", &log);
    let config = SIMULATOR_TOML.replace(
        "[build.logs]\nmode = \"offset\"\npath = \"/v1/builds/{{ id }}/log?offset={{ offset }}\"\nnext_offset = \"header:X-Log-Offset\"\ncomplete = \"header:X-Log-Complete\"",
        &format!("[build.logs]\nmode = \"full\"\npath = \"{log_url}\""),
    );
    assert_ne!(
        config, SIMULATOR_TOML,
        "the build log section of the example changed"
    );
    let work = Workdir::with_config(&config);
    let mut c = work.ferry();
    c.args(["-vv", "deploy"]);
    mr_job(&mut c, &fake, &sim, "staging");
    c.env("RUST_LOG", "trace");
    let r = run(&mut c);
    r.assert_code(0);
    let start = r
        .stderr
        .find("section_start:")
        .expect("a build log section");
    let end = r.stderr.find("section_end:").expect("its end");
    let section = &r.stderr[start..end];
    assert!(section.contains("ferry_build_log"), "{section}");
    assert!(section.contains("step 1: using token ***"), "{section}");
    assert!(section.contains("step 2: GITLAB_TOKEN=***"), "{section}");
    assert!(r.stderr.contains("\u{1b}[0Ksection_start:") && r.stderr.contains("[collapsed=true]"));
    assert_nothing_leaked(&r, &work, &fake);
    // CI_REPOSITORY_URL (which embeds the job token) is never printed, at any verbosity.
    assert!(!r.stderr.contains("gitlab-ci-token"), "{}", r.stderr);
}

#[test]
fn gitlab_a_failed_log_tail_echoing_tokens_reaches_the_note_redacted() {
    let mut script = Script::fast();
    script.build.outcome = Outcome::Failure;
    let sim = Sim::start(script);
    let fake = gitlab();
    let log = format!(
        "npm ERR! auth {PLATFORM_TOKEN}\nnpm ERR! GITLAB_TOKEN={TOKEN}\nnpm ERR! fetching {JOB_TOKEN}\nnpm ERR! giving up\n"
    );
    let log_url = fake.serve_text("build.log", &log);
    let config = SIMULATOR_TOML.replace(
        "[build.logs]\nmode = \"offset\"\npath = \"/v1/builds/{{ id }}/log?offset={{ offset }}\"\nnext_offset = \"header:X-Log-Offset\"\ncomplete = \"header:X-Log-Complete\"",
        &format!("[build.logs]\nmode = \"full\"\npath = \"{log_url}\""),
    );
    let work = Workdir::with_config(&config);
    let r = deploy(&work, &fake, &sim, |_| {});
    r.assert_code(1);
    fake.assert_clean();
    let body = &fake.ferry_notes(PROJECT, IID, ME)[0].body;
    assert!(body.contains("npm ERR! giving up"), "{body}");
    assert!(body.contains("npm ERR! auth ***"), "{body}");
    assert!(body.contains("npm ERR! fetching ***"), "{body}");
    for s in fake.statuses(STATUS) {
        assert_no_secret(
            "a status description",
            s.description.as_deref().unwrap_or_default(),
        );
    }
    assert_no_secret("the note", body);
    assert_no_secret("the dotenv report", &work.read("ferry.env"));
    // The job log: ferry redacts the tokens it was given; CI_JOB_TOKEN is a masked variable,
    // which GitLab itself masks in the job log.
    for secret in [TOKEN, PLATFORM_TOKEN] {
        assert!(!r.stderr.contains(secret), "{}", r.stderr);
    }
}

#[test]
fn gitlab_a_cancelled_job_leaves_no_running_status() {
    let mut script = Script::fast();
    script.build.duration = Duration::from_secs(60);
    let sim = Sim::start(script);
    let fake = gitlab();
    let work = Workdir::with_config(SIMULATOR_TOML);
    let mut c = work.ferry();
    c.arg("deploy");
    mr_job(&mut c, &fake, &sim, "staging");
    let child = spawn(&mut c);
    let until = Instant::now() + Duration::from_secs(20);
    while fake.posted_states(STATUS).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::support::signal(&child, "INT");
    let r = Run::of(&child.wait_with_output().unwrap());
    r.assert_code(130);
    fake.assert_clean();
    assert_eq!(fake.posted_states(STATUS), ["running", "canceled"]);
    fake.expect_status(STATUS, &["canceled"]);
    assert!(work.read("ferry.env").contains("FERRY_STATUS=cancelled\n"));
}

#[test]
fn gitlab_dotenv_outside_gitlab_ci_only_when_asked() {
    let sim = Sim::start(Script::fast());
    let work = Workdir::with_config(SIMULATOR_TOML);
    let local = |extra: &[&str]| {
        run(work
            .ferry()
            .arg("deploy")
            .args(extra)
            .env("FERRY_PLATFORM_URL", sim.url())
            .env("FERRY_ENVIRONMENT", "staging"))
    };
    local(&[]).assert_code(0);
    assert_eq!(
        work.read("ferry.env"),
        "",
        "no dotenv file unless asked outside GitLab CI"
    );
    local(&["--dotenv", "local.env"]).assert_code(0);
    assert!(
        work.read("local.env")
            .contains("FERRY_ENVIRONMENT=staging\n")
    );
}
