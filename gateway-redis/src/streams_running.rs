//! [`StreamsRunning`]: a [`RedisStreamsAdapter`](crate::RedisStreamsAdapter) once started. It
//! wires the stream readers and the pub/sub subscriptions into [`ClusterInbound`], the app's
//! calls into [`ClusterOutbound`], and runs the stream writer and the publisher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway_core::{AdapterError, Namespace};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::backoff::Backoff;
use crate::cluster_channels::ClusterChannels;
use crate::cluster_inbound::ClusterInbound;
use crate::cluster_node::ClusterNode;
use crate::config::Config;
use crate::driver::{Driver, Incoming};
use crate::publisher::{PublishQueue, Publisher};
use crate::redis_driver::RedisDriver;
use crate::status::AdapterStatus;
use crate::streams_connection::{read_stream, EntryQueue, StreamWriter, StreamsConnection};
use crate::streams_sessions::StreamsSessions;
use crate::streams_transport::{Streams, StreamsTransport};
use crate::streams_wire;

/// The streams adapter's own settings, beside [`Config`].
#[derive(Clone, Debug)]
pub(crate) struct StreamsConfig {
    pub(crate) streams: Streams,
    pub(crate) max_len: usize,
    pub(crate) read_count: usize,
    pub(crate) block: Duration,
    /// `sessionKeyPrefix`.
    pub(crate) session_key_prefix: String,
}

/// The started adapter: its tasks, and the parts the app's calls and the tasks share.
pub(crate) struct StreamsRunning {
    pub(crate) node: ClusterNode<StreamsTransport>,
    /// Connection state recovery across instances.
    pub(crate) sessions: StreamsSessions,
    channels: ClusterChannels,
    driver: Arc<RedisDriver>,
    backoff: Backoff,
    /// The pub/sub subscriptions of dynamic gateways' concrete namespaces, ended when dropped.
    dynamic: Mutex<HashMap<String, CancellationToken>>,
}

/// What starting needs.
pub(crate) struct Start {
    pub(crate) url: String,
    pub(crate) config: Config,
    pub(crate) streams: StreamsConfig,
    pub(crate) channels: ClusterChannels,
    pub(crate) status: AdapterStatus,
    pub(crate) namespaces: Vec<Namespace>,
}

impl StreamsRunning {
    /// Subscribes the namespaces' channels and starts reading the streams. If Redis is
    /// unreachable, fails when `config.required_at_startup`, else starts local-only and keeps
    /// trying.
    pub(crate) async fn start(start: Start) -> Result<Self, AdapterError> {
        let Start {
            url,
            config,
            streams,
            channels,
            status,
            namespaces,
        } = start;
        let invalid = |e: crate::DriverError| AdapterError::invalid(e.to_string());
        let driver = Arc::new(RedisDriver::new(&url).map_err(invalid)?);
        let connection = Arc::new(StreamsConnection::new(&url).map_err(invalid)?);
        let subscribed: Vec<String> = namespaces
            .iter()
            .flat_map(|ns| channels.of_namespace(ns.name()))
            .collect();
        let first = status.first_contact(
            driver.subscribe(subscribed.clone(), Vec::new()).await,
            config.required_at_startup,
            "Redis streams adapter",
            &channels.uid,
        )?;
        let (publish_queue, queued) =
            PublishQueue::new(config.publish_queue_capacity, status.clone());
        let (entries, entries_queued) =
            EntryQueue::new(config.publish_queue_capacity, status.clone());
        let background = Background::new(status.clone());
        let (cancel, tasks) = (background.cancel.clone(), background.tasks.clone());
        let backoff = Backoff::new(config.reconnect_delay_min, config.reconnect_delay_max);
        let sessions = StreamsSessions {
            connection: connection.clone(),
            entries: entries.clone(),
            streams: streams.streams.clone(),
            uid: channels.uid.clone(),
            key_prefix: streams.session_key_prefix.clone(),
            status: status.clone(),
            tasks: tasks.clone(),
        };
        let transport = Arc::new(StreamsTransport {
            channels: channels.clone(),
            streams: streams.streams.clone(),
            entries,
            publish_queue,
            driver: driver.clone(),
            status: status.clone(),
            requests_timeout: config.requests_timeout,
        });
        let node = ClusterNode::new(
            transport,
            &channels.uid,
            config.requests_timeout,
            namespaces,
            background,
        );
        let inbound = node.inbound.clone();
        tasks.spawn(listen(
            driver.clone(),
            subscribed,
            first,
            inbound.clone(),
            Some(status.clone()),
            backoff.clone(),
            cancel.clone(),
        ));
        for stream in streams_wire::streams_read(&streams.streams.name, streams.streams.count) {
            let inbound = inbound.clone();
            tasks.spawn(read_stream(
                connection.client().clone(),
                stream,
                streams.read_count,
                streams.block,
                backoff.clone(),
                cancel.clone(),
                move |entry| {
                    if entry.map.contains_key("nsp") {
                        let message = streams_wire::decode_entry(&entry.map);
                        inbound.handle_message(message, Some(&entry.id));
                    }
                },
            ));
        }
        let writer = StreamWriter {
            connection,
            max_len: streams.max_len,
            status: status.clone(),
            backoff: backoff.clone(),
            cancel: cancel.clone(),
        };
        tasks.spawn(writer.run(entries_queued));
        let publisher = Publisher {
            driver: driver.clone(),
            status: status.clone(),
            backoff: backoff.clone(),
            cancel: cancel.clone(),
        };
        tasks.spawn(publisher.run(queued));
        Ok(Self {
            node,
            sessions,
            channels,
            driver,
            backoff,
            dynamic: Mutex::default(),
        })
    }

    /// Acts for a dynamic gateway's concrete namespace too: its pub/sub channels get a
    /// subscription of their own (its stream is read already).
    pub(crate) fn add_namespace(&self, ns: Namespace) {
        let channels = self.channels.of_namespace(ns.name()).to_vec();
        let cancel = self.node.background.cancel.child_token();
        let previous = self
            .dynamic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ns.name().to_owned(), cancel.clone());
        if let Some(previous) = previous {
            previous.cancel();
        }
        self.node.inbound.namespaces.add(ns);
        self.node.background.tasks.spawn(listen(
            self.driver.clone(),
            channels,
            None,
            self.node.inbound.clone(),
            None,
            self.backoff.clone(),
            cancel,
        ));
    }

    /// No longer acts for namespace `name` (it was dropped).
    pub(crate) fn remove_namespace(&self, name: &str) {
        self.node.inbound.namespaces.remove(name);
        let removed = self
            .dynamic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let Some(cancel) = removed {
            cancel.cancel();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.node.is_closed()
    }

    /// Stops the tasks and lets go of the app's namespaces.
    pub(crate) async fn close(&self) {
        self.node.close().await;
    }
}

/// Hears `channels` (subscribed already if `first` is given), handing each message to
/// `inbound`; when the subscription ends, subscribes again with backoff until cancelled.
/// `status`, when given, follows the subscription.
async fn listen(
    driver: Arc<RedisDriver>,
    channels: Vec<String>,
    first: Option<mpsc::Receiver<Incoming>>,
    inbound: Arc<ClusterInbound<StreamsTransport>>,
    status: Option<AdapterStatus>,
    mut backoff: Backoff,
    cancel: CancellationToken,
) {
    let mut subscription = first;
    loop {
        if let Some(mut messages) = subscription.take() {
            if let Some(status) = &status {
                status.set_connected(true);
            }
            backoff.reset();
            loop {
                let message = tokio::select! {
                    () = cancel.cancelled() => return,
                    message = messages.recv() => message,
                };
                match message {
                    Some(message) => inbound.handle(&message.payload),
                    None => break,
                }
            }
            if let Some(status) = &status {
                status.set_connected(false);
                tracing::warn!("lost the Redis subscription; serving this instance's clients only while reconnecting");
            }
        }
        let delay = backoff.next();
        let attempt = async {
            tokio::time::sleep(delay).await;
            driver.subscribe(channels.clone(), Vec::new()).await
        };
        let result = tokio::select! {
            () = cancel.cancelled() => return,
            result = attempt => result,
        };
        match result {
            Ok(messages) => subscription = Some(messages),
            Err(err) => tracing::debug!(%err, ?delay, "Redis still unreachable"),
        }
    }
}
