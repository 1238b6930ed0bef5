//! Described requests that may send a file: `[[<phase>.before]]` and `[<phase>.trigger]` take a
//! JSON `body` or a `body_file` (a path template; the file is sent as it is, streamed, with its
//! `content_type`), for uploads such as Heroku's source archive or Netlify's zip.
//!
//! Must not read a whole file into memory, and must not send anything: it only prepares the
//! request. A relative `body_file` is read from the working directory, like `token_file`.

use std::collections::BTreeMap;
use std::path::Path;

use super::HttpBackend;
use super::client::{Request, Upload};
use super::spec::{BeforeSpec, PhaseSpec, TriggerSpec};
use super::template::{Target, render};
use crate::error::{Error, Result, quote};
use crate::platform::backend::Vars;
use crate::platform::event::Phase;

/// A request as `before` and `trigger` describe it.
pub(super) struct Described<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: &'a BTreeMap<String, String>,
    pub body: Option<&'a toml::Value>,
    pub body_file: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub expect: &'a [u16],
}

impl<'a> Described<'a> {
    /// One of `[[<phase>.before]]` (`POST` by default).
    pub(super) fn before(spec: &'a BeforeSpec) -> Self {
        Self {
            method: spec.method.as_deref().unwrap_or("POST"),
            target: spec.target().unwrap_or_default(),
            headers: &spec.headers,
            body: spec.body.as_ref(),
            body_file: spec.body_file.as_deref(),
            content_type: spec.content_type.as_deref(),
            expect: &spec.expect,
        }
    }

    /// `[<phase>.trigger]`.
    pub(super) fn trigger(spec: &'a TriggerSpec) -> Self {
        Self {
            method: &spec.method,
            target: &spec.path,
            headers: &spec.headers,
            body: spec.body.as_ref(),
            body_file: spec.body_file.as_deref(),
            content_type: spec.content_type.as_deref(),
            expect: &spec.expect,
        }
    }
}

impl HttpBackend {
    /// Renders the request and opens the file it sends, if any; `section` names it in messages.
    pub(super) async fn prepare(
        &self,
        section: &str,
        d: &Described<'_>,
        vars: &Vars,
    ) -> Result<(Request, Option<Upload>)> {
        let req = self.request(
            section, d.method, d.target, d.headers, d.body, d.expect, vars,
        )?;
        let Some(template) = d.body_file else {
            return Ok((req, None));
        };
        let path = render(template, vars, Target::Text).map_err(|e| e.in_section(section))?;
        let upload = open(section, &path).await?;
        Ok((
            req,
            Some(Upload {
                content_type: d.content_type.map(str::to_string),
                ..upload
            }),
        ))
    }
}

impl HttpBackend {
    /// Opens every file the phase will send whose path is known before anything is sent (a
    /// path naming a value a `before` request captures is opened when its turn comes), so that
    /// a missing file stops the phase before any request.
    pub(super) async fn files_ready(
        &self,
        phase: Phase,
        spec: &PhaseSpec,
        vars: &Vars,
    ) -> Result<()> {
        let befores = spec.before.iter().enumerate().map(|(n, b)| {
            (
                format!("[[{phase}.before]] #{}", n + 1),
                b.body_file.as_deref(),
            )
        });
        let trigger = spec
            .trigger
            .iter()
            .map(|t| (format!("[{phase}.trigger]"), t.body_file.as_deref()));
        for (section, file) in befores.chain(trigger) {
            let Some(path) = file.and_then(|f| render(f, vars, Target::Text).ok()) else {
                continue;
            };
            open(&section, &path).await?;
        }
        Ok(())
    }
}

/// Opens the file `body_file` names, with its size.
async fn open(section: &str, path: &str) -> Result<Upload> {
    let unreadable = |e: std::io::Error| Error::ConfigFile {
        path: format!("ferry.toml {section} body_file"),
        message: format!(
            "cannot read {} ({e})\n  fix: build the file before ferry runs, or point body_file at it (a path relative to the working directory, or absolute)",
            quote(path)
        ),
    };
    let file = tokio::fs::File::open(Path::new(path))
        .await
        .map_err(unreadable)?;
    let meta = file.metadata().await.map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unreadable(std::io::Error::other("not a file")));
    }
    Ok(Upload {
        file,
        len: meta.len(),
        content_type: None,
    })
}
