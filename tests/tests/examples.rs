//! The example gateways behave as the guides describe (ports of the guides' own tests).

use gateway_core::test::TestClient;
use gateway_core::{EventBus, GatewayApp};
use gateway_examples::chat::{mint_token, ChatGateway, ChatService};
use gateway_examples::events::EventsGateway;
use gateway_examples::notifications::{NotificationsGateway, NotificationsService};
use gateway_tests::{raw_http, serve, upgrade_request, wait_until, ws_url, Serving, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Guide 000's `events.gateway.spec.ts`: "should receive message response".
#[tokio::test]
async fn events_gateway_should_receive_message_response() {
    let server = serve(GatewayApp::builder().gateway(EventsGateway)).await;
    let mut client = TestClient::connect(&ws_url(&server, "/events")).await;
    client.emit("message", json!({"text": "hello"})).await;
    assert_eq!(
        client.recv().await,
        json!({"event": "message", "data": {"received": true}})
    );
}

#[tokio::test]
async fn events_gateway_ping_boom_and_crash() {
    let server = serve(GatewayApp::builder().gateway(EventsGateway)).await;
    let mut client = TestClient::connect(&ws_url(&server, "/events")).await;
    client.emit("ping", ()).await;
    assert_eq!(client.recv().await, json!("pong"));
    client.emit("boom", json!({"a": 1})).await;
    assert_eq!(
        client.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"test","cause":{"pattern":"boom","data":{"a":1}}}})
    );
    client.emit("crash", ()).await;
    assert_eq!(
        client.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"Internal server error","cause":{"pattern":"crash","data":null}}})
    );
}

const SECRET: &str = "example-secret";
const ROOM: &str = "6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f";
const OTHER_ROOM: &str = "0b8c6f7e-1d2a-4e3b-9c4d-5e6f7a8b9c0d";

async fn chat_client(
    server: &gateway_tests::TestServer,
    sub: &str,
    role: Option<&str>,
) -> TestClient {
    let token = mint_token(SECRET, sub, role);
    TestClient::connect(&ws_url(server, &format!("/chat?token={token}"))).await
}

#[tokio::test]
async fn chat_rooms_as_in_the_guide() {
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new(SECRET))
        .gateway(EventsGateway)
        .build()
        .unwrap();
    let service = ChatService::new(app.namespace("/chat").unwrap());
    let server = TestServer::serve(app, Serving::from_env()).await;
    let mut alice = chat_client(&server, "alice", None).await;
    let mut bob = chat_client(&server, "bob", None).await;
    let mut carol = chat_client(&server, "carol", None).await;

    alice.emit("joinRoom", ROOM).await;
    assert_eq!(
        alice.recv_event("userJoined").await,
        json!({"userId": "alice", "roomId": ROOM})
    );
    assert_eq!(alice.recv().await, json!({"joined": ROOM}));

    bob.emit("joinRoom", ROOM).await;
    bob.recv_event("userJoined").await;
    assert_eq!(bob.recv().await, json!({"joined": ROOM}));
    assert_eq!(alice.recv_event("userJoined").await["userId"], "bob");

    // Carol is in another room: she must not see this room's traffic.
    carol.emit("joinRoom", OTHER_ROOM).await;
    carol.recv_event("userJoined").await;
    assert_eq!(carol.recv().await, json!({"joined": OTHER_ROOM}));

    alice
        .emit("sendMessage", json!({"roomId": ROOM, "message": "hi bob"}))
        .await;
    assert_eq!(alice.recv().await, json!({"sent": true}));
    let message = bob.recv_event("newMessage").await;
    assert_eq!(message["userId"], "alice");
    assert_eq!(message["message"], "hi bob");
    assert!(message["timestamp"].as_str().unwrap().ends_with('Z'));

    bob.emit("leaveRoom", ROOM).await;
    assert_eq!(bob.recv().await, json!({"left": ROOM}));
    assert_eq!(
        alice.recv_event("userLeft").await,
        json!({"userId": "bob", "roomId": ROOM})
    );

    // The service emits from outside the gateway, to a room or to a user's own room.
    assert_eq!(
        service
            .broadcast_to_room(ROOM, "announcement", &"hello room")
            .unwrap(),
        1
    );
    assert_eq!(alice.recv_event("announcement").await, json!("hello room"));
    assert_eq!(service.send_to_user("carol", "dm", &"psst").unwrap(), 1);
    assert_eq!(carol.recv_event("dm").await, json!("psst"));

    // One app, two gateways: the events gateway answers on the same port.
    let mut events = TestClient::connect(&ws_url(&server, "/events")).await;
    events.emit("ping", ()).await;
    assert_eq!(events.recv().await, json!("pong"));
}

#[tokio::test]
async fn chat_refuses_clients_without_a_valid_token() {
    let server = serve(GatewayApp::builder().gateway(ChatGateway::new(SECRET))).await;
    for path in [
        "/chat".to_owned(),
        format!("/chat?token={}", mint_token("wrong-secret", "eve", None)),
    ] {
        let mut client = TestClient::connect(&ws_url(&server, &path)).await;
        assert_eq!(
            client.recv().await,
            json!({"event": "error", "data": {"message": "Authentication failed"}})
        );
        assert_eq!(client.expect_close().await, Some(1000));
    }
    // The token may also come in the Authorization header.
    let mut request = ws_url(&server, "/chat").into_client_request().unwrap();
    let bearer = format!("Bearer {}", mint_token(SECRET, "dora", None));
    request
        .headers_mut()
        .insert("authorization", bearer.parse().unwrap());
    let mut dora = TestClient::try_connect(request).await.unwrap();
    dora.emit("joinRoom", ROOM).await;
    assert_eq!(dora.recv_event("userJoined").await["userId"], "dora");
}

#[tokio::test]
async fn chat_validates_send_message() {
    let server = serve(GatewayApp::builder().gateway(ChatGateway::new(SECRET))).await;
    let mut alice = chat_client(&server, "alice", None).await;
    alice
        .emit("sendMessage", json!({"roomId": "general", "message": ""}))
        .await;
    // class-validator's shape: `target`, properties in declaration order.
    let target = json!({"roomId": "general", "message": ""});
    assert_eq!(
        alice.recv_event("exception").await,
        json!([
            {"target": target, "value": "general", "property": "roomId", "children": [], "constraints": {"isUuid": "roomId must be a UUID"}},
            {"target": target, "value": "", "property": "message", "children": [], "constraints": {"isNotEmpty": "message should not be empty"}}
        ])
    );
    alice
        .emit(
            "sendMessage",
            json!({"roomId": ROOM, "message": "x".repeat(1001)}),
        )
        .await;
    let errors = alice.recv_event("exception").await;
    assert_eq!(errors[0]["property"], "message");
    assert_eq!(
        errors[0]["constraints"],
        json!({"maxLength": "message must be shorter than or equal to 1000 characters"})
    );
    // Not even an object: validated as `{}`, as class-validator does, every property failing
    // with every rule (in class-validator's order).
    alice.emit("sendMessage", "hello").await;
    assert_eq!(
        alice.recv_event("exception").await,
        json!([
            {"target": {}, "property": "roomId", "children": [], "constraints": {"isUuid": "roomId must be a UUID"}},
            {"target": {}, "property": "message", "children": [], "constraints": {
                "maxLength": "message must be shorter than or equal to 1000 characters",
                "isNotEmpty": "message should not be empty",
                "isString": "message must be a string"
            }}
        ])
    );
    alice
        .emit("sendMessage", json!({"roomId": ROOM, "message": "fine"}))
        .await;
    assert_eq!(alice.recv().await, json!({"sent": true}));
}

#[tokio::test]
async fn chat_admin_action_needs_the_admin_role() {
    let server = serve(GatewayApp::builder().gateway(ChatGateway::new(SECRET))).await;
    let mut user = chat_client(&server, "alice", Some("user")).await;
    user.emit("adminAction", ()).await;
    // Shaped by the guide's AllWsExceptionsFilter, which spreads the string error.
    // (serde_json keeps key order here, so the text shows JavaScript's: index keys first.)
    assert_eq!(
        user.recv().await.to_string(),
        r#"{"event":"exception","data":{"0":"F","1":"o","2":"r","3":"b","4":"i","5":"d","6":"d","7":"e","8":"n","status":"error"}}"#
    );
    let mut admin = chat_client(&server, "root", Some("admin")).await;
    admin.emit("adminAction", ()).await;
    assert_eq!(admin.recv().await, json!({"success": true}));
}

#[tokio::test]
async fn notifications_reach_every_device_of_a_user_and_everyone() {
    let gateway = NotificationsGateway::default();
    let app = GatewayApp::builder()
        .with_event_bus(EventBus::new())
        .gateway(gateway.clone())
        .build()
        .unwrap();
    let service = NotificationsService::new(app.namespace("/notifications").unwrap());
    let server = TestServer::serve(app, Serving::from_env()).await;
    let url = ws_url(&server, "/notifications");

    let mut phone = TestClient::connect(&url).await;
    let mut laptop = TestClient::connect(&url).await;
    let mut other = TestClient::connect(&url).await;
    for (client, user) in [
        (&mut phone, json!("42")),
        (&mut laptop, json!(42)),
        (&mut other, json!("7")),
    ] {
        client.emit("join", json!({"userId": user})).await;
        assert_eq!(
            client.recv_event("joined").await,
            json!({"message": "Connected to notifications"})
        );
    }
    assert_eq!(gateway.connected_count(), 3);

    assert_eq!(
        service
            .send_to_user("42", "notification", &json!({"title": "shipped"}))
            .unwrap(),
        2
    );
    assert_eq!(
        phone.recv_event("notification").await,
        json!({"title": "shipped"})
    );
    assert_eq!(
        laptop.recv_event("notification").await,
        json!({"title": "shipped"})
    );

    assert_eq!(
        service
            .send_to_users(&["42", "7"], &json!({"title": "sale"}))
            .unwrap(),
        3
    );
    assert_eq!(service.broadcast_notification("maintenance").unwrap(), 3);
    for client in [&mut phone, &mut laptop, &mut other] {
        // `other` never saw "shipped": its next notification is "sale".
        assert_eq!(
            client.recv_event("notification").await,
            json!({"title": "sale"})
        );
        assert_eq!(
            client.recv_event("notification").await,
            json!({"message": "maintenance"})
        );
    }

    // Disconnecting removes the socket from the gateway's map (handle_disconnect).
    other.close().await;
    wait_until("the socket to leave the map", || {
        gateway.connected_count() == 2
    })
    .await;
    // The guide's CORS origin is enforced.
    let refused = upgrade_request("/notifications", "Origin: http://evil.example\r\n");
    assert_eq!(raw_http(server.local_addr(), &refused).await.0, 403);
    let allowed = upgrade_request("/notifications", "Origin: http://localhost:4200\r\n");
    assert_eq!(raw_http(server.local_addr(), &allowed).await.0, 101);
}

/// `bench_server`'s contract (bench/README.md), on both wire formats of one app: a JSON client
/// and a Socket.IO client in the same room.
#[tokio::test]
async fn bench_gateway_serves_the_benchmark_contract_on_both_formats() {
    use gateway_examples::bench::BenchGateway;
    use gateway_tests::eio;

    let server = serve(GatewayApp::builder().gateway(BenchGateway::default())).await;
    let mut json_client = TestClient::connect(&ws_url(&server, "/")).await;
    json_client.emit("echo", json!({"a": [1, 2]})).await;
    assert_eq!(json_client.recv().await, json!({"a": [1, 2]}));
    json_client.emit("join", ()).await;
    assert_eq!(json_client.recv().await, json!("ok"));

    let mut sio = eio::open(server.local_addr(), "/socket.io/?EIO=4&transport=websocket").await;
    eio::open_packet(&eio::next(&mut sio).await.text());
    eio::send(&mut sio, "40").await;
    assert!(eio::next_skipping_pings(&mut sio)
        .await
        .text()
        .starts_with("40{"));
    eio::send(&mut sio, r#"421["echo","hi"]"#).await;
    assert_eq!(
        eio::next_skipping_pings(&mut sio).await.text(),
        r#"431["hi"]"#
    );
    eio::send(&mut sio, r#"422["join"]"#).await;
    assert_eq!(
        eio::next_skipping_pings(&mut sio).await.text(),
        r#"432["ok"]"#
    );

    eio::send(&mut sio, r#"423["broadcast",{"n":7}]"#).await;
    assert_eq!(
        eio::next_skipping_pings(&mut sio).await.text(),
        r#"42["bcast",{"n":7}]"#
    );
    assert_eq!(
        eio::next_skipping_pings(&mut sio).await.text(),
        r#"433["ok"]"#
    );
    assert_eq!(
        json_client.recv().await,
        json!({"event": "bcast", "data": {"n": 7}})
    );

    json_client
        .emit("echoEnhanced", json!({"text": "typed"}))
        .await;
    assert_eq!(json_client.recv().await, json!({"text": "typed"}));
    json_client.emit("echoEnhanced", json!({"text": 5})).await;
    let errors = json_client.recv_event("exception").await;
    assert_eq!(errors[0]["property"], "text", "{errors}");
    assert_eq!(errors[0]["value"], 5, "{errors}");
}
