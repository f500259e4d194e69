//! Guides 002/003's `NotificationsGateway` (namespace `/notifications`) and the service that
//! pushes `notification` events to one user's devices or to everyone; and, as guide 002's
//! `@nestjs/event-emitter` section, an [`OrdersService`] that publishes order events on the
//! [`EventBus`], which the gateway's `#[on_event("order.*")]` handler pushes to the user's room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gateway_core::{gateway, EmitError, EventBus, MessageBody, Namespace, Socket};
use serde::{Deserialize, Serialize};

/// The guide's `NotificationsGateway`: sockets join `user:{userId}`.
#[derive(Debug, Default, Clone)]
pub struct NotificationsGateway {
    /// socket id → user id, as the guide's `connectedUsers` map.
    connected_users: Arc<Mutex<HashMap<String, String>>>,
    /// The namespace, kept by `after_init` for the bus event handlers (NestJS's
    /// `@WebSocketServer() server`).
    server: Arc<OnceLock<Namespace>>,
}

/// A user id as clients send it: a string or a number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinDto {
    /// The user whose notifications this socket wants.
    pub user_id: UserId,
}

/// `joined` data: `{ message: "Connected to notifications" }`, and `notification` data from
/// [`NotificationsService::broadcast_notification`] and from order events (`"Order 1001
/// shipped"`).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
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

/// The payload of `order.shipped` and `order.delivered`, published by [`OrdersService`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEvent {
    /// The order.
    pub order_id: String,
    /// Whose order it is: the gateway tells the room `user:{userId}`.
    pub user_id: String,
}

#[gateway(namespace = "/notifications", cors = ["http://localhost:4200"])]
impl NotificationsGateway {
    fn after_init(&self, server: Namespace) {
        // Runs once, before the app subscribes `on_order_event`.
        let _ = self.server.set(server);
    }

    fn handle_connection(&self, client: Socket) {
        tracing::info!("Client connected: {}", client.id());
    }

    fn handle_disconnect(&self, client: Socket) {
        self.users().remove(client.id().as_str());
        tracing::info!("Client disconnected: {}", client.id());
    }

    /// Joins `user:{userId}` and answers with the `joined` event.
    #[subscribe_message("join")]
    #[emits("joined" = Notice)]
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

    /// Tells a user about their orders: each `order.*` event (`order.shipped` from
    /// [`OrdersService::ship`], `order.delivered` from its delivery timer) becomes a
    /// `notification` `{ message: "Order 1001 shipped" }` to every device in `user:{userId}`.
    #[on_event("order.*")]
    #[emits("notification" = Notice)]
    async fn on_order_event(
        &self,
        order: OrderEvent,
        event: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let server = self.server.get().ok_or("after_init has not run")?;
        let status = event.strip_prefix("order.").unwrap_or(event);
        server.to(format!("user:{}", order.user_id)).emit(
            "notification",
            &Notice {
                message: format!("Order {} {status}", order.order_id),
            },
        )?;
        Ok(())
    }
}

/// Ships and delivers orders, and says so on the [`EventBus`] (`order.shipped`,
/// `order.delivered`); it knows nothing of sockets. Guide 002's `BooksService`, which emits
/// `book.created` through `EventEmitter2`.
///
/// ```
/// use gateway_core::{EventBus, GatewayApp};
/// use gateway_examples::notifications::{NotificationsGateway, OrdersService};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bus = EventBus::new();
/// let app = GatewayApp::builder()
///     .with_event_bus(bus.clone())
///     .gateway(NotificationsGateway::default())
///     .build()?;
/// let orders = OrdersService::new(bus);
/// let gateways = app.start().await?; // subscribes the gateway's `order.*` handler
/// assert_eq!(orders.ship("1001", "42").await, 1); // user 42's devices get "Order 1001 shipped"
/// assert_eq!(orders.deliver_shipped(), 1); // and then "Order 1001 delivered"
/// gateways.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OrdersService {
    bus: EventBus,
    /// Shipped and not yet delivered.
    in_transit: Arc<Mutex<Vec<OrderEvent>>>,
}

impl OrdersService {
    /// A service publishing on `bus`.
    pub fn new(bus: EventBus) -> Self {
        Self {
            bus,
            in_transit: Arc::default(),
        }
    }

    /// Ships `order_id` of `user_id`: publishes `order.shipped` and waits for its handlers, so
    /// the user hears of the shipment before the delivery timer can deliver the order. Returns
    /// how many handlers the event reached.
    pub async fn ship(&self, order_id: &str, user_id: &str) -> usize {
        let order = OrderEvent {
            order_id: order_id.to_owned(),
            user_id: user_id.to_owned(),
        };
        let reached = self
            .bus
            .publish_and_wait("order.shipped", order.clone())
            .await;
        self.orders_in_transit().push(order);
        reached
    }

    /// Delivers every order in transit, publishing `order.delivered` for each; returns how many.
    pub fn deliver_shipped(&self) -> usize {
        let delivered = std::mem::take(&mut *self.orders_in_transit());
        for order in &delivered {
            self.bus.publish("order.delivered", order.clone());
        }
        delivered.len()
    }

    /// The delivery timer: [`deliver_shipped`](Self::deliver_shipped) every `period`, until the
    /// task running it is dropped.
    pub async fn run_deliveries(self, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.deliver_shipped();
        }
    }

    fn orders_in_transit(&self) -> std::sync::MutexGuard<'_, Vec<OrderEvent>> {
        self.in_transit.lock().unwrap_or_else(|e| e.into_inner())
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
