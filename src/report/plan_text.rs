//! Stage: report (no sink). The readable plan of `ferry check` / `--dry-run` (per phase: the
//! platform, each request's method and URL in order, what is waited for, the time limit; then
//! what is reported where) and the checklist of `ferry check --probe`. Only words from data the
//! plan and the probes made: it decides nothing, sends nothing but the forge probes' read-only
//! requests, and never shows a credential (the plan holds none).

use std::fmt::Write as _;

use super::forge::ReportRequest;
use crate::plan::Plan;
use crate::platform::probe::{Finding, Verdict};

/// What this run would report where, one line each, without sending anything.
pub(crate) fn planned_reports(request: &ReportRequest<'_>) -> Vec<String> {
    let mut out = super::github::doctor::planned(request);
    out.extend(super::gitlab::doctor::planned(request));
    let env = request.env;
    if request.context.ci == crate::ci::Ci::Github {
        if env.get("GITHUB_STEP_SUMMARY").is_some() {
            out.push("GitHub Actions: the job summary (GITHUB_STEP_SUMMARY)".into());
        }
        if env.get("GITHUB_OUTPUT").is_some() {
            out.push("GitHub Actions: step outputs url, status, … (GITHUB_OUTPUT)".into());
        }
    }
    let dotenv = request
        .settings
        .dotenv
        .clone()
        .or_else(|| (request.context.ci == crate::ci::Ci::Gitlab).then(|| "ferry.env".into()));
    if let Some(path) = dotenv {
        out.push(format!(
            "the dotenv report {} (FERRY_URL, FERRY_STATUS, …)",
            path.display()
        ));
    }
    out
}

/// `ferry check --probe` for the forges this run reports to.
pub(crate) async fn probe_forges(request: &ReportRequest<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if request.context.forge == Some(crate::ci::Forge::Github) {
        out.extend(super::github::doctor::probe(request).await);
    }
    out.extend(super::gitlab::doctor::probe(request).await);
    out
}

/// The plan in words.
pub(crate) fn render(plan: &Plan, reports: &[String]) -> String {
    let mut out = String::new();
    let environment = plan
        .environment
        .as_deref()
        .map_or_else(String::new, |e| format!(" to {e}"));
    let _ = writeln!(
        out,
        "ferry {}{environment}: {} phase{}, time limit {}{}",
        plan.command.as_str(),
        plan.phases.len(),
        if plan.phases.len() == 1 { "" } else { "s" },
        humantime::format_duration(plan.timeout),
        if plan.detach {
            " (detached: the last phase is triggered, not waited for)"
        } else {
            ""
        }
    );
    for phase in &plan.phase_requests {
        let _ = writeln!(out);
        if let Some(p) = plan.phase_platforms.iter().find(|p| p.phase == phase.phase) {
            let _ = writeln!(
                out,
                "{} on {} ({}, {} at {}, credential sent as {}), time limit {}",
                phase.phase,
                p.key,
                p.platform,
                p.kind,
                p.url,
                p.auth,
                humantime::format_duration(phase.timeout)
            );
        }
        for r in &phase.described.requests {
            let _ = writeln!(out, "  {:<8} {:<6} {}", r.step, r.method, r.url);
        }
        if !phase.described.waits_for.is_empty() {
            let _ = writeln!(out, "  waits for: {}", phase.described.waits_for);
        }
    }
    let _ = writeln!(out, "\nreports:");
    if reports.is_empty() {
        let _ = writeln!(
            out,
            "  nothing besides this console (not a CI job that reports to a forge)"
        );
    }
    for r in reports {
        let _ = writeln!(out, "  - {r}");
    }
    out
}

/// The probe's checklist, one line per item, each not-ok item with its fix.
pub(crate) fn checklist(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{:<11} {}: {}", f.verdict.label(), f.item, f.detail);
        if f.verdict != Verdict::Ok
            && let Some(fix) = &f.fix
        {
            let _ = writeln!(out, "            fix: {fix}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checklist_names_each_item_and_the_fix_of_each_not_ok_one() {
        let text = checklist(&[
            Finding::ok("jenkins: job", "GET … answered"),
            Finding::not_ok(
                "GitLab token",
                Verdict::Missing,
                "job token only",
                "set FERRY_TOKEN",
            ),
            Finding::not_ok("paas", Verdict::CannotTell, "no probe", "add probe"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ok          jenkins: job"), "{text}");
        assert!(lines[1].starts_with("missing     GitLab token"), "{text}");
        assert_eq!(lines[2].trim(), "fix: set FERRY_TOKEN");
        assert!(lines[3].starts_with("cannot tell paas"), "{text}");
        assert_eq!(lines[4].trim(), "fix: add probe");
    }
}
