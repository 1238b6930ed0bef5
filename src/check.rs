//! Wiring for `ferry check` and `--dry-run`, beside [`crate::run`]: settings → plan → the
//! readable plan (or JSON), and with `--probe` each planned backend's read-only probe and the
//! forge token's, as a checklist. Like `run`, it is where the stages meet; it must never trigger,
//! cancel or report anything (the probes only read; the one file it writes is the step's
//! outputs in GitHub Actions, `status=checked`) and never print a credential.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::ci::Context;
use crate::config::{FileConfig, Layer, Loaded};
use crate::env::Env;
use crate::error::Result;
use crate::exit::ExitCode;
use crate::platform::Command;
use crate::platform::probe::{Finding, Verdict};
use crate::{Io, ci, config, io_error, plan, report};

/// What `ferry check` was given.
pub(crate) struct CheckArgs<'a> {
    pub layer: Layer,
    pub json: bool,
    pub probe: bool,
    /// `--var NAME=VALUE`, as a run takes them.
    pub vars: Vec<String>,
    pub env: &'a Env,
    pub cwd: &'a Path,
    pub io: &'a mut Io,
}

/// What showing a plan needs.
pub(crate) struct Shown<'a> {
    pub planned: &'a plan::Planned,
    pub loaded: &'a Loaded,
    pub context: &'a Context,
    pub env: &'a Env,
    pub json: bool,
    pub io: &'a mut Io,
}

/// `ferry check`: the plan of every job the file describes (see [`commands`]), in words or
/// JSON; with `--probe`, the checklist.
pub(crate) async fn check(args: CheckArgs<'_>) -> Result<ExitCode> {
    let CheckArgs {
        layer,
        json,
        probe,
        vars,
        env,
        cwd,
        io,
    } = args;
    let loaded = config::load(env, layer, cwd)?;
    let context = ci::detect_in(env, cwd);
    crate::warn_at_start(&loaded, context.ci, io);
    let overrides = plan::overrides(env, &vars)?;
    let mut plans = Vec::new();
    for command in commands(loaded.file.as_ref()) {
        // Only the probe sends: a credential a fork's pull request withholds stops it alone.
        let request = plan::PlanRequest::new(command, &loaded, &context, &overrides, env);
        plans.push(plan::plan(if probe {
            request
        } else {
            request.shown_only()
        })?);
    }
    let Some(main) = plans.first() else {
        return Ok(ExitCode::Success);
    };
    if probe {
        let code = run_probe(&plans, &loaded, &context, env, json, io).await?;
        if code == ExitCode::Success {
            passed(main, &context, env, io);
        }
        return Ok(code);
    }
    if json {
        let mut value = plan_json(main, &loaded, &context, env, io);
        if let (Some(stop), Some(map)) = (plans.get(1), value.as_object_mut()) {
            map.insert("stop".into(), plan_json(stop, &loaded, &context, env, io));
        }
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        let text = format!("{}\n", report::inert::json(context.ci, text));
        write!(io.stdout, "{}", main.redactor.redact(&text)).map_err(|e| io_error("stdout", e))?;
    } else {
        for (i, planned) in plans.iter().enumerate() {
            if i > 0 {
                writeln!(io.stdout).map_err(|e| io_error("stdout", e))?;
            }
            let text = plan_words(planned, &loaded, &context, env, io);
            write!(io.stdout, "{text}").map_err(|e| io_error("stdout", e))?;
        }
    }
    for planned in &plans {
        print_warnings(&planned.plan, context.ci, io)?;
    }
    writeln!(io.stderr, "settings are valid").map_err(|e| io_error("stderr", e))?;
    passed(main, &context, env, io);
    Ok(ExitCode::Success)
}

/// A check that passed, as the step's outputs in GitHub Actions (`command: check`):
/// `status=checked` and the environment a run would deploy to (no job summary: the plan is in
/// the log). A file that cannot be written is a warning, as a run's reports are.
fn passed(main: &plan::Planned, context: &Context, env: &Env, io: &mut Io) {
    let environment = main.plan.environment.as_deref();
    for failure in report::write_checked(context.ci, env, environment) {
        let text = main.redactor.redact(&failure.to_string());
        let _ = writeln!(io.stderr, "{}", report::warning_line(context.ci, &text));
    }
}

/// What `ferry check` plans: the main job (`ferry deploy`, or `ferry build` when the file
/// describes no `[deploy]`) and, when `[stop]` is described, `ferry stop`, which runs in a job
/// of its own (so its templates see no build outputs).
fn commands(file: Option<&FileConfig>) -> Vec<Command> {
    let Some(file) = file else {
        return vec![Command::Deploy];
    };
    let main = if file.deploy.is_none() && file.build.is_some() {
        Command::Build
    } else {
        Command::Deploy
    };
    let mut commands = Vec::new();
    if file.deploy.is_some() || file.build.is_some() || file.stop.is_none() {
        commands.push(main);
    }
    if file.stop.is_some() {
        commands.push(Command::Stop);
    }
    commands
}

/// The report request for `planned`, to say (or probe) what would be reported; builds no sink.
fn report_request<'a>(
    planned: &'a plan::Planned,
    loaded: &'a Loaded,
    context: &'a Context,
    env: &'a Env,
    io: &Io,
) -> report::ReportRequest<'a> {
    report::ReportRequest {
        context,
        settings: &loaded.settings,
        subject: &planned.plan.subject,
        env,
        command: planned.plan.command,
        environment: planned.plan.environment.as_deref(),
        redactor: planned.redactor.clone(),
        log: io.stderr.clone(),
    }
}

/// The plan in words on stdout, or its JSON (with what is reported where) with `--json`.
pub(crate) fn print_plan(shown: Shown<'_>) -> Result<()> {
    let Shown {
        planned,
        loaded,
        context,
        env,
        json,
        io,
    } = shown;
    let text = if json {
        let value = plan_json(planned, loaded, context, env, io);
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        format!("{}\n", report::inert::json(context.ci, text))
    } else {
        plan_words(planned, loaded, context, env, io)
    };
    let text = planned.redactor.redact(&text);
    write!(io.stdout, "{text}").map_err(|e| io_error("stdout", e))?;
    print_warnings(&planned.plan, context.ci, io)
}

/// The plan's JSON, with what would be reported where.
fn plan_json(
    planned: &plan::Planned,
    loaded: &Loaded,
    context: &Context,
    env: &Env,
    io: &Io,
) -> serde_json::Value {
    let request = report_request(planned, loaded, context, env, io);
    let reports = report::plan_text::planned_reports(&request);
    let mut value = serde_json::to_value(&planned.plan).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("reports".into(), serde_json::json!(reports));
    }
    value
}

/// The plan in words, redacted and made inert for the CI log.
fn plan_words(
    planned: &plan::Planned,
    loaded: &Loaded,
    context: &Context,
    env: &Env,
    io: &Io,
) -> String {
    let request = report_request(planned, loaded, context, env, io);
    let reports = report::plan_text::planned_reports(&request);
    let text = report::inert::text(
        context.ci,
        &report::plan_text::render(&planned.plan, &reports),
    );
    planned.redactor.redact(&text)
}

/// What the plan found worth a word without stopping (a template value empty for this run), as
/// CI warnings on stderr.
pub(crate) fn print_warnings(plan: &plan::Plan, ci: ci::Ci, io: &mut Io) -> Result<()> {
    for w in &plan.warnings {
        writeln!(io.stderr, "{}", report::warning_line(ci, w))
            .map_err(|e| io_error("stderr", e))?;
    }
    Ok(())
}

/// The probe's answer for machines.
#[derive(Serialize)]
struct ProbeJson<'a> {
    findings: &'a [Finding],
    exit_code: u8,
}

/// Every planned platform's probe, then the forge token's; the checklist; the exit code: 3 when
/// something could not be reached, 2 when anything is missing, else 0.
async fn run_probe(
    plans: &[plan::Planned],
    loaded: &Loaded,
    context: &Context,
    env: &Env,
    json: bool,
    io: &mut Io,
) -> Result<ExitCode> {
    let mut findings: Vec<Finding> = Vec::new();
    // An `http` platform's probe is one request whatever the phase: sent once, though the
    // deploy's and the stop's plan both use it (Jenkins and Argo CD read each phase's own job).
    let mut probed: Vec<&str> = Vec::new();
    for planned in plans {
        let plan = &planned.plan;
        for b in &planned.backends {
            let platform = b
                .phases
                .first()
                .and_then(|p| plan.phase_platforms.iter().find(|pp| pp.phase == *p));
            if let Some(pp) = platform.filter(|pp| pp.kind == "http") {
                if probed.contains(&pp.key.as_str()) {
                    continue;
                }
                probed.push(&pp.key);
            }
            let mut vars = plan.vars.clone();
            if let Some(first) = b.phases.first() {
                vars.extend(plan.phase_vars.get(first).cloned().unwrap_or_default());
            }
            for f in b.backend.probe(&b.phases, &vars).await {
                // The deploy's and the stop's platform are often one: said once.
                if !findings.contains(&f) {
                    findings.push(f);
                }
            }
        }
    }
    let Some(planned) = plans.first() else {
        return Ok(ExitCode::Success);
    };
    let request = report_request(planned, loaded, context, env, io);
    findings.extend(report::plan_text::probe_forges(&request).await);
    let code = if findings.iter().any(|f| f.verdict == Verdict::Unreachable) {
        ExitCode::Platform
    } else if findings.iter().any(|f| f.verdict == Verdict::Missing) {
        ExitCode::Usage
    } else {
        ExitCode::Success
    };
    let text = if json {
        let text = serde_json::to_string_pretty(&ProbeJson {
            findings: &findings,
            exit_code: code.code(),
        })
        .unwrap_or_default();
        format!("{}\n", report::inert::json(context.ci, text))
    } else {
        report::inert::text(context.ci, &report::plan_text::checklist(&findings))
    };
    let text = planned.redactor.redact(&text);
    write!(io.stdout, "{text}").map_err(|e| io_error("stdout", e))?;
    Ok(code)
}
