//! Reading an Argo CD `Application`: when the wait is over, by the rules of `argocd app wait`
//! (`waitOnApplicationStatus` / `checkAppWaitConditions` in `cmd/argocd/commands/app.go`):
//!
//! 1. no `operation` is pending, and the operation state is not the one that was there before
//!    ferry's sync was accepted (a stale read);
//! 2. `status.operationState.finishedAt` is set (Failed / Error end it badly);
//! 3. `status.reconciledAt` is not earlier than `finishedAt` (health read before the controller
//!    looked again is stale);
//! 4. then: Degraded fails, Synced + Healthy succeeds, Suspended follows the `suspended` setting,
//!    anything else (Progressing, Missing, Unknown, OutOfSync) keeps waiting.

use serde_json::Value;

use super::spec::Suspended;
use super::time::parse_rfc3339;
use crate::platform::backend::Observation;
use crate::platform::event::StateClass;

fn text<'a>(app: &'a Value, pointer: &str) -> Option<&'a str> {
    app.pointer(pointer).and_then(Value::as_str)
}

/// The state ferry shows, and what it means. `before` is the operation state that was there
/// when ferry's sync was accepted (as JSON text).
pub(crate) fn evaluate(app: &Value, before: Option<&str>, suspended: Suspended) -> Observation {
    let op = app.pointer("/status/operationState");
    let phase = text(app, "/status/operationState/phase").unwrap_or("none");
    let sync = text(app, "/status/sync/status").unwrap_or("Unknown");
    let health = text(app, "/status/health/status").unwrap_or("Unknown");
    let pending = app.get("operation").is_some_and(|o| !o.is_null());
    let shown = |extra: &str| format!("operation={phase} sync={sync} health={health}{extra}");
    let running = |extra: &str| Observation {
        state: shown(extra),
        class: StateClass::Running,
        estimate: None,
    };
    let stale = op.map(Value::to_string).as_deref() == before && before.is_some();
    if pending || stale {
        return running("");
    }
    let finished = text(app, "/status/operationState/finishedAt").and_then(parse_rfc3339);
    if matches!(phase, "Running" | "Terminating") || finished.is_none() {
        return running("");
    }
    if matches!(phase, "Failed" | "Error") {
        let message = text(app, "/status/operationState/message").unwrap_or("");
        return Observation {
            state: format!("operation={phase}: {message}"),
            class: StateClass::Failure,
            estimate: None,
        };
    }
    let reconciled = text(app, "/status/reconciledAt").and_then(parse_rfc3339);
    if reconciled.is_none() || reconciled < finished {
        return running(" (waiting for the controller to look again)");
    }
    let class = match (sync, health) {
        (_, "Degraded") => StateClass::Failure,
        (_, "Suspended") if suspended == Suspended::Failure => StateClass::Failure,
        ("Synced", "Suspended") if suspended == Suspended::Success => StateClass::Success,
        ("Synced", "Healthy") => StateClass::Success,
        _ => StateClass::Running,
    };
    Observation {
        state: shown(""),
        class,
        estimate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(phase: &str, sync: &str, health: &str, reconciled: &str) -> Value {
        json!({
            "status": {
                "operationState": {"phase": phase, "startedAt": "2026-01-01T10:00:00Z", "finishedAt": "2026-01-01T10:00:05Z"},
                "sync": {"status": sync},
                "health": {"status": health},
                "reconciledAt": reconciled,
            }
        })
    }

    #[test]
    fn follows_the_app_wait_rules() {
        let c = |a: &Value| evaluate(a, None, Suspended::Wait).class;
        let ok = app("Succeeded", "Synced", "Healthy", "2026-01-01T10:00:06Z");
        assert_eq!(c(&ok), StateClass::Success);
        // Reconciled before the operation finished: stale, keep waiting.
        let stale = app("Succeeded", "Synced", "Healthy", "2026-01-01T10:00:04Z");
        assert_eq!(c(&stale), StateClass::Running);
        let degraded = app("Succeeded", "Synced", "Degraded", "2026-01-01T10:00:06Z");
        assert_eq!(c(&degraded), StateClass::Failure);
        let missing = app("Succeeded", "Synced", "Missing", "2026-01-01T10:00:06Z");
        assert_eq!(c(&missing), StateClass::Running);
        let failed = app("Failed", "OutOfSync", "Healthy", "2026-01-01T10:00:06Z");
        assert_eq!(c(&failed), StateClass::Failure);
        let mut pending = ok.clone();
        pending["operation"] = json!({"sync": {"revision": "x"}});
        assert_eq!(c(&pending), StateClass::Running);
        // The operation state from before the sync was accepted is not ours.
        let before = ok["status"]["operationState"].to_string();
        assert_eq!(
            evaluate(&ok, Some(&before), Suspended::Wait).class,
            StateClass::Running
        );
        let suspended = app("Succeeded", "Synced", "Suspended", "2026-01-01T10:00:06Z");
        assert_eq!(c(&suspended), StateClass::Running);
        assert_eq!(
            evaluate(&suspended, None, Suspended::Success).class,
            StateClass::Success
        );
        assert_eq!(
            evaluate(&suspended, None, Suspended::Failure).class,
            StateClass::Failure
        );
    }
}
