//! The `ferry` binary: capture the environment once, turn signals into cancellation, call the
//! library, and exit with its code.

use std::io::IsTerminal;

use ferry::stream::Stream;
use tokio_util::sync::CancellationToken;

// The static musl build (the container image) allocates through jemalloc: musl's own allocator
// made it spend ~1.7× the CPU of the glibc build on a streamed log, where every line is a few
// small allocations (BENCHMARKS.md §4). ripgrep does the same for its musl builds.
#[cfg(all(target_env = "musl", target_pointer_width = "64"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    // The one place the process environment is read (see clippy.toml).
    #[allow(clippy::disallowed_methods)]
    let env: ferry::env::Env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let args: Vec<_> = std::env::args_os().collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let stderr_is_tty = std::io::stderr().is_terminal();
    let io = ferry::Io {
        stdout: Stream::new(std::io::stdout()),
        stderr: Stream::new(std::io::stderr()),
        stderr_is_tty,
        color: stderr_is_tty && env.get("NO_COLOR").is_none() && env.get("TERM") != Some("dumb"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(ferry::ExitCode::Platform.code());
        }
    };
    let code = runtime.block_on(async move {
        let cancel = CancellationToken::new();
        spawn_signal_handler(cancel.clone());
        ferry::run(env, args, cwd, io, cancel).await
    });
    // Do not wait for stray tasks (a hung request) once the outcome is known.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::ExitCode::from(code.code())
}

/// SIGINT, SIGTERM and SIGHUP cancel the run (the GitHub runner sends SIGINT, then SIGTERM
/// 7.5 s later; as PID 1 in a container ferry must install these handlers itself). A second
/// signal ends the process at once: whoever sends it has stopped waiting.
fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            for round in 0..2 {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                if round == 0 {
                    cancel.cancel();
                }
            }
            eprintln!("ferry: a second signal; exiting now");
            std::process::exit(i32::from(ferry::ExitCode::Cancelled.code()));
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
        }
    });
}
