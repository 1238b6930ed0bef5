//! Starting a phase's operation: the `[[<phase>.before]]` requests in order (their captures
//! become template values), then the trigger — or, for a phase that follows an operation started
//! elsewhere, the observe (`observe.rs`). A trigger whose answer has no id (Render's
//! `202 Queued`) is followed by its `find`.
//!
//! Must not send the trigger twice: whether repeating it is safe is the engine's decision
//! (`Backend::trigger_replay`). Errors after the trigger was accepted are never transient, so
//! that the engine does not repeat it.

use std::time::SystemTime;

use super::source::Source;
use super::spec::{BeforeSpec, FindSpec, TriggerSpec};
use super::template::{Target, render};
use super::upload::Described;
use super::{HttpBackend, absolutise, bad_source, header_list, preview};
use crate::error::{Error, Result, quote};
use crate::platform::backend::{Operation, Vars};
use crate::platform::event::Phase;

impl HttpBackend {
    /// Starts (or, with `observe`, finds) the phase's operation.
    pub(super) async fn start(&self, phase: Phase, vars: &Vars) -> Result<Operation> {
        let spec = self.spec(phase)?;
        let mut vars = vars.clone();
        self.files_ready(phase, spec, &vars).await?;
        for (n, before) in spec.before.iter().enumerate() {
            self.before(&format!("[[{phase}.before]] #{}", n + 1), before, &mut vars)
                .await?;
        }
        let mut op = match (&spec.trigger, &spec.observe) {
            (Some(t), _) => self.send_trigger(phase, t, vars).await?,
            (None, Some(o)) => self.observe(phase, o, vars).await?,
            (None, None) => {
                return Err(Error::ConfigFile {
                    path: format!("ferry.toml [{phase}]"),
                    message: format!(
                        "the phase has neither [{phase}.trigger] nor [{phase}.observe]\n  fix: describe one of them"
                    ),
                });
            }
        };
        if let Some(web) = &spec.web_url {
            op.web_url = render(web, &op.vars, Target::Url).ok();
        }
        Ok(op)
    }

    /// One request sent before the trigger; its captures join `vars`.
    async fn before(&self, section: &str, spec: &BeforeSpec, vars: &mut Vars) -> Result<()> {
        let (req, upload) = self
            .prepare(section, &Described::before(spec), vars)
            .await?;
        let url = req.url.clone();
        // An answer is read as JSON only when a capture looks into it: an object store answers
        // an upload with an empty body, or XML.
        let reads_body = spec
            .capture
            .values()
            .any(|c| matches!(Source::parse(c), Some(Source::Pointer(_))));
        let (body, headers) = if reads_body {
            self.json_with(req, upload, &format!("{section} path"))
                .await?
        } else {
            let resp = self.client.send_with(req, upload).await?;
            (serde_json::Value::Null, header_list(resp.headers()))
        };
        self.capture_into(section, &spec.capture, &body, &headers, vars, &url)
    }

    /// The trigger request, then, when its answer names no operation, the `find`.
    async fn send_trigger(&self, phase: Phase, t: &TriggerSpec, vars: Vars) -> Result<Operation> {
        let section = format!("[{phase}.trigger]");
        let (req, upload) = self
            .prepare(&section, &Described::trigger(t), &vars)
            .await?;
        let url = req.url.clone();
        let sent = SystemTime::now();
        let (body, headers) = self
            .json_with(req, upload, &format!("{section} path"))
            .await?;
        let id = match &t.id {
            Some(text) => {
                let src = Source::parse(text).ok_or_else(|| bad_source(&section, "id", text))?;
                src.extract(Some(&body), &headers, &vars)
                    .map(|id| absolutise(&src, &id, &url))
            }
            None => None,
        };
        let Some(find) = &t.find else {
            let text = t.id.as_deref().unwrap_or_default();
            let id = id.ok_or_else(|| Error::BadResponse {
                platform: self.name.clone(),
                url: self.client.redact(url.as_str()),
                problem: format!("{section} id = {} matched nothing in the response {}", quote(text), preview(&body)),
                hint: "point `id` at the field holding the operation's id (a JSON Pointer such as /data/id) or a header such as header:Location (or describe a [<phase>.trigger.find] for a platform that answers without one)".into(),
            })?;
            let mut op = Operation::new(phase, id, vars);
            op.vars.insert("id".into(), op.id.clone());
            self.capture(&section, &t.capture, &body, &headers, &mut op, &url)?;
            return Ok(op);
        };
        // The answer may hold some values even without an id: those it has are kept.
        let mut vars = vars;
        for (name, text) in &t.capture {
            let src = Source::parse(text).ok_or_else(|| bad_source(&section, name, text))?;
            if let Some(v) = src.extract(Some(&body), &headers, &vars) {
                vars.insert(name.clone(), absolutise(&src, &v, &url));
            }
        }
        match id {
            Some(id) => {
                let mut op = Operation::new(phase, id, vars);
                op.vars.insert("id".into(), op.id.clone());
                Ok(op)
            }
            None => self.find(phase, find, vars, sent).await,
        }
    }

    /// Looks for the operation a trigger sent at `sent` started.
    async fn find(
        &self,
        phase: Phase,
        find: &FindSpec,
        vars: Vars,
        sent: SystemTime,
    ) -> Result<Operation> {
        let section = format!("[{phase}.trigger.find]");
        let found = self
            .look(&section, find, &vars, Some(sent))
            .await
            .map_err(|e| self.accepted(phase, e))?;
        self.found(phase, &section, find, &found, vars)
            .map_err(|e| self.accepted(phase, e))
    }

    /// An error after the trigger was accepted says so (and is never retried as a trigger).
    fn accepted(&self, phase: Phase, e: Error) -> Error {
        match e {
            Error::BadResponse {
                platform,
                url,
                problem,
                hint,
            } => Error::BadResponse {
                platform,
                url,
                problem: format!(
                    "the platform accepted the {phase} trigger, but ferry could not find the operation it started: {problem}"
                ),
                hint: format!("{hint}; the {phase} may be running on the platform"),
            },
            config @ Error::ConfigFile { .. } => config,
            other => Error::BadResponse {
                platform: self.name.clone(),
                url: format!("[{phase}.trigger.find] path"),
                problem: format!(
                    "the platform accepted the {phase} trigger, but ferry could not find the operation it started: {other}"
                ),
                hint: format!("the {phase} may be running on the platform; check it there"),
            },
        }
    }
}
