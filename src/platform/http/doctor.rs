//! Stage: platform. The `http` backend's part of the readable plan (what each phase sends and
//! waits for, from the description alone) and of `ferry check --probe` (the one read-only
//! `probe` request of the platform's description). `describe` sends nothing; `probe` sends only
//! a GET or HEAD, and never a trigger, a cancel or anything else that changes the platform.

use super::HttpBackend;
use super::spec::{Condition, PhaseSpec, Test, UnknownPolicy};
use crate::error::Error;
use crate::platform::backend::Vars;
use crate::platform::described::{self, Described};
use crate::platform::event::Phase;
use crate::platform::probe::{Finding, Verdict};

impl HttpBackend {
    /// What `phase` sends, in order, and what its status request waits for.
    pub(super) fn describe_phase(&self, phase: Phase, vars: &Vars) -> Described {
        let mut out = Described::default();
        let Some(spec) = self.phases.get(&phase) else {
            return out;
        };
        let base = self.client.base();
        let url = |path: &str| described::url(base, path, vars);
        for before in &spec.before {
            let method = before.method.as_deref().unwrap_or("POST");
            out.push("before", method, url(before.target().unwrap_or_default()));
        }
        if let Some(t) = &spec.trigger {
            out.push("trigger", &t.method, url(&t.path));
            if let Some(path) = t.find.as_ref().and_then(|f| f.path.as_deref()) {
                out.push("find", "GET", url(path));
            }
        }
        if let Some(path) = spec.observe.as_ref().and_then(|o| o.path.as_deref()) {
            out.push("observe", "GET", url(path));
        }
        if let Some(r) = &spec.resolve {
            out.push("resolve", "GET", url(&r.path));
        }
        if let Some(h) = &spec.history {
            out.push("history", "GET", url(&h.path));
        }
        out.push("status", "GET", url(&spec.status.path));
        if let Some(logs) = &spec.logs {
            if let Some(path) = &logs.path {
                out.push("logs", "GET", url(path));
            } else if let Some(source) = &logs.url {
                out.push(
                    "logs",
                    "GET",
                    format!("(the URL at {source} in the status answer)"),
                );
            }
        }
        if let Some(c) = &spec.cancel {
            out.push(
                "cancel",
                c.method.as_deref().unwrap_or("POST"),
                url(&c.path),
            );
        }
        for f in spec.fetch.values() {
            out.push("fetch", f.method.as_deref().unwrap_or("GET"), url(&f.path));
        }
        out.waits_for = waits_for(spec);
        out
    }

    /// `ferry check --probe` on this platform: the `probe` request, or "cannot tell".
    pub(super) async fn probe_platform(&self, vars: &Vars) -> Vec<Finding> {
        let item = format!("{}: reachable, credential accepted, app exists", self.name);
        let Some(probe) = &self.probe else {
            return vec![Finding::not_ok(
                item,
                Verdict::CannotTell,
                "the description has no `probe` request",
                "add probe = { path = \"…\", method = \"GET\" } to the platform's table: a read-only request that answers 2xx when the app exists and the token is accepted",
            )];
        };
        let method = probe.method.as_deref().unwrap_or("GET");
        let req = match self.request(
            "probe",
            method,
            &probe.path,
            &std::collections::BTreeMap::new(),
            None,
            &[],
            vars,
        ) {
            Ok(req) => req,
            Err(e) => {
                return vec![Finding::from_error(
                    item,
                    &e,
                    "check `probe` in the platform's table",
                )];
            }
        };
        let shown = format!("{method} {}", self.client.redact(req.url.as_str()));
        match self.client.send(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                vec![Finding::ok(item, format!("{shown} answered HTTP {status}"))]
            }
            Err(e) => vec![self.probe_refused(item, e, &probe.path)],
        }
    }

    /// A refused probe: a credential refused names its setting; a 404 names the app.
    fn probe_refused(&self, item: String, e: Error, path: &str) -> Finding {
        let fix = if self.credential.present {
            "check that the token is current and may read the app"
        } else {
            "the platform needs a token: set it where the platform's table says (FERRY_PLATFORM_TOKEN for [platform], token_env for [platforms.<name>])"
        };
        let e = self.credential.check(e, fix);
        if let Error::PlatformApi {
            status: 404,
            method,
            url,
            ..
        } = &e
        {
            return Finding::not_ok(
                item,
                Verdict::Missing,
                format!("{method} {url} answered HTTP 404: the app does not exist"),
                format!("check the values {path:?} names (e.g. [vars]) against the platform"),
            );
        }
        Finding::from_error(item, &e, "check the platform's url and `probe`")
    }
}

/// What the status request waits for, in words.
fn waits_for(spec: &PhaseSpec) -> String {
    let s = &spec.status;
    let set = |c: &[Condition]| {
        if c.is_empty() {
            "(none)".to_string()
        } else {
            c.iter().map(condition).collect::<Vec<_>>().join(", ")
        }
    };
    let field = s
        .field
        .as_deref()
        .map_or_else(String::new, |f| format!("{f} in the status answer: "));
    let unknown = match s.unknown {
        UnknownPolicy::Fail => "anything else fails",
        UnknownPolicy::Running => "anything else is still running",
    };
    let estimated = s.estimate.is_some() || spec.history.is_some();
    let how = match (&s.long_poll, estimated) {
        (Some(_), _) => "; held by the platform until the state changes (a long poll)",
        (None, true) => "; read densely around the platform's estimate",
        (None, false) => "",
    };
    format!(
        "{field}success {}; failure {}; running {}; {unknown}{how}",
        set(&s.success),
        set(&s.failure),
        set(&s.running)
    )
}

fn condition(c: &Condition) -> String {
    match c {
        Condition::Value(v) => value(v),
        Condition::AllOf(tests) => {
            let parts: Vec<String> = tests
                .iter()
                .map(|t| match t {
                    Test::OneOf(p, values) => format!(
                        "{p} in [{}]",
                        values.iter().map(value).collect::<Vec<_>>().join(", ")
                    ),
                    Test::Present(p) => format!("{p} present"),
                    Test::Absent(p) => format!("{p} absent"),
                    Test::Null(p) => format!("{p} null"),
                })
                .collect();
            format!("({})", parts.join(" and "))
        }
    }
}

fn value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_worded_as_written() {
        let spec: PhaseSpec = toml::from_str(
            r#"
[trigger]
path = "/x"
[status]
path = "/x/{{ id }}"
field = "/state"
success = ["done", { "/phase" = ["ok", 1], present = "/url" }]
failure = [{ absent = "/url", null = ["/a"] }]
unknown = "running"
"#,
        )
        .unwrap();
        assert_eq!(
            waits_for(&spec),
            "/state in the status answer: success done, (/phase in [ok, 1] and /url present); failure (/url absent and /a null); running (none); anything else is still running"
        );
    }

    #[test]
    fn a_long_poll_and_an_estimate_are_said() {
        let spec = |extra: &str| -> PhaseSpec {
            toml::from_str(&format!(
                "[trigger]\npath = \"/x\"\n[status]\npath = \"/x\"\nfield = \"/s\"\nsuccess = [\"ok\"]\n{extra}\n"
            ))
            .unwrap()
        };
        let polled = waits_for(&spec("long_poll = { wait = \"wait\", since = \"since\" }"));
        assert!(
            polled.ends_with("until the state changes (a long poll)"),
            "{polled}"
        );
        let estimated = waits_for(&spec("estimate = \"/eta\""));
        assert!(
            estimated.ends_with("around the platform's estimate"),
            "{estimated}"
        );
        assert!(!waits_for(&spec("")).contains("estimate"));
    }
}
