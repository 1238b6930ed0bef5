//! A shareable output stream: the console sink and the final messages write to the same stderr.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// A cloneable handle on one writer (stdout, stderr, or a buffer in tests).
#[derive(Clone)]
pub struct Stream {
    inner: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Stream {
    /// Wraps a writer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Box::new(writer))),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}
