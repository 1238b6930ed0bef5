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
//! | `triggered` | `phase`, `id`, `url?`, `observed?` (true when the phase follows an operation started elsewhere) |
//! | `state_changed` | `phase`, `state` (as the platform spells it), `class` (`running`/`success`/`failure`) |
//! | `log` | `phase`, `line` (secrets redacted, no newline) |
//! | `heartbeat` | `phase`, `state?`, `elapsed_ms` (time the phase has been waiting) |
//! | `retrying` | `phase`, `attempt`, `wait_ms`, `reason` (one short line), `budget?` (`used`, `max`: the retries this failure used of the limit; absent for a wait the platform asked for) |
//! | `notice` | `level` (`info`/`warning`), `message` |
//! | `cancelling` | `phase`, `reason` (`signal`/`timeout`) |
//! | `phase_finished` | `phase`, `status`, `id?`, `state?`, `outputs` (object of strings), `duration_ms`, `message?`, `log_tail?` (array of strings) |
//! | `run_finished` | `outcome`: the `ferry.result/v1` document that `--json` prints (last record) |
//!
//! `status` is one of `succeeded`, `failed`, `cancelled`, `timed_out`, `errored`, `detached`,
//! `skipped`.
//!
//! # Size
//!
//! A platform can send tens of millions of log lines; the CI log shows them all, but this file
//! keeps only the first [`LOG_BYTES_MAX`] (64 MiB) of `log` records. The first `log` record that
//! would go past it is replaced by one `notice` record (`level` `warning`) saying so; every other
//! record is still written, so `seq` stays gapless and `run_finished` is always last.
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
use crate::platform::{EVENTS_SCHEMA, Event, Level, RunOutcome};

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

/// The most bytes of `log` records one events file holds (see the module docs).
pub(crate) const LOG_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// The `--events` sink: NDJSON records on a writer (see the module docs for the schema).
pub struct EventsFile<W> {
    out: W,
    /// Where the records go, for error messages.
    label: String,
    /// The `seq` of the last record written (the file's own count: dropped log lines leave no
    /// gap).
    last_seq: u64,
    /// Bytes of `log` records written so far.
    log_bytes: u64,
    /// Set once log records stopped being written.
    log_capped: bool,
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
            log_bytes: 0,
            log_capped: false,
        }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one record with the next `seq`; returns its size.
    fn write<T: Serialize>(&mut self, time: SystemTime, elapsed: Duration, body: T) -> Result<u64> {
        let seq = self.last_seq + 1;
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
        Ok(line.len() as u64)
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
        if let Event::Log { .. } = event {
            if self.log_capped {
                return Ok(());
            }
            if self.log_bytes >= LOG_BYTES_MAX {
                self.log_capped = true;
                let notice = Event::Notice {
                    level: Level::Warning,
                    message: format!(
                        "this file holds the first {} MiB of log lines; later lines are not written here (the CI log shows them all)",
                        LOG_BYTES_MAX / (1024 * 1024)
                    ),
                };
                return self.write(stamped.time, stamped.elapsed, &notice).map(drop);
            }
            self.log_bytes += self.write(stamped.time, stamped.elapsed, event)?;
            return Ok(());
        }
        self.write(stamped.time, stamped.elapsed, event).map(drop)
    }

    async fn finish(&mut self, outcome: &RunOutcome, _context: &Context) -> Result<()> {
        self.write(SystemTime::now(), outcome.duration, RunFinished { outcome })
            .map(drop)
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

    #[tokio::test]
    async fn log_records_stop_at_the_cap_with_one_notice_and_no_gap() {
        use crate::platform::Phase;
        let mut sink = EventsFile::new(Vec::new(), "mem");
        let line = "x".repeat(1024 * 1024);
        let log = Event::Log {
            phase: Phase::Build,
            line,
        };
        for seq in 1..=70 {
            let stamped = Stamped {
                seq,
                time: SystemTime::UNIX_EPOCH,
                elapsed: Duration::ZERO,
                event: &log,
            };
            sink.event(stamped).await.unwrap_or_else(|e| panic!("{e}"));
        }
        sink.finish(&fixture::failed_outcome(), &fixture::context())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(sink.into_inner()).unwrap_or_default();
        let records: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let logs = records.iter().filter(|r| r["type"] == "log").count();
        assert_eq!(logs, 64, "64 MiB of 1 MiB lines");
        let notices: Vec<&Value> = records.iter().filter(|r| r["type"] == "notice").collect();
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("64 MiB")
        );
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["seq"], i as u64 + 1);
        }
        assert_eq!(
            records.last().map(|r| r["type"].clone()),
            Some("run_finished".into())
        );
        assert!(text.len() < 66 * 1024 * 1024);
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
