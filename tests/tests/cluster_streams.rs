//! Instances on a real `redis-server` with the Redis Streams adapter: broadcasts and rooms
//! across instances, every cluster-wide operation, Redis killed and restarted mid-run (the
//! readers go on from the last entry they read), and a mixed cluster with Node socket.io
//! instances using `@socket.io/redis-streams-adapter` 0.3.

use std::time::Duration;

use gateway_core::{gateway, GatewayApp, MessageBody, Namespace, Socket, WsResponse};
use gateway_redis::{AdapterStatus, RedisStreamsAdapter};
use gateway_tests::cluster::{
    check_broadcasts, check_cluster_wide_operations, events_until, instance, json_client, members,
    namespace, wait_for_delivery, wait_for_servers, ClusterGateway, RedisServer, SioClient,
};
use gateway_tests::{run_node, run_node_with_env, serve, wait_until, TestServer};
use serde_json::{json, Value};

fn adapter(redis: &RedisServer) -> RedisStreamsAdapter {
    RedisStreamsAdapter::new(&redis.url())
        .unwrap()
        .with_reconnect_delay(Duration::from_millis(20), Duration::from_millis(500))
}

async fn streams_instance(redis: &RedisServer) -> (TestServer, AdapterStatus) {
    let adapter = adapter(redis);
    let status = adapter.status();
    (instance(adapter).await, status)
}

#[tokio::test]
async fn broadcasts_and_operations_cross_instances() {
    let redis = RedisServer::start().await;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(streams_instance(&redis).await.0);
    }
    wait_for_servers(&servers, 3).await;
    let mut members = members(&servers).await;
    // Each reader starts at the stream's end (`$`) once its first XREAD is in: probe until a
    // broadcast from each instance crosses to each other one.
    for member in members.iter_mut() {
        let from = &servers[(member.instance + 1) % servers.len()];
        wait_for_delivery(from, &mut member.client, &member.id.clone()).await;
    }
    check_broadcasts(&servers, &mut members).await;
}

#[tokio::test]
async fn cluster_wide_operations_between_rust_instances() {
    let redis = RedisServer::start().await;
    let (a, _) = streams_instance(&redis).await;
    let (b, _) = streams_instance(&redis).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    check_cluster_wide_operations(&servers).await;
}

#[tokio::test]
async fn broadcasts_added_while_a_reader_was_away_are_not_lost() {
    let mut redis = RedisServer::start().await;
    let (a, a_status) = streams_instance(&redis).await;
    // b's reader comes back seconds after Redis does: what a adds meanwhile waits in the
    // stream (a's reader, back at once, shows when it is there).
    let slow = adapter(&redis).with_reconnect_delay(Duration::from_secs(3), Duration::from_secs(3));
    let b_status = slow.status();
    let b = instance(slow).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    let (mut on_a, a_id) = json_client(&servers[0], &["r"]).await;
    let (mut on_b, b_id) = json_client(&servers[1], &["r"]).await;
    wait_for_delivery(&servers[0], &mut on_b, &b_id).await;

    redis.kill().await;
    wait_until("both adapters see Redis gone", || {
        !a_status.is_connected() && !b_status.is_connected()
    })
    .await;
    redis.restart().await;
    // From b, for a: once it crosses, a's reader and b's writer are back.
    wait_for_delivery(&servers[1], &mut on_a, &a_id).await;
    let ns = namespace(&servers[0]);
    ns.to("r").emit("meanwhile", &1).unwrap();
    ns.to("r").emit("marker", &0).unwrap();
    let events = events_until(&mut on_b, "marker", 1).await;
    let meanwhile: Vec<_> = events.iter().filter(|(e, _)| e == "meanwhile").collect();
    assert_eq!(meanwhile.len(), 1, "{events:?}");
}

#[tokio::test]
async fn a_mixed_cluster_with_node_streams_adapters() {
    let redis = RedisServer::start().await;
    let (a, _) = streams_instance(&redis).await;
    let (b, _) = streams_instance(&redis).await;
    let urls = [&a, &b].map(|s| format!("http://{}", s.local_addr()));
    let out = run_node_with_env(
        "redis_cluster.mjs",
        &[&redis.url(), &urls[0], &urls[1]],
        &[("ADAPTER", "streams")],
        Duration::from_secs(90),
    )
    .await;
    assert!(out.contains("redis cluster passed"), "{out}");
}

/// The `/recovery` namespace of `streams_recovery.mjs`: `join` joins `news`, `announce` sends
/// `missed` to `news`, `whereAmI` tells the socket's id, rooms and whether it was recovered.
struct Recovery;

#[gateway(namespace = "/recovery")]
impl Recovery {
    #[subscribe_message("join")]
    async fn join(&self, client: Socket) -> WsResponse<&'static str> {
        client.join("news");
        WsResponse::new("joined", "news")
    }

    #[subscribe_message("announce")]
    async fn announce(
        &self,
        server: Namespace,
        MessageBody(text): MessageBody<String>,
    ) -> &'static str {
        let _ = server.to("news").emit("missed", &text);
        "ok"
    }

    #[subscribe_message("whereAmI")]
    async fn where_am_i(&self, client: Socket) -> Value {
        let mut rooms: Vec<String> = client.rooms().iter().map(|r| r.to_string()).collect();
        rooms.sort();
        json!({ "id": client.id().to_string(), "rooms": rooms, "recovered": client.recovered() })
    }
}

async fn recovery_instance(redis: &RedisServer) -> TestServer {
    serve(
        GatewayApp::builder()
            .with_adapter(adapter(redis))
            .gateway(Recovery)
            .with_connection_state_recovery(Duration::from_secs(60)),
    )
    .await
}

#[tokio::test]
async fn a_client_recovers_its_session_on_another_instance() {
    let redis = RedisServer::start().await;
    let a = recovery_instance(&redis).await;
    let b = recovery_instance(&redis).await;
    let [a, b] = [&a, &b].map(|s| format!("http://{}", s.local_addr()));
    let out = run_node("streams_recovery.mjs", &[&redis.url(), &a, &b]).await;
    assert!(
        out.contains("streams recovery passed (rust -> rust)"),
        "{out}"
    );
}

#[tokio::test]
async fn sessions_recover_between_rust_and_node_instances() {
    let redis = RedisServer::start().await;
    let rust = recovery_instance(&redis).await;
    let rust = format!("http://{}", rust.local_addr());
    let out = run_node("streams_recovery.mjs", &[&redis.url(), &rust, "node"]).await;
    assert!(
        out.contains("streams recovery passed (rust -> node)"),
        "{out}"
    );
    let out = run_node("streams_recovery.mjs", &[&redis.url(), "node", &rust]).await;
    assert!(
        out.contains("streams recovery passed (node -> rust)"),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreachable_redis_leaves_delivery_local_with_recovery_on() {
    let redis = RedisServer::unstarted();
    let adapter = adapter(&redis);
    let status = adapter.status();
    let server = serve(
        GatewayApp::builder()
            .with_adapter(adapter)
            .gateway(ClusterGateway)
            .with_connection_state_recovery(Duration::from_secs(60)),
    )
    .await;
    assert!(!status.is_connected());
    // A Socket.IO client: its events wait for an offset from the stream, which never comes.
    let mut client = SioClient::connect(server.local_addr()).await;
    namespace(&server).emit("local", &1).unwrap();
    let event = client.next_event().await;
    assert_eq!(
        (event.event.as_str(), event.args),
        ("local", vec![json!(1)])
    );
}
