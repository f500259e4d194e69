//! The example gateways behave as the guides describe (ports of the guides' own tests).

use gateway_core::test::TestClient;
use gateway_core::GatewayApp;
use gateway_examples::chat::{ChatGateway, ChatService};
use gateway_examples::events::EventsGateway;
use gateway_examples::notifications::{NotificationsGateway, NotificationsService};
use gateway_tests::{raw_http, serve, upgrade_request, wait_until, ws_url};
use serde_json::json;

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

#[tokio::test]
async fn chat_rooms_as_in_the_guide() {
    let app = GatewayApp::builder()
        .gateway(ChatGateway)
        .gateway(EventsGateway)
        .build()
        .unwrap();
    let service = ChatService::new(app.namespace("/chat").unwrap());
    let server = app.listen("127.0.0.1:0").await.unwrap();
    let mut alice = TestClient::connect(&ws_url(&server, "/chat")).await;
    let mut bob = TestClient::connect(&ws_url(&server, "/chat")).await;
    let mut carol = TestClient::connect(&ws_url(&server, "/chat")).await;

    alice.emit("joinRoom", "general").await;
    let joined = alice.recv_event("userJoined").await;
    assert_eq!(joined["roomId"], "general");
    let alice_id = joined["userId"].clone();
    assert_eq!(alice.recv().await, json!({"joined": "general"}));

    bob.emit("joinRoom", "general").await;
    bob.recv_event("userJoined").await;
    assert_eq!(bob.recv().await, json!({"joined": "general"}));
    let bob_id = alice.recv_event("userJoined").await["userId"].clone();

    // Carol is in another room: she must not see general's traffic.
    carol.emit("joinRoom", "random").await;
    carol.recv_event("userJoined").await;
    assert_eq!(carol.recv().await, json!({"joined": "random"}));

    alice
        .emit(
            "sendMessage",
            json!({"roomId": "general", "message": "hi bob"}),
        )
        .await;
    assert_eq!(alice.recv().await, json!({"sent": true}));
    let message = bob.recv_event("newMessage").await;
    assert_eq!(message["userId"], alice_id);
    assert_eq!(message["message"], "hi bob");
    assert!(message["timestamp"].as_str().unwrap().ends_with('Z'));

    bob.emit("leaveRoom", "general").await;
    assert_eq!(bob.recv().await, json!({"left": "general"}));
    assert_eq!(
        alice.recv_event("userLeft").await,
        json!({"userId": bob_id, "roomId": "general"})
    );

    // The service emits from outside the gateway.
    assert_eq!(
        service
            .broadcast_to_room("general", "announcement", &"hello room")
            .unwrap(),
        1
    );
    assert_eq!(alice.recv_event("announcement").await, json!("hello room"));
    carol.emit("leaveRoom", "random").await;
    assert_eq!(carol.recv().await, json!({"left": "random"}));

    // One app, two gateways: the events gateway answers on the same port.
    let mut events = TestClient::connect(&ws_url(&server, "/events")).await;
    events.emit("ping", ()).await;
    assert_eq!(events.recv().await, json!("pong"));
}

#[tokio::test]
async fn notifications_reach_every_device_of_a_user_and_everyone() {
    let gateway = NotificationsGateway::default();
    let app = GatewayApp::builder()
        .gateway(gateway.clone())
        .build()
        .unwrap();
    let service = NotificationsService::new(app.namespace("/notifications").unwrap());
    let server = app.listen("127.0.0.1:0").await.unwrap();
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
