//! `--events FILE`: the event stream as NDJSON, for dashboards and UIs built on ferry.
//!
//! # Schema `ferry.events/v1`
//!
//! One JSON object per line, flushed as soon as it is written (a UI may tail the file). Within
//! `v1`, fields are only ever added, never renamed or removed; readers must ignore unknown fields
//! and unknown `type`s.
//!
//! Every record has:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `schema` | string | always `"ferry.events/v1"` |
//! | `seq` | integer | 1, 2, 3, … in file order, without gaps |
//! | `time` | string | wall-clock time, RFC 3339 UTC with milliseconds (`2025-01-02T03:04:05.123Z`) |
//! | `run_elapsed_ms` | integer | milliseconds since the run started |
//! | `type` | string | what happened, below |
//!
//! and the fields of its `type` (`phase` is `"build"`, `"deploy"` or `"stop"`; `?` = may be absent
//! or `null`):
//!
//! | `type` | fields |
//! |---|---|
//! | `phase_started` | `phase`, `platform` |
//! | `triggered` | `phase`, `id`, `url?` |
//! | `state_changed` | `phase`, `state` (as the platform spells it), `class` (`running`/`success`/`failure`) |
//! | `log` | `phase`, `line` (secrets redacted, no newline) |
//! | `heartbeat` | `phase`, `state?`, `elapsed_ms` (time the phase has been waiting) |
//! | `retrying` | `phase`, `attempt`, `wait_ms`, `reason` |
//! | `notice` | `level` (`info`/`warning`), `message` |
//! | `cancelling` | `phase`, `reason` (`signal`/`timeout`) |
//! | `phase_finished` | `phase`, `status`, `id?`, `state?`, `outputs` (object of strings), `duration_ms`, `message?`, `log_tail?` (array of strings) |
//! | `run_finished` | `outcome`: the `ferry.result/v1` document that `--json` prints (last record) |
//!
//! `status` is one of `succeeded`, `failed`, `cancelled`, `timed_out`, `errored`, `detached`,
//! `skipped`.
//!
//! Writes are small and blocking (one line, then a flush) on a local file; a sink that cannot
//! write reports an [`Error::Io`] naming the file and gets no more events (see
//! [`super::dispatch()`]).
//!
//! The envelope's elapsed time is `run_elapsed_ms`, not `elapsed_ms`, because `heartbeat`
//! already has an `elapsed_ms` of its own (the phase's wait) and a JSON object cannot hold both.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Serialize;

use super::{Sink, Stamped};
use crate::ci::Context;
use crate::error::{Error, Result};
use crate::platform::{EVENTS_SCHEMA, Event, RunOutcome};

/// One line of the file.
#[derive(Serialize)]
struct Record<T: Serialize> {
    schema: &'static str,
    seq: u64,
    time: String,
    run_elapsed_ms: u64,
    #[serde(flatten)]
    body: T,
}

/// The last record's body.
#[derive(Serialize)]
#[serde(tag = "type", rename = "run_finished")]
struct RunFinished<'a> {
    outcome: &'a RunOutcome,
}

/// The `--events` sink: NDJSON records on a writer (see the module docs for the schema).
pub struct EventsFile<W> {
    out: W,
    /// Where the records go, for error messages.
    label: String,
    last_seq: u64,
}

impl EventsFile<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::new(BufWriter::new(file), path.display().to_string()))
    }
}

impl<W: Write + Send> EventsFile<W> {
    /// Records written to `out`; `label` names it in errors (usually the path).
    pub fn new(out: W, label: impl Into<String>) -> Self {
        Self {
            out,
            label: label.into(),
            last_seq: 0,
        }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write<T: Serialize>(
        &mut self,
        seq: u64,
        time: SystemTime,
        elapsed: Duration,
        body: T,
    ) -> Result<()> {
        let record = Record {
            schema: EVENTS_SCHEMA,
            seq,
            time: humantime::format_rfc3339_millis(time).to_string(),
            run_elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            body,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| self.io_error(e.into()))?;
        line.push(b'\n');
        self.out
            .write_all(&line)
            .and_then(|()| self.out.flush())
            .map_err(|e| self.io_error(e))?;
        self.last_seq = seq;
        Ok(())
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.label.clone(),
            source,
        }
    }
}

#[async_trait]
impl<W: Write + Send> Sink for EventsFile<W> {
    fn name(&self) -> &'static str {
        "events file"
    }

    async fn event(&mut self, stamped: Stamped<'_>) -> Result<()> {
        let event: &Event = stamped.event;
        self.write(stamped.seq, stamped.time, stamped.elapsed, event)
    }

    async fn finish(&mut self, outcome: &RunOutcome, _context: &Context) -> Result<()> {
        let seq = self.last_seq + 1;
        self.write(
            seq,
            SystemTime::now(),
            outcome.duration,
            RunFinished { outcome },
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::report::fixture;

    #[tokio::test]
    async fn every_line_parses_back_in_order_and_ends_with_the_outcome() {
        let mut sink = EventsFile::new(Vec::new(), "mem");
        fixture::run(&mut sink, &fixture::failed_outcome()).await;
        let text = String::from_utf8(sink.into_inner()).unwrap_or_default();
        let records: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(records.len(), fixture::events().len() + 1);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["schema"], "ferry.events/v1");
            assert_eq!(r["seq"], i as u64 + 1);
            assert!(r["type"].is_string());
            assert!(r["run_elapsed_ms"].is_u64());
            let time = r["time"].as_str().unwrap_or_default();
            assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
            assert_eq!(time.len(), "2025-01-02T03:04:05.123Z".len());
        }
        assert_eq!(records[0]["time"], "2025-01-02T03:04:05.005Z");
        assert_eq!(records[0]["type"], "phase_started");
        assert_eq!(records[0]["platform"], "paas");
        let last = &records[records.len() - 1];
        assert_eq!(last["type"], "run_finished");
        assert_eq!(last["outcome"]["schema"], "ferry.result/v1");
        assert_eq!(last["outcome"]["status"], "failed");
        assert_eq!(last["run_elapsed_ms"], 107_720);
        let heartbeat = records.iter().find(|r| r["type"] == "heartbeat");
        assert_eq!(
            heartbeat.map(|r| r["elapsed_ms"].clone()),
            Some(34_395.into())
        );
    }

    #[test]
    fn no_event_field_collides_with_the_envelope() {
        for (_, event) in fixture::events() {
            let Value::Object(fields) = serde_json::to_value(&event).unwrap_or_default() else {
                panic!("{event:?} is not an object");
            };
            for key in ["schema", "seq", "time", "run_elapsed_ms"] {
                assert!(!fields.contains_key(key), "{key} in {event:?}");
            }
        }
    }

    #[test]
    fn create_reports_the_path_on_failure() {
        let err = EventsFile::create(Path::new("/nonexistent-dir/x/events.ndjson"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("/nonexistent-dir/x/events.ndjson: "),
            "{err}"
        );
    }
}
