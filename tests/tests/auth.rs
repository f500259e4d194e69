//! Connection guards, JWT authentication (every failure path), roles, claims, and validation.

use std::time::{SystemTime, UNIX_EPOCH};

use gateway_core::jwt::{Claims, JwtAuthGuard, RoleGuard};
use gateway_core::pipeline::{connection_guard_fn, ConnectionContext};
use gateway_core::test::TestClient;
use gateway_core::validation::ValidationPipe;
use gateway_core::{gateway, GatewayApp, MessageBody, Socket};
use gateway_tests::{eio, raw_http, serve, upgrade_request, ws_url};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Value};
use validator::Validate;

const SECRET: &str = "test-secret";
const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/rsa_public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../fixtures/ec_public.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn hs256(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn valid_claims(sub: &str) -> Value {
    json!({"sub": sub, "exp": now() + 3600, "iss": "gateway-tests", "aud": "chat", "roles": ["member"]})
}

#[derive(Deserialize)]
struct User {
    sub: String,
}

/// Authenticated at the handshake; `whoami` reads the claims.
struct Secured;

#[gateway(namespace = "/secured")]
#[use_connection_guards(JwtAuthGuard::hs256(SECRET).with_issuer("gateway-tests").with_audience("chat"))]
impl Secured {
    #[subscribe_message("whoami")]
    async fn whoami(&self, Claims(user): Claims<User>) -> String {
        user.sub
    }

    #[subscribe_message("admin")]
    #[use_guards(RoleGuard::new("admin"))]
    async fn admin(&self) -> &'static str {
        "welcome"
    }

    #[subscribe_message("member")]
    #[use_guards(RoleGuard::any_of(["member", "admin"]))]
    async fn member(&self) -> &'static str {
        "hello member"
    }
}

async fn secured() -> gateway_tests::TestServer {
    serve(GatewayApp::builder().gateway(Secured)).await
}

async fn refused(server: &gateway_tests::TestServer, query: &str, headers: &str) -> (u16, Value) {
    let (status, text) = raw_http(
        server.local_addr(),
        &upgrade_request(&format!("/secured{query}"), headers),
    )
    .await;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_valid_token_connects_and_its_claims_are_extracted() {
    let server = secured().await;
    let token = hs256(valid_claims("alice"));
    let mut c = TestClient::connect(&ws_url(&server, &format!("/secured?token={token}"))).await;
    c.emit("whoami", ()).await;
    assert_eq!(c.recv().await, json!("alice"));
    // The same token in the Authorization header.
    let (status, _) = refused(&server, "", &format!("Authorization: Bearer {token}\r\n")).await;
    assert_eq!(status, 101);
}

/// Every kind of token the `Secured` gateway must refuse, named.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let mut cases = vec![
        ("bad signature", {
            let other = EncodingKey::from_secret(b"another-secret");
            encode(&Header::new(Algorithm::HS256), &valid_claims("eve"), &other).unwrap()
        }),
        (
            "expired",
            hs256(
                json!({"sub": "eve", "exp": now() - 3600, "iss": "gateway-tests", "aud": "chat"}),
            ),
        ),
        (
            "not yet valid",
            hs256(
                json!({"sub": "eve", "exp": now() + 7200, "nbf": now() + 3600, "iss": "gateway-tests", "aud": "chat"}),
            ),
        ),
        (
            "wrong audience",
            hs256(
                json!({"sub": "eve", "exp": now() + 3600, "iss": "gateway-tests", "aud": "other"}),
            ),
        ),
        (
            "wrong issuer",
            hs256(json!({"sub": "eve", "exp": now() + 3600, "iss": "someone-else", "aud": "chat"})),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    // alg "none": header {"alg":"none","typ":"JWT"}, an unsigned body.
    let b64 = |v: &Value| {
        use std::fmt::Write;
        let raw = v.to_string();
        let mut out = String::new();
        // base64url without padding, by hand to avoid another dependency.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for chunk in raw.as_bytes().chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                let _ = write!(out, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    cases.push((
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&valid_claims("eve"))
        ),
    ));
    cases.push((
        "RS256 where HS256 is expected",
        encode(
            &Header::new(Algorithm::RS256),
            &valid_claims("eve"),
            &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        )
        .unwrap(),
    ));
    cases
}

#[tokio::test]
async fn every_bad_token_is_refused_before_the_upgrade() {
    let server = secured().await;
    let unauthorized = json!({"status": "error", "message": "Unauthorized"});
    let invalid = json!({"status": "error", "message": "Invalid token"});
    assert_eq!(refused(&server, "", "").await, (401, unauthorized));

    let cases = bad_tokens();
    for (what, token) in cases {
        assert_eq!(
            refused(&server, &format!("?token={token}"), "").await,
            (401, invalid.clone()),
            "{what}"
        );
    }
}

#[tokio::test]
async fn roles_come_from_the_claims() {
    let server = secured().await;
    let token = hs256(valid_claims("alice"));
    let mut c = TestClient::connect(&ws_url(&server, &format!("/secured?token={token}"))).await;
    c.emit("admin", ()).await;
    assert_eq!(c.recv_event("exception").await["message"], "Forbidden");
    c.emit("member", ()).await;
    assert_eq!(c.recv().await, json!("hello member"));
}

/// RS256 and ES256 public keys; an HS256 token signed with the public key is refused.
#[tokio::test]
async fn asymmetric_keys_and_algorithm_confusion() {
    for (guard, good) in [
        (
            JwtAuthGuard::rs256_pem(RSA_PUBLIC).unwrap(),
            encode(
                &Header::new(Algorithm::RS256),
                &json!({"sub": "rsa", "exp": now() + 60}),
                &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
            )
            .unwrap(),
        ),
        (
            JwtAuthGuard::es256_pem(EC_PUBLIC).unwrap(),
            encode(
                &Header::new(Algorithm::ES256),
                &json!({"sub": "ec", "exp": now() + 60}),
                &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
            )
            .unwrap(),
        ),
    ] {
        assert!(guard.verify(&good).is_ok());
        let confused = encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "eve", "exp": now() + 60}),
            &EncodingKey::from_secret(RSA_PUBLIC),
        )
        .unwrap();
        assert_eq!(
            guard.verify(&confused).unwrap_err().message(),
            "Invalid token"
        );
    }
    assert!(JwtAuthGuard::rs256_pem(b"not a key").is_err());
}

/// A message-level JWT guard (NestJS `@UseGuards(WsJwtGuard)`), and connection guards from closures.
struct PerMessage;

#[derive(Clone)]
struct Tenant(String);

#[gateway(namespace = "/per-message")]
#[use_connection_guards(connection_guard_fn(|cx: ConnectionContext| async move {
    match cx.handshake().query("tenant") {
        Some("banned") => false,
        Some(tenant) => { cx.data().insert(Tenant(tenant.to_owned())); true }
        None => true,
    }
}))]
impl PerMessage {
    #[subscribe_message("open")]
    async fn open(&self, client: Socket) -> Option<String> {
        client.data().get::<Tenant>().map(|t| t.0)
    }

    #[subscribe_message("private")]
    #[use_guards(JwtAuthGuard::hs256(SECRET))]
    async fn private(&self, Claims(user): Claims<User>) -> String {
        format!("hi {}", user.sub)
    }
}

#[tokio::test]
async fn message_guards_and_closure_connection_guards() {
    let server = serve(GatewayApp::builder().gateway(PerMessage)).await;
    let (status, text) = raw_http(
        server.local_addr(),
        &upgrade_request("/per-message?tenant=banned", ""),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        text.ends_with(r#"{"message":"Forbidden resource","status":"error"}"#)
            || text.contains(r#""message":"Forbidden resource""#),
        "{text}"
    );

    // Data a connection guard stores is the socket's data.
    let mut c = TestClient::connect(&ws_url(&server, "/per-message?tenant=acme")).await;
    c.emit("open", ()).await;
    assert_eq!(c.recv().await, json!("acme"));
    // No token: the message guard refuses, the socket stays.
    c.emit("private", ()).await;
    assert_eq!(c.recv_event("exception").await["message"], "Unauthorized");

    let token = hs256(json!({"sub": "bob", "exp": now() + 60}));
    let mut c = TestClient::connect(&ws_url(&server, &format!("/per-message?token={token}"))).await;
    c.emit("private", ()).await;
    assert_eq!(c.recv().await, json!("hi bob"));
}

#[derive(Debug, Deserialize, Validate)]
struct Profile {
    #[validate(length(min = 2, max = 10))]
    name: String,
    #[validate(range(min = 0, max = 150))]
    age: u32,
    #[validate(nested)]
    address: Address,
}

#[derive(Debug, Deserialize, Validate)]
struct Address {
    #[validate(email)]
    contact: String,
}

struct Validated;

#[gateway(namespace = "/validated")]
#[use_pipes(ValidationPipe::new().with_forbid_unknown_fields(true))]
impl Validated {
    #[subscribe_message("profile")]
    async fn profile(&self, MessageBody(p): MessageBody<Profile>) -> String {
        format!("{} ({}) {}", p.name, p.age, p.address.contact)
    }

    #[subscribe_message("plain")]
    async fn plain(&self, #[message_body] p: Profile) -> u32 {
        p.age
    }
}

#[tokio::test]
async fn validation_errors_are_shaped_like_class_validator() {
    let server = serve(GatewayApp::builder().gateway(Validated)).await;
    let mut c = TestClient::connect(&ws_url(&server, "/validated")).await;
    let body = json!({"name": "a", "age": 200, "address": {"contact": "nope"}});
    c.emit("profile", &body).await;
    // As class-validator: declaration order, each error with its `target`.
    assert_eq!(
        c.recv_event("exception").await,
        json!([
            {"target": body, "property": "name", "value": "a", "constraints": {"minLength": "name must be longer than or equal to 2 characters"}, "children": []},
            {"target": body, "property": "age", "value": 200, "constraints": {"max": "age must not be greater than 150"}, "children": []},
            {"target": body, "property": "address", "value": {"contact": "nope"}, "children": [
                {"target": {"contact": "nope"}, "property": "contact", "value": "nope", "constraints": {"isEmail": "contact must be an email"}, "children": []}
            ]}
        ])
    );
    // Unknown fields are refused when configured; `#[message_body]` arguments are validated too.
    c.emit(
        "plain",
        json!({"name": "bob", "age": 3, "address": {"contact": "b@x.io"}, "admin": true}),
    )
    .await;
    let errors = c.recv_event("exception").await;
    assert_eq!(errors[0]["property"], "admin");
    assert_eq!(
        errors[0]["constraints"],
        json!({"whitelistValidation": "property admin should not exist"})
    );
    c.emit(
        "profile",
        json!({"name": "bob", "age": 3, "address": {"contact": "b@x.io"}}),
    )
    .await;
    assert_eq!(c.recv().await, json!("bob (3) b@x.io"));
}

#[derive(Debug, Deserialize, Validate)]
struct Nick {
    #[validate(length(max = 3))]
    nick: String,
}

struct WithTarget;

#[gateway(namespace = "/target")]
impl WithTarget {
    #[subscribe_message("nick")]
    #[use_pipes(ValidationPipe::new().with_target(false))]
    async fn nick(&self, MessageBody(n): MessageBody<Nick>) -> String {
        n.nick
    }
}

#[tokio::test]
async fn target_can_be_left_out() {
    let server = serve(GatewayApp::builder().gateway(WithTarget)).await;
    let mut c = TestClient::connect(&ws_url(&server, "/target")).await;
    c.emit("nick", json!({"nick": "longer"})).await;
    let errors = c.recv_event("exception").await;
    assert!(errors[0].get("target").is_none());
    assert_eq!(
        errors[0]["constraints"],
        json!({"maxLength": "nick must be shorter than or equal to 3 characters"})
    );
}

#[tokio::test]
async fn hand_written_handlers_validate_with_validated() {
    use gateway_core::validation::Validated;
    use gateway_core::{Gateway, GatewayBuilder, GatewayOptions};

    struct ByHand;
    impl Gateway for ByHand {
        fn options(&self) -> GatewayOptions {
            GatewayOptions::new("/by-hand")
        }
        fn register(self: std::sync::Arc<Self>, gateway: &mut GatewayBuilder) {
            gateway.on(
                "nick",
                |Validated(n): Validated<Nick>| async move { n.nick },
            );
        }
    }
    let server = serve(GatewayApp::builder().gateway(ByHand)).await;
    let mut c = TestClient::connect(&ws_url(&server, "/by-hand")).await;
    c.emit("nick", json!({"nick": "toolong"})).await;
    assert_eq!(
        c.recv_event("exception").await,
        json!([{"target": {"nick": "toolong"}, "value": "toolong", "property": "nick", "constraints": {"maxLength": "nick must be shorter than or equal to 3 characters"}, "children": []}])
    );
    c.emit("nick", json!({"nick": "bo"})).await;
    assert_eq!(c.recv().await, json!("bo"));
}

/// What a Socket.IO client gets for a CONNECT to `/secured` carrying `auth`.
async fn socketio_connect(server: &gateway_tests::TestServer, auth: &Value) -> String {
    let mut ws = eio::open(server.local_addr(), "/socket.io/?EIO=4&transport=websocket").await;
    assert!(
        eio::next(&mut ws).await.text().starts_with('0'),
        "the open packet"
    );
    eio::send(&mut ws, &format!("40/secured,{auth}")).await;
    eio::next_skipping_pings(&mut ws).await.text()
}

#[tokio::test]
async fn every_bad_token_is_refused_over_the_socketio_connect() {
    let server = secured().await;
    let answer = socketio_connect(&server, &json!({"token": hs256(valid_claims("ann"))})).await;
    assert!(answer.starts_with("40/secured,{\"sid\":"), "{answer}");
    assert_eq!(
        socketio_connect(&server, &json!({})).await,
        r#"44/secured,{"message":"Unauthorized"}"#
    );
    for (what, token) in bad_tokens() {
        assert_eq!(
            socketio_connect(&server, &json!({ "token": token })).await,
            r#"44/secured,{"message":"Invalid token"}"#,
            "{what}"
        );
    }
    server.shutdown().await;
}
