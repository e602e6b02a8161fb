//! A small client of the Chrome DevTools Protocol over its WebSocket: commands and events
//! as JSON values, with flattened target sessions.
//!
//! Why not a CDP crate: the well-kept one (`chromiumoxide`) parses every event into types
//! generated from one protocol revision, and drops an event whole when the browser sends a
//! value that revision does not know (new enum values appear in `Network` and `Audits`
//! events with most Chromium releases). Debian's Chromium moves with Chrome stable, so an
//! oracle built on it would miss blocked requests without a word. The browser oracle needs
//! a dozen methods and reads a few fields of a few events; as JSON they survive new
//! Chromium versions, and this module stays small.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long one command may take before it is an error (navigation is bounded by its
/// caller instead).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// What went wrong talking to the browser.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: tokio_tungstenite::tungstenite::Error,
    },
    #[error("{method}: the browser answered with an error: {error}")]
    Command { method: String, error: Value },
    #[error("{method}: no answer within {0:?}", COMMAND_TIMEOUT)]
    Timeout { method: String },
    #[error("the DevTools connection is closed")]
    Closed,
}

/// One event: its method and parameters.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, Value>>>;
type Sessions = HashMap<String, mpsc::UnboundedSender<Event>>;

#[derive(Default)]
struct Routes {
    pending: Pending,
    sessions: Sessions,
    closed: bool,
}

/// A connection to a browser's DevTools endpoint. Cheap to clone; the reader task ends
/// when the socket closes.
#[derive(Clone)]
pub struct Connection {
    out: mpsc::UnboundedSender<String>,
    routes: Arc<Mutex<Routes>>,
    next_id: Arc<AtomicU64>,
}

impl Connection {
    /// Connect to `ws_url` (the browser endpoint Chromium prints at start).
    pub async fn connect(ws_url: &str) -> Result<Connection, CdpError> {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .map_err(|source| CdpError::Connect {
                url: ws_url.to_owned(),
                source,
            })?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        let routes = Arc::new(Mutex::new(Routes::default()));
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let reader_routes = routes.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                dispatch(&reader_routes, value);
            }
            let mut r = reader_routes.lock().unwrap_or_else(|e| e.into_inner());
            r.closed = true;
            r.pending.clear();
            r.sessions.clear();
        });
        Ok(Connection {
            out,
            routes,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Send `method` with `params` (to the browser, or to a target's `session`) and wait
    /// for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut r = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            if r.closed {
                return Err(CdpError::Closed);
            }
            r.pending.insert(id, tx);
        }
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.out
            .send(msg.to_string())
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(error))) => Err(CdpError::Command {
                method: method.to_owned(),
                error,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => {
                let mut r = self.routes.lock().unwrap_or_else(|e| e.into_inner());
                r.pending.remove(&id);
                Err(CdpError::Timeout {
                    method: method.to_owned(),
                })
            }
        }
    }

    /// Receive the events of `session` from now on (register before enabling domains).
    pub fn events(&self, session: &str) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut r = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        r.sessions.insert(session.to_owned(), tx);
        rx
    }

    /// Stop routing events of `session`.
    pub fn forget(&self, session: &str) {
        let mut r = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        r.sessions.remove(session);
    }
}

fn dispatch(routes: &Mutex<Routes>, value: Value) {
    let mut r = routes.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = value.get("id").and_then(Value::as_u64) {
        if let Some(tx) = r.pending.remove(&id) {
            let outcome = match value.get("error") {
                Some(e) => Err(e.clone()),
                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = tx.send(outcome);
        }
        return;
    }
    let (Some(method), Some(session)) = (
        value.get("method").and_then(Value::as_str),
        value.get("sessionId").and_then(Value::as_str),
    ) else {
        return;
    };
    if let Some(tx) = r.sessions.get(session) {
        let _ = tx.send(Event {
            method: method.to_owned(),
            params: value.get("params").cloned().unwrap_or(Value::Null),
        });
    }
}

/// A page in a browser context of its own (its own cookies, cache and HSTS state), with
/// its session's events.
pub struct Tab {
    conn: Connection,
    context: String,
    target: String,
    pub session: String,
    pub events: mpsc::UnboundedReceiver<Event>,
}

impl Tab {
    /// Open `about:blank` in a fresh browser context and enable the domains listed
    /// (e.g. `Page`, `Network`, `Security`, `Audits`, `Log`).
    pub async fn open(conn: &Connection, domains: &[&str]) -> Result<Tab, CdpError> {
        let ctx = conn
            .call(None, "Target.createBrowserContext", json!({}))
            .await?;
        let context = str_field(&ctx, "browserContextId");
        let created = conn
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context}),
            )
            .await;
        let target = match created {
            Ok(t) => str_field(&t, "targetId"),
            Err(e) => {
                let _ = conn
                    .call(
                        None,
                        "Target.disposeBrowserContext",
                        json!({"browserContextId": context}),
                    )
                    .await;
                return Err(e);
            }
        };
        let mut tab = Tab {
            conn: conn.clone(),
            context,
            target,
            session: String::new(),
            events: mpsc::unbounded_channel().1,
        };
        let attached = match conn
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": tab.target, "flatten": true}),
            )
            .await
        {
            Ok(a) => a,
            Err(e) => {
                tab.close().await;
                return Err(e);
            }
        };
        tab.session = str_field(&attached, "sessionId");
        tab.events = conn.events(&tab.session);
        for domain in domains {
            if let Err(e) = tab.call(&format!("{domain}.enable"), json!({})).await {
                tab.close().await;
                return Err(e);
            }
        }
        Ok(tab)
    }

    /// A command to this tab's session.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.conn.call(Some(&self.session), method, params).await
    }

    /// Close the page and dispose of its browser context.
    pub async fn close(self) {
        self.conn.forget(&self.session);
        let _ = self
            .conn
            .call(None, "Target.closeTarget", json!({"targetId": self.target}))
            .await;
        let _ = self
            .conn
            .call(
                None,
                "Target.disposeBrowserContext",
                json!({"browserContextId": self.context}),
            )
            .await;
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
