//! What the integration tests (`tests/it/`) reach into beyond the embedding API: not a stable
//! interface, hidden from the docs. Each item is here because a test drives it the way `run`
//! does, with inputs `run` would not let it choose.

pub use crate::ci::{Ci, Context, Forge, detect};
pub use crate::config::Layer;
pub use crate::report::{
    CommentBody, Console, EventsFile, Flavour, GITHUB_COMMENT_LIMIT, Preview, Row, RowStatus, Sink,
    State, dispatch, finish_all,
};
