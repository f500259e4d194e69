//! [`PendingRequests`]: this instance's requests waiting for the other instances' answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;

/// Answers buffered per pending request (a broadcast with acks gets one per remote client).
const RESPONSE_BUFFER: usize = 65_536;

/// The requests of this instance waiting for answers, by `requestId`.
#[derive(Clone, Default)]
pub(crate) struct PendingRequests(Arc<Mutex<HashMap<String, mpsc::Sender<Value>>>>);

impl PendingRequests {
    /// Waits for answers to `request_id` until the returned guard is dropped.
    pub(crate) fn register(&self, request_id: String) -> PendingRequest {
        let (tx, answers) = mpsc::channel(RESPONSE_BUFFER);
        lock(&self.0).insert(request_id.clone(), tx);
        PendingRequest {
            requests: self.clone(),
            request_id,
            answers,
        }
    }

    /// Hands `response` to the request its `requestId` names, if that one still waits.
    pub(crate) fn deliver(&self, response: Value) {
        let Some(request_id) = response.get("requestId").and_then(Value::as_str) else {
            return;
        };
        if let Some(waiting) = lock(&self.0).get(request_id) {
            // Full means the requester stopped reading in time; it counts the rest as missing.
            let _ = waiting.try_send(response);
        }
    }

    /// Forgets every request: their waiters see the end of their answers.
    pub(crate) fn clear(&self) {
        lock(&self.0).clear();
    }
}

/// A request of this instance waiting for answers; unregistered when dropped.
pub(crate) struct PendingRequest {
    requests: PendingRequests,
    request_id: String,
    answers: mpsc::Receiver<Value>,
}

impl PendingRequest {
    /// The next answer; `None` once the requests are cleared.
    pub(crate) async fn next_answer(&mut self) -> Option<Value> {
        self.answers.recv().await
    }
}

impl Drop for PendingRequest {
    fn drop(&mut self) {
        lock(&self.requests.0).remove(&self.request_id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn answers_reach_their_request_until_it_is_dropped() {
        let pending = PendingRequests::default();
        let mut request = pending.register("r1".into());
        pending.deliver(json!({"requestId": "r1", "n": 1}));
        pending.deliver(json!({"requestId": "other"}));
        assert_eq!(request.next_answer().await.unwrap()["n"], 1);
        drop(request);
        assert!(lock(&pending.0).is_empty());
    }
}
