//! ferry builds and deploys an application through a hosting platform's HTTP API from inside a CI
//! job, and reports the results where people look.
//!
//! The flow, one module per stage, in the order data moves:
//!
//! ```text
//! Env + event payload ─► ci (Context) ─► config (Settings) ─► plan ─► platform (engine + backend)
//!                                                                          │ typed events
//!                                                                          ▼
//!                                   report: terminal · CI log · JSON events · outputs · forges
//! ```
//!
//! Only [`run`] (with `check.rs` for `ferry check` and `--dry-run`) wires the stages together;
//! `ci`, `config` and `platform` never import `report`.
//! Every outside input (environment, arguments, working directory, output streams, the
//! cancellation signal) is a parameter, so an embedding program (a UI, a test) can drive the
//! whole flow and consume its [`platform::Event`]s.

// The embedding API (see the README's "Machine output"): `run` with its inputs and exit codes,
// the environment map, the engine with its events and backend interface, and the redactor the
// engine takes. Everything else is private to the crate, so the compiler finds what nothing uses.
pub mod env;
pub mod error;
pub mod exit;
pub mod platform;
pub mod secret;
pub mod stream;

// Not a stable API: the simulated platforms (tests, benchmarks, `ferry demo`) and what the
// integration tests reach into.
#[doc(hidden)]
pub mod sim;
#[doc(hidden)]
pub mod testing;

mod check;
mod ci;
mod cli;
mod config;
mod net;
mod plan;
mod report;
mod suggest;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

pub use error::{Error, Result};
pub use exit::ExitCode;

use crate::ci::Context;
use crate::cli::{Cli, Cmd, DemoFail, RunArgs};
use crate::config::Loaded;
use crate::platform::engine::{Engine, PhaseRequest};
use crate::platform::{Command, Emitter, Phase, PhaseOutcome, RunOutcome, Status};
use crate::report::Sink;
use crate::secret::ExposeSecret as _;

/// The process's output streams, and whether stderr is a terminal.
pub struct Io {
    pub stdout: stream::Stream,
    pub stderr: stream::Stream,
    pub stderr_is_tty: bool,
    /// `NO_COLOR` or a terminal that cannot show colour.
    pub color: bool,
}

/// Runs ferry with these arguments (`args[0]` is the program name) and returns the exit code.
pub async fn run(
    env: env::Env,
    args: Vec<OsString>,
    cwd: PathBuf,
    mut io: Io,
    cancel: CancellationToken,
) -> ExitCode {
    let ci = ci::Ci::from_env(&env);
    // Secrets known before any file is read; the plan adds the rest (see `carry_out`).
    let redactor = env_redactor(&env);
    let early = |ended| report::EarlyError {
        ci,
        env: &env,
        cwd: &cwd,
        ended,
        redactor: &redactor,
    };
    let named = report::Ended::named(cli::named_command(&args));
    let args = match cli::with_action_args(&env, args) {
        Ok(args) => args,
        Err(e) => {
            early(named).show(&e, &mut io.stderr);
            return e.exit_code();
        }
    };
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version: what was asked for.
            let _ = write!(io.stdout, "{}", e.render());
            return ExitCode::Success;
        }
        Err(e) => {
            let ended = report::Ended::named(cli::named_command(&args));
            let fix = action_fix(&env, &args);
            early(ended).show_command_line(&e.render().to_string(), fix.as_deref(), &mut io.stderr);
            return ExitCode::Usage;
        }
    };
    report::diagnostics::use_redactor(redactor.clone());
    init_tracing(&env, cli.verbose, report::inert::reads_commands(ci));
    let ended = match &cli.command {
        Cmd::Deploy { .. } => report::Ended::Run(Command::Deploy),
        Cmd::Build { .. } => report::Ended::Run(Command::Build),
        Cmd::Stop { .. } => report::Ended::Run(Command::Stop),
        Cmd::Check { .. } => report::Ended::Check,
        _ => report::Ended::Other,
    };
    match dispatch(cli.command, &env, &cwd, &mut io, cancel).await {
        Ok(code) => {
            // A check whose probe found a problem ends without an error, and is shown too.
            if ended == report::Ended::Check && code != ExitCode::Success {
                early(ended).show_check(code, &mut io.stderr);
            }
            code
        }
        Err(e) => {
            // Shown where the CI's users look (an annotation, the step outputs, the dotenv).
            early(ended).show(&e, &mut io.stderr);
            e.exit_code()
        }
    }
}

/// In the GitHub Action (`INPUT_COMMAND` is set), which inputs made a command line clap refused,
/// and the line itself: the fix of its error.
fn action_fix(env: &env::Env, args: &[OsString]) -> Option<String> {
    if !env.is_true("GITHUB_ACTIONS") || env.get_raw("INPUT_COMMAND").is_none() {
        return None;
    }
    let line: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let inputs = if env.get("INPUT_ARGS").is_some() {
        "the action inputs `command` (deploy, build, stop or check) and `args` (its words follow the command)"
    } else {
        "the action input `command` (deploy, build, stop or check)"
    };
    Some(format!(
        "correct {inputs}; together they ran `ferry {}`",
        line.join(" ")
    ))
}

/// The secrets the environment holds for ferry or its CI, as a redactor for anything written
/// before the plan knows them all.
fn env_redactor(env: &env::Env) -> secret::Redactor {
    let secrets: Vec<secret::SecretString> = [
        "FERRY_TOKEN",
        "FERRY_PLATFORM_TOKEN",
        "INPUT_TOKEN",
        "INPUT_PLATFORM_TOKEN",
        "CI_JOB_TOKEN",
        "GITHUB_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ]
    .iter()
    .filter_map(|name| env.get(name))
    .chain(env.with_prefix("FERRY_SECRET_").map(|(_, v)| v))
    .map(|v| secret::SecretString::from(v.trim().to_string()))
    .collect();
    secret::Redactor::new(&secrets)
}

async fn dispatch(
    cmd: Cmd,
    env: &env::Env,
    cwd: &Path,
    io: &mut Io,
    cancel: CancellationToken,
) -> Result<ExitCode> {
    match cmd {
        Cmd::Deploy { run } => execute(Command::Deploy, run, env, cwd, io, cancel).await,
        Cmd::Build { run } => execute(Command::Build, run, env, cwd, io, cancel).await,
        Cmd::Stop { run } => execute(Command::Stop, run, env, cwd, io, cancel).await,
        Cmd::Context { json } => {
            let context = ci::detect_in(env, cwd);
            let text = if json {
                let text = serde_json::to_string_pretty(&context).unwrap_or_default();
                format!("{}\n", report::inert::json(context.ci, text))
            } else {
                report::inert::text(context.ci, &context.describe())
            };
            write!(io.stdout, "{text}").map_err(|e| io_error("stdout", e))?;
            Ok(ExitCode::Success)
        }
        Cmd::Check {
            settings,
            json,
            probe,
            vars,
        } => {
            check::check(check::CheckArgs {
                layer: settings.layer(),
                json,
                probe,
                vars,
                env,
                cwd,
                io,
            })
            .await
        }
        Cmd::Demo {
            out,
            fail,
            json,
            events,
        } => demo(out, fail, json, events, env, cwd, io, cancel).await,
        Cmd::Sim { listen, script } => serve_sim(&listen, script.as_deref(), io, cancel).await,
    }
}

/// The settings' warnings (a `FERRY_*` name nothing reads), once, before anything runs.
pub(crate) fn warn_at_start(loaded: &Loaded, ci: ci::Ci, io: &mut Io) {
    for warning in &loaded.warnings {
        let _ = writeln!(io.stderr, "{}", report::warning_line(ci, warning));
    }
}

fn io_error(what: &str, source: std::io::Error) -> Error {
    Error::Io {
        path: what.to_string(),
        source,
    }
}

/// What `execute` needs besides the command.
struct Extras<'a> {
    env: &'a env::Env,
    /// Report to the forge and the CI's files (never for the demo: it only previews).
    forge: bool,
    sinks: Vec<Box<dyn Sink>>,
    json: bool,
    events: Option<PathBuf>,
    overrides: platform::Vars,
}

async fn execute(
    command: Command,
    run: RunArgs,
    env: &env::Env,
    cwd: &Path,
    io: &mut Io,
    cancel: CancellationToken,
) -> Result<ExitCode> {
    let loaded = config::load(env, run.settings.layer(), cwd)?;
    let context = ci::detect_in(env, cwd);
    warn_at_start(&loaded, context.ci, io);
    let overrides = plan::overrides(env, &run.vars)?;
    if run.dry_run {
        let planned = plan::plan(
            plan::PlanRequest::new(command, &loaded, &context, &overrides, env).shown_only(),
        )?;
        check::print_plan(check::Shown {
            planned: &planned,
            loaded: &loaded,
            context: &context,
            env,
            json: run.json,
            io,
        })?;
        return Ok(ExitCode::Success);
    }
    let extras = Extras {
        env,
        forge: true,
        sinks: Vec::new(),
        json: run.json,
        events: run.events.map(|p| cwd.join(p)),
        overrides,
    };
    carry_out(command, &loaded, &context, extras, io, cancel).await
}

/// Plans, runs the phases with every sink attached, and reports the outcome.
async fn carry_out(
    command: Command,
    loaded: &Loaded,
    context: &Context,
    mut extras: Extras<'_>,
    io: &mut Io,
    cancel: CancellationToken,
) -> Result<ExitCode> {
    let planned = plan::plan(plan::PlanRequest::new(
        command,
        loaded,
        context,
        &extras.overrides,
        extras.env,
    ))?;
    let plan = &planned.plan;
    report::diagnostics::use_redactor(planned.redactor.clone());
    check::print_warnings(plan, context.ci, io)?;
    let mut sinks = sinks(command, &planned, loaded, context, &extras, io)?;
    sinks.append(&mut extras.sinks);
    let (emitter, rx) = Emitter::channel(1024);
    let emitter = emitter.redacting(planned.redactor.clone());
    let started = std::time::Instant::now();
    let dispatcher = tokio::spawn(async move {
        let failures = report::dispatch(rx, &mut sinks, started).await;
        (sinks, failures)
    });
    // When a signal comes, everything after it must end within the CI's grace period.
    let signalled = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            tokio::time::Instant::now()
        })
    };
    let phases = run_phases(&planned, &emitter, &cancel).await;
    drop(emitter);
    let outcome = summarise(command, plan.environment.clone(), phases, started.elapsed());
    let wrap_up = if signalled.is_finished() {
        signalled.await.ok().map(|at| at + SIGNAL_WRAP_UP)
    } else {
        signalled.abort();
        None
    };
    let report_failed = finish_reports(dispatcher, wrap_up, &outcome, &planned, context, io).await;
    if extras.json {
        let text = serde_json::to_string_pretty(&outcome).unwrap_or_default();
        writeln!(io.stdout, "{}", report::inert::json(context.ci, text))
            .map_err(|e| io_error("stdout", e))?;
    }
    let code = outcome.exit();
    if report_failed && loaded.settings.fail_on_report_error && code == ExitCode::Success {
        return Ok(ExitCode::Report);
    }
    Ok(code)
}

/// Every sink of a run: the console, the events file, and the job's reports (forges, CI files).
fn sinks(
    command: Command,
    planned: &plan::Planned,
    loaded: &Loaded,
    context: &Context,
    extras: &Extras<'_>,
    io: &Io,
) -> Result<Vec<Box<dyn Sink>>> {
    let plan = &planned.plan;
    let flavour = report::Flavour::choose(context.ci, io.stderr_is_tty, !io.color);
    let mut sinks: Vec<Box<dyn Sink>> =
        vec![Box::new(report::Console::new(io.stderr.clone(), flavour))];
    if let Some(path) = extras.events.as_deref() {
        sinks.push(Box::new(report::EventsFile::create(path)?));
    }
    if extras.forge {
        sinks.extend(report::job_reports(&report::ReportRequest {
            context,
            settings: &loaded.settings,
            subject: &plan.subject,
            env: extras.env,
            command,
            environment: plan.environment.as_deref(),
            redactor: planned.redactor.clone(),
            log: io.stderr.clone(),
        })?);
    }
    Ok(sinks)
}

/// Runs the plan's phases in order, each on its platform's backend, until one does not succeed.
/// Later phases get the real values an earlier one captured; the outcomes are redacted.
async fn run_phases(
    planned: &plan::Planned,
    emitter: &Emitter,
    cancel: &CancellationToken,
) -> Vec<PhaseOutcome> {
    let plan = &planned.plan;
    let deadline = platform::engine::later(tokio::time::Instant::now(), plan.timeout);
    let mut vars = plan.vars.clone();
    let run_key: String = format!("{:032x}", rand::random::<u128>());
    let mut phases: Vec<PhaseOutcome> = Vec::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        let last = i + 1 == plan.phases.len();
        let mut phase_vars = vars.clone();
        phase_vars.extend(plan.phase_vars.get(phase).cloned().unwrap_or_default());
        phase_vars.insert("idempotency_key".into(), format!("ferry-{run_key}-{phase}"));
        phase_vars.extend(
            plan.secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.expose_secret().to_string())),
        );
        // Each phase runs on its own platform's backend, at that platform's cadence.
        let Some((backend, timing)) = planned.backend(*phase) else {
            continue;
        };
        let engine = Engine::new(
            backend,
            emitter.clone(),
            cancel.clone(),
            planned.redactor.clone(),
            timing.clone(),
        );
        let run = engine
            .run_phase(PhaseRequest {
                phase: *phase,
                vars: phase_vars,
                timeout: plan
                    .phase_timeouts
                    .get(phase)
                    .copied()
                    .unwrap_or(plan.timeout),
                deadline,
                detach: plan.detach && last,
            })
            .await;
        if let Some(id) = &run.captured.id {
            vars.insert(format!("{phase}.id"), id.clone());
        }
        for (k, v) in &run.captured.outputs {
            vars.insert(format!("{phase}.{k}"), v.clone());
        }
        let good = run.outcome.status.is_good();
        phases.push(run.outcome);
        if !good {
            break;
        }
    }
    phases
}

/// The sinks back from the dispatcher, with the failures it collected.
type Dispatched = (Vec<Box<dyn Sink>>, Vec<report::SinkFailure>);

/// Lets the sinks finish (within the grace period after a signal) and writes every report
/// failure as a warning. Returns whether any report failed.
async fn finish_reports(
    dispatcher: tokio::task::JoinHandle<Dispatched>,
    wrap_up: Option<tokio::time::Instant>,
    outcome: &RunOutcome,
    planned: &plan::Planned,
    context: &Context,
    io: &mut Io,
) -> bool {
    // After a signal, a slow forge must not keep ferry past the CI's grace period.
    let (mut sinks, mut failures, mut cut_short) = match bounded(wrap_up, dispatcher).await {
        Some(Ok((sinks, failures))) => (sinks, failures, false),
        Some(Err(_)) => (Vec::new(), Vec::new(), false),
        None => (Vec::new(), Vec::new(), true),
    };
    match bounded(wrap_up, report::finish_all(&mut sinks, outcome, context)).await {
        Some(more) => failures.extend(more),
        None => cut_short = true,
    }
    if cut_short {
        let message = format!(
            "the run ended {} (exit code {}), and its reports were cut short: the CI's grace period after the signal ran out",
            outcome.status.as_str(),
            outcome.exit_code
        );
        let _ = writeln!(io.stderr, "{}", report::warning_line(context.ci, &message));
    }
    for failure in &failures {
        let message = planned.redactor.redact(&failure.to_string());
        let line = report::warning_line(context.ci, &message);
        let _ = writeln!(io.stderr, "{line}");
    }
    !failures.is_empty()
}

/// How long after a signal ferry may still work (cancel, report) before it must exit: the GitHub
/// runner sends SIGTERM 7.5 s after SIGINT, and kills the job soon after; 6 s leaves room to exit.
const SIGNAL_WRAP_UP: Duration = Duration::from_secs(6);

/// `fut`'s output, or `None` when `until` comes first (no limit without one).
async fn bounded<F: std::future::Future>(
    until: Option<tokio::time::Instant>,
    fut: F,
) -> Option<F::Output> {
    match until {
        Some(until) => tokio::time::timeout_at(until, fut).await.ok(),
        None => Some(fut.await),
    }
}

fn summarise(
    command: Command,
    environment: Option<String>,
    phases: Vec<PhaseOutcome>,
    duration: Duration,
) -> RunOutcome {
    let bad = phases.iter().find(|p| !p.status.is_good());
    let status = match bad {
        Some(p) => p.status,
        None if phases.iter().any(|p| p.status == Status::Detached) => Status::Detached,
        None => Status::Succeeded,
    };
    let message = bad.and_then(|p| p.message.clone());
    // Only a deploy that did not fail has the environment's URL.
    let url = phases
        .iter()
        .rev()
        .find(|p| p.phase == Phase::Deploy)
        .filter(|p| p.status.is_good())
        .and_then(|p| p.url().map(str::to_string));
    let mut outcome = RunOutcome {
        schema: RunOutcome::SCHEMA,
        command,
        environment,
        status,
        exit_code: 0,
        url,
        phases,
        duration,
        message,
    };
    outcome.exit_code = outcome.exit().code();
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn demo(
    out: PathBuf,
    fail: Option<DemoFail>,
    json: bool,
    events: Option<PathBuf>,
    env: &env::Env,
    cwd: &Path,
    io: &mut Io,
    cancel: CancellationToken,
) -> Result<ExitCode> {
    let mut script = sim::Script::default();
    match fail {
        Some(DemoFail::Build) => script.build.outcome = sim::Outcome::Failure,
        Some(DemoFail::Deploy) => script.deploy.outcome = sim::Outcome::Failure,
        None => {}
    }
    let server = sim::SimServer::start(([127, 0, 0, 1], 0).into(), script)
        .await
        .map_err(|e| io_error("the simulated platform", e))?;
    let file = config::FileConfig::parse(DEMO_CONFIG, "examples/simulator.toml")?;
    let flags = config::Layer {
        environment: Some("demo".into()),
        platform_url: Some(server.url().to_string()),
        ..config::Layer::default()
    };
    // The demo ignores any ferry.toml here: it always runs the embedded description.
    let raw = config::RawSettings::merge(vec![(flags, config::SourceKind::Flags)])?;
    let settings = config::Settings::validate(&raw, PathBuf::from("examples/simulator.toml"))?;
    let loaded = Loaded {
        settings,
        file: Some(file),
        warnings: Vec::new(),
    };
    let mut context = ci::detect(env);
    if context.sha.is_none() {
        context.sha = Some(DEMO_SHA.into());
    }
    let out = cwd.join(out);
    let extras = Extras {
        env,
        forge: false,
        sinks: vec![Box::new(report::Preview::new(out.clone()))],
        json,
        events: events.map(|p| cwd.join(p)),
        overrides: platform::Vars::new(),
    };
    let code = carry_out(Command::Deploy, &loaded, &context, extras, io, cancel).await;
    server.shutdown().await;
    let code = code?;
    let _ = writeln!(
        io.stderr,
        "\nWhat ferry would report (pull request comment and job summary) is in {}",
        out.display()
    );
    Ok(code)
}

/// The description of the simulated platform, embedded for `ferry demo`.
pub const DEMO_CONFIG: &str = include_str!("../examples/simulator.toml");

/// The commit the demo pretends to deploy when not run inside a CI.
const DEMO_SHA: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";

async fn serve_sim(
    listen: &str,
    script: Option<&Path>,
    io: &mut Io,
    cancel: CancellationToken,
) -> Result<ExitCode> {
    let addr: std::net::SocketAddr = listen.parse().map_err(|_| Error::InvalidSetting {
        name: "listen".into(),
        source_name: "--listen".into(),
        problem: format!("{} is not an address", error::quote(listen)),
        hint: "use host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)".into(),
    })?;
    let script = match script {
        Some(path) => {
            let text =
                config::read::read_text(path, config::read::SIM_SCRIPT_LIMIT).map_err(|e| {
                    Error::InvalidSetting {
                        name: "script".into(),
                        source_name: "--script".into(),
                        problem: e.to_string(),
                        hint: e.fix("name a simulator script (TOML)"),
                    }
                })?;
            sim::Script::from_toml(&text).map_err(|message| Error::ConfigFile {
                path: path.display().to_string(),
                message: error::clip_lines(&message),
            })?
        }
        None => sim::Script::default(),
    };
    let server = sim::SimServer::start(addr, script)
        .await
        .map_err(|e| io_error(listen, e))?;
    writeln!(io.stdout, "ferry sim listening on {}", server.url())
        .map_err(|e| io_error("stdout", e))?;
    io.stdout.flush().map_err(|e| io_error("stdout", e))?;
    cancel.cancelled().await;
    server.shutdown().await;
    Ok(ExitCode::Success)
}

fn init_tracing(env: &env::Env, verbose: u8, runner: bool) {
    let filter = match verbose {
        0 => env
            .get("FERRY_LOG")
            .or_else(|| env.get("RUST_LOG"))
            .unwrap_or("warn")
            .to_string(),
        1 => "ferry=debug".into(),
        2 => "ferry=trace".into(),
        _ => "trace".into(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(report::diagnostics::DiagnosticWriter { runner })
        .with_ansi(false)
        .try_init();
}
