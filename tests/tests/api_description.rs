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
    // Other paths still get NestJS's 404.
    let (status, body) = gateway_tests::raw_http(
        server.local_addr(),
        "GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(r#""message":"Cannot GET /nope""#), "{body}");
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

/// Shapes the examples do not have: events whose keys collide, properties that may be
/// missing, a type whose schema differs by direction (and one that refers to it), an untagged
/// enum, a flattened map, a tuple, a JSON-format path of its own, another port, a regex
/// namespace and a connection guard.
mod edge {
    use std::collections::HashMap;

    use gateway_core::jwt::JwtAuthGuard;
    use gateway_core::{gateway, MessageBody};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, JsonSchema)]
    pub struct Inner {
        /// Optional when read, always written.
        #[serde(default)]
        pub note: String,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    pub struct Outer {
        pub inner: Inner,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(untagged)]
    pub enum Choice {
        Number(u32),
        Text(String),
    }

    /// `validator` rules that schemars turns into keywords.
    #[derive(Deserialize, validator::Validate, JsonSchema)]
    pub struct Signup {
        #[validate(email)]
        pub email: String,
        #[validate(range(min = 13, max = 130))]
        pub age: u32,
        #[validate(length(min = 2, max = 32))]
        pub name: String,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    pub struct Flat {
        pub name: String,
        #[serde(flatten)]
        pub extra: HashMap<String, u32>,
    }

    pub struct EdgeGateway;

    #[gateway(namespace = "/edge", path = "/edge-json", port = 4801)]
    #[use_connection_guards(JwtAuthGuard::hmac("edge"))]
    impl EdgeGateway {
        #[subscribe_message("room:join")]
        #[emits("room:join" = Inner)]
        async fn colon(&self, MessageBody(outer): MessageBody<Outer>) -> Outer {
            outer
        }

        #[subscribe_message("room_join")]
        async fn underscore(
            &self,
            #[message_body("id")] _id: u32,
            #[message_body("note")] _note: Option<String>,
        ) -> Option<Choice> {
            None
        }

        #[subscribe_message("signup")]
        async fn signup(&self, MessageBody(_signup): MessageBody<Signup>) {}

        #[subscribe_message("flat")]
        async fn flat(&self, MessageBody(flat): MessageBody<Flat>) -> Vec<(u32, String)> {
            vec![(flat.extra.len() as u32, flat.name)]
        }
    }

    /// A payload type that takes the name of the default filter's schema.
    #[derive(Serialize, JsonSchema)]
    pub struct WsException {
        pub code: u32,
    }

    pub struct TenantGateway;

    #[gateway(namespace_regex = "^/tenant-(?<id>[0-9]+)$")]
    #[emits("oops" = WsException)]
    impl TenantGateway {
        #[subscribe_message("hello")]
        async fn hello(&self) {}
    }
}

fn edge_app() -> GatewayApp {
    GatewayApp::builder()
        .gateway(edge::EdgeGateway)
        .gateway(edge::TenantGateway)
        .with_socketio_path("/realtime/")
        .build()
        .unwrap()
}

#[test]
fn unusual_shapes_are_described_without_collisions() {
    let document = edge_app().asyncapi();
    let channels = document["channels"].as_object().unwrap();
    let keys: Vec<&String> = channels.keys().collect();
    assert_eq!(keys, ["tenant-_id_0-9", "edge", "edge_json"]);
    assert_eq!(channels["edge_json"]["address"], "/edge-json");
    assert_eq!(
        channels["tenant-_id_0-9"]["address"],
        serde_json::Value::Null
    );
    assert_eq!(
        document["servers"]["socketio_4801"]["pathname"],
        "/realtime/"
    );
    // "room:join" and "room_join" keep their own messages.
    let messages = channels["edge"]["messages"].as_object().unwrap();
    assert_eq!(messages["room_join"]["name"], "room:join");
    assert_eq!(messages["room_join_2"]["name"], "room_join");
    assert_eq!(messages["room_join.sent"]["name"], "room:join"); // the emitted one
    assert_eq!(
        document["operations"]["edge_receive_room_join_2"]["messages"][0]["$ref"],
        "#/channels/edge/messages/room_join_2"
    );
    // A property whose type admits null may be missing.
    assert_eq!(
        messages["room_join_2"]["payload"]["required"],
        serde_json::json!(["id"])
    );
    // Inner is read with `note` optional and written with it: two schemas, and Outer, which
    // refers to it, too.
    let schemas = &document["components"]["schemas"];
    assert!(
        schemas["Inner"]["required"].is_null(),
        "{}",
        schemas["Inner"]
    );
    assert_eq!(schemas["InnerOut"]["required"], serde_json::json!(["note"]));
    assert_eq!(
        schemas["OuterOut"]["properties"]["inner"]["$ref"],
        "#/components/schemas/InnerOut"
    );
    assert_eq!(
        messages["room_join.reply"]["payload"]["$ref"],
        "#/components/schemas/OuterOut"
    );
    // The validator rules are schema keywords.
    let signup = &schemas["Signup"]["properties"];
    assert_eq!(signup["email"]["format"], "email");
    assert_eq!(signup["age"]["minimum"], 13);
    assert_eq!(signup["age"]["maximum"], 130);
    assert_eq!(signup["name"]["minLength"], 2);
    assert_eq!(signup["name"]["maxLength"], 32);
    // The default filter's schema steps aside for a payload type of the same name.
    assert_eq!(
        schemas["WsException"]["required"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        messages["exception"]["payload"]["$ref"],
        "#/components/schemas/GatewayWsException"
    );
    // The JSON-format channel has no Socket.IO auth.
    let security = &document["operations"]["edge_json_receive_flat"]["security"];
    assert_eq!(
        security,
        &serde_json::json!([
            {"$ref": "#/components/securitySchemes/bearerHeader"},
            {"$ref": "#/components/securitySchemes/queryToken_token"}
        ])
    );
}

#[tokio::test]
async fn unusual_shapes_validate_and_their_types_compile() {
    let app = edge_app();
    let dir = tempfile::tempdir().unwrap();
    let document = dir.path().join("edge.asyncapi.json");
    std::fs::write(&document, document_text(&app)).unwrap();
    let out = run_node("asyncapi_validate.mjs", &[&document.display().to_string()]).await;
    assert!(
        out.contains("edge.asyncapi.json: valid AsyncAPI 3.0.0"),
        "{out}"
    );

    let types = dir.path().join("edge.d.ts");
    std::fs::write(&types, app.typescript()).unwrap();
    let (compiled, out) = tsc(&["--strict", "--noEmit", &types.display().to_string()]).await;
    assert!(compiled, "{out}\n{}", app.typescript());
}
