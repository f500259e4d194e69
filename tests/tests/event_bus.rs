//! The event bus end to end: a service publishes, gateways' `#[on_event]` handlers run, and the
//! user's room gets the notification over a real npm `ws` client; handler failures are logged
//! while the other handlers still run.

use std::time::Duration;

use gateway_core::test::TestClient;
use gateway_core::{gateway, EventBus, GatewayApp, MessageBody, Namespace, Socket, State};
use gateway_examples::notifications::{NotificationsGateway, OrderEvent, OrdersService};
use gateway_tests::{capture_logs, run_node, serve, wait_until, ws_url, Serving, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A refund: not the shape of an order event.
#[derive(Debug, Clone, Deserialize)]
#[allow(dead_code)]
struct Refund {
    amount_cents: u64,
}

/// A second gateway on the bus whose handlers all fail, each in its own way.
struct FlakyAuditGateway;

#[gateway(namespace = "/audit")]
impl FlakyAuditGateway {
    /// Exact pattern, `Err`.
    #[on_event("order.shipped")]
    async fn store_shipment(&self, order: OrderEvent) -> Result<(), String> {
        Err(format!(
            "audit store unavailable for order {}",
            order.order_id
        ))
    }

    /// Multi-level wildcard, panics.
    #[on_event("order.**")]
    async fn index_order(&self, order: OrderEvent) {
        panic!("search index corrupted at order {}", order.order_id)
    }

    /// Asks for a payload type the event does not convert to.
    #[on_event("order.shipped")]
    async fn record_refund(&self, _refund: Refund) {}
}

#[tokio::test]
async fn a_published_order_reaches_the_users_room_and_failing_handlers_are_logged() {
    let logs = capture_logs();
    let bus = EventBus::new();
    let orders = OrdersService::new(bus.clone());
    let app = GatewayApp::builder()
        .with_event_bus(bus)
        .gateway(NotificationsGateway::default())
        .gateway(FlakyAuditGateway)
        .build()
        .unwrap();
    let notifications = app.namespace("/notifications").unwrap();
    let server = TestServer::serve(app, Serving::from_env()).await;
    let url = ws_url(&server, "/notifications");
    let publish = async {
        // Two devices of user 42, one of user 7, each in its room before anything is published.
        wait_until("the three devices to join their rooms", || {
            notifications.room_size("user:42") == 2 && notifications.room_size("user:7") == 1
        })
        .await;
        // `ship` waits for the handlers: the notifications gateway's `order.*` and the three
        // failing ones.
        assert_eq!(orders.ship("1001", "42").await, 4);
        assert_eq!(orders.ship("2002", "7").await, 4);
        // The delivery timer publishes `order.delivered`, which `order.*` also matches.
        tokio::spawn(orders.clone().run_deliveries(Duration::from_millis(20))).abort_handle()
    };
    let node_args = [url.as_str()];
    let (out, timer) = tokio::join!(run_node("notifications_flow.mjs", &node_args), publish);
    assert!(out.contains("notifications flow passed"), "{out}");
    timer.abort();

    // Each failure is logged with the event, the pattern, the gateway, the handler and why.
    let failed = logs
        .wait_for_line(&[
            "ERROR",
            "event handler failed",
            "handler=\"store_shipment\"",
            "audit store unavailable for order 1001",
        ])
        .await;
    assert!(failed.contains("event=\"order.shipped\""), "{failed}");
    assert!(failed.contains("pattern=\"order.shipped\""), "{failed}");
    assert!(failed.contains("FlakyAuditGateway"), "{failed}");
    logs.wait_for_line(&[
        "ERROR",
        "event handler panicked",
        "handler=\"index_order\"",
        "search index corrupted at order 2002",
    ])
    .await;
    let mismatch = logs
        .wait_for_line(&["ERROR", "event handler failed", "handler=\"record_refund\""])
        .await;
    assert!(
        mismatch.contains("carries a `gateway_examples::notifications::OrderEvent`, which does not convert to the handler's `event_bus::Refund`: missing field `amount_cents`"),
        "{mismatch}"
    );
    server.shutdown().await;
}

/// Lets clients publish through the bus from app state, and confirms what it publishes.
#[derive(Default)]
struct ShopGateway {
    server: std::sync::OnceLock<Namespace>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderPlaced {
    order_id: u64,
    socket_id: String,
}

#[gateway(namespace = "/shop")]
impl ShopGateway {
    /// A client message publishes an event through the bus it takes from app state...
    #[subscribe_message("placeOrder")]
    async fn place_order(
        &self,
        client: Socket,
        MessageBody(order_id): MessageBody<u64>,
        State(bus): State<EventBus>,
    ) -> usize {
        let placed = OrderPlaced {
            order_id,
            socket_id: client.id().to_string(),
        };
        bus.publish("order.placed", placed)
    }

    /// ...which a handler on an exact pattern sends back to that client (in the room named by
    /// its id), through the namespace `after_init` kept: bus handlers take no extractors.
    #[on_event("order.placed")]
    async fn confirm(&self, order: OrderPlaced) -> Result<(), String> {
        let server = self.server.get().ok_or("after_init has not run")?;
        server
            .to(order.socket_id)
            .emit("orderConfirmed", &order.order_id)
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    fn after_init(&self, server: Namespace) {
        let _ = self.server.set(server);
    }
}

#[tokio::test]
async fn a_message_handler_publishes_with_the_bus_from_app_state() {
    let server = serve(
        GatewayApp::builder()
            .with_event_bus(EventBus::new())
            .gateway(ShopGateway::default()),
    )
    .await;
    let mut client = TestClient::connect(&ws_url(&server, "/shop")).await;
    client.emit("placeOrder", 17).await;
    // The reply (the handlers reached) and the confirmation, in either order.
    let mut frames = vec![client.recv().await, client.recv().await];
    frames.sort_by_key(|f| f.is_object());
    assert_eq!(
        frames,
        [json!(1), json!({"event": "orderConfirmed", "data": 17})]
    );
    server.shutdown().await;
}

/// Counts the events that reach it.
#[derive(Clone, Default)]
struct Counting {
    seen: std::sync::Arc<gateway_tests::Counter>,
}

#[gateway(namespace = "/counting")]
impl Counting {
    #[on_event("tick")]
    async fn count(&self) {
        self.seen.bump();
    }
}

#[tokio::test]
async fn handlers_are_subscribed_while_the_app_runs() {
    let bus = EventBus::new();
    let counting = Counting::default();
    let app = GatewayApp::builder()
        .with_event_bus(bus.clone())
        .gateway(counting.clone());
    // Built, not started: as `@nestjs/event-emitter` before bootstrap, nobody listens.
    let app = app.build().unwrap();
    assert_eq!(bus.publish("tick", ()), 0);
    let server = TestServer::serve(app, Serving::from_env()).await;
    assert_eq!(bus.publish("tick", ()), 1);
    counting.seen.wait_for(1).await;
    server.shutdown().await;
    assert_eq!(bus.publish("tick", ()), 0);
}

#[test]
fn on_event_handlers_need_an_event_bus() {
    let error = GatewayApp::builder()
        .gateway(Counting::default())
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 1);
    assert!(
        error.problems()[0]
            .contains("handles bus events (`#[on_event]`) but the app has no event bus"),
        "{error}"
    );
}

#[test]
fn a_malformed_pattern_registered_by_hand_fails_the_build() {
    use gateway_core::{Gateway, GatewayBuilder, GatewayOptions, PublishedEvent};

    struct ByHand;
    impl Gateway for ByHand {
        fn options(&self) -> GatewayOptions {
            GatewayOptions::new("/by-hand")
        }
        fn register(self: std::sync::Arc<Self>, gateway: &mut GatewayBuilder) {
            gateway
                .on_event("order.*s", |_: PublishedEvent| async {})
                .name("typo");
        }
    }
    let error = GatewayApp::builder()
        .with_event_bus(EventBus::new())
        .gateway(ByHand)
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("invalid event pattern \"order.*s\": `*` stands for a whole segment"),
        "{error}"
    );
}
