//! `offset` mode: the log from a byte offset (`{{ offset }}`), the next offset counted or read
//! from the answer (`next_offset`).

use super::super::source::Source;
use super::super::{HttpBackend, bad_source, header_list, lines};
use super::completion;
use super::state::HttpState;
use crate::error::{Error, Result};
use crate::platform::backend::{LogRead, LogSink, Operation};
use crate::platform::http::spec::LogSpec;

impl HttpBackend {
    pub(super) async fn read_offset(
        &self,
        op: &mut Operation,
        st: &HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let mut vars = op.vars.clone();
        vars.insert("offset".into(), op.log.offset.to_string());
        let Some(url) = self.log_url(spec, op, st, &vars, section)? else {
            return Ok(self.no_log_url(op));
        };
        let req = self.log_request(spec, url, &vars, section)?;
        let url = self.client.redact(req.url.as_str());
        let resp = self.client.send(req).await?;
        let headers = header_list(resp.headers());
        let (read, mut lines) = self
            .stream_lines(resp, &url, 0, &mut op.log.carry, sink)
            .await?;
        let next = match &spec.next_offset {
            Some(src) => {
                let src =
                    Source::parse(src).ok_or_else(|| bad_source(section, "next_offset", src))?;
                let text = src.extract(None, &headers, &vars);
                text.as_deref().and_then(|t| t.trim().parse::<u64>().ok()).ok_or_else(|| Error::BadResponse {
                    platform: self.name.clone(),
                    url: url.clone(),
                    problem: format!("next_offset {src:?} is missing or not a number ({text:?})"),
                    hint: "point next_offset at the header holding the next offset, or remove it to count bytes".into(),
                })?
            }
            None => op.log.offset + read,
        };
        if next < op.log.offset {
            // The log restarted (Jenkins "rolled over"): the next read starts at `next`.
            op.log.carry.clear();
        }
        op.log.offset = next;
        let complete = completion(spec, None, &headers, &vars);
        if complete == Some(true) {
            lines += lines::flush(&mut op.log.carry, sink).await;
        }
        Ok(LogRead { lines, complete })
    }
}
