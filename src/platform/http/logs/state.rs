//! What the `http` backend keeps about an operation's log between two reads, besides the byte
//! offset and cursor of [`LogCursor`]: the page last read and what of it was shown, the ids of
//! the entries shown, the live reader running in the background, whether the archived logs
//! were read. Not template values: those stay in [`Operation::vars`].
//!
//! [`LogCursor`]: crate::platform::backend::LogCursor
//! [`Operation::vars`]: crate::platform::Operation::vars

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::Error;

/// The most entry ids remembered: enough for any page a platform sends, bounded whatever the
/// length of the log.
const KEYS_KEPT: usize = 10_000;

/// The log state of one `http` operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpState {
    /// The cursor the last page was read at, and how many of its items were shown (a page read
    /// again at the same cursor shows only what it gained).
    pub(crate) page: Option<(String, usize)>,
    /// The ids of the entries shown last (`key`).
    pub(crate) keys: KeySet,
    /// Whether the `start` cursor was used (it seeds the first read only).
    pub(crate) started: bool,
    /// The live reader of a `stream` or `websocket` log, once started.
    pub(crate) live: Option<Live>,
    /// The live reader reached the end of the log.
    pub(crate) live_done: bool,
    /// Lines the live log showed in all (the archived logs are read only when it showed none).
    pub(crate) shown: u64,
    /// The archived logs were read.
    pub(crate) archived_done: bool,
    /// The last answer to `[<phase>.logs.locate]` (body and headers), which `url` and
    /// `archived` are read from.
    pub(crate) located: Option<(serde_json::Value, Vec<(String, String)>)>,
    /// A warning about an answer that did not fit was given (once per operation).
    pub(crate) warned: bool,
    /// A status answer a long poll brought, for the next status read.
    pub(crate) pushed: Option<crate::platform::http::watch::Pushed>,
    /// The status long poll in flight.
    pub(crate) poller: Option<crate::platform::http::watch::Poller>,
    /// `[<phase>.history]` was read (once per operation), and the estimate it gave.
    pub(crate) history_read: bool,
    pub(crate) history: Option<std::time::Duration>,
}

/// The ids of the entries shown last, oldest forgotten first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeySet {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl KeySet {
    /// Remembers `key`; false when it was already there.
    pub(crate) fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        if self.order.len() == KEYS_KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(key.to_string());
        self.set.insert(key.to_string());
        true
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// What the live reader hands over.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Bytes of the log, as they came (lines are split by the reader of the channel).
    Bytes(bytes::Bytes),
    /// The log ended: it is complete.
    Done,
    /// The reader gave up.
    Failed(Error),
}

/// A live reader running in the background: the receiving end of its bounded channel. The task
/// stops when the last handle is dropped (the operation is gone) or [`Live::stop`] is called.
#[derive(Clone)]
pub(crate) struct Live(Arc<Inner>);

struct Inner {
    rx: Mutex<mpsc::Receiver<Msg>>,
    task: tokio::task::AbortHandle,
    /// Turns true when the reader has stopped (the log ended, or the reader gave up).
    ended: tokio::sync::watch::Receiver<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Live {
    /// Runs `reader` in the background; it sends into the channel `rx` receives from.
    pub(crate) fn spawn(
        rx: mpsc::Receiver<Msg>,
        reader: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let (ended_tx, ended) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            reader.await;
            let _ = ended_tx.send(true);
        });
        Self(Arc::new(Inner {
            rx: Mutex::new(rx),
            task: task.abort_handle(),
            ended,
        }))
    }

    /// Whether the reader stops within `max` (the log ended, or the reader gave up): what it
    /// sent last is then waiting in the channel.
    pub(crate) async fn ended_within(&self, max: Duration) -> bool {
        let mut ended = self.0.ended.clone();
        matches!(
            tokio::time::timeout(max, ended.wait_for(|e| *e)).await,
            Ok(Ok(_))
        )
    }

    /// What arrived, without waiting.
    pub(crate) fn try_recv(&self) -> Option<Msg> {
        self.0
            .rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_recv()
            .ok()
    }

    /// Stops the reader (a cancelled operation).
    pub(crate) fn stop(&self) {
        self.0.task.abort();
    }

    /// Whether the reader has stopped.
    #[cfg(test)]
    pub(crate) fn stopped(&self) -> bool {
        self.0.task.is_finished()
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live(..)")
    }
}

impl PartialEq for Live {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Live {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_set_stays_bounded_and_forgets_the_oldest() {
        let mut keys = KeySet::default();
        assert!(keys.insert("a"));
        assert!(!keys.insert("a"));
        for n in 0..KEYS_KEPT + 5 {
            keys.insert(&n.to_string());
        }
        assert_eq!(keys.len(), KEYS_KEPT);
        // "a" was forgotten first.
        assert!(keys.insert("a"));
    }

    #[tokio::test]
    async fn dropping_the_last_handle_stops_the_reader() {
        let (_tx, rx) = mpsc::channel(1);
        let live = Live::spawn(rx, std::future::pending::<()>());
        let copy = live.clone();
        drop(live);
        tokio::task::yield_now().await;
        assert!(!copy.stopped());
        assert!(!copy.ended_within(Duration::from_millis(10)).await);
        let check = copy.clone();
        drop(copy);
        // One handle is left: the reader still runs.
        assert!(!check.stopped());
        drop(check);
        tokio::task::yield_now().await;
    }

    #[tokio::test]
    async fn a_reader_that_stops_is_seen_to_end() {
        let (_tx, rx) = mpsc::channel(1);
        let live = Live::spawn(rx, tokio::time::sleep(Duration::from_millis(20)));
        assert!(!live.ended_within(Duration::from_millis(1)).await);
        assert!(live.ended_within(Duration::from_secs(5)).await);
    }
}
