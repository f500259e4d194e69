//! What the examples print when they start (`gateway_examples::hints`) works when pasted: the
//! frames are sent exactly as printed, with the printed URL and a token got the printed way, by
//! the real npm `ws` client (tests/node/paste_frames.mjs), and each gets its answer.

use gateway_core::GatewayApp;
use gateway_examples::chat::{ChatGateway, EXAMPLE_ROOM_ID};
use gateway_examples::events::EventsGateway;
use gateway_examples::notifications::{
    console_command, NotificationsGateway, NotificationsService, OrdersService,
};
use gateway_examples::{chat_page, hints};
use gateway_tests::{http, run_node, Serving, TestServer};
use serde_json::json;

const SECRET: &str = "hints-secret";

/// The frame lines of a hint: the lines that are nothing but a JSON object.
fn frames(hint: &str) -> Vec<&str> {
    hint.lines()
        .map(str::trim)
        .filter(|line| line.starts_with('{'))
        .collect()
}

/// The text between `before` and the next `after` in `hint`; fails the test if it is missing.
fn between<'a>(hint: &'a str, before: &str, after: &str) -> &'a str {
    let start = hint
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} is not in the hint:\n{hint}"))
        + before.len();
    let end = hint[start..]
        .find(after)
        .unwrap_or_else(|| panic!("nothing ends {before:?} in the hint:\n{hint}"));
    &hint[start..start + end]
}

/// `node paste_frames.mjs url frame expected …`: fails unless every frame gets its answer.
async fn paste(url: &str, frames_and_answers: &[(&str, serde_json::Value)]) {
    let answers: Vec<String> = frames_and_answers
        .iter()
        .map(|(_, answer)| answer.to_string())
        .collect();
    let mut args = vec![url];
    for ((frame, _), answer) in frames_and_answers.iter().zip(&answers) {
        args.extend([*frame, answer.as_str()]);
    }
    let out = run_node("paste_frames.mjs", &args).await;
    assert!(out.contains("pasted frames passed"), "{out}");
}

#[tokio::test]
async fn the_chat_hint_works_as_printed() {
    let app = GatewayApp::builder()
        .gateway(ChatGateway::new(SECRET))
        .gateway(EventsGateway)
        .build()
        .unwrap();
    let server =
        TestServer::serve_with_routes(app, chat_page::routes(SECRET), Serving::from_env()).await;
    let addr = server.local_addr();
    let hint = hints::chat(addr.port());
    assert!(
        hint.contains(&format!("http://localhost:{}/ ", addr.port())),
        "the browser demo's URL:\n{hint}"
    );

    // The hint's first way to a token is `mint_token`, which prints `chat::mint_token`'s; its
    // second is the demo endpoint: `curl -s -d alice URL` posts `alice`.
    assert!(hint.contains("alice=$(cargo run -q --example mint_token -- alice)"));
    let token_url = between(&hint, "alice=$(curl -s -d alice ", ")");
    let token_path = token_url
        .strip_prefix(&format!("http://localhost:{}", addr.port()))
        .unwrap_or_else(|| panic!("the token URL is not this server's: {token_url}"));
    let (status, token) = http(addr, "POST", token_path, "alice").await;
    assert_eq!(status, 200, "{token}");

    let url = between(&hint, "websocat \"", "\"").replace("$alice", &token);
    let [join, send] = frames(&hint)[..] else {
        panic!("two frames to paste:\n{hint}");
    };
    paste(
        &url,
        &[
            (join, json!({"joined": EXAMPLE_ROOM_ID})),
            (send, json!({"sent": true})),
        ],
    )
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_events_hint_works_as_printed() {
    let server = gateway_tests::serve(GatewayApp::builder().gateway(EventsGateway)).await;
    let hint = hints::events(server.local_addr().port());
    let url = between(&hint, "(websocat ", ")");
    let [message] = frames(&hint)[..] else {
        panic!("one frame to paste:\n{hint}");
    };
    let answer = json!({"event": "message", "data": {"received": true}});
    paste(url, &[(message, answer)]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_notifications_hint_works_as_printed() {
    let bus = gateway_core::EventBus::new();
    let app = GatewayApp::builder()
        .with_event_bus(bus.clone())
        .gateway(NotificationsGateway::default())
        .build()
        .unwrap();
    let service = NotificationsService::new(app.namespace("/notifications").unwrap());
    let server = TestServer::serve(app, Serving::from_env()).await;
    let hint = hints::notifications(server.local_addr().port());
    let url = between(&hint, "(websocat ", ")");
    let [join] = frames(&hint)[..] else {
        panic!("one frame to paste:\n{hint}");
    };
    let joined = json!({"event": "joined", "data": {"message": "Connected to notifications"}});
    paste(url, &[(join, joined)]).await;

    // The console commands the hint names, on a client joined as the hint says.
    assert!(hint.contains(r#""user 42 <text>""#) && hint.contains(r#""all <text>""#));
    let mut client =
        gateway_core::test::TestClient::connect(&gateway_tests::ws_url(&server, "/notifications"))
            .await;
    client.send_text(join).await;
    client.recv_event("joined").await;
    // (The pasting client may not have left yet: it may be counted too.)
    let sent = console_command(&service, "user 42 Your order shipped");
    assert!(sent.starts_with("sent to "), "{sent}");
    assert_eq!(
        client.recv_event("notification").await,
        json!({"message": "Your order shipped"})
    );
    let sent = console_command(&service, "all Maintenance at noon");
    assert!(sent.starts_with("sent to "), "{sent}");
    assert_eq!(
        client.recv_event("notification").await,
        json!({"message": "Maintenance at noon"})
    );
    assert!(console_command(&service, "nonsense").starts_with("usage:"));
    // `ship 42 <order id>`, as the example runs it: through the event bus to user 42's devices.
    assert!(hint.contains(r#""ship 42 <order id>""#));
    assert!(OrdersService::new(bus).ship("1001", "42").await > 0);
    assert_eq!(
        client.recv_event("notification").await,
        json!({"message": "Order 1001 shipped"})
    );
    server.shutdown().await;
}
