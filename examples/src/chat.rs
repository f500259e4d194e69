//! Guide 000's `ChatGateway` (namespace `/chat`) with its `AuthenticatedGateway`,
//! `ValidatedGateway` and `ProtectedGateway` behaviour, and a service that emits from outside it.
//!
//! - Connecting needs a JWT signed with `JWT_SECRET` (`Authorization: Bearer …` or `?token=…`;
//!   `cargo run --example mint_token -- alice` makes one). Without a valid one the client gets
//!   `error {message: "Authentication failed"}` and is disconnected. With one, the claims are the
//!   socket's [`User`] and the socket joins `user:{sub}`.
//! - `sendMessage` is validated against the guide's [`SendMessageDto`].
//! - `adminAction` needs the `admin` role.

use gateway_core::jwt::{Claims, JwtAuthGuard, RoleGuard, TokenSource};
use gateway_core::validation::ValidationPipe;
use gateway_core::{gateway, EmitError, Handshake, MessageBody, Namespace, Socket};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

use crate::common::{AllWsExceptionsFilter, WsLoggingInterceptor};
use crate::iso_timestamp;

/// A room id that passes `sendMessage`'s UUID rule: the room the printed hints, the README and
/// the browser demo use, so clients of all three meet in it.
pub const EXAMPLE_ROOM_ID: &str = "6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f";

/// The guide's `ChatGateway`.
#[derive(Debug, Clone)]
pub struct ChatGateway {
    auth: JwtAuthGuard,
}

impl ChatGateway {
    /// A chat gateway accepting tokens signed with `jwt_secret` as `@nestjs/jwt`'s `verifyAsync`
    /// does (HS256, HS384 or HS512, `exp` optional, no clock leeway), looked for where the guide's
    /// `extractToken` looks: `Authorization: Bearer …`, then `?token=`, then (Socket.IO) the
    /// CONNECT packet's `auth.token`.
    pub fn new(jwt_secret: &str) -> Self {
        Self {
            auth: chat_auth(jwt_secret),
        }
    }
}

/// The guard [`ChatGateway`] authenticates with, for other entry points (a REST route) to accept
/// the same tokens.
pub fn chat_auth(jwt_secret: &str) -> JwtAuthGuard {
    JwtAuthGuard::hmac(jwt_secret)
        .with_leeway(0)
        .with_exp_required(false)
        .with_token_sources([
            TokenSource::AuthorizationHeader,
            TokenSource::Query("token".into()),
            TokenSource::AuthPayload,
        ])
}

/// The user a socket acts as (`client.data.user`): the token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// The user id (`sub`), as the token carries it: usually a string, but `@nestjs/jwt` accepts
    /// any JSON value, or none.
    #[serde(default)]
    pub sub: Option<Value>,
    /// The user's role, if any.
    #[serde(default)]
    pub role: Option<Value>,
}

impl User {
    /// `sub` as a JavaScript template literal shows it (`user:${payload.sub}`).
    pub fn sub_text(&self) -> String {
        match &self.sub {
            None => "undefined".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            Some(Value::Object(_)) => "[object Object]".to_owned(),
            Some(other) => other.to_string(),
        }
    }
}

/// The guide's `SendMessageDto`: `roomId` a UUID, `message` a non-empty string of at most 1000
/// characters.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageDto {
    /// The room to send to (`@IsUUID()`).
    #[validate(custom(function = "gateway_core::validation::is_uuid"))]
    #[schemars(extend("format" = "uuid"))]
    pub room_id: String,
    /// The text (`@IsString() @IsNotEmpty() @MaxLength(1000)`).
    #[validate(
        custom(function = "gateway_core::validation::is_string"),
        custom(function = "gateway_core::validation::is_not_empty"),
        length(max = 1000)
    )]
    #[schemars(extend("minLength" = 1))]
    pub message: String,
}

/// `adminAction` reply: `{ success: true }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Success {
    /// Always `true`.
    pub success: bool,
}

/// `userJoined` / `userLeft` data: `{ userId, roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomEvent {
    /// Who joined or left (absent for a token without `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Value>,
    /// Which room.
    pub room_id: String,
}

/// `newMessage` data: `{ userId, message, timestamp }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    /// The sender (absent for a token without `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Value>,
    /// The text.
    pub message: String,
    /// When the server relayed it, ISO 8601.
    pub timestamp: String,
}

/// `error` data when a connection is refused: `{ message: "Authentication failed" }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct ConnectionError {
    /// Why.
    pub message: String,
}

/// `joinRoom` reply: `{ joined: roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Joined {
    /// The room joined.
    pub joined: String,
}

/// `leaveRoom` reply: `{ left: roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Left {
    /// The room left.
    pub left: String,
}

/// `sendMessage` reply: `{ sent: true }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Sent {
    /// Always `true`.
    pub sent: bool,
}

fn user_id(client: &Socket) -> Option<Value> {
    client.data().get::<User>().and_then(|u| u.sub)
}

#[gateway(namespace = "/chat")]
#[use_interceptors(WsLoggingInterceptor)]
impl ChatGateway {
    /// The guide's `AuthenticatedGateway.handleConnection`.
    #[emits("error" = ConnectionError)]
    fn handle_connection(&self, client: Socket, handshake: Handshake) {
        let user = self
            .auth
            .token(&handshake)
            .ok_or("No token provided")
            .and_then(|token| self.auth.verify(token).map_err(|_| "Invalid token"))
            .and_then(|claims| {
                let user: User =
                    serde_json::from_value(claims.0.clone()).map_err(|_| "Invalid claims")?;
                Ok((claims, user))
            });
        match user {
            Ok((claims, user)) => {
                client.join(format!("user:{}", user.sub_text()));
                client.data().insert(claims);
                client.data().insert(user);
            }
            Err(reason) => {
                tracing::debug!(reason, "authentication failed");
                let _ = client.emit(
                    "error",
                    &ConnectionError {
                        message: "Authentication failed".to_owned(),
                    },
                );
                client.disconnect();
            }
        }
    }

    /// Joins `room:{roomId}`, tells the room (sender included), replies `{ joined }`.
    #[subscribe_message("joinRoom")]
    #[emits("userJoined" = RoomEvent)]
    async fn handle_join_room(
        &self,
        MessageBody(room_id): MessageBody<String>,
        client: Socket,
    ) -> Joined {
        let room = format!("room:{room_id}");
        client.join(room.as_str());
        let event = RoomEvent {
            user_id: user_id(&client),
            room_id: room_id.clone(),
        };
        let _ = client.namespace().to(room).emit("userJoined", &event);
        Joined { joined: room_id }
    }

    /// Leaves `room:{roomId}`, tells the rest of the room, replies `{ left }`.
    #[subscribe_message("leaveRoom")]
    #[emits("userLeft" = RoomEvent)]
    async fn handle_leave_room(
        &self,
        MessageBody(room_id): MessageBody<String>,
        client: Socket,
    ) -> Left {
        let room = format!("room:{room_id}");
        client.leave(room.as_str());
        let event = RoomEvent {
            user_id: user_id(&client),
            room_id: room_id.clone(),
        };
        let _ = client.namespace().to(room).emit("userLeft", &event);
        Left { left: room_id }
    }

    /// Validates the body, relays `newMessage` to the room except the sender, replies `{ sent: true }`.
    #[subscribe_message("sendMessage")]
    #[emits("newMessage" = NewMessage)]
    #[use_pipes(ValidationPipe::new())]
    async fn handle_send_message(
        &self,
        MessageBody(data): MessageBody<SendMessageDto>,
        client: Socket,
    ) -> Result<Sent, EmitError> {
        let payload = NewMessage {
            user_id: user_id(&client),
            message: data.message,
            timestamp: iso_timestamp(),
        };
        client
            .to(format!("room:{}", data.room_id))
            .emit("newMessage", &payload)?;
        Ok(Sent { sent: true })
    }

    /// The guide's `ProtectedGateway.adminAction`: authenticated, `admin` role, errors shaped by
    /// the guide's `AllWsExceptionsFilter`.
    #[subscribe_message("adminAction")]
    #[use_guards(self.auth.clone(), RoleGuard::new("admin"))]
    #[use_filters(AllWsExceptionsFilter)]
    async fn handle_admin_action(&self, Claims(user): Claims<User>) -> Success {
        tracing::info!("admin action by {}", user.sub_text());
        Success { success: true }
    }
}

/// The claims the chat example's tokens carry.
#[derive(Debug, Serialize)]
pub struct TokenClaims<'a> {
    /// The user id.
    pub sub: &'a str,
    /// The role, e.g. `admin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'a str>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// An HS256 token for `sub` (and `role`), valid for an hour: what `mint_token` prints.
pub fn mint_token(secret: &str, sub: &str, role: Option<&str>) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let claims = TokenClaims { sub, role, exp };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// Emits into `/chat` from outside the gateway (the guide's `broadcastToRoom` / `sendToUser`).
#[derive(Debug, Clone)]
pub struct ChatService {
    server: Namespace,
}

impl ChatService {
    /// A service over the `/chat` namespace.
    pub fn new(server: Namespace) -> Self {
        Self { server }
    }

    /// Sends `event` to everyone in `room:{room_id}`.
    pub fn broadcast_to_room<T: Serialize>(
        &self,
        room_id: &str,
        event: &str,
        data: &T,
    ) -> Result<usize, EmitError> {
        self.server.to(format!("room:{room_id}")).emit(event, data)
    }

    /// Sends `event` to every socket of user `user_id` (room `user:{user_id}`).
    pub fn send_to_user<T: Serialize>(
        &self,
        user_id: &str,
        event: &str,
        data: &T,
    ) -> Result<usize, EmitError> {
        self.server.to(format!("user:{user_id}")).emit(event, data)
    }
}
