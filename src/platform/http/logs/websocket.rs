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
//! again, and with `replay` the frames an earlier connection delivered are skipped, for a socket
//! that sends the whole log on each connection); one that closes is the end of the log. Frames
//! are bounded ([`MAX_FRAME`]).
//!
//! `subscribe` is a JSON frame sent first (Netlify's socketeer wants one). With `auth = { frame =
//! { field, origin } }` the bare platform token is put into it at `field`, and only when the
//! socket's URL is at the literal `origin` of the description, checked before the handshake and
//! again on the origin that answered it (a redirect elsewhere gets no frame): the one place a
//! credential leaves the platform's origin, written in the description and in SECURITY.md.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use url::{Origin, Url};

use super::super::HttpBackend;
use super::super::client::Request;
use super::super::log_spec::{LogAuth, LogSpec};
use super::super::source::value_text;
use super::super::template::render_json;
use super::state::{HttpState, Live, Msg};
use super::stream::{CHANNEL, MAX_FAILURES, Pumped, Reopen, take_live};
use super::transport::{READ_TIMEOUT, StreamClient, as_http, web_origin};
use crate::error::{Error, Result};
use crate::platform::backend::{LogRead, LogSink, Operation};
use crate::secret::{ExposeSecret, SecretString};

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
                return Ok(self.no_log_url(op));
            };
            let subscribe = match &spec.subscribe {
                Some(frame) => Some(render_json(frame, &vars).map_err(|e| e.in_section(section))?),
                None => None,
            };
            let frame_auth = match &spec.auth {
                Some(LogAuth::Frame { field, origin }) => {
                    Some(self.frame_auth(&url, field, origin, section)?)
                }
                _ => None,
            };
            let socket = Socket {
                client: self.client.stream.clone(),
                headers: self.log_headers(spec, &url, &vars, section)?,
                url,
                credential: spec.auth == Some(LogAuth::Platform),
                replay: spec.replay == Some(true),
                subscribe,
                frame_auth,
                text: spec.text.clone(),
                section: section.to_string(),
            };
            let (tx, rx) = mpsc::channel(CHANNEL);
            st.live = Some(Live::spawn(rx, socket.run(tx)));
        }
        take_live(op, st, sink).await
    }

    /// Where `auth.frame` puts the token, once the log's URL is known to be at the origin the
    /// description names (and a token exists to put there).
    fn frame_auth(&self, url: &Url, field: &str, origin: &str, section: &str) -> Result<FrameAuth> {
        let refuse = |problem: String, hint: &str| Error::BadResponse {
            platform: self.name.clone(),
            url: self.client.redact(url.as_str()),
            problem,
            hint: hint.to_string(),
        };
        let named = Url::parse(origin).map(|u| web_origin(&u)).map_err(|e| {
            refuse(
                format!("{section} auth.frame.origin {origin:?} is not a URL ({e})"),
                "write the origin as wss://host[:port]",
            )
        })?;
        if web_origin(url) != named {
            return Err(refuse(
                format!(
                    "the log WebSocket is not at {origin}, the only origin {section} auth.frame.origin lets the platform token go to; the token was not sent"
                ),
                "point the log's url at that origin, or name the WebSocket's own origin in auth.frame.origin if the platform documents it",
            ));
        }
        let Some(token) = self.client.stream.frame_token() else {
            return Err(refuse(
                format!(
                    "{section} auth.frame puts the platform token in the subscribe frame, and there is no token"
                ),
                "set FERRY_PLATFORM_TOKEN (auth = \"bearer\" or \"header\"; a basic credential has no single token)",
            ));
        };
        Ok(FrameAuth {
            field: field.to_string(),
            origin: named,
            token: token.clone(),
        })
    }
}

/// The platform token, to be put into the first frame at `field`, for `origin` only.
struct FrameAuth {
    field: String,
    origin: Origin,
    token: SecretString,
}

/// One WebSocket log, as the background task reads it.
struct Socket {
    client: StreamClient,
    url: Url,
    headers: Vec<(String, String)>,
    credential: bool,
    /// `replay`: every connection sends the whole log again.
    replay: bool,
    /// The first frame (templates rendered), without the token.
    subscribe: Option<serde_json::Value>,
    frame_auth: Option<FrameAuth>,
    text: Option<String>,
    section: String,
}

impl Socket {
    async fn run(self, tx: mpsc::Sender<Msg>) {
        let mut reopen = Reopen::new();
        let mut warned = false;
        // Frames received on the connections so far (the most on one), for `replay`.
        let mut received: u64 = 0;
        loop {
            let ended = match self.connect().await {
                Ok(mut ws) => Ok(self.pump(&mut ws, &tx, &mut warned, &mut received).await),
                Err(e) => Err(e),
            };
            let Some(message) = reopen.settle(ended, &tx).await else {
                return;
            };
            let failures = reopen.failures();
            tracing::debug!(failures, %message, "log WebSocket dropped; opening it again");
            if reopen.exhausted() {
                let shown = self.client.shown(&self.url);
                let e = self.client.unreachable(
                    &shown,
                    &format!("the log WebSocket dropped {MAX_FAILURES} times in a row: {message}"),
                );
                let _ = tx.send(Msg::Failed(e)).await;
                return;
            }
            reopen.pause().await;
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
        let answered_at = web_origin(resp.url());
        let upgraded = resp.upgrade().await.map_err(|e| {
            self.client
                .unreachable(&shown, &crate::net::error_chain(&e))
        })?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let mut ws = WebSocketStream::from_raw_socket(upgraded, Role::Client, Some(config)).await;
        if let Some(frame) = self.first_frame(&answered_at, &shown)? {
            ws.send(Message::text(frame)).await.map_err(|e| {
                self.client
                    .unreachable(&shown, &format!("the subscribe frame was not sent: {e}"))
            })?;
        }
        Ok(ws)
    }

    /// The `subscribe` frame, with the token at `auth.frame.field` when the socket answered at
    /// the origin the description names (a redirect elsewhere gets no token: an error).
    fn first_frame(&self, answered_at: &Origin, shown: &str) -> Result<Option<String>> {
        let Some(mut frame) = self.subscribe.clone() else {
            return Ok(None);
        };
        if let Some(auth) = &self.frame_auth {
            if *answered_at != auth.origin {
                return Err(Error::BadResponse {
                    platform: self.client.name().to_string(),
                    url: shown.to_string(),
                    problem: format!(
                        "the log WebSocket answered at {}, not at the origin {} auth.frame.origin names; the token was not sent",
                        answered_at.ascii_serialization(),
                        self.section
                    ),
                    hint: "point the log's url at the WebSocket itself, not at an address that redirects".into(),
                });
            }
            put(&mut frame, &auth.field, auth.token.expose_secret());
        }
        Ok(Some(frame.to_string()))
    }

    /// Sends the frames through the channel until the socket closes or drops.
    async fn pump(
        &self,
        ws: &mut WebSocketStream<reqwest::Upgraded>,
        tx: &mpsc::Sender<Msg>,
        warned: &mut bool,
        received: &mut u64,
    ) -> Pumped {
        let mut progressed = false;
        // With `replay` a new connection sends the log from its start again: the frames an
        // earlier one delivered are skipped; without it every frame is new.
        let mut index: u64 = 0;
        if !self.replay {
            *received = 0;
        }
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
            index += 1;
            if index <= *received {
                continue;
            }
            *received = index;
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

/// `value` with `text` at `pointer`, objects made on the way (a pointer that crosses a
/// non-object replaces it).
fn put(value: &mut serde_json::Value, pointer: &str, text: &str) {
    let mut at = value;
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            *at = serde_json::Value::Object(serde_json::Map::new());
        }
        let serde_json::Value::Object(map) = at else {
            return;
        };
        if i + 1 == parts.len() {
            map.insert(part.clone(), serde_json::Value::String(text.to_string()));
            return;
        }
        at = map
            .entry(part.clone())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
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
    fn the_token_is_put_at_its_pointer() {
        let mut frame = serde_json::json!({ "deploy_id": "d" });
        put(&mut frame, "/access_token", "t");
        assert_eq!(
            frame,
            serde_json::json!({ "deploy_id": "d", "access_token": "t" })
        );
        let mut nested = serde_json::json!({ "auth": "x" });
        put(&mut nested, "/auth/token", "t");
        assert_eq!(nested, serde_json::json!({ "auth": { "token": "t" } }));
    }

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
