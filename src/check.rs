//! Wiring for `ferry check` and `--dry-run`, beside [`crate::run`]: settings → plan → the
//! readable plan (or JSON), and with `--probe` each planned backend's read-only probe and the
//! forge token's, as a checklist. Like `run`, it is where the stages meet; it must never trigger,
//! cancel or report anything (the probes only read) and never print a credential.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::ci::Context;
use crate::config::{Layer, Loaded};
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

/// `ferry check`: the plan of a deploy, in words or JSON; with `--probe`, the checklist.
pub(crate) async fn check(args: CheckArgs<'_>) -> Result<ExitCode> {
    let CheckArgs {
        layer,
        json,
        probe,
        env,
        cwd,
        io,
    } = args;
    let loaded = config::load(env, layer, cwd)?;
    let context = ci::detect_in(env, cwd);
    crate::warn_at_start(&loaded, context.ci, io);
    let planned = plan::plan(plan::PlanRequest {
        command: Command::Deploy,
        no_build: false,
        settings: &loaded.settings,
        file: loaded.file.as_ref(),
        context: &context,
        overrides: &plan::overrides(env, &[])?,
        env,
    })?;
    if probe {
        return run_probe(&planned, &loaded, &context, env, json, io).await;
    }
    print_plan(Shown {
        planned: &planned,
        loaded: &loaded,
        context: &context,
        env,
        json,
        io,
    })?;
    writeln!(io.stderr, "settings are valid").map_err(|e| io_error("stderr", e))?;
    Ok(ExitCode::Success)
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
    let request = report_request(planned, loaded, context, env, io);
    let reports = report::plan_text::planned_reports(&request);
    let text = if json {
        let mut value = serde_json::to_value(&planned.plan).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("reports".into(), serde_json::json!(reports));
        }
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        format!("{}\n", report::inert::json(context.ci, text))
    } else {
        report::inert::text(
            context.ci,
            &report::plan_text::render(&planned.plan, &reports),
        )
    };
    let text = planned.redactor.redact(&text);
    write!(io.stdout, "{text}").map_err(|e| io_error("stdout", e))?;
    print_warnings(&planned.plan, context.ci, io)
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
    planned: &plan::Planned,
    loaded: &Loaded,
    context: &Context,
    env: &Env,
    json: bool,
    io: &mut Io,
) -> Result<ExitCode> {
    let plan = &planned.plan;
    let mut findings = Vec::new();
    for b in &planned.backends {
        let mut vars = plan.vars.clone();
        if let Some(first) = b.phases.first() {
            vars.extend(plan.phase_vars.get(first).cloned().unwrap_or_default());
        }
        findings.extend(b.backend.probe(&b.phases, &vars).await);
    }
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
