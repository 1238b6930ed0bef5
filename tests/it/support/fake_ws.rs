//! A small WebSocket server for log tests: every connection gets the same scripted text frames,
//! a little apart, then a close; the opening requests are kept (path and headers) to check what
//! arrived.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// One opening request as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct WsSeen {
    /// Path and query.
    pub(crate) target: String,
    /// Header names lowercased.
    pub(crate) headers: BTreeMap<String, String>,
}

/// The server, on its own runtime for the length of a test.
pub(crate) struct FakeWs {
    seen: Arc<Mutex<Vec<WsSeen>>>,
    url: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl FakeWs {
    /// Sends `frames` to every connection, `every` apart, then closes it.
    pub(crate) fn start(frames: Vec<String>, every: Duration) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let kept = Arc::clone(&seen);
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let kept = Arc::clone(&kept);
                let frames = frames.clone();
                tokio::spawn(async move {
                    // The callback's type is tungstenite's, its error an HTTP answer.
                    #[allow(clippy::result_large_err)]
                    let record = |req: &Request, resp: Response| {
                        kept.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(WsSeen {
                                target: req.uri().to_string(),
                                headers: req
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.as_str().to_ascii_lowercase(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                            });
                        Ok(resp)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, record).await else {
                        return;
                    };
                    for frame in frames {
                        tokio::time::sleep(every).await;
                        if ws.send(Message::text(frame)).await.is_err() {
                            return;
                        }
                    }
                    let _ = ws.close(None).await;
                });
            }
        });
        Self {
            seen,
            url: format!("ws://127.0.0.1:{port}"),
            rt: Some(rt),
        }
    }

    /// `ws://127.0.0.1:PORT`, no trailing slash.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// Every opening request so far.
    pub(crate) fn requests(&self) -> Vec<WsSeen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeWs {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}
