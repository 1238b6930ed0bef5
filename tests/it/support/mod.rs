//! Test support: the simulated platform in-process, the real `ferry` binary with a cleared
//! environment, and a scratch directory holding a `ferry.toml`.

pub(crate) mod fake_github;
pub(crate) mod fake_http;
pub(crate) mod fake_ws;
pub(crate) mod git_http;
pub(crate) mod hosted_api;
pub(crate) mod openapi3;
pub(crate) mod runner;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ferry::sim::{RecordedRequest, Route, Script, SimServer};

pub(crate) mod fake_gitlab;

/// `examples/simulator.toml` at a test's pace: the simulator's operations last tens of
/// milliseconds, so ferry asks every 100 ms (2 s at most) and reads a flowing log every 20 ms.
/// The example itself keeps the defaults (`tests/it/polling.rs` runs it as shipped).
pub(crate) const SIMULATOR_TOML: &str = concat!(
    include_str!("../../../examples/simulator.toml"),
    "\n[platform.poll]\ninitial = \"100ms\"\nmax = \"2s\"\nfactor = 1.5\nlog_pace = \"20ms\"\n"
);

/// A simulated platform running on its own runtime for the length of a test.
pub(crate) struct Sim {
    server: Option<SimServer>,
    rt: tokio::runtime::Runtime,
}

impl Sim {
    pub(crate) fn start(script: Script) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt
            .block_on(SimServer::start(([127, 0, 0, 1], 0).into(), script))
            .unwrap();
        Self {
            server: Some(server),
            rt,
        }
    }

    pub(crate) fn url(&self) -> String {
        self.server.as_ref().unwrap().url().to_string()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.server.as_ref().unwrap().requests()
    }

    /// Requests on one route of one phase (`/v1/builds`, `/v1/apps/demo-app/builds`, …).
    pub(crate) fn count_route(&self, route: Route, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.route == Some(route) && r.path.contains(path_part))
            .count()
    }

    /// Waits until `pred` holds for the recorded requests.
    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&[RecordedRequest]) -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if pred(&self.requests()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "timed out waiting for {what}; requests: {:#?}",
            self.requests()
        );
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.rt.block_on(server.shutdown());
        }
    }
}

/// A scratch working directory for one run of the binary.
pub(crate) struct Workdir {
    pub(crate) dir: tempfile::TempDir,
}

impl Workdir {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A directory holding `ferry.toml` with this content.
    pub(crate) fn with_config(toml: &str) -> Self {
        let w = Self::new();
        w.write("ferry.toml", toml);
        w
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The `ferry` binary with an empty environment, run in this directory.
    pub(crate) fn ferry(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.env_clear().current_dir(self.path());
        cmd
    }
}

/// The outcome of a run, with its streams as text.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn of(output: &Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The `--json` result.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Exit `code`, every one of `parts` on stderr, and no panic.
    #[track_caller]
    pub(crate) fn assert_says(&self, code: i32, parts: &[&str]) -> &Self {
        self.assert_code(code);
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "missing {part:?} in:\n{}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs a prepared command to completion.
pub(crate) fn run(cmd: &mut Command) -> Run {
    Run::of(&cmd.output().unwrap())
}

/// Runs a prepared command, noting when each line of its stderr was written (the time since it
/// was started), to check what waited for what.
pub(crate) fn run_timed(cmd: &mut Command) -> (Run, Vec<(Duration, String)>) {
    use std::io::{BufRead, Read};
    let started = Instant::now();
    let mut child = spawn(cmd);
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .map(|line| (started.elapsed(), line))
            .collect::<Vec<_>>()
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: lines.iter().fold(String::new(), |mut all, (_, l)| {
            all.push_str(l);
            all.push('\n');
            all
        }),
    };
    (run, lines)
}

/// Starts a prepared command without waiting.
pub(crate) fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends a signal to a child process.
pub(crate) fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// How long a test waits for something the simulator will do before it fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(15);

/// A simulator on a free loopback port, serving `script`.
pub(crate) async fn sim_server(script: Script) -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap(), script)
        .await
        .unwrap()
}

/// Polls `probe` until it returns `Some`, failing the test after [`DEADLINE`].
pub(crate) async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
