//! Render's `GET /logs`: log entries of the listed resources (services) in a time window, paged
//! by time as the description says — "There are more logs to fetch if `hasMore` is true. Provide
//! the `nextStartTime` and `nextEndTime` timestamps as the `startTime` and `endTime` query
//! parameters to fetch the next page."
//!
//! Each line of a deploy's build is an entry labelled `type=build`, each line of its update
//! `type=app`; every entry has `resource` (the service) and `level` (`error` for the failing step,
//! else `info`) labels and a timestamp: the moment the line was written, in microseconds. The
//! window is `startTime..=endTime` (defaults: an hour ago, now); `direction=forward` gives the
//! oldest entries first, `backward` (the default) the newest first; `limit` (1–100, default 20)
//! entries a page. Paging is exact: the next page starts a microsecond after the last entry shown
//! (forward) or ends a microsecond before it (backward), a page never splits entries of one
//! microsecond, and entries of the current microsecond wait for the next request (a later line
//! can never be stamped before one already shown). So a client that feeds the next times back
//! sees every line once; one that re-reads its own window sees lines twice.
//!
//! Filters: `type`, `level` (exact) and `text` (a substring; Render also takes wildcards and
//! regular expressions, the simulator does not). The request-log filters (`host`, `method`,
//! `path`, `statusCode`) and `instance`, `task`, `taskRun` match nothing here: no entry has those
//! labels.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Registry, error, limit, query_pairs, time_param};
use crate::platform::Phase;
use crate::sim::call::Call;
use crate::sim::clock;
use crate::sim::log::LogText;
use crate::sim::op::Op;
use crate::sim::reply;
use crate::sim::world::World;

/// One operation's log as a source of entries.
struct Source<'a> {
    op: &'a Op,
    text: LogText,
    service: &'a str,
    deploy: &'a str,
    kind: &'static str,
    /// Entries `first..last` are in the window (and written).
    first: u64,
    last: u64,
}

/// One entry: its time in microseconds, its source and its line index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    ts: u64,
    source: usize,
    index: u64,
}

/// What one request asks for.
struct Query {
    start: u64,
    end: u64,
    forward: bool,
    limit: usize,
    resources: Vec<String>,
    types: Vec<String>,
    levels: Vec<String>,
    texts: Vec<String>,
    /// A filter on a label no entry has.
    impossible: bool,
}

/// A refused query is `Err((status, message))`.
fn query(world: &World, call: &Call<'_>) -> Result<Query, (StatusCode, String)> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    let pairs = query_pairs(call);
    let all = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let owner = all("ownerId");
    if owner.is_empty() {
        return Err(bad("ownerId is required".into()));
    }
    if owner.iter().any(|o| *o != world.script.render.owner) {
        return Err((StatusCode::FORBIDDEN, "forbidden".into()));
    }
    let resources = all("resource");
    if resources.is_empty() {
        return Err(bad("resource is required".into()));
    }
    let forward = match all("direction").first().map(String::as_str) {
        None | Some("backward") => false,
        Some("forward") => true,
        Some(other) => {
            let message = format!("direction must be \"forward\" or \"backward\", not {other:?}");
            return Err(bad(message));
        }
    };
    let now = std::time::SystemTime::now();
    let end = time_param(&pairs, "endTime").map_err(bad)?.unwrap_or(now);
    let start = time_param(&pairs, "startTime")
        .map_err(bad)?
        .unwrap_or(now - Duration::from_secs(3600));
    let impossible = [
        "instance",
        "host",
        "statusCode",
        "method",
        "task",
        "taskRun",
        "path",
    ]
    .iter()
    .any(|name| pairs.iter().any(|(k, _)| k == name));
    Ok(Query {
        start: clock::micros(start),
        end: clock::micros(end),
        forward,
        limit: limit(&pairs).map_err(bad)?,
        resources,
        types: all("type"),
        levels: all("level"),
        texts: all("text"),
        impossible,
    })
}

impl Source<'_> {
    fn ts(&self, registry: &Registry, index: u64) -> u64 {
        registry.clock.micros(self.op.written_at(index))
    }

    fn level(&self, index: u64) -> &'static str {
        if self.text.line(index).contains("error: step failed") {
            "error"
        } else {
            "info"
        }
    }

    fn matches(&self, q: &Query, index: u64) -> bool {
        let line = || self.text.line(index);
        (q.types.is_empty() || q.types.iter().any(|t| t == self.kind))
            && (q.levels.is_empty() || q.levels.iter().any(|l| l == self.level(index)))
            && (q.texts.is_empty() || q.texts.iter().any(|t| line().contains(t.as_str())))
    }

    fn entry(&self, registry: &Registry, index: u64) -> Value {
        let line = self.text.line(index);
        json!({
            "id": format!("{}-{}-{index}", self.deploy, self.kind),
            "message": line.trim_end_matches('\n'),
            "timestamp": clock::rfc3339_micros(clock::from_micros(self.ts(registry, index))),
            "labels": [
                { "name": "resource", "value": self.service },
                { "name": "type", "value": self.kind },
                { "name": "level", "value": self.level(index) },
            ],
        })
    }
}

/// Every log of the asked services, each cut to the entries in `lo..=hi` microseconds.
fn sources<'a>(world: &'a World, q: &Query, lo: u64, hi: u64) -> Vec<Source<'a>> {
    let registry = &world.render;
    let now = tokio::time::Instant::now();
    let mut out = Vec::new();
    for d in &registry.deploys {
        if !q.resources.contains(&d.service) {
            continue;
        }
        for (phase, kind) in [(Phase::Build, "build"), (Phase::Deploy, "app")] {
            let Some(op) = d.chain.log_op(&world.store, phase, now) else {
                continue;
            };
            let op = world.store.get(op);
            let view = op.log(now);
            let written = view.written / crate::sim::LINE_WIDTH;
            let mut source = Source {
                op,
                text: view.text,
                service: &d.service,
                deploy: &d.id,
                kind,
                first: 0,
                last: 0,
            };
            source.first = partition(0, written, |i| source.ts(registry, i) < lo);
            source.last = partition(source.first, written, |i| source.ts(registry, i) <= hi);
            out.push(source);
        }
    }
    out
}

/// The first index in `lo..hi` where `before` turns false (it must be true, then false).
fn partition(mut lo: u64, mut hi: u64, before: impl Fn(u64) -> bool) -> u64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Merges the sources in time order (ties: source order, then line order; reversed backward),
/// keeping the entries that match the filters, and stops after `want` of them.
fn merged(world: &World, sources: &[Source<'_>], q: &Query, want: usize) -> Vec<Entry> {
    let registry = &world.render;
    let mut cursors: Vec<(u64, u64)> = sources.iter().map(|s| (s.first, s.last)).collect();
    let mut out = Vec::new();
    while out.len() < want {
        let mut best: Option<Entry> = None;
        for (source, (from, to)) in cursors.iter_mut().enumerate() {
            let s = &sources[source];
            // Skip entries the filters drop.
            while from < to {
                let index = if q.forward { *from } else { *to - 1 };
                if s.matches(q, index) {
                    break;
                }
                if q.forward {
                    *from += 1;
                } else {
                    *to -= 1;
                }
            }
            if from == to {
                continue;
            }
            let index = if q.forward { *from } else { *to - 1 };
            let entry = Entry {
                ts: s.ts(registry, index),
                source,
                index,
            };
            let better = best.is_none_or(|b| {
                if q.forward {
                    entry.ts < b.ts
                } else {
                    entry.ts > b.ts
                }
            });
            if better {
                best = Some(entry);
            }
        }
        let Some(entry) = best else { break };
        let (from, to) = &mut cursors[entry.source];
        if q.forward {
            *from += 1;
        } else {
            *to -= 1;
        }
        out.push(entry);
    }
    out
}

/// `GET /logs`.
pub(super) fn list(world: &World, call: &Call<'_>) -> Response {
    let q = match query(world, call) {
        Ok(q) => q,
        Err((status, message)) => return error(status, &message),
    };
    // Entries of the current microsecond are not settled yet: a line written a moment later
    // would get the same time, and a page that ended there would skip it.
    let settled = clock::micros(std::time::SystemTime::now()).saturating_sub(1);
    let hi = q.end.min(settled);
    let sources = if q.impossible || q.start > hi {
        Vec::new()
    } else {
        sources(world, &q, q.start, hi)
    };
    let candidates = merged(world, &sources, &q, q.limit + 1);
    let mut page: Vec<Entry> = candidates.iter().copied().take(q.limit).collect();
    let mut has_more = candidates.len() > q.limit;
    if has_more {
        // Never split one microsecond across pages: the next page starts after the last time.
        let cut = page.last().map(|e| e.ts);
        if cut == candidates.get(q.limit).map(|e| e.ts) {
            let kept: Vec<Entry> = page.iter().copied().filter(|e| Some(e.ts) != cut).collect();
            page = if kept.is_empty() {
                // One microsecond holds more than a page: show all of it.
                let all = merged(world, &sources, &q, usize::MAX);
                let group: Vec<Entry> = all
                    .iter()
                    .copied()
                    .take_while(|e| Some(e.ts) == cut)
                    .collect();
                has_more = all.len() > group.len();
                group
            } else {
                kept
            };
        }
    }
    let (next_start, next_end) = match (q.forward, page.last()) {
        (true, Some(last)) => (last.ts + 1, q.end),
        (false, Some(last)) => (q.start, last.ts.saturating_sub(1)),
        (_, None) => (q.start, q.end),
    };
    let registry = &world.render;
    let logs: Vec<Value> = page
        .iter()
        .map(|e| sources[e.source].entry(registry, e.index))
        .collect();
    let time = |micros| clock::rfc3339_micros(clock::from_micros(micros));
    reply::json(
        StatusCode::OK,
        json!({
            "hasMore": has_more,
            "nextStartTime": time(next_start),
            "nextEndTime": time(next_end),
            "logs": logs,
        }),
    )
}
