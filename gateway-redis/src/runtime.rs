//! The running adapter: the subscriber and publisher tasks, what it does for other instances'
//! messages, and its own requests to them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use gateway_core::{
    AdapterError, BroadcastMessage, Namespace, Recipients, RemoteAcks, Room, SocketId, SocketInfo,
};
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::adapter::{AdapterStatus, Config};
use crate::driver::{Driver, Incoming};
use crate::wire::{self, request_type as kind, Channels, WireError};

/// Messages published in one round trip at most.
const PUBLISH_BATCH: usize = 256;

/// The longest ack timeout honoured in another instance's broadcast with acks.
const MAX_REMOTE_ACK_TIMEOUT: Duration = Duration::from_secs(600);
/// Answers buffered per pending request (a broadcast with acks gets one per remote client).
const RESPONSE_BUFFER: usize = 65_536;

/// What an exactly-named subscribed channel carries.
enum Route {
    /// Requests for this namespace.
    Request(String),
    /// Answers to requests.
    Response,
}

/// The adapter once started; shared by its tasks and the app's calls.
pub(crate) struct Shared<D> {
    driver: Arc<D>,
    config: Config,
    uid: String,
    status: AdapterStatus,
    channels: HashMap<String, Channels>,
    routes: HashMap<String, Route>,
    /// The app's namespaces, to act on other instances' behalf; emptied on close (a namespace
    /// holds the app, which holds the adapter).
    namespaces: RwLock<HashMap<String, Namespace>>,
    outbox: mpsc::Sender<(String, Bytes)>,
    pending: Arc<Mutex<HashMap<String, mpsc::Sender<Value>>>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl<D: Driver> Shared<D> {
    /// Subscribes and starts the subscriber and publisher tasks. If Redis is unreachable, fails
    /// when `config.required_at_startup`, else starts local-only and keeps trying.
    pub(crate) async fn start(
        driver: Arc<D>,
        config: Config,
        uid: String,
        status: AdapterStatus,
        namespaces: Vec<Namespace>,
    ) -> Result<Arc<Self>, AdapterError> {
        let (outbox, queue) = mpsc::channel(config.publish_queue_capacity);
        let mut channels = HashMap::new();
        let mut routes = HashMap::new();
        let mut by_name = HashMap::new();
        for ns in namespaces {
            let name = ns.name().to_owned();
            let ns_channels = Channels::new(&config.key_prefix, &name, &uid);
            routes.insert(ns_channels.request.clone(), Route::Request(name.clone()));
            routes.insert(ns_channels.response.clone(), Route::Response);
            routes.insert(ns_channels.own_response.clone(), Route::Response);
            channels.insert(name.clone(), ns_channels);
            by_name.insert(name, ns);
        }
        let shared = Arc::new(Self {
            driver,
            config,
            uid,
            status,
            channels,
            routes,
            namespaces: RwLock::new(by_name),
            outbox,
            pending: Arc::default(),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        let first = match shared.subscribe().await {
            Ok(subscription) => {
                shared.status.connected.store(true, Ordering::Release);
                tracing::info!(uid = %shared.uid, "Redis adapter subscribed");
                Some(subscription)
            }
            Err(err) if shared.config.required_at_startup => {
                return Err(AdapterError::unavailable(format!(
                    "Redis is unreachable at startup: {err}"
                )));
            }
            Err(err) => {
                tracing::warn!(
                    %err,
                    "Redis is unreachable at startup; serving this instance's clients only \
                     until it is reachable"
                );
                None
            }
        };
        shared.tasks.spawn(shared.clone().publish_loop(queue));
        shared.tasks.spawn(shared.clone().subscribe_loop(first));
        Ok(shared)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Stops the tasks and lets go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.status.connected.store(false, Ordering::Release);
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        lock(&self.pending).clear();
    }

    // ---- connection upkeep -------------------------------------------------------------

    async fn subscribe(&self) -> Result<mpsc::Receiver<Incoming>, crate::DriverError> {
        let mut exact = Vec::new();
        let mut patterns = Vec::new();
        for channels in self.channels.values() {
            exact.push(channels.request.clone());
            exact.push(channels.response.clone());
            exact.push(channels.own_response.clone());
            patterns.push(channels.broadcast_pattern());
        }
        self.driver.subscribe(exact, patterns).await
    }

    /// Reads the subscription; when it ends, resubscribes with backoff until closed.
    async fn subscribe_loop(self: Arc<Self>, mut subscription: Option<mpsc::Receiver<Incoming>>) {
        let mut backoff = Backoff::new(&self.config);
        loop {
            if let Some(mut messages) = subscription.take() {
                self.status.connected.store(true, Ordering::Release);
                backoff.reset();
                loop {
                    let message = tokio::select! {
                        () = self.cancel.cancelled() => return,
                        message = messages.recv() => message,
                    };
                    match message {
                        Some(message) => self.on_message(message),
                        None => break,
                    }
                }
                self.status.connected.store(false, Ordering::Release);
                tracing::warn!(
                    "lost the Redis subscription; serving this instance's clients only while \
                     reconnecting"
                );
            }
            let delay = backoff.next();
            let attempt = async {
                tokio::time::sleep(delay).await;
                self.subscribe().await
            };
            let result = tokio::select! {
                () = self.cancel.cancelled() => return,
                result = attempt => result,
            };
            match result {
                Ok(messages) => {
                    tracing::info!(uid = %self.uid, "Redis adapter subscribed again");
                    subscription = Some(messages);
                }
                Err(err) => tracing::debug!(%err, ?delay, "Redis still unreachable"),
            }
        }
    }

    /// Publishes the queue in batches. After a failure, what is queued before the next
    /// attempt (backing off) is dropped: a bounded loss instead of an unbounded buffer.
    async fn publish_loop(self: Arc<Self>, mut queue: mpsc::Receiver<(String, Bytes)>) {
        let mut backoff = Backoff::new(&self.config);
        let mut retry_at: Option<Instant> = None;
        loop {
            let mut batch = Vec::with_capacity(PUBLISH_BATCH);
            let received = tokio::select! {
                () = self.cancel.cancelled() => return,
                n = queue.recv_many(&mut batch, PUBLISH_BATCH) => n,
            };
            if received == 0 {
                return;
            }
            if retry_at.is_some_and(|at| Instant::now() < at) {
                self.count_dropped(received);
                continue;
            }
            let result = tokio::select! {
                () = self.cancel.cancelled() => return,
                result = self.driver.publish(batch) => result,
            };
            match result {
                Ok(()) => {
                    if retry_at.take().is_some() {
                        tracing::info!(
                            dropped_so_far = self.status.dropped_messages(),
                            "publishing to Redis again"
                        );
                    }
                    backoff.reset();
                }
                Err(err) => {
                    if retry_at.is_none() {
                        tracing::warn!(
                            %err,
                            "cannot publish to Redis; messages for other instances are dropped \
                             until it is back"
                        );
                    }
                    self.count_dropped(received);
                    retry_at = Some(Instant::now() + backoff.next());
                }
            }
        }
    }

    fn count_dropped(&self, n: usize) {
        self.status.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Queues a message for Redis; false if it was dropped (queue full or closed).
    fn publish(&self, channel: String, body: Vec<u8>) -> bool {
        match self.outbox.try_send((channel, Bytes::from(body))) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.count_dropped(1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// The channels of `namespace`; computed when the app did not declare it.
    fn channels_of(&self, namespace: &str) -> Cow<'_, Channels> {
        match self.channels.get(namespace) {
            Some(channels) => Cow::Borrowed(channels),
            None => Cow::Owned(Channels::new(&self.config.key_prefix, namespace, &self.uid)),
        }
    }

    fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    // ---- what other instances send ------------------------------------------------------

    fn on_message(self: &Arc<Self>, message: Incoming) {
        let result = match self.routes.get(&message.channel) {
            Some(Route::Request(namespace)) => self.on_request(namespace, &message.payload),
            Some(Route::Response) => self.on_response(&message.payload),
            None => self.on_broadcast(&message.payload),
        };
        if let Err(err) = result {
            tracing::debug!(channel = %message.channel, %err, "ignored a Redis message");
        }
    }

    /// Delivers another instance's broadcast to this instance's recipients.
    fn on_broadcast(&self, body: &[u8]) -> Result<(), WireError> {
        let broadcast = wire::decode_broadcast(body)?;
        if broadcast.uid == self.uid {
            return Ok(());
        }
        if let Some(ns) = self.namespace(&broadcast.namespace) {
            ns.local()
                .to(broadcast.recipients.rooms)
                .except(broadcast.recipients.except)
                .emit_payload(&broadcast.event, &broadcast.payload);
        }
        Ok(())
    }

    /// Does what another instance asks of this one, and answers if it waits for an answer.
    fn on_request(self: &Arc<Self>, namespace: &str, body: &[u8]) -> Result<(), WireError> {
        let request = wire::decode_body(body, None)?;
        if request.get("uid").and_then(Value::as_str) == Some(self.uid.as_str()) {
            return Ok(());
        }
        let Some(ns) = self.namespace(namespace) else {
            return Ok(());
        };
        let request_id = request.get("requestId").and_then(Value::as_str);
        let recipients = wire::recipients_of(request.get("opts").unwrap_or(&Value::Null));
        let selected = || {
            ns.local()
                .to(recipients.rooms.clone())
                .except(recipients.except.clone())
        };
        let needs_id = || request_id.ok_or_else(|| WireError("request without requestId".into()));
        match request.get("type").and_then(Value::as_u64) {
            Some(kind::SOCKETS) => {
                let ids: Vec<String> = selected()
                    .sockets()
                    .iter()
                    .map(|s| s.id().to_string())
                    .collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "sockets": ids}),
                );
            }
            Some(kind::ALL_ROOMS) => {
                let rooms: Vec<String> = ns.rooms().iter().map(|r| r.as_str().to_owned()).collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "rooms": rooms}),
                );
            }
            Some(kind @ (kind::REMOTE_JOIN | kind::REMOTE_LEAVE)) => {
                let join = kind == kind::REMOTE_JOIN;
                if request.get("opts").is_some() {
                    let rooms = wire::rooms_of(request.get("rooms"));
                    if join {
                        selected().sockets_join(rooms);
                    } else {
                        selected().sockets_leave(rooms);
                    }
                } else {
                    // The legacy per-socket form: `{requestId, sid, room}`, answered.
                    let socket = legacy_socket(&ns, &request);
                    let room = wire::rooms_of(Some(&json!([request.get("room")])));
                    if let (Some(socket), false) = (socket, room.is_empty()) {
                        if join {
                            socket.join(room);
                        } else {
                            socket.leave(room);
                        }
                        self.respond(namespace, &json!({"requestId": needs_id()?}));
                    }
                }
            }
            Some(kind::REMOTE_DISCONNECT) => {
                if request.get("opts").is_some() {
                    selected().disconnect();
                } else if let Some(socket) = legacy_socket(&ns, &request) {
                    socket.disconnect();
                    self.respond(namespace, &json!({"requestId": needs_id()?}));
                }
            }
            Some(kind::REMOTE_FETCH) => {
                let sockets: Vec<Value> = selected()
                    .sockets()
                    .iter()
                    .map(|socket| socket_json(&SocketInfo::of(socket)))
                    .collect();
                self.respond(
                    namespace,
                    &json!({"requestId": needs_id()?, "sockets": sockets}),
                );
            }
            Some(kind::SERVER_SIDE_EMIT) => {
                let Some(Value::Array(packet)) = request.get("data") else {
                    return Err(WireError("server-side emit without data".into()));
                };
                let Some(answer) = ns.dispatch_server_event(packet.clone()) else {
                    return Ok(());
                };
                let request_id = request_id.map(str::to_owned);
                let shared = self.clone();
                let namespace = namespace.to_owned();
                self.tasks.spawn(async move {
                    let answer = tokio::select! {
                        () = shared.cancel.cancelled() => return,
                        answer = answer => answer,
                    };
                    if let Some(request_id) = request_id {
                        let response = json!({
                            "type": kind::SERVER_SIDE_EMIT,
                            "requestId": request_id,
                            "data": answer,
                        });
                        shared.respond(&namespace, &response);
                    }
                });
            }
            Some(kind::BROADCAST) => self.on_broadcast_with_ack(&ns, body, needs_id()?)?,
            Some(_) | None => {}
        }
        Ok(())
    }

    /// Another instance's broadcast with acks: deliver it here, say to how many clients, then
    /// pass on each client's ack.
    fn on_broadcast_with_ack(
        self: &Arc<Self>,
        ns: &Namespace,
        body: &[u8],
        request_id: &str,
    ) -> Result<(), WireError> {
        let mut attachments = Vec::new();
        let request = wire::decode_body(body, Some(&mut attachments))?;
        let packet = request.get("packet").unwrap_or(&Value::Null);
        let (_, event, payload) = wire::decode_event_packet(packet, attachments)?;
        let opts = request.get("opts").unwrap_or(&Value::Null);
        let recipients = wire::recipients_of(opts);
        let timeout = opts
            .pointer("/flags/timeout")
            .and_then(Value::as_u64)
            .map_or(self.config.requests_timeout, |ms| {
                // Set by another instance: bounds how long this one keeps the acks' state.
                Duration::from_millis(ms).min(MAX_REMOTE_ACK_TIMEOUT)
            });
        let acks = ns
            .local()
            .to(recipients.rooms)
            .except(recipients.except)
            .emit_payload_with_ack(&event, &payload, timeout);
        let count = json!({
            "type": kind::BROADCAST_CLIENT_COUNT,
            "requestId": request_id,
            "clientCount": acks.expected_local(),
        });
        self.respond(ns.name(), &count);
        let shared = self.clone();
        let namespace = ns.name().to_owned();
        let request_id = request_id.to_owned();
        self.tasks.spawn(async move {
            let mut acks = std::pin::pin!(acks.take_until(shared.cancel.clone().cancelled_owned()));
            while let Some((_, answer)) = acks.next().await {
                let Ok(answer) = answer else { continue };
                let response = wire::to_msgpack(&rmpv::Value::Map(vec![
                    ("type".into(), kind::BROADCAST_ACK.into()),
                    ("requestId".into(), request_id.as_str().into()),
                    ("packet".into(), wire::json_to_pack(&answer, &[])),
                ]));
                let channel = shared.channels_of(&namespace).response.clone();
                shared.publish(channel, response);
            }
        });
        Ok(())
    }

    /// Routes an answer to the request of this instance waiting for it.
    fn on_response(&self, body: &[u8]) -> Result<(), WireError> {
        let response = wire::decode_body(body, None)?;
        let Some(request_id) = response.get("requestId").and_then(Value::as_str) else {
            return Ok(());
        };
        if let Some(waiting) = lock(&self.pending).get(request_id) {
            // Full means the requester stopped reading in time; it counts the rest as missing.
            let _ = waiting.try_send(response);
        }
        Ok(())
    }

    fn respond(&self, namespace: &str, response: &Value) {
        let channel = self.channels_of(namespace).response.clone();
        self.publish(channel, response.to_string().into_bytes());
    }

    // ---- what this instance asks of the others ----------------------------------------

    pub(crate) fn broadcast(&self, namespace: &str, message: &BroadcastMessage<'_>) {
        let channels = self.channels_of(namespace);
        match wire::encode_broadcast(
            &self.uid,
            namespace,
            message.event,
            message.data,
            message.recipients,
        ) {
            Ok(body) => {
                self.publish(channels.broadcast_channel(message.recipients), body);
            }
            Err(err) => tracing::warn!(%err, event = message.event, "broadcast not published"),
        }
    }

    pub(crate) fn change_rooms(
        &self,
        namespace: &str,
        recipients: &Recipients,
        rooms: &[Room],
        join: bool,
    ) {
        let request = json!({
            "uid": self.uid,
            "type": if join { kind::REMOTE_JOIN } else { kind::REMOTE_LEAVE },
            "opts": opts_json(recipients),
            "rooms": rooms.iter().map(Room::as_str).collect::<Vec<_>>(),
        });
        self.request_and_forget(namespace, &request);
    }

    pub(crate) fn disconnect_sockets(&self, namespace: &str, recipients: &Recipients) {
        let request = json!({
            "uid": self.uid,
            "type": kind::REMOTE_DISCONNECT,
            "opts": opts_json(recipients),
            "close": false,
        });
        self.request_and_forget(namespace, &request);
    }

    pub(crate) fn server_side_emit(&self, namespace: &str, event: &str, args: &[Value]) {
        let request = json!({
            "uid": self.uid,
            "type": kind::SERVER_SIDE_EMIT,
            "data": server_event(event, args),
        });
        self.request_and_forget(namespace, &request);
    }

    fn request_and_forget(&self, namespace: &str, request: &Value) {
        let channel = self.channels_of(namespace).request.clone();
        self.publish(channel, request.to_string().into_bytes());
    }

    pub(crate) fn server_count(
        self: Arc<Self>,
        namespace: &str,
    ) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let channel = self.channels_of(namespace).request.clone();
        Box::pin(async move { self.count_servers(channel).await })
    }

    async fn count_servers(&self, request_channel: String) -> Result<usize, AdapterError> {
        if !self.status.is_connected() {
            return Err(AdapterError::unavailable("not connected to Redis"));
        }
        match tokio::time::timeout(
            self.config.requests_timeout,
            self.driver.num_sub(request_channel),
        )
        .await
        {
            Ok(Ok(count)) => Ok(count.max(1)),
            Ok(Err(err)) => Err(AdapterError::unavailable(err.to_string())),
            Err(_) => Err(AdapterError::timeout("PUBSUB NUMSUB did not answer")),
        }
    }

    pub(crate) fn fetch_sockets(
        self: Arc<Self>,
        namespace: &str,
        recipients: &Recipients,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        let request_id = random_id(16);
        let request = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": kind::REMOTE_FETCH,
            "opts": opts_json(recipients),
        });
        let channels = self.channels_of(namespace).into_owned();
        Box::pin(async move {
            let request = request.to_string().into_bytes();
            let timeout = self.config.requests_timeout;
            let answers = self
                .ask_every_instance(&channels, request_id, request, timeout)
                .await?;
            let mut sockets = Vec::new();
            for answer in answers {
                let Some(Value::Array(found)) = answer.get("sockets") else {
                    continue;
                };
                sockets.extend(found.iter().filter_map(socket_info));
            }
            Ok(sockets)
        })
    }

    pub(crate) fn server_side_emit_with_ack(
        self: Arc<Self>,
        namespace: &str,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, AdapterError>> {
        let request_id = random_id(16);
        let request = json!({
            "uid": self.uid,
            "requestId": request_id,
            "type": kind::SERVER_SIDE_EMIT,
            "data": server_event(event, args),
        });
        let channels = self.channels_of(namespace).into_owned();
        Box::pin(async move {
            let request = request.to_string().into_bytes();
            let answers = self
                .ask_every_instance(&channels, request_id, request, timeout)
                .await?;
            Ok(answers
                .into_iter()
                .map(|mut answer| answer.get_mut("data").map(Value::take).unwrap_or_default())
                .collect())
        })
    }

    /// Publishes a request and waits up to `timeout` (server count included) for one answer
    /// from every other instance.
    async fn ask_every_instance(
        &self,
        channels: &Channels,
        request_id: String,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        let deadline = Instant::now() + timeout;
        let count = tokio::time::timeout_at(deadline, self.count_servers(channels.request.clone()));
        let expected = count
            .await
            .map_err(|_| AdapterError::timeout("PUBSUB NUMSUB did not answer in time"))??
            - 1;
        if expected == 0 {
            return Ok(Vec::new());
        }
        let mut pending = self.register(request_id);
        if !self.publish(channels.request.clone(), request) {
            return Err(AdapterError::unavailable("the publish queue is full"));
        }
        let mut answers = Vec::with_capacity(expected);
        while answers.len() < expected {
            match tokio::time::timeout_at(deadline, pending.answers.recv()).await {
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

    pub(crate) fn broadcast_with_ack(
        self: Arc<Self>,
        namespace: &str,
        message: &BroadcastMessage<'_>,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let request_id = random_id(16);
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let packet = wire::event_packet(namespace, message.event, message.data, None);
        let channels = self.channels_of(namespace).into_owned();
        let request = packet.map(|packet| {
            wire::to_msgpack(&rmpv::Value::Map(vec![
                ("uid".into(), self.uid.as_str().into()),
                ("requestId".into(), request_id.as_str().into()),
                ("type".into(), kind::BROADCAST.into()),
                ("packet".into(), packet),
                (
                    "opts".into(),
                    wire::options(message.recipients, Some(timeout_ms)),
                ),
            ]))
        });
        // Published now, as the local sockets get it now: delivery must not wait for the
        // server count, nor depend on the caller polling for the acks.
        let deadline = Instant::now() + timeout;
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                tracing::warn!(%err, "broadcast with acks not published");
                return Box::pin(async { RemoteAcks::default() });
            }
        };
        let mut pending = self.register(request_id);
        let published = self.publish(channels.request.clone(), request);
        Box::pin(async move {
            let count = tokio::time::timeout_at(deadline, self.count_servers(channels.request));
            let servers = match count.await {
                Ok(Ok(servers)) => servers - 1,
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
            let (mut reported, mut clients) = (0, 0);
            let mut answers = Vec::new();
            while reported < servers || answers.len() < clients {
                let Ok(Some(mut response)) =
                    tokio::time::timeout_at(deadline, pending.answers.recv()).await
                else {
                    break;
                };
                match response.get("type").and_then(Value::as_u64) {
                    Some(kind::BROADCAST_CLIENT_COUNT) => {
                        reported += 1;
                        clients += response
                            .get("clientCount")
                            .and_then(Value::as_u64)
                            .unwrap_or(0) as usize;
                    }
                    Some(kind::BROADCAST_ACK) => {
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
        })
    }

    /// Waits for answers to `request_id` until the returned guard is dropped.
    fn register(&self, request_id: String) -> Pending {
        let (tx, answers) = mpsc::channel(RESPONSE_BUFFER);
        lock(&self.pending).insert(request_id.clone(), tx);
        Pending {
            requests: self.pending.clone(),
            request_id,
            answers,
        }
    }
}

/// A request of this instance waiting for answers; unregistered when dropped.
struct Pending {
    requests: Arc<Mutex<HashMap<String, mpsc::Sender<Value>>>>,
    request_id: String,
    answers: mpsc::Receiver<Value>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        lock(&self.requests).remove(&self.request_id);
    }
}

/// Exponential backoff with jitter between reconnection attempts.
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(config: &Config) -> Self {
        Self {
            min: config.reconnect_delay_min,
            max: config.reconnect_delay_max,
            next: config.reconnect_delay_min,
        }
    }

    fn reset(&mut self) {
        self.next = self.min;
    }

    /// The wait before the next attempt: between 75% and 100% of the current step.
    fn next(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(self.max);
        step.mul_f64(rand::rng().random_range(0.75..=1.0))
    }
}

/// A random id of `len` URL-safe characters (socket.io's `uid2` alphabet).
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn opts_json(recipients: &Recipients) -> Value {
    fn names(rooms: &[Room]) -> Vec<&str> {
        rooms.iter().map(Room::as_str).collect()
    }
    json!({"rooms": names(&recipients.rooms), "except": names(&recipients.except)})
}

/// socket.io's server-side emit packet: the event name, then its arguments.
fn server_event(event: &str, args: &[Value]) -> Vec<Value> {
    let mut packet = Vec::with_capacity(args.len() + 1);
    packet.push(Value::from(event));
    packet.extend_from_slice(args);
    packet
}

/// The socket a legacy per-socket request (`sid`) names, if it is here.
fn legacy_socket(ns: &Namespace, request: &Value) -> Option<gateway_core::Socket> {
    let sid: SocketId = request.get("sid")?.as_str()?.parse().ok()?;
    ns.socket(sid)
}

fn socket_json(info: &SocketInfo) -> Value {
    json!({
        "id": info.id.as_str(),
        "handshake": info.handshake,
        "rooms": info.rooms.iter().map(Room::as_str).collect::<Vec<_>>(),
        "data": info.data,
    })
}

fn socket_info(value: &Value) -> Option<SocketInfo> {
    Some(SocketInfo {
        id: value.get("id")?.as_str()?.parse().ok()?,
        rooms: wire::rooms_of(value.get("rooms")),
        handshake: value.get("handshake").cloned().unwrap_or_default(),
        data: value.get("data").cloned().unwrap_or_default(),
    })
}
