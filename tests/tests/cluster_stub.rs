//! Several instances in one process behind `RedisAdapter` on the in-process `MemoryBroker`:
//! broadcasts, cluster-wide operations and outages, with real clients on loopback.

use std::sync::Arc;
use std::time::Duration;

use gateway_redis::{AdapterStatus, MemoryBroker, RedisAdapter};
use gateway_tests::cluster::{
    assert_listen_fails_unreachable, check_broadcasts, events_until, fetched_ids, instance,
    json_client, members, namespace, wait_for_delivery, SioClient,
};
use gateway_tests::TestServer;
use gateway_tests::{wait_until, Counter, PATIENCE};
use serde_json::{json, Value};

struct Cluster {
    broker: MemoryBroker,
    servers: Vec<TestServer>,
    statuses: Vec<AdapterStatus>,
}

fn adapter(broker: &MemoryBroker) -> RedisAdapter<gateway_redis::MemoryDriver> {
    RedisAdapter::with_driver(broker.driver())
        .with_reconnect_delay(Duration::from_millis(10), Duration::from_millis(100))
}

async fn cluster(n: usize) -> Cluster {
    let broker = MemoryBroker::new();
    let mut servers = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..n {
        let adapter = adapter(&broker);
        statuses.push(adapter.status());
        servers.push(instance(adapter).await);
    }
    Cluster {
        broker,
        servers,
        statuses,
    }
}

#[tokio::test]
async fn broadcasts_reach_every_matching_client_of_every_instance_once() {
    let c = cluster(3).await;
    let mut members = members(&c.servers).await;
    check_broadcasts(&c.servers, &mut members).await;
}

#[tokio::test]
async fn fetch_sockets_spans_instances_with_rooms_and_handshake() {
    let c = cluster(3).await;
    let members = members(&c.servers).await;
    let ns = namespace(&c.servers[0]);

    let mut want: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    want.sort();
    assert_eq!(fetched_ids(&ns).await, want);

    let in_b = ns.to("b").except("a").fetch_sockets().await.unwrap();
    assert_eq!(in_b.len(), 3);
    for socket in &in_b {
        let mut rooms: Vec<&str> = socket.rooms.iter().map(|r| r.as_str()).collect();
        rooms.sort();
        let mut expected = vec!["b", "muted", socket.id.as_str()];
        expected.sort();
        assert_eq!(rooms, expected);
        assert_eq!(socket.handshake["url"], "/cluster", "{}", socket.handshake);
        assert!(socket.handshake["headers"].is_object());
        // The ClusterData the gateway's `join` set, carried to the other instances.
        assert_eq!(socket.data, json!({"joined": ["b", "muted"]}));
    }
    assert_eq!(ns.server_count().await.unwrap(), 3);
}

#[tokio::test]
async fn remote_sockets_join_leave_and_disconnect() {
    let c = cluster(2).await;
    let mut members = members(&c.servers).await;
    let ns = namespace(&c.servers[0]);

    // Requests and broadcasts from one instance are handled in order by the others.
    ns.to("a").sockets_join("c");
    ns.to("c").emit("inC", &1).unwrap();
    ns.emit("marker", &0).unwrap();
    for m in members.iter_mut() {
        let events = events_until(&mut m.client, "marker", 1).await;
        let want = if m.rooms.contains(&"a") {
            vec![("inC".to_owned(), json!(1))]
        } else {
            vec![]
        };
        assert_eq!(events, want, "{}", m.id);
    }

    ns.to("c").sockets_leave("a");
    let in_a = ns.to("a").fetch_sockets().await.unwrap();
    assert!(in_a.is_empty(), "{in_a:?}");

    let remote = members
        .iter()
        .position(|m| m.instance == 1)
        .expect("a member on instance 1");
    let id: gateway_core::SocketId = members[remote].id.parse().unwrap();
    ns.to(id).disconnect();
    members[remote].client.expect_close().await;
    let left = ns.fetch_sockets().await.unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|s| s.id != id));
}

#[tokio::test]
async fn server_side_emit_reaches_the_other_instances_handlers() {
    let c = cluster(3).await;
    let ns = namespace(&c.servers[0]);
    let mut answers: Vec<Value> = ns
        .server_side_emit_with_ack("hello-servers", &42, PATIENCE)
        .await
        .unwrap();
    answers.sort_by_key(|a| a["port"].as_u64());
    let mut ports: Vec<u16> = c.servers[1..]
        .iter()
        .map(|s| s.local_addr().port())
        .collect();
    ports.sort();
    assert_eq!(
        answers,
        ports
            .iter()
            .map(|p| json!({"from": "rust", "port": p, "got": [42]}))
            .collect::<Vec<_>>()
    );

    let heard = Arc::new(Counter::default());
    for server in &c.servers[1..] {
        let heard = heard.clone();
        namespace(server).on_server_event("cache:clear", move |args| {
            assert_eq!(args, [json!("users")]);
            heard.bump();
            async { Value::Null }
        });
    }
    ns.server_side_emit("cache:clear", &"users").unwrap();
    heard.wait_for(2).await;

    // Nobody handles it, so nobody answers: the wait ends at the timeout, with an error.
    let unanswered = ns
        .server_side_emit_with_ack::<_, Value>("nobody-listens", &(), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(unanswered.is_timeout(), "{unanswered}");
}

#[tokio::test]
async fn broadcast_acks_come_from_every_instance() {
    let c = cluster(2).await;
    let mut clients = vec![
        SioClient::connect(c.servers[0].local_addr()).await,
        SioClient::connect(c.servers[1].local_addr()).await,
        SioClient::connect(c.servers[1].local_addr()).await,
    ];
    let ns = namespace(&c.servers[0]);
    let asking = tokio::spawn(async move {
        ns.timeout(PATIENCE)
            .emit_with_ack::<_, String>("vote", "lunch?")
            .await
            .unwrap()
    });
    for client in &mut clients {
        let event = client.next_event().await;
        assert_eq!(
            (event.event.as_str(), &event.args[..]),
            ("vote", &[json!("lunch?")][..])
        );
        let id = client.id.clone();
        client.ack(event.ack.expect("an ack id"), &json!(id)).await;
    }
    let answers = asking.await.unwrap();
    let mut got: Vec<(bool, String)> = answers
        .into_iter()
        .map(|(socket, answer)| (socket.is_some(), answer.unwrap()))
        .collect();
    got.sort();
    let mut want = vec![
        (false, clients[1].id.clone()),
        (false, clients[2].id.clone()),
        (true, clients[0].id.clone()),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn delivery_resumes_after_the_broker_comes_back() {
    let c = cluster(2).await;
    let (mut first, _) = json_client(&c.servers[0], &["probe:0"]).await;
    let (mut second, _) = json_client(&c.servers[1], &["probe:1"]).await;

    c.broker.stop();
    wait_until("both adapters see the outage", || {
        c.statuses.iter().all(|s| !s.is_connected())
    })
    .await;
    // Local delivery goes on; the other instance's share is dropped, not buffered.
    let ns = namespace(&c.servers[0]);
    ns.emit("during", &1).unwrap();
    ns.emit("marker", &0).unwrap();
    let events = events_until(&mut first, "marker", 1).await;
    assert_eq!(events, [("during".to_owned(), json!(1))]);
    wait_until("the dropped broadcasts are counted", || {
        c.statuses[0].dropped_messages() == 2
    })
    .await;

    c.broker.start();
    wait_until("both adapters resubscribed", || {
        c.statuses.iter().all(AdapterStatus::is_connected)
    })
    .await;
    wait_for_delivery(&c.servers[0], &mut second, "probe:1").await;
    wait_for_delivery(&c.servers[1], &mut first, "probe:0").await;
    let mut members = members(&c.servers).await;
    check_broadcasts(&c.servers, &mut members).await;
}

#[tokio::test]
async fn nothing_accumulates_while_the_broker_is_away() {
    let broker = MemoryBroker::new();
    broker.stop();
    let adapter = adapter(&broker).with_publish_queue_capacity(64);
    let status = adapter.status();
    let server = instance(adapter).await;
    let ns = namespace(&server);
    const SENT: u64 = 20_000;
    for i in 0..SENT {
        ns.emit("news", &i).unwrap();
    }
    wait_until("every broadcast for other instances is dropped", || {
        status.dropped_messages() == SENT
    })
    .await;
    assert!(!status.is_connected());
}

#[tokio::test]
async fn startup_without_the_broker_is_local_only_or_fails_if_required() {
    let broker = MemoryBroker::new();
    broker.stop();

    assert_listen_fails_unreachable(adapter(&broker).with_required_at_startup(true)).await;

    let lenient = adapter(&broker);
    let status = lenient.status();
    let alone = instance(lenient).await;
    assert!(!status.is_connected());
    let (mut client, _) = json_client(&alone, &[]).await;
    namespace(&alone).emit("local", &1).unwrap();
    assert_eq!(client.recv_event("local").await, json!(1));

    broker.start();
    wait_until("the adapter connects once the broker is up", || {
        status.is_connected()
    })
    .await;
    let other = instance(adapter(&broker)).await;
    namespace(&other).emit("fromOther", &2).unwrap();
    assert_eq!(client.recv_event("fromOther").await, json!(2));
}
