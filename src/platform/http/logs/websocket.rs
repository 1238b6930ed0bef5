//! `websocket` mode: a WebSocket whose frames are the log (DigitalOcean's `live_url`), read in
//! the background like a `stream` log. A frame's text is lines; with `text = "/pointer"` each
//! frame is a JSON object whose field is the line. A frame that does not fit is skipped, with
//! one warning naming the key.
//!
//! The handshake goes through the platform's stream client (`wss` as `https`), so the TLS setup,
//! the redirect policy and the credential rules are those of every other request: the
//! `[<phase>.logs] headers` always, `[platform] headers` only on the platform's origin, and the
//! credential only with `auth = "platform"` and only on the platform's origin. A WebSocket that
//! drops is opened again (a live log has no resume point: the platform decides what it sends
//! again); one that closes is the end of the log. Frames are bounded ([`MAX_FRAME`]).

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use url::Url;

use super::super::HttpBackend;
use super::super::client::Request;
use super::super::log_spec::{LogAuth, LogSpec};
use super::super::source::value_text;
use super::state::{HttpState, Live, Msg};
use super::stream::{CHANNEL, FIRST_WAIT, MAX_FAILURES, MAX_WAIT, Pumped, take_live};
use super::transport::{READ_TIMEOUT, StreamClient, as_http};
use crate::error::{Error, Result};
use crate::platform::backend::{LogRead, LogSink, Operation};

/// The largest frame (and message) accepted.
pub(super) const MAX_FRAME: usize = 1024 * 1024;

impl HttpBackend {
    pub(super) async fn read_websocket(
        &self,
        op: &mut Operation,
        st: &mut HttpState,
        spec: &LogSpec,
        section: &str,
        sink: &mut dyn LogSink,
    ) -> Result<LogRead> {
        if st.live.is_none() && !st.live_done {
            let vars = op.vars.clone();
            let Some(url) = self.log_url(spec, op, st, &vars, section)? else {
                return Ok(LogRead::default());
            };
            let socket = Socket {
                client: self.client.stream.clone(),
                headers: self.log_headers(spec, &url, &vars, section)?,
                url,
                credential: spec.auth == Some(LogAuth::Platform),
                text: spec.text.clone(),
                section: section.to_string(),
            };
            let (tx, rx) = mpsc::channel(CHANNEL);
            let task = tokio::spawn(socket.run(tx));
            st.live = Some(Live::new(rx, task.abort_handle()));
        }
        take_live(op, st, sink).await
    }
}

/// One WebSocket log, as the background task reads it.
struct Socket {
    client: StreamClient,
    url: Url,
    headers: Vec<(String, String)>,
    credential: bool,
    text: Option<String>,
    section: String,
}

impl Socket {
    async fn run(self, tx: mpsc::Sender<Msg>) {
        let mut failures = 0;
        let mut wait = FIRST_WAIT;
        let mut warned = false;
        loop {
            let message = match self.connect().await {
                Ok(mut ws) => match self.pump(&mut ws, &tx, &mut warned).await {
                    Pumped::End => {
                        let _ = tx.send(Msg::Done).await;
                        return;
                    }
                    Pumped::Closed => return,
                    Pumped::Dropped {
                        progressed,
                        message,
                    } => {
                        if progressed {
                            failures = 0;
                            wait = FIRST_WAIT;
                        }
                        message
                    }
                },
                Err(e) if e.is_transient() => e.to_string(),
                Err(e) => {
                    let _ = tx.send(Msg::Failed(e)).await;
                    return;
                }
            };
            failures += 1;
            tracing::debug!(failures, %message, "log WebSocket dropped; opening it again");
            if failures >= MAX_FAILURES {
                let shown = self.client.shown(&self.url);
                let e = self.client.unreachable(
                    &shown,
                    &format!("the log WebSocket dropped {MAX_FAILURES} times in a row: {message}"),
                );
                let _ = tx.send(Msg::Failed(e)).await;
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }

    /// The opening handshake, sent as an HTTP request that the server upgrades.
    async fn connect(&self) -> Result<WebSocketStream<reqwest::Upgraded>> {
        let url = as_http(&self.url).unwrap_or_else(|| self.url.clone());
        let shown = self.client.shown(&self.url);
        let key = generate_key();
        let mut req = Request::new(reqwest::Method::GET, url);
        req.headers.clone_from(&self.headers);
        req.headers.extend(
            [
                ("connection", "Upgrade"),
                ("upgrade", "websocket"),
                ("sec-websocket-version", "13"),
                ("sec-websocket-key", key.as_str()),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        req.expect = vec![101];
        let resp = self.client.open(req, self.credential).await?;
        let accept = resp
            .headers()
            .get("sec-websocket-accept")
            .and_then(|v| v.to_str().ok());
        if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
            return Err(Error::BadResponse {
                platform: self.client.name().to_string(),
                url: shown,
                problem: "the answer to the WebSocket handshake has no valid Sec-WebSocket-Accept"
                    .into(),
                hint: format!(
                    "check that {} url points at the platform's WebSocket log",
                    self.section
                ),
            });
        }
        let upgraded = resp.upgrade().await.map_err(|e| {
            self.client
                .unreachable(&shown, &crate::net::error_chain(&e))
        })?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        Ok(WebSocketStream::from_raw_socket(upgraded, Role::Client, Some(config)).await)
    }

    /// Sends the frames through the channel until the socket closes or drops.
    async fn pump(
        &self,
        ws: &mut WebSocketStream<reqwest::Upgraded>,
        tx: &mpsc::Sender<Msg>,
        warned: &mut bool,
    ) -> Pumped {
        let mut progressed = false;
        loop {
            let frame = match tokio::time::timeout(READ_TIMEOUT, ws.next()).await {
                Err(_) => {
                    return Pumped::Dropped {
                        progressed,
                        message: format!("nothing came for {}s", READ_TIMEOUT.as_secs()),
                    };
                }
                Ok(None | Some(Ok(Message::Close(_)))) => return Pumped::End,
                Ok(Some(Err(e))) => {
                    return Pumped::Dropped {
                        progressed,
                        message: e.to_string(),
                    };
                }
                Ok(Some(Ok(Message::Text(text)))) => text.as_str().to_string(),
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                Ok(Some(Ok(_))) => continue,
            };
            match frame_lines(&frame, self.text.as_deref()) {
                Ok(bytes) => {
                    progressed = true;
                    if tx.send(Msg::Bytes(bytes)).await.is_err() {
                        return Pumped::Closed;
                    }
                }
                Err(problem) if !*warned => {
                    *warned = true;
                    tracing::warn!("{} text: {problem}; such frames are skipped", self.section);
                }
                Err(_) => {}
            }
        }
    }
}

/// The lines of one frame, ending with a newline: the frame's text, or with `text` the field
/// of the JSON frame it points at.
pub(super) fn frame_lines(frame: &str, text: Option<&str>) -> std::result::Result<Bytes, String> {
    let mut line = match text {
        None => frame.to_string(),
        Some(pointer) => {
            let value: serde_json::Value = serde_json::from_str(frame).map_err(|e| {
                format!("a frame is not JSON ({e}), so text = {pointer:?} cannot be read in it")
            })?;
            value.pointer(pointer).and_then(value_text).ok_or_else(|| {
                format!(
                    "text = {pointer:?} matched nothing in a frame ({})",
                    crate::net::shorten(frame, 200)
                )
            })?
        }
    };
    if !line.ends_with('\n') {
        line.push('\n');
    }
    Ok(Bytes::from(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_lines_or_the_json_field_the_description_names() {
        assert_eq!(frame_lines("a\nb", None).unwrap(), "a\nb\n");
        assert_eq!(
            frame_lines(r#"{"msg":"built","n":1}"#, Some("/msg")).unwrap(),
            "built\n"
        );
        let e = frame_lines(r#"{"other":"x"}"#, Some("/msg")).unwrap_err();
        assert!(e.contains("\"/msg\""), "{e}");
        let e = frame_lines("plain text", Some("/msg")).unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
    }
}
