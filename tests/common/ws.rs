//! A signalling-only client: a WebSocket that speaks sworn's protocol and records what
//! it receives, with no peer connection (for tests of messages, not media).

use super::inbox::Inbox;
use super::peer::ws_request;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub struct WsClient {
    out: mpsc::UnboundedSender<Message>,
    inbox: Arc<Inbox>,
    /// The server's close frame (code, reason), once received.
    closed: Arc<std::sync::Mutex<Option<(u16, String)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WsClient {
    pub async fn connect(url: &str, cookie: Option<&str>) -> WsClient {
        Self::connect_req(ws_request(url, cookie)).await
    }

    /// As [`connect`](Self::connect), with the `Origin` of `origin_url` (a cluster
    /// node's address differs from the public address its pages come from).
    pub async fn connect_from(url: &str, cookie: Option<&str>, origin_url: &str) -> WsClient {
        let mut req = ws_request(url, cookie);
        let origin = sworn::config::origin_of(origin_url);
        req.headers_mut().insert("origin", origin.parse().unwrap());
        Self::connect_req(req).await
    }

    async fn connect_req(
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> WsClient {
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let inbox: Arc<Inbox> = Arc::default();
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let received = inbox.clone();
        let closed: Arc<std::sync::Mutex<Option<(u16, String)>>> = Arc::default();
        let close_seen = closed.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Text(t) => received.push(serde_json::from_str(t.as_str()).unwrap()),
                    Message::Close(f) => {
                        *close_seen.lock().unwrap() = Some(f.map_or((1005, String::new()), |f| {
                            (u16::from(f.code), f.reason.to_string())
                        }));
                        break;
                    }
                    _ => {}
                }
            }
            // Ended without a close frame (reset): 1006, as browsers report it.
            close_seen
                .lock()
                .unwrap()
                .get_or_insert((1006, String::new()));
            received.wake();
        });
        WsClient {
            out,
            inbox,
            closed,
            tasks: vec![writer, reader],
        }
    }

    pub fn send(&self, v: Value) {
        let _ = self.out.send(Message::Text(v.to_string().into()));
    }

    /// Sends any frame as it is (binary, non-JSON text...).
    pub fn send_raw(&self, m: Message) {
        let _ = self.out.send(m);
    }

    /// Waits until a received message satisfies `pred` (checks the whole history).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.inbox.wait_for(what, pred).await
    }

    pub async fn wait_type(&self, t: &str) -> Value {
        self.inbox.wait_type(t).await
    }

    pub fn messages(&self) -> Vec<Value> {
        self.inbox.messages()
    }

    /// Waits until `n` messages of type `t` have arrived in all; returns the n-th.
    pub async fn wait_nth(&self, t: &str, n: usize) -> Value {
        self.inbox
            .wait_until(&format!("{n} x {t}"), || {
                self.messages()
                    .into_iter()
                    .filter(|m| m["type"] == t)
                    .nth(n.saturating_sub(1))
            })
            .await
    }

    /// Waits for the server to close the socket; returns (code, reason).
    pub async fn wait_closed(&self) -> (u16, String) {
        self.inbox
            .wait_until("the socket closed", || self.closed.lock().unwrap().clone())
            .await
    }

    /// The close frame, if the server closed the socket already.
    pub fn closed(&self) -> Option<(u16, String)> {
        self.closed.lock().unwrap().clone()
    }

    /// Closes the socket (a page reload) and waits until the close is sent.
    pub async fn close(self) {
        let WsClient { out, tasks, .. } = self;
        let _ = out.send(Message::Close(None));
        drop(out);
        let mut tasks = tasks.into_iter();
        if let Some(writer) = tasks.next() {
            let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
        }
        for t in tasks {
            t.abort();
        }
    }
}
