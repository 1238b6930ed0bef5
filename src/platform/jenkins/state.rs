//! What the `jenkins` backend keeps about a build between calls: its queue item, and the build
//! once the queue item has one. Not template values: those stay in [`Operation::vars`].
//!
//! [`Operation::vars`]: crate::platform::Operation::vars

use url::Url;

/// A Jenkins build from its queue item on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JenkinsState {
    /// The queue item (`…/queue/item/42/`), on the origin ferry talks to.
    pub queue: Url,
    /// The queue item's number, for `queue/cancelItem?id=`.
    pub queue_id: String,
    /// Jenkins merged the trigger into an identical queued build (it answered 303).
    pub merged: bool,
    /// The build (`…/job/shop/7/`), once the queue item has become one.
    pub build: Option<Url>,
}

impl JenkinsState {
    /// A build still in the queue at `queue`.
    pub fn queued(queue: Url, merged: bool) -> Self {
        let queue_id = queue
            .path_segments()
            .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_string))
            .unwrap_or_default();
        Self {
            queue,
            queue_id,
            merged,
            build: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_id_is_the_item_s_last_path_segment() {
        let queue = Url::parse("https://j.example.com/queue/item/42/").unwrap();
        let state = JenkinsState::queued(queue.clone(), true);
        assert_eq!(state.queue, queue);
        assert_eq!(state.queue_id, "42");
        assert!(state.merged);
        assert_eq!(state.build, None);
    }
}
