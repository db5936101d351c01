//! What a test's signalling socket has received, and waiting on it: shared by the
//! webrtc-rs test peer (`peer`) and the signalling-only client (`ws`).

use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Inbox {
    events: Mutex<Vec<Value>>,
    notify: Notify,
}

impl Inbox {
    /// Records a received message and wakes the waiters.
    pub fn push(&self, v: Value) {
        self.events.lock().unwrap().push(v);
        self.notify.notify_waiters();
    }

    /// Wakes the waiters (something else they check changed, e.g. the socket closed).
    pub fn wake(&self) {
        self.notify.notify_waiters();
    }

    /// Waits up to 30 s until `check` gives a value, re-checking whenever the inbox wakes.
    pub async fn wait_until<T>(&self, what: &str, check: impl Fn() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let notified = self.notify.notified();
            if let Some(v) = check() {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}; got {:?}", self.messages());
            }
        }
    }

    /// Waits until a received message satisfies `pred` (checks the whole history).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_until(what, || {
            self.events
                .lock()
                .unwrap()
                .iter()
                .find(|v| pred(v))
                .cloned()
        })
        .await
    }

    pub async fn wait_type(&self, t: &str) -> Value {
        self.wait_for(t, |v| v["type"] == t).await
    }

    pub fn messages(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
}
