//! Classifying a status response: failure, then success, then running; anything else is
//! unknown, and an unknown state is never success.

use std::collections::BTreeSet;

use super::spec::{Condition, StatusSpec, Test};
use crate::platform::event::StateClass;

/// A JSON field as comparable text (`null` for absent or null).
pub(crate) fn field_text(body: &serde_json::Value, pointer: &str) -> String {
    match body.pointer(pointer) {
        None | Some(serde_json::Value::Null) => "null".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An expected value from `ferry.toml` as comparable text.
pub(crate) fn expected_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether one test of a condition table holds for `body`.
fn holds(test: &Test, body: &serde_json::Value) -> bool {
    match test {
        Test::OneOf(pointer, allowed) => {
            let actual = field_text(body, pointer);
            allowed.iter().any(|v| expected_text(v) == actual)
        }
        Test::Present(pointer) => body.pointer(pointer).is_some_and(|v| !v.is_null()),
        Test::Absent(pointer) => body.pointer(pointer).is_none_or(serde_json::Value::is_null),
        Test::Null(pointer) => body
            .pointer(pointer)
            .is_some_and(serde_json::Value::is_null),
    }
}

fn matches(cond: &Condition, field: Option<&str>, body: &serde_json::Value) -> bool {
    match cond {
        Condition::Value(v) => field.is_some_and(|f| field_text(body, f) == expected_text(v)),
        Condition::AllOf(tests) => tests.iter().all(|t| holds(t, body)),
    }
}

fn conditions(spec: &StatusSpec) -> impl Iterator<Item = &Condition> {
    spec.running
        .iter()
        .chain(&spec.success)
        .chain(&spec.failure)
}

/// Every pointer the spec compares values of, in a stable order: the state people see. The
/// pointers only tested for presence count only when there is nothing else to show.
pub(crate) fn pointers(spec: &StatusSpec) -> Vec<String> {
    let mut compared = BTreeSet::new();
    let mut tested = BTreeSet::new();
    for cond in conditions(spec) {
        if let Condition::AllOf(tests) = cond {
            for t in tests {
                let set = if matches!(t, Test::OneOf(..)) {
                    &mut compared
                } else {
                    &mut tested
                };
                set.insert(t.pointer().to_string());
            }
        }
    }
    if spec.field.is_none() && compared.is_empty() {
        compared = tested;
    }
    let mut out: Vec<String> = spec.field.iter().cloned().collect();
    out.extend(
        compared
            .into_iter()
            .filter(|p| Some(p) != spec.field.as_ref()),
    );
    out
}

/// Every pointer the spec looks at, operators' included (for checks).
pub(crate) fn all_pointers(spec: &StatusSpec) -> Vec<String> {
    let mut out: Vec<String> = spec.field.iter().cloned().collect();
    for cond in conditions(spec) {
        if let Condition::AllOf(tests) = cond {
            out.extend(tests.iter().map(|t| t.pointer().to_string()));
        }
    }
    out
}

/// The state as people should see it: one value, or `field=value` pairs.
pub(crate) fn describe(spec: &StatusSpec, body: &serde_json::Value) -> String {
    let ptrs = pointers(spec);
    if let [only] = ptrs.as_slice() {
        return field_text(body, only);
    }
    ptrs.iter()
        .map(|p| {
            format!(
                "{}={}",
                p.rsplit('/').next().unwrap_or(p),
                field_text(body, p)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The class of a status body, or `None` when it matches no list.
pub(crate) fn classify(spec: &StatusSpec, body: &serde_json::Value) -> Option<StateClass> {
    let field = spec.field.as_deref();
    let any = |list: &[Condition]| list.iter().any(|c| matches(c, field, body));
    if any(&spec.failure) {
        Some(StateClass::Failure)
    } else if any(&spec.success) {
        Some(StateClass::Success)
    } else if any(&spec.running) {
        Some(StateClass::Running)
    } else {
        None
    }
}

/// True when any of `conditions` holds (for resolve failures).
pub(crate) fn any_holds(conditions: &[Condition], body: &serde_json::Value) -> bool {
    conditions.iter().any(|c| matches(c, None, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> StatusSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn single_field_sets() {
        let s = spec(
            r#"path = "/x"
field = "/state"
running = ["queued", "running"]
success = ["done"]
failure = ["failed"]"#,
        );
        let c = |v: &str| classify(&s, &serde_json::json!({ "state": v }));
        assert_eq!(c("queued"), Some(StateClass::Running));
        assert_eq!(c("done"), Some(StateClass::Success));
        assert_eq!(c("failed"), Some(StateClass::Failure));
        assert_eq!(c("weird"), None);
    }

    #[test]
    fn success_needs_every_field_at_once() {
        let s = spec(
            r#"path = "/x"
success = [{ "/sync" = ["Synced"], "/health" = ["Healthy"] }]
failure = [{ "/health" = ["Degraded"] }]
running = [{ "/sync" = ["OutOfSync"] }, { "/health" = ["Progressing", "Missing"] }]"#,
        );
        let c = |sync: &str, health: &str| {
            classify(&s, &serde_json::json!({ "sync": sync, "health": health }))
        };
        assert_eq!(c("Synced", "Progressing"), Some(StateClass::Running));
        assert_eq!(c("Synced", "Healthy"), Some(StateClass::Success));
        assert_eq!(c("Synced", "Degraded"), Some(StateClass::Failure));
        assert_eq!(c("Unknown", "Unknown"), None);
        assert_eq!(
            describe(
                &s,
                &serde_json::json!({ "sync": "Synced", "health": "Healthy" })
            ),
            "health=Healthy sync=Synced"
        );
    }

    #[test]
    fn null_and_booleans_compare_as_text() {
        let s = spec(
            r#"path = "/x"
running = [{ "/building" = [true] }]
success = [{ "/building" = [false], "/result" = ["SUCCESS"] }]
failure = [{ "/building" = [false], "/result" = ["FAILURE", "ABORTED", "null"] }]"#,
        );
        let body = serde_json::json!({ "building": true, "result": null });
        assert_eq!(classify(&s, &body), Some(StateClass::Running));
        let body = serde_json::json!({ "building": false, "result": "SUCCESS" });
        assert_eq!(classify(&s, &body), Some(StateClass::Success));
    }

    #[test]
    fn operators_test_presence_absence_and_null() {
        let s = spec(
            r#"path = "/x"
field = "/status"
success = [{ "/status" = ["done"], present = "/finished_at", absent = "/error" }]
failure = [{ present = ["/error", "/finished_at"] }]
running = [{ null = "/finished_at" }, { absent = "/finished_at" }]"#,
        );
        let c = |body: serde_json::Value| classify(&s, &body);
        assert_eq!(
            c(serde_json::json!({ "status": "done", "finished_at": null })),
            Some(StateClass::Running)
        );
        assert_eq!(
            c(serde_json::json!({ "status": "done" })),
            Some(StateClass::Running)
        );
        assert_eq!(
            c(serde_json::json!({ "status": "done", "finished_at": "t", "error": null })),
            Some(StateClass::Success)
        );
        assert_eq!(
            c(serde_json::json!({ "status": "done", "finished_at": "t", "error": "boom" })),
            Some(StateClass::Failure)
        );
        // `null` is "there, and null"; absent is "not there, or null".
        let n = spec(
            r#"path = "/x"
success = [{ null = "/x" }]"#,
        );
        assert_eq!(classify(&n, &serde_json::json!({})), None);
        assert_eq!(
            classify(&n, &serde_json::json!({ "x": null })),
            Some(StateClass::Success)
        );
        // The state people see leaves presence tests out when a field says more.
        assert_eq!(pointers(&s), ["/status"]);
        let all = all_pointers(&s);
        for p in ["/status", "/finished_at", "/error"] {
            assert!(all.iter().any(|a| a == p), "{all:?}");
        }
        assert_eq!(pointers(&n), ["/x"]);
    }

    #[test]
    fn an_operator_names_pointers_only() {
        let e = toml::from_str::<StatusSpec>(
            r#"path = "/x"
success = [{ present = 3 }]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`present` names a JSON Pointer"), "{e}");
    }
}
