//! The simulator as a running HTTP server on the current tokio runtime, and the handle tests and
//! `ferry sim` / `ferry demo` hold to inspect and stop it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, put};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::recorded::RecordedRequest;
use super::script::Script;
use super::world::Shared;
use super::{control, handle};

/// How long [`SimServer::shutdown`] lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running simulated platform. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct SimServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Binds `addr` (port 0 picks a free port) and serves on the current tokio runtime.
    pub async fn start(addr: SocketAddr, script: Script) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(url_of(addr), script));
        let app = Router::new()
            .route("/_sim/requests", get(control::requests))
            .route("/_sim/script", put(control::script))
            .fallback(handle::handle)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "simulated platform stopped serving");
            }
        });
        Ok(SimServer {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash (a loopback address when bound to all
    /// interfaces).
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order (control requests excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.records()
    }

    /// How many requests had this method (any case) and a path (with query) starting with
    /// `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.shared
            .records()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .count()
    }

    /// Replaces the script: operations created afterwards follow it, existing ones keep theirs;
    /// faults, the token and the chunk size apply at once (fault counting starts over).
    pub fn set_script(&self, script: Script) {
        self.shared.world().set_script(script);
    }

    /// Stops accepting, lets open requests finish (up to 2 s), and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The URL clients use for a bound address: a wildcard address becomes loopback.
fn url_of(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
