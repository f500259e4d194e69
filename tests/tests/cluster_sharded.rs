//! Instances on a real Redis Cluster (three masters started by the test on free loopback
//! ports) with the sharded adapter: broadcasts and rooms across instances, every cluster-wide
//! operation, a master killed and restarted mid-run, and a mixed cluster with Node socket.io
//! instances using `createShardedAdapter`.

use std::time::Duration;

use gateway_core::test::TestClient;
use gateway_redis::{AdapterStatus, ShardedRedisAdapter, SubscriptionMode};
use gateway_tests::cluster::{
    check_broadcasts, check_cluster_wide_operations, events_until, instance, json_client, members,
    namespace, wait_for_delivery, wait_for_servers,
};
use gateway_tests::redis_cluster::RedisCluster;
use gateway_tests::{run_node_with_env, wait_until, TestServer};
use serde_json::json;

fn adapter(cluster: &RedisCluster, mode: SubscriptionMode) -> ShardedRedisAdapter {
    ShardedRedisAdapter::new(cluster.urls())
        .unwrap()
        .with_subscription_mode(mode)
        .with_reconnect_delay(Duration::from_millis(20), Duration::from_millis(500))
}

async fn sharded_instance(
    cluster: &RedisCluster,
    mode: SubscriptionMode,
) -> (TestServer, AdapterStatus) {
    let adapter = adapter(cluster, mode);
    let status = adapter.status();
    (instance(adapter).await, status)
}

#[tokio::test]
async fn broadcasts_and_rooms_cross_instances_in_every_subscription_mode() {
    let cluster = RedisCluster::start().await;
    for mode in [
        SubscriptionMode::Dynamic,
        SubscriptionMode::Static,
        SubscriptionMode::DynamicPrivate,
    ] {
        let mut servers = Vec::new();
        for _ in 0..3 {
            servers.push(sharded_instance(&cluster, mode).await.0);
        }
        wait_for_servers(&servers, 3).await;
        let mut members = members(&servers).await;
        // Room channels are subscribed in the background as rooms get members: probe each
        // instance's rooms from the next one until a broadcast crosses.
        for (i, member) in members.iter_mut().enumerate() {
            let from = &servers[(member.instance + 1) % servers.len()];
            let room = format!("probe:{mode:?}:{i}");
            member.client.emit("join", [room.as_str()]).await;
            assert_eq!(member.client.recv().await, json!("ok"));
            wait_for_delivery(from, &mut member.client, &room).await;
        }
        check_broadcasts(&servers, &mut members).await;
        for server in servers {
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn cluster_wide_operations_between_rust_instances() {
    let cluster = RedisCluster::start().await;
    let (a, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let (b, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    check_cluster_wide_operations(&servers).await;
}

#[tokio::test]
async fn delivery_survives_a_master_killed_and_restarted() {
    let mut cluster = RedisCluster::start().await;
    let (a, a_status) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let (b, b_status) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    let mut members = members(&servers).await;
    for member in members.iter_mut() {
        let room = format!("probe:{}", member.id);
        member.client.emit("join", [room.as_str()]).await;
        assert_eq!(member.client.recv().await, json!("ok"));
        let from = &servers[(member.instance + 1) % 2];
        wait_for_delivery(from, &mut member.client, &room).await;
    }
    check_broadcasts(&servers, &mut members).await;

    cluster.kill(1).await;
    cluster.wait_failed(1).await;
    // Local delivery never stops.
    let (mut local, _) = json_client(&servers[0], &["local"]).await;
    namespace(&servers[0])
        .to("local")
        .emit("during", &1)
        .unwrap();
    assert_eq!(local.recv_event("during").await, json!(1));

    cluster.restart(1).await;
    wait_until("both adapters connected again", || {
        a_status.is_connected() && b_status.is_connected()
    })
    .await;
    // Every channel is heard again: probe each member's rooms across instances.
    for member in members.iter_mut() {
        let from = &servers[(member.instance + 1) % 2];
        let room = format!("probe:{}", member.id);
        wait_for_delivery(from, &mut member.client, &room).await;
        wait_for_delivery(from, &mut member.client, &member.id.clone()).await;
    }
    check_broadcasts(&servers, &mut members).await;
    wait_for_servers(&servers, 2).await;
}

#[tokio::test]
async fn delivery_follows_slots_moved_between_masters() {
    let cluster = RedisCluster::start().await;
    let (a, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let (b, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    // Two clients per instance, each alone in a room of its own: a channel per room, and the
    // namespace's channel for what goes to one socket.
    let mut clients = Vec::new();
    for (instance, server) in servers.iter().enumerate() {
        for n in 0..2 {
            let room = format!("moving:{instance}:{n}");
            let (client, id) = json_client(server, &[room.as_str()]).await;
            clients.push((instance, client, id, room));
        }
    }
    cross_every_channel(&servers, &mut clients).await;
    // Most of node 1's slots go to node 0, then most of node 0's to node 2: channels change
    // masters under the subscriptions and the publishers (MOVED, and ASK while a slot
    // migrates).
    for (from, to) in [(1, 0), (0, 2)] {
        cluster.move_slots(from, to, 5000).await;
        cross_every_channel(&servers, &mut clients).await;
        wait_for_servers(&servers, 2).await;
    }
}

/// A client with its instance, socket id and room of its own.
type Alone = (usize, TestClient, String, String);

/// Broadcasts from the other instance to each client's room, then to its socket id, until one
/// crosses each time: every channel is heard again.
async fn cross_every_channel(servers: &[TestServer; 2], clients: &mut [Alone]) {
    for (instance, client, id, room) in clients.iter_mut() {
        let from = &servers[(*instance + 1) % 2];
        wait_for_delivery(from, client, room).await;
        wait_for_delivery(from, client, id).await;
    }
}

#[tokio::test]
async fn one_instance_broadcasts_reach_the_others_in_order() {
    let cluster = RedisCluster::start().await;
    let (a, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let (b, _) = sharded_instance(&cluster, SubscriptionMode::Dynamic).await;
    let servers = [a, b];
    wait_for_servers(&servers, 2).await;
    let (mut on_b, _) = json_client(&servers[1], &["ordered"]).await;
    wait_for_delivery(&servers[0], &mut on_b, "ordered").await;
    // Published in batches, as fast as they come: each room's channel keeps their order.
    let ns = namespace(&servers[0]);
    for n in 0..500u64 {
        ns.to("ordered").emit("n", &n).unwrap();
        ns.emit("everyone", &n).unwrap();
    }
    ns.to("ordered").emit("marker", &0).unwrap();
    let events = events_until(&mut on_b, "marker", 1).await;
    let numbers: Vec<u64> = events
        .iter()
        .filter(|(event, _)| event == "n")
        .map(|(_, n)| n.as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..500).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_unreachable_cluster_leaves_delivery_local() {
    let (server, status) = {
        let adapter = ShardedRedisAdapter::new(["redis://127.0.0.1:1/"])
            .unwrap()
            .with_reconnect_delay(Duration::from_millis(20), Duration::from_millis(200));
        let status = adapter.status();
        (instance(adapter).await, status)
    };
    assert!(!status.is_connected());
    let (mut client, _) = json_client(&server, &["r"]).await;
    namespace(&server).to("r").emit("local", &1).unwrap();
    assert_eq!(client.recv_event("local").await, json!(1));
    let err = namespace(&server).fetch_sockets().await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

#[tokio::test]
async fn a_mixed_cluster_with_node_sharded_adapters() {
    let cluster = RedisCluster::start().await;
    for mode in ["dynamic", "static", "dynamic-private"] {
        let rust_mode = match mode {
            "static" => SubscriptionMode::Static,
            "dynamic-private" => SubscriptionMode::DynamicPrivate,
            _ => SubscriptionMode::Dynamic,
        };
        let (a, _) = sharded_instance(&cluster, rust_mode).await;
        let (b, _) = sharded_instance(&cluster, rust_mode).await;
        let urls = [&a, &b].map(|s| format!("http://{}", s.local_addr()));
        let out = run_node_with_env(
            "redis_cluster.mjs",
            &[&cluster.urls_joined(), &urls[0], &urls[1]],
            &[("ADAPTER", "sharded"), ("SUBSCRIPTION_MODE", mode)],
            Duration::from_secs(90),
        )
        .await;
        assert!(out.contains("redis cluster passed"), "{mode}: {out}");
        a.shutdown().await;
        b.shutdown().await;
    }
}
