//! Following an operation this phase did not start (`[<phase>.observe]`: a release a build
//! created, the deploy half of a deployment a build phase triggered), and finding one a trigger
//! started without saying which (`[<phase>.trigger.find]`): by a template naming its id, or by
//! reading a list until an item fits (`search.rs`), within the description's `timeout`.
//!
//! Must not start anything, and must not wait without bound: an answer that does not fit, or
//! nothing that fits within the time allowed, is an error naming the key.

use std::time::{Duration, SystemTime};

use super::search::{self, Misfit, Wanted};
use super::source::Source;
use super::spec::FindSpec;
use super::template::{Target, render};
use super::{HttpBackend, bad_source, preview};
use crate::error::{Error, Result, quote};
use crate::platform::backend::{Operation, Vars};
use crate::platform::engine::later;
use crate::platform::event::Phase;

/// How long a list is read until an item fits, unless `timeout` says.
const LOOK_LIMIT: Duration = Duration::from_secs(120);

/// The first pause between two reads of the list (it doubles up to [`MAX_PAUSE`]).
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// The longest pause between two reads of the list.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The item found in a list, with the answer's headers and where it was read.
pub(super) struct Found {
    pub item: serde_json::Value,
    pub headers: Vec<(String, String)>,
    pub url: url::Url,
}

impl HttpBackend {
    /// The operation `[<phase>.observe]` names or finds.
    pub(super) async fn observe(
        &self,
        phase: Phase,
        spec: &FindSpec,
        vars: Vars,
    ) -> Result<Operation> {
        let section = format!("[{phase}.observe]");
        let id_text = spec.id.as_deref().unwrap_or_default();
        if spec.path.is_none() {
            let id = render(id_text, &vars, Target::Text).map_err(|e| e.in_section(&section))?;
            if id.trim().is_empty() {
                return Err(Error::ConfigFile {
                    path: format!("ferry.toml {section} id"),
                    message: format!(
                        "{} gave an empty id\n  fix: name a value that holds the operation's id (an earlier phase's output, e.g. {{{{ build.release }}}})",
                        quote(id_text)
                    ),
                });
            }
            let mut op = Operation::new(phase, id.trim(), vars);
            op.observed = true;
            op.vars.insert("id".into(), op.id.clone());
            for (name, text) in &spec.capture {
                let value =
                    render(text, &op.vars, Target::Text).map_err(|e| e.in_section(&section))?;
                op.vars.insert(name.clone(), value);
            }
            return Ok(op);
        }
        let found = self.look(&section, spec, &vars, None).await?;
        self.found(phase, &section, spec, &found, vars)
    }

    /// The operation for an item found in a list: its `id`, then the `capture`s, read from it.
    pub(super) fn found(
        &self,
        phase: Phase,
        section: &str,
        spec: &FindSpec,
        found: &Found,
        vars: Vars,
    ) -> Result<Operation> {
        let id_text = spec.id.as_deref().unwrap_or_default();
        let src = Source::parse(id_text).ok_or_else(|| bad_source(section, "id", id_text))?;
        let id = src
            .extract(Some(&found.item), &found.headers, &vars)
            .ok_or_else(|| Error::BadResponse {
                platform: self.name.clone(),
                url: self.client.redact(found.url.as_str()),
                problem: format!(
                    "{section} id = {} matched nothing in the item found: {}",
                    quote(id_text),
                    preview(&found.item)
                ),
                hint:
                    "point `id` at the field holding the operation's id inside one item (e.g. /id)"
                        .into(),
            })?;
        let mut op = Operation::new(phase, id, vars);
        op.observed = true;
        op.vars.insert("id".into(), op.id.clone());
        self.capture(
            section,
            &spec.capture,
            &found.item,
            &found.headers,
            &mut op,
            &found.url,
        )?;
        Ok(op)
    }

    /// Reads the list `spec` describes until an item fits (under `find`, one created `after`
    /// the trigger was sent), within its `timeout`. Transient failures are read again within
    /// that time; what is returned is never a transient error, so that the engine never sends
    /// a trigger again because a list could not be read.
    pub(super) async fn look(
        &self,
        section: &str,
        spec: &FindSpec,
        vars: &Vars,
        after: Option<SystemTime>,
    ) -> Result<Found> {
        let limit = match &spec.timeout {
            Some(text) => {
                humantime::parse_duration(text).map_err(|e| bad_timeout(section, text, &e))?
            }
            None => LOOK_LIMIT,
        };
        let wanted = Self::wanted(section, spec, vars, after)?;
        let path = spec.path.as_deref().unwrap_or_default();
        let until = later(tokio::time::Instant::now(), limit);
        let mut pause = FIRST_PAUSE;
        // What the last read gave, for the message when nothing fits in time.
        let mut last: String;
        loop {
            let req = self.request(section, "GET", path, &spec.headers, None, &[], vars)?;
            let url = req.url.clone();
            match self.json(req, &format!("{section} path")).await {
                Ok((body, headers)) => match search::pick(&body, &wanted) {
                    Ok(Some(item)) => {
                        return Ok(Found {
                            item: item.clone(),
                            headers,
                            url,
                        });
                    }
                    Ok(None) => last = format!("the last answer was {}", preview(&body)),
                    Err(misfit) => return Err(self.misfit(section, spec, &url, &body, &misfit)),
                },
                Err(e) if e.is_transient() => {
                    if let Some(asked) = e.retry_after() {
                        pause = pause.max(asked.min(limit));
                    }
                    last = format!(
                        "the last read failed: {}",
                        self.client.redact(&e.to_string())
                    );
                }
                Err(e) => return Err(e),
            }
            if later(tokio::time::Instant::now(), pause) > until {
                return Err(Error::BadResponse {
                    platform: self.name.clone(),
                    url: self.client.redact(url.as_str()),
                    problem: format!(
                        "{section}: nothing in the list fitted within {} ({last})",
                        humantime::format_duration(limit)
                    ),
                    hint: format!(
                        "check {section} match and newest against what the platform lists (or raise its timeout)"
                    ),
                });
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(MAX_PAUSE);
        }
    }

    /// The search with its templates filled.
    fn wanted<'s>(
        section: &str,
        spec: &'s FindSpec,
        vars: &Vars,
        after: Option<SystemTime>,
    ) -> Result<Wanted<'s>> {
        Ok(Wanted {
            items: spec.items.as_deref().unwrap_or_default(),
            matches: search::matches(section, &spec.matches, vars)?,
            newest: spec.newest.as_deref(),
            after,
        })
    }

    fn misfit(
        &self,
        section: &str,
        spec: &FindSpec,
        url: &url::Url,
        body: &serde_json::Value,
        misfit: &Misfit,
    ) -> Error {
        let (problem, hint) = match misfit {
            Misfit::NotAList => (
                format!(
                    "{section} items = {} is not an array in the answer {}",
                    quote(spec.items.as_deref().unwrap_or_default()),
                    preview(body)
                ),
                "point `items` at the array of operations in the list's answer (\"\" for an answer that is the array)".to_string(),
            ),
            Misfit::NotATime(value) => (
                format!(
                    "{section} newest = {} is {value} in an item, not a time",
                    quote(spec.newest.as_deref().unwrap_or_default())
                ),
                "point `newest` at the item's creation time (RFC 3339, or Unix seconds)".to_string(),
            ),
        };
        Error::BadResponse {
            platform: self.name.clone(),
            url: self.client.redact(url.as_str()),
            problem,
            hint,
        }
    }
}

fn bad_timeout(section: &str, text: &str, e: &humantime::DurationError) -> Error {
    Error::ConfigFile {
        path: format!("ferry.toml {section} timeout"),
        message: format!(
            "{} is not a duration ({e})\n  fix: write it like \"2m\" or \"90s\"",
            quote(text)
        ),
    }
}
