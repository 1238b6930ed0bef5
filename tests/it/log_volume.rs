//! Benchmarks, not tests (`#[ignore]`d; run with `cargo nextest run --run-ignored only -E
//! 'test(/log_volume::/)' --no-capture`): a 100 MB and a 1 GB log, as one streamed answer and as
//! a WebSocket, through the real binary under `/usr/bin/time -v`. Each run prints the requests
//! made, the lines shown, the peak RSS and the CPU time; `BENCHMARKS.md` quotes them. The log is
//! produced as it is read (the servers hold one chunk), so the numbers are ferry's alone.
//!
//! What they assert: every line arrives, the run succeeds, and the peak RSS stays under 64 MiB
//! whatever the size (memory is flat: the live readers hand over through a bounded channel).
//!
//! `FERRY_BENCH_BINARY=target/release/ferry` measures the release binary instead of the test
//! build (the numbers in `BENCHMARKS.md`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::{get, post};
use futures_util::SinkExt as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::Workdir;

/// One line of the log: 99 bytes and its newline.
const LINE: usize = 100;

/// Lines per chunk (or WebSocket frame): about 64 KiB.
const PER_CHUNK: u64 = 655;

/// The largest peak RSS a run may have, whatever the size of its log.
const MAX_RSS_KIB: u64 = 64 * 1024;

#[derive(Default)]
struct Served {
    total_lines: u64,
    sent_lines: AtomicU64,
    status_reads: AtomicU32,
    log_requests: AtomicU32,
    ws_url: std::sync::Mutex<String>,
}

fn chunk(from: u64, count: u64) -> Bytes {
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap() * LINE);
    for n in from..from + count {
        let head = format!("line {n:>10} ");
        out.extend_from_slice(head.as_bytes());
        out.resize(out.len() + LINE - 1 - head.len(), b'x');
        out.push(b'\n');
    }
    Bytes::from(out)
}

/// The chunks of the whole log, made as they are asked for.
fn chunks(served: Arc<Served>) -> impl futures_util::Stream<Item = (u64, Bytes)> {
    futures_util::stream::unfold(0, move |at| {
        let served = Arc::clone(&served);
        async move {
            let count = PER_CHUNK.min(served.total_lines - at);
            (count > 0).then(|| ((at + count, chunk(at, count)), at + count))
        }
    })
}

async fn status(State(served): State<Arc<Served>>) -> axum::Json<serde_json::Value> {
    served.status_reads.fetch_add(1, Ordering::SeqCst);
    let done = served.sent_lines.load(Ordering::SeqCst) >= served.total_lines;
    let live = served.ws_url.lock().unwrap().clone();
    axum::Json(json!({"status": if done { "done" } else { "running" }, "live_url": live}))
}

async fn stream(State(served): State<Arc<Served>>) -> Body {
    use futures_util::StreamExt as _;
    served.log_requests.fetch_add(1, Ordering::SeqCst);
    let counter = Arc::clone(&served);
    Body::from_stream(chunks(served).map(move |(end, bytes)| {
        counter.sent_lines.store(end, Ordering::SeqCst);
        Ok::<_, std::io::Error>(bytes)
    }))
}

async fn websocket(served: Arc<Served>, listener: tokio::net::TcpListener) {
    use futures_util::StreamExt as _;
    while let Ok((tcp, _)) = listener.accept().await {
        served.log_requests.fetch_add(1, Ordering::SeqCst);
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        let mut frames = std::pin::pin!(chunks(Arc::clone(&served)));
        while let Some((end, bytes)) = frames.next().await {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            if ws.send(Message::text(text)).await.is_err() {
                break;
            }
            served.sent_lines.store(end, Ordering::SeqCst);
        }
        let _ = ws.close(None).await;
    }
}

/// What one run measured.
struct Measured {
    lines: u64,
    max_rss_kib: u64,
    cpu: String,
    wall: f64,
}

fn run_ferry(work: &Workdir) -> Measured {
    // FERRY_BENCH_BINARY measures another build (the release binary) with the same harness;
    // the harness's own environment, not ferry's (the rule is about ferry's code).
    #[allow(clippy::disallowed_methods)]
    let ferry = std::env::var_os("FERRY_BENCH_BINARY")
        .unwrap_or_else(|| work.ferry().get_program().to_owned());
    let mut timed = std::process::Command::new("/usr/bin/time");
    timed
        .arg("-v")
        .arg(ferry)
        .args(["deploy"])
        .env_clear()
        .current_dir(work.path())
        .env("FERRY_ENVIRONMENT", "staging")
        .env("FERRY_PLATFORM_TOKEN", "bench-T0ken-91c2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let began = Instant::now();
    let mut child = timed.spawn().unwrap();
    let mut lines = 0;
    let mut report = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("  | line ") {
            lines += 1;
        } else {
            report.push(line);
        }
    }
    let status = child.wait().unwrap();
    let wall = began.elapsed().as_secs_f64();
    let report = report.join("\n");
    assert!(status.success(), "{report}");
    let field = |name: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Measured {
        lines,
        max_rss_kib: field("Maximum resident set size (kbytes):")
            .parse()
            .unwrap(),
        cpu: format!(
            "user {} s + system {} s",
            field("User time (seconds):"),
            field("System time (seconds):")
        ),
        wall,
    }
}

fn bench(mode: &str, total_lines: u64) {
    let served = Arc::new(Served {
        total_lines,
        ..Served::default()
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (http, ws) = rt.block_on(async {
        (
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        )
    });
    let url = format!("http://127.0.0.1:{}", http.local_addr().unwrap().port());
    *served.ws_url.lock().unwrap() =
        format!("ws://127.0.0.1:{}/live", ws.local_addr().unwrap().port());
    let app = Router::new()
        .route(
            "/deploy",
            post(|| async { axum::Json(json!({"id": "d-1"})) }),
        )
        .route("/deploy/d-1", get(status))
        .route("/deploy/d-1/stream", get(stream))
        .with_state(Arc::clone(&served));
    rt.spawn(async move { axum::serve(http, app).await });
    rt.spawn(websocket(Arc::clone(&served), ws));
    let logs = match mode {
        "stream" => "mode = \"stream\"\npath = \"/deploy/{{ id }}/stream\"",
        _ => "mode = \"websocket\"\nurl = \"/live_url\"",
    };
    let work = Workdir::with_config(&format!(
        r#"
[platform]
url = "{url}"
auth = "bearer"

[platform.poll]
initial = "100ms"
max = "2s"

[deploy.trigger]
path = "/deploy"
id = "/id"

[deploy.status]
path = "/deploy/{{{{ id }}}}"
field = "/status"
running = ["running"]
success = ["done"]
failure = ["failed"]

[deploy.logs]
{logs}
"#
    ));
    let m = run_ferry(&work);
    let mb = total_lines * LINE as u64 / 1_000_000;
    println!(
        "{mode} {mb} MB: {} lines shown of {total_lines}; {} log request(s), {} status reads; \
         peak RSS {:.1} MiB; CPU {}; wall {:.1} s",
        m.lines,
        served.log_requests.load(Ordering::SeqCst),
        served.status_reads.load(Ordering::SeqCst),
        f64::from(u32::try_from(m.max_rss_kib).unwrap_or(u32::MAX)) / 1024.0,
        m.cpu,
        m.wall,
    );
    assert_eq!(m.lines, total_lines);
    assert!(m.max_rss_kib < MAX_RSS_KIB, "{} KiB", m.max_rss_kib);
}

#[test]
#[ignore = "a benchmark: minutes of CPU"]
fn a_streamed_log_of_100_mb_and_1_gb() {
    bench("stream", 1_000_000);
    bench("stream", 10_000_000);
}

#[test]
#[ignore = "a benchmark: minutes of CPU"]
fn a_websocket_log_of_100_mb_and_1_gb() {
    bench("websocket", 1_000_000);
    bench("websocket", 10_000_000);
}
