//! The examples describe themselves (gateway-core feature `asyncapi`): their AsyncAPI 3.0
//! documents validate with the official `@asyncapi/parser`, match the snapshots in
//! `docs/asyncapi/`, and describe everything the end-to-end flows send and receive; a
//! socket.io-client typed with the generated `.d.ts` compiles with `tsc --strict` and runs
//! against the chat example, and wrong calls do not compile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway_core::{EventBus, GatewayApp};
use gateway_examples::apps;
use gateway_examples::chat::{mint_token, EXAMPLE_ROOM_ID};
use gateway_examples::notifications::OrdersService;
use gateway_tests::{node_dir, run_node, run_node_with_env, serve, wait_until, ws_url, PATIENCE};

const SECRET: &str = "describe-secret";

/// The examples' apps, by the name their snapshots have.
fn example_apps() -> Vec<(&'static str, GatewayApp)> {
    vec![
        ("chat", apps::chat(SECRET).build().unwrap()),
        ("events", apps::events().build().unwrap()),
        (
            "notifications",
            apps::notifications(EventBus::new()).build().unwrap(),
        ),
    ]
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/asyncapi")
}

fn document_text(app: &GatewayApp) -> String {
    serde_json::to_string_pretty(&app.asyncapi()).unwrap() + "\n"
}

/// Writes the examples' documents to a fresh directory; returns their paths.
fn fresh_documents() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let files = example_apps()
        .iter()
        .map(|(name, app)| {
            let path = dir.path().join(format!("{name}.asyncapi.json"));
            std::fs::write(&path, document_text(app)).unwrap();
            path.display().to_string()
        })
        .collect();
    (dir, files)
}

/// A change to a gateway shows up as a diff of `docs/asyncapi/` (regenerate with
/// `UPDATE_SNAPSHOTS=1 cargo test -p gateway-tests --test api_description`, or with
/// `cargo run --example NAME -- --emit-asyncapi docs/asyncapi --emit-types docs/asyncapi`).
#[test]
fn the_documents_and_types_match_their_snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for (name, app) in example_apps() {
        for (file, text) in [
            (format!("{name}.asyncapi.json"), document_text(&app)),
            (format!("{name}.d.ts"), app.typescript()),
        ] {
            let path = snapshot_dir().join(&file);
            if update {
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "these snapshots in docs/asyncapi differ from what the examples generate: {stale:?}; \
         review the change and regenerate them with UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test]
async fn the_documents_validate_with_the_official_parser() {
    let (_dir, files) = fresh_documents();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = run_node("asyncapi_validate.mjs", &args).await;
    for name in ["chat", "events", "notifications"] {
        assert!(
            out.contains(&format!("{name}.asyncapi.json: valid AsyncAPI 3.0.0")),
            "{out}"
        );
    }
}

#[test]
fn the_chat_document_describes_the_guides_contract() {
    let app = apps::chat(SECRET).build().unwrap();
    let document = app.asyncapi();
    let chat = &document["channels"]["chat"];
    assert_eq!(chat["address"], "/chat");
    let servers: Vec<&str> = (chat["servers"].as_array().unwrap().iter())
        .map(|s| s["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["#/servers/socketio", "#/servers/json"]);
    // The validation rules became schema keywords.
    let dto = &document["components"]["schemas"]["SendMessageDto"];
    assert_eq!(dto["properties"]["roomId"]["format"], "uuid");
    assert_eq!(dto["properties"]["message"]["maxLength"], 1000);
    assert_eq!(dto["properties"]["message"]["minLength"], 1);
    assert_eq!(dto["required"], serde_json::json!(["roomId", "message"]));
    // A handler with a reply, and an event declared with #[emits].
    let join = &document["operations"]["chat_receive_joinRoom"];
    assert_eq!(join["action"], "receive");
    assert_eq!(
        join["reply"]["messages"][0]["$ref"],
        "#/channels/chat/messages/joinRoom.reply"
    );
    assert_eq!(
        chat["messages"]["joinRoom.reply"]["payload"]["$ref"],
        "#/components/schemas/Joined"
    );
    assert_eq!(
        document["operations"]["chat_send_userJoined"]["action"],
        "send"
    );
    // The guarded handler asks for the JWT where the guard looks for it.
    let security: Vec<&str> = (document["operations"]["chat_receive_adminAction"]["security"]
        .as_array()
        .unwrap()
        .iter())
    .map(|s| s["$ref"].as_str().unwrap())
    .collect();
    assert_eq!(
        security,
        [
            "#/components/securitySchemes/bearerHeader",
            "#/components/securitySchemes/queryToken_token",
            "#/components/securitySchemes/socketIoAuthToken"
        ]
    );
    // A dynamic namespace is a parameterized channel.
    let workspaces = &document["channels"]["workspaces_workspace"];
    assert_eq!(workspaces["address"], "/workspaces/{workspace}");
    assert!(workspaces["parameters"]["workspace"].is_object());
}

#[tokio::test]
async fn listen_serves_the_document_at_its_route() {
    let server = apps::chat(SECRET)
        .build()
        .unwrap()
        .listen("127.0.0.1:0")
        .await
        .unwrap();
    let (status, body) = gateway_tests::raw_http(
        server.local_addr(),
        "GET /asyncapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let json = body
        .split_once("\r\n\r\n")
        .map_or(body.as_str(), |(_, b)| b);
    let served: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(served, apps::chat(SECRET).build().unwrap().asyncapi());
    server.shutdown().await;
}

/// Compiles `file` in `tests/node/typed_client` with `tsc --strict`; returns its output and
/// whether it compiled.
async fn tsc(args: &[&str]) -> (bool, String) {
    let output = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new("node")
            .arg("node_modules/typescript/bin/tsc")
            .args(args)
            .current_dir(node_dir())
            .output(),
    )
    .await
    .expect("tsc timed out")
    .expect("node runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test]
async fn a_typed_socketio_client_compiles_strictly_and_runs_against_the_chat_example() {
    // Installs the npm packages if needed (tsc is one of them).
    run_node("check.mjs", &[]).await;
    let (compiled, out) = tsc(&["-p", "typed_client/tsconfig.json"]).await;
    assert!(compiled, "tsc --strict failed:\n{out}");

    let server = serve(apps::chat(SECRET)).await;
    let url = format!("http://{}", server.local_addr());
    let alice = mint_token(SECRET, "alice", None);
    let bob = mint_token(SECRET, "bob", None);
    let out = run_node(
        "typed_client/dist/client.js",
        &[&url, &alice, &bob, EXAMPLE_ROOM_ID],
    )
    .await;
    assert!(out.contains("typed client ok"), "{out}");
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_calls_do_not_compile() {
    run_node("check.mjs", &[]).await;
    for (file, error) in [
        ("wrong_event.ts", "TS2345: Argument of type '\"joinRoooom\"'"),
        (
            "wrong_payload.ts",
            "TS2345: Argument of type 'string' is not assignable to parameter of type 'SendMessageDto'",
        ),
        (
            "wrong_reply.ts",
            "TS2339: Property 'sent' does not exist on type 'Joined'",
        ),
    ] {
        let path = format!("typed_client/{file}");
        let (compiled, out) = tsc(&[
            "--strict",
            "--noEmit",
            "--target",
            "ES2022",
            "--module",
            "NodeNext",
            "--moduleResolution",
            "NodeNext",
            &path,
        ])
        .await;
        assert!(!compiled, "{file} compiled, but must not:\n{out}");
        assert!(out.contains(error), "{file}: expected {error}, got:\n{out}");
    }
}

/// Every event and payload the examples' end-to-end flows (chat_flow.mjs, socketio_flow.mjs,
/// dynamic_namespaces.mjs, notifications_flow.mjs, run as their own tests run them) send and receive is in the
/// documents, and validates against its schema.
#[tokio::test]
async fn the_end_to_end_traffic_matches_the_documents() {
    let traffic = tempfile::NamedTempFile::new().unwrap();
    let record = traffic.path().display().to_string();
    let env = [("GATEWAY_RECORD_TRAFFIC", record.as_str())];
    let patience = Duration::from_secs(60);

    let server = serve(apps::chat(SECRET)).await;
    let tokens: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|user| mint_token(SECRET, user, None))
        .collect();
    let ws_base = format!("ws://{}", server.local_addr());
    let out = run_node_with_env(
        "chat_flow.mjs",
        &[&ws_base, &tokens[0], &tokens[1]],
        &env,
        patience,
    )
    .await;
    assert!(out.contains("chat flow passed"), "{out}");
    let http_base = format!("http://{}", server.local_addr());
    let out = run_node_with_env(
        "socketio_flow.mjs",
        &[&http_base, &tokens[0], &tokens[1], &tokens[2]],
        &env,
        patience,
    )
    .await;
    assert!(out.contains("socket.io flow passed"), "{out}");
    let out = run_node_with_env(
        "dynamic_namespaces.mjs",
        &[&http_base, "example"],
        &env,
        patience,
    )
    .await;
    assert!(out.contains("dynamic namespaces example passed"), "{out}");
    server.shutdown().await;

    let bus = EventBus::new();
    let orders = OrdersService::new(bus.clone());
    let app = apps::notifications(bus).build().unwrap();
    let notifications = app.namespace("/notifications").unwrap();
    let server = gateway_tests::TestServer::serve(app, gateway_tests::Serving::from_env()).await;
    let url = ws_url(&server, "/notifications");
    let publish = async {
        wait_until("the three devices to join their rooms", || {
            notifications.room_size("user:42") == 2 && notifications.room_size("user:7") == 1
        })
        .await;
        orders.ship("1001", "42").await;
        orders.ship("2002", "7").await;
        tokio::spawn(orders.clone().run_deliveries(Duration::from_millis(20))).abort_handle()
    };
    let url_arg = [url.as_str()];
    let (out, timer) = tokio::join!(
        run_node_with_env("notifications_flow.mjs", &url_arg, &env, patience),
        publish
    );
    assert!(out.contains("notifications flow passed"), "{out}");
    timer.abort();
    server.shutdown().await;

    let (_dir, documents) = fresh_documents();
    let mut args = vec![record.as_str()];
    args.extend(documents.iter().map(String::as_str));
    let out = run_node("check_traffic.mjs", &args).await;
    println!("{out}");
    assert!(out.contains("traffic matches the documents"), "{out}");
}
