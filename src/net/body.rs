//! Reading an answer's body within a size limit.
//!
//! reqwest decodes gzip on the fly, so a small answer on the wire can grow into gigabytes (a
//! "gzip bomb"): every body ferry holds in memory is read through [`read_limited`], which stops
//! at the limit whatever the `Content-Length` says. Logs are never held whole: they are streamed
//! line by line and need no limit.

use bytes::{Bytes, BytesMut};

/// The largest JSON answer ferry reads (a status, an application with its resource tree, a page
/// of comments): 32 MiB, decoded.
pub(crate) const JSON_LIMIT: usize = 32 * 1024 * 1024;

/// The most of an error answer ferry reads to quote from it: 64 KiB.
pub(crate) const ERROR_LIMIT: usize = 64 * 1024;

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is larger than the limit (decoded).
    TooLarge { limit: usize },
    /// The connection failed while it was read.
    Cut(reqwest::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(
                f,
                "the answer is larger than {} MiB, more than ferry reads",
                limit / (1024 * 1024)
            ),
            BodyError::Cut(e) => write!(f, "the answer was cut off: {}", super::error_chain(e)),
        }
    }
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it grows past `limit` bytes.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > limit))
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut out = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Cut)? {
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The start of the body (at most `limit` bytes) as text, for quoting in an error; whatever
/// cannot be read is left out.
pub(crate) async fn read_prefix(mut resp: reqwest::Response, limit: usize) -> String {
    let mut out = Vec::new();
    while out.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - out.len();
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
