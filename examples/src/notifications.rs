//! Guides 002/003's `NotificationsGateway` (namespace `/notifications`) and the service that
//! pushes `notification` events to one user's devices or to everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gateway_core::{gateway, EmitError, MessageBody, Namespace, Socket};
use serde::{Deserialize, Serialize};

/// The guide's `NotificationsGateway`: sockets join `user:{userId}`.
#[derive(Debug, Default, Clone)]
pub struct NotificationsGateway {
    /// socket id → user id, as the guide's `connectedUsers` map.
    connected_users: Arc<Mutex<HashMap<String, String>>>,
}

/// A user id as clients send it: a string or a number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum UserId {
    /// `"42"`
    Text(String),
    /// `42`
    Number(i64),
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserId::Text(s) => f.write_str(s),
            UserId::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `join` body: `{ userId }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinDto {
    /// The user whose notifications this socket wants.
    pub user_id: UserId,
}

/// `joined` data: `{ message: "Connected to notifications" }`, and `notification` data from
/// [`NotificationsService::broadcast_notification`].
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub message: String,
}

impl NotificationsGateway {
    /// How many sockets have joined as some user.
    pub fn connected_count(&self) -> usize {
        self.users().len()
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.connected_users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[gateway(namespace = "/notifications", cors = ["http://localhost:4200"])]
impl NotificationsGateway {
    fn handle_connection(&self, client: Socket) {
        tracing::info!("Client connected: {}", client.id());
    }

    fn handle_disconnect(&self, client: Socket) {
        self.users().remove(client.id().as_str());
        tracing::info!("Client disconnected: {}", client.id());
    }

    /// Joins `user:{userId}` and answers with the `joined` event.
    #[subscribe_message("join")]
    async fn handle_join(
        &self,
        MessageBody(data): MessageBody<JoinDto>,
        client: Socket,
    ) -> Result<(), EmitError> {
        let user_id = data.user_id.to_string();
        self.users()
            .insert(client.id().to_string(), user_id.clone());
        client.join(format!("user:{user_id}"));
        client.emit(
            "joined",
            &Notice {
                message: "Connected to notifications".into(),
            },
        )
    }
}

/// Pushes notifications from anywhere in the app (a REST handler, a queue consumer, …).
#[derive(Debug, Clone)]
pub struct NotificationsService {
    server: Namespace,
}

impl NotificationsService {
    /// A service over the `/notifications` namespace.
    pub fn new(server: Namespace) -> Self {
        Self { server }
    }

    /// Sends `event` to every device of `user_id`; returns how many sockets it reached.
    pub fn send_to_user<T: Serialize + ?Sized>(
        &self,
        user_id: &str,
        event: &str,
        payload: &T,
    ) -> Result<usize, EmitError> {
        self.server
            .to(format!("user:{user_id}"))
            .emit(event, payload)
    }

    /// Sends a `notification` to each of `user_ids`, once per socket even if it is in several.
    pub fn send_to_users<T: Serialize + ?Sized>(
        &self,
        user_ids: &[&str],
        notification: &T,
    ) -> Result<usize, EmitError> {
        let rooms: Vec<String> = user_ids.iter().map(|id| format!("user:{id}")).collect();
        self.server.to(rooms).emit("notification", notification)
    }

    /// Sends `notification` `{ message }` to every connected socket.
    pub fn broadcast_notification(&self, message: &str) -> Result<usize, EmitError> {
        self.server.emit(
            "notification",
            &Notice {
                message: message.to_owned(),
            },
        )
    }
}

/// Runs one line typed into `cargo run --example notifications`: `user <id> <text>` sends
/// `notification {message: text}` to every device of user `id`, `all <text>` sends it to
/// everyone. Returns what to print: how many sockets it reached, or how to use it.
///
/// ```no_run
/// # fn run(service: gateway_examples::notifications::NotificationsService) {
/// use gateway_examples::notifications::console_command;
/// println!("{}", console_command(&service, "user 42 Your order shipped"));
/// # }
/// ```
pub fn console_command(service: &NotificationsService, line: &str) -> String {
    let sent = match line.split_once(' ') {
        Some(("all", text)) => service.broadcast_notification(text),
        Some(("user", rest)) => match rest.split_once(' ') {
            Some((user, text)) => service.send_to_user(
                user,
                "notification",
                &Notice {
                    message: text.to_owned(),
                },
            ),
            None => return CONSOLE_USAGE.to_owned(),
        },
        _ => return CONSOLE_USAGE.to_owned(),
    };
    match sent {
        Ok(n) => format!("sent to {n} socket(s)"),
        Err(err) => format!("failed: {err}"),
    }
}

const CONSOLE_USAGE: &str = r#"usage: "user <id> <text>" or "all <text>""#;
