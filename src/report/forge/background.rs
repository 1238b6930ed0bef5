//! Forge work that runs beside the dispatcher: the reporter hands its start-of-run calls to a
//! task of their own, so the dispatcher (and with it the console and, through the bounded event
//! channel, the engine) never waits for a forge; `finish` waits for that task before it goes on.
//!
//! One state, one task at most: the task holds the state's lock while it works, and
//! [`Background::settle`] takes the lock only once the task has ended.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};
use tokio::task::JoinHandle;

/// A state, and the one task that may be working on it.
pub(crate) struct Background<T> {
    state: Arc<Mutex<T>>,
    task: Option<JoinHandle<()>>,
    begun: bool,
}

impl<T: Send + 'static> Background<T> {
    pub(crate) fn new(state: T) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
            task: None,
            begun: false,
        }
    }

    /// True once [`Background::begin`] handed work over.
    pub(crate) fn begun(&self) -> bool {
        self.begun
    }

    /// Runs `work` on the state in a task of its own, the first time only; returns at once.
    pub(crate) fn begin<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(OwnedMutexGuard<T>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.begun {
            return;
        }
        self.begun = true;
        let state = Arc::clone(&self.state);
        self.task = Some(tokio::spawn(async move {
            work(state.lock_owned().await).await;
        }));
    }

    /// Waits for the work handed over (if any) to end, then hands the state over.
    pub(crate) async fn settle(&mut self) -> MutexGuard<'_, T> {
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "a forge's start-of-run work did not complete");
        }
        self.state.lock().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn begin_returns_at_once_and_settle_waits_for_the_work() {
        let mut work = Background::new(Vec::<&str>::new());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        work.begin(|mut seen| async move {
            let _ = released.await;
            seen.push("started");
        });
        // A second start does nothing (the first one may still be waiting).
        work.begin(|mut seen| async move { seen.push("twice") });
        assert!(work.begun());
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = release.send(());
        let seen = work.settle().await;
        assert_eq!(*seen, ["started"]);
    }

    #[tokio::test]
    async fn settle_without_work_hands_the_state_over() {
        let mut work = Background::new(1);
        assert!(!work.begun());
        *work.settle().await += 1;
        assert_eq!(*work.settle().await, 2);
    }
}
