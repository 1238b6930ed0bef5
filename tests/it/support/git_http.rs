//! A GitLab instance's repositories as far as `git clone` sees them: Git's smart HTTP protocol,
//! served by `git http-backend` (Git's own CGI program) behind a [`FakeHttp`], and plain files
//! for `include: remote:`. gitlab-ci-local fetches another project's component with
//! `git clone --branch <version> --depth=1 http://<host>:<port>/<project>.git`, so a consumer
//! whose remote is this server's address includes components exactly as it would from GitLab.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::fake_http::{Answer, FakeHttp, Seen};

/// Serves the bare repositories under `root` (`<root>/<group>/<project>.git`) read-only.
pub(crate) fn serve_repositories(root: &Path) -> FakeHttp {
    let root = root.to_path_buf();
    FakeHttp::start(move |seen| http_backend(&root, seen))
}

/// Serves the files under `root` by path (`GET /templates/deploy.yml`), 404 for anything else.
pub(crate) fn serve_files(root: &Path) -> FakeHttp {
    let root = root.to_path_buf();
    FakeHttp::start(move |seen| {
        let path = seen.target.split('?').next().unwrap_or_default();
        let file = root.join(path.trim_start_matches('/'));
        match (seen.method.as_str(), std::fs::read(&file)) {
            ("GET", Ok(body)) if !path.contains("..") => {
                let mut answer = Answer::text(200, "");
                answer.body = body;
                answer.header("content-type", "text/plain; charset=utf-8")
            }
            _ => Answer::text(404, "Not Found"),
        }
    })
}

/// One request handed to `git http-backend` as CGI, its CGI answer turned into HTTP.
fn http_backend(root: &PathBuf, seen: &Seen) -> Answer {
    let (path, query) = seen
        .target
        .split_once('?')
        .unwrap_or((seen.target.as_str(), ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &seen.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env(
            "CONTENT_TYPE",
            seen.header("content-type").unwrap_or_default(),
        )
        .env("CONTENT_LENGTH", seen.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // Protocol v2 and gzip-compressed requests, as git sends them.
    for (header, variable) in [
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
    ] {
        if let Some(value) = seen.header(header) {
            cmd.env(variable, value);
        }
    }
    let Ok(mut child) = cmd.spawn() else {
        return Answer::text(500, "git http-backend did not start");
    };
    let body = seen.body.clone();
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(&body);
        }
    });
    let output = child.wait_with_output();
    let _ = writer.join();
    let Ok(output) = output else {
        return Answer::text(500, "git http-backend failed");
    };
    cgi_answer(&output.stdout)
}

/// A CGI answer: header lines (`Status: 404 Not Found` among them), an empty line, the body.
fn cgi_answer(out: &[u8]) -> Answer {
    let (head, body) = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&out[..at], &out[at + 4..]),
        None => match out.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&out[..at], &out[at + 2..]),
            None => (&out[..0], out),
        },
    };
    let mut answer = Answer::text(200, "");
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            answer.status = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or(500);
        } else {
            answer = answer.header(name.trim(), value);
        }
    }
    answer.body = body.to_vec();
    answer
}
