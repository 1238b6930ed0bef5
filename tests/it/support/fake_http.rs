//! A scriptable HTTP server for hostile tests: each test answers every request with a closure
//! (redirect elsewhere, echo a header back, answer slowly, stream a log that never ends, send a
//! gzip bomb, stream a body in timed chunks and drop the connection in the middle…), and reads
//! back what arrived, headers included, and when. Two of them are two origins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query (`/v1/builds?x=1`).
    pub(crate) target: String,
    /// Header names lowercased.
    pub(crate) headers: BTreeMap<String, String>,
    /// The body as it arrived (an upload is checked byte for byte).
    pub(crate) body: Vec<u8>,
    /// When it arrived.
    pub(crate) at: Instant,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Every header value, for "no credential arrived here" checks.
    pub(crate) fn all_headers(&self) -> String {
        self.headers.iter().fold(String::new(), |mut all, (k, v)| {
            all.push_str(k);
            all.push_str(": ");
            all.push_str(v);
            all.push('\n');
            all
        })
    }
}

/// An answer: status, headers, body, and how long to wait before sending it.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
    /// Sent after `body`, as they come: each chunk after its wait (a streamed answer).
    pub(crate) chunks: Vec<(Duration, Vec<u8>)>,
    /// The connection drops after the chunks (the answer is cut off).
    pub(crate) cut: bool,
}

impl Answer {
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
            delay: Duration::ZERO,
            chunks: Vec::new(),
            cut: false,
        }
    }

    pub(crate) fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
            delay: Duration::ZERO,
            chunks: Vec::new(),
            cut: false,
        }
    }

    pub(crate) fn redirect(status: u16, location: &str) -> Self {
        Self::text(status, "").header("location", location)
    }

    #[must_use]
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    #[must_use]
    pub(crate) fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// A streamed answer: each text sent `every` after the one before.
    pub(crate) fn streamed(status: u16, every: Duration, texts: &[&str]) -> Self {
        let mut answer = Self::text(status, "");
        answer.chunks = texts
            .iter()
            .map(|t| (every, t.as_bytes().to_vec()))
            .collect();
        answer
    }

    /// The connection drops after the chunks, in the middle of the answer.
    #[must_use]
    pub(crate) fn cut(mut self) -> Self {
        self.cut = true;
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

struct State {
    seen: Mutex<Vec<Seen>>,
    handler: Handler,
}

/// The fake, on its own runtime for the length of a test.
pub(crate) struct FakeHttp {
    state: Arc<State>,
    url: String,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeHttp {
    /// Serves every request with `handler`.
    pub(crate) fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        let state = Arc::new(State {
            seen: Mutex::new(Vec::new()),
            handler: Arc::new(handler),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            state,
            url: format!("http://127.0.0.1:{}", addr.port()),
            rt: Some(rt),
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request so far, in order of arrival.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), ToString::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
    };
    let answer = (state.handler)(&seen);
    state
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(seen);
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    if answer.chunks.is_empty() && !answer.cut {
        return response
            .body(Body::from(answer.body))
            .unwrap_or_else(|_| Response::new(Body::empty()));
    }
    response
        .body(Body::from_stream(streamed(answer)))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The body of a streamed answer, chunk by chunk; an error at the end drops the connection.
fn streamed(
    answer: Answer,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    use futures_util::StreamExt as _;
    let first = (!answer.body.is_empty()).then_some((Duration::ZERO, answer.body));
    // The drop comes a moment after the last chunk: an error at once would close the
    // connection before the server has flushed that chunk.
    let cut = answer.cut.then_some(());
    futures_util::stream::iter(first.into_iter().chain(answer.chunks))
        .then(|(wait, bytes)| async move {
            tokio::time::sleep(wait).await;
            Ok(Bytes::from(bytes))
        })
        .chain(futures_util::stream::iter(cut).then(|()| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(std::io::Error::other("the fake drops the connection"))
        }))
}
