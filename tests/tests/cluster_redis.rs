//! Instances behind a real `redis-server` (started by the tests on free loopback ports):
//! a mixed cluster with Node socket.io and `@socket.io/redis-adapter`, and Redis going away.

use std::time::Duration;

use gateway_redis::{AdapterStatus, RedisAdapter};
use gateway_tests::cluster::{
    assert_listen_fails_unreachable, check_broadcasts, events_until, instance, json_client,
    members, namespace, wait_for_delivery, RedisServer,
};
use gateway_tests::TestServer;
use gateway_tests::{run_node, wait_until};
use serde_json::json;

fn adapter(redis: &RedisServer) -> RedisAdapter {
    RedisAdapter::new(&redis.url())
        .unwrap()
        .with_reconnect_delay(Duration::from_millis(20), Duration::from_millis(500))
}

async fn redis_instance(redis: &RedisServer) -> (TestServer, AdapterStatus) {
    let adapter = adapter(redis);
    let status = adapter.status();
    (instance(adapter).await, status)
}

#[tokio::test]
async fn two_rust_instances_and_a_node_instance_form_one_cluster() {
    let redis = RedisServer::start().await;
    let (a, _) = redis_instance(&redis).await;
    let (b, _) = redis_instance(&redis).await;
    let urls = [a, b].map(|s| format!("http://{}", s.local_addr()));
    let out = run_node("redis_cluster.mjs", &[&redis.url(), &urls[0], &urls[1]]).await;
    assert!(out.contains("redis cluster passed"), "{out}");
}

#[tokio::test]
async fn delivery_survives_a_redis_kill_and_restart() {
    let mut redis = RedisServer::start().await;
    let (a, a_status) = redis_instance(&redis).await;
    let (b, b_status) = redis_instance(&redis).await;
    let servers = [a, b];
    let mut members = members(&servers).await;
    check_broadcasts(&servers, &mut members).await;
    let (mut probe_a, _) = json_client(&servers[0], &["probe:0"]).await;
    let (mut probe_b, _) = json_client(&servers[1], &["probe:1"]).await;

    redis.kill().await;
    wait_until("both adapters see Redis gone", || {
        !a_status.is_connected() && !b_status.is_connected()
    })
    .await;
    // Local delivery never stops; cluster-wide requests fail fast.
    let ns = namespace(&servers[0]);
    ns.to("probe:0").emit("during", &1).unwrap();
    ns.to("probe:0").emit("marker", &0).unwrap();
    assert_eq!(
        events_until(&mut probe_a, "marker", 1).await,
        [("during".to_owned(), json!(1))]
    );
    let err = ns.fetch_sockets().await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");

    redis.restart().await;
    wait_until("both adapters resubscribed", || {
        a_status.is_connected() && b_status.is_connected()
    })
    .await;
    wait_for_delivery(&servers[0], &mut probe_b, "probe:1").await;
    wait_for_delivery(&servers[1], &mut probe_a, "probe:0").await;
    // The same connections, across instances again, each broadcast once.
    check_broadcasts(&servers, &mut members).await;
    assert_eq!(ns.server_count().await.unwrap(), 2);
}

#[tokio::test]
async fn redis_down_at_startup_is_local_only_unless_required() {
    let mut redis = RedisServer::unstarted();
    assert_listen_fails_unreachable(adapter(&redis).with_required_at_startup(true)).await;

    let (alone, status) = redis_instance(&redis).await;
    assert!(!status.is_connected());
    let (mut client, _) = json_client(&alone, &[]).await;
    namespace(&alone).emit("local", &1).unwrap();
    assert_eq!(client.recv_event("local").await, json!(1));

    redis.restart().await;
    wait_until("the adapter connects once Redis is up", || {
        status.is_connected()
    })
    .await;
    let (other, _) = redis_instance(&redis).await;
    namespace(&other).emit("fromOther", &2).unwrap();
    assert_eq!(client.recv_event("fromOther").await, json!(2));
}
