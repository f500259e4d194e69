//! [`PendingRequests`]: this instance's requests waiting for the other instances' answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use gateway_core::{AdapterError, RemoteAcks};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

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

    /// Asks every other instance and gathers one answer from each, all by `deadline`: `count`
    /// says how many instances there are (this one included), then the request is registered
    /// as `request_id` and `publish`ed (false: it was dropped).
    pub(crate) async fn ask(
        &self,
        request_id: String,
        deadline: Instant,
        count: impl std::future::Future<Output = Result<usize, AdapterError>>,
        publish: impl FnOnce() -> bool,
    ) -> Result<Vec<Value>, AdapterError> {
        let expected = tokio::time::timeout_at(deadline, count)
            .await
            .map_err(|_| AdapterError::timeout("the server count did not come in time"))??
            .saturating_sub(1);
        if expected == 0 {
            return Ok(Vec::new());
        }
        let pending = self.register(request_id);
        if !publish() {
            return Err(AdapterError::unavailable("the publish queue is full"));
        }
        pending.gather(expected, deadline).await
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

    /// One answer from each of the `expected` other instances, by `deadline`.
    pub(crate) async fn gather(
        mut self,
        expected: usize,
        deadline: Instant,
    ) -> Result<Vec<Value>, AdapterError> {
        let mut answers = Vec::with_capacity(expected);
        while answers.len() < expected {
            match tokio::time::timeout_at(deadline, self.next_answer()).await {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) | Err(_) => {
                    return Err(AdapterError::timeout(format!(
                        "{} of {expected} other instances answered in time",
                        answers.len()
                    )));
                }
            }
        }
        Ok(answers)
    }

    /// The acks of a broadcast with acks (`published`: it was not dropped), by `deadline`,
    /// once `count` says how many instances there are (this one included): see
    /// [`gather_acks`](Self::gather_acks).
    pub(crate) async fn acks(
        self,
        deadline: Instant,
        count: impl std::future::Future<Output = Result<usize, AdapterError>>,
        published: bool,
        (count_type, ack_type): (u64, u64),
    ) -> RemoteAcks {
        let servers = match tokio::time::timeout_at(deadline, count).await {
            Ok(Ok(servers)) => servers.saturating_sub(1),
            Ok(Err(err)) => {
                tracing::warn!(%err, "broadcast with acks: the other instances' acks are unknown");
                return RemoteAcks::default();
            }
            Err(_) => {
                tracing::warn!("broadcast with acks: no server count in time");
                return RemoteAcks::default();
            }
        };
        if servers == 0 {
            return RemoteAcks::default();
        }
        if !published {
            return RemoteAcks {
                answers: Vec::new(),
                missing: servers,
            };
        }
        self.gather_acks(servers, deadline, count_type, ack_type)
            .await
    }

    /// The acks of a broadcast with acks, by `deadline`: each of the `servers` other instances
    /// says to how many clients it delivered (answers of type `count_type`, with
    /// `clientCount`), and each of those clients' acks comes as an answer of type `ack_type`
    /// (with `packet`).
    pub(crate) async fn gather_acks(
        mut self,
        servers: usize,
        deadline: Instant,
        count_type: u64,
        ack_type: u64,
    ) -> RemoteAcks {
        let (mut reported, mut clients) = (0, 0);
        let mut answers = Vec::new();
        while reported < servers || answers.len() < clients {
            let Ok(Some(mut response)) =
                tokio::time::timeout_at(deadline, self.next_answer()).await
            else {
                break;
            };
            match response.get("type").and_then(Value::as_u64) {
                Some(kind) if kind == count_type => {
                    reported += 1;
                    let count = response.get("clientCount").and_then(Value::as_u64);
                    clients += usize::try_from(count.unwrap_or(0)).unwrap_or(usize::MAX);
                }
                Some(kind) if kind == ack_type => {
                    answers.push(
                        response
                            .get_mut("packet")
                            .map(Value::take)
                            .unwrap_or_default(),
                    );
                }
                _ => {}
            }
        }
        RemoteAcks {
            missing: clients.saturating_sub(answers.len()) + (servers - reported),
            answers,
        }
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
