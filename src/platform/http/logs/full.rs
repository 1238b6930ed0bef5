//! `full` mode: the whole log every time; only what is new is shown (the bytes already shown
//! are skipped; a log shorter than that started again).

use super::super::{HttpBackend, header_list, lines};
use super::completion;
use super::state::HttpState;
use crate::error::Result;
use crate::platform::backend::{LogRead, LogSink, Operation};
use crate::platform::http::spec::LogSpec;

impl HttpBackend {
    pub(super) async fn read_full(
        &self,
        op: &mut Operation,
        st: &HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        let vars = op.vars.clone();
        let Some(url) = self.log_url(spec, op, st, &vars, section)? else {
            return Ok(self.no_log_url(op));
        };
        let req = self.log_request(spec, url, &vars, section)?;
        let url = self.client.redact(req.url.as_str());
        let resp = self.client.send(req).await?;
        let headers = header_list(resp.headers());
        let seen = op.log.offset;
        let mut carry = std::mem::take(&mut op.log.carry);
        let (total, mut lines) = self
            .stream_lines(resp, &url, seen, &mut carry, sink)
            .await?;
        if total < seen {
            // Shorter than what was shown: the platform started the log again. Show it anew
            // next time rather than guess.
            carry.clear();
            op.log.offset = 0;
        } else {
            op.log.offset = total;
        }
        op.log.carry = carry;
        let complete = completion(spec, None, &headers, &vars);
        if complete == Some(true) {
            lines += lines::flush(&mut op.log.carry, sink).await;
        }
        Ok(LogRead { lines, complete })
    }
}
