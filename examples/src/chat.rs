//! Guide 000's `ChatGateway` (namespace `/chat`) and a service that emits from outside it.
//!
//! Until authentication lands, a user's id is their socket id (the guide reads
//! `client.data.user.sub`; [`User`] stands in for it).

use gateway_core::{gateway, EmitError, MessageBody, Namespace, Socket};
use serde::{Deserialize, Serialize};

use crate::iso_timestamp;

/// The guide's `ChatGateway`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChatGateway;

/// The user a socket acts as (`client.data.user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user id (`sub`).
    pub sub: String,
}

/// `userJoined` / `userLeft` data: `{ userId, roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoomEvent {
    /// Who joined or left.
    pub user_id: String,
    /// Which room.
    pub room_id: String,
}

/// `sendMessage` body: `{ roomId, message }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    /// The room to send to.
    pub room_id: String,
    /// The text.
    pub message: String,
}

/// `newMessage` data: `{ userId, message, timestamp }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    /// The sender.
    pub user_id: String,
    /// The text.
    pub message: String,
    /// When the server relayed it, ISO 8601.
    pub timestamp: String,
}

/// `joinRoom` reply: `{ joined: roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Joined {
    /// The room joined.
    pub joined: String,
}

/// `leaveRoom` reply: `{ left: roomId }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Left {
    /// The room left.
    pub left: String,
}

/// `sendMessage` reply: `{ sent: true }`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sent {
    /// Always `true`.
    pub sent: bool,
}

fn user_id(client: &Socket) -> String {
    client
        .data()
        .get::<User>()
        .map_or_else(|| client.id().to_string(), |u| u.sub)
}

#[gateway(namespace = "/chat")]
impl ChatGateway {
    fn handle_connection(&self, client: Socket) {
        client.data().insert(User {
            sub: client.id().to_string(),
        });
    }

    /// Joins `room:{roomId}`, tells the room (sender included), replies `{ joined }`.
    #[subscribe_message("joinRoom")]
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

    /// Relays `newMessage` to the room except the sender, replies `{ sent: true }`.
    #[subscribe_message("sendMessage")]
    async fn handle_send_message(
        &self,
        MessageBody(data): MessageBody<SendMessage>,
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
