use gateway_core::{gateway, EmitError, EventBus, GatewayApp};

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct OrderEvent {
    order_id: u64,
}

struct Orders;

#[gateway(namespace = "/orders")]
impl Orders {
    #[on_event("order.created")]
    async fn without_arguments(&self) {}

    #[on_event("order.*")]
    #[on_event("refund.**")]
    async fn with_payload(&self, _order: OrderEvent) -> Result<(), EmitError> {
        Ok(())
    }

    #[on_event("**")]
    async fn with_payload_and_name(&self, _all: serde_json::Value, _event: &str) -> Result<(), String> {
        Ok(())
    }

    #[on_event("audit.**")]
    async fn with_name_only(&self, _event: &str) {}

    #[on_event("order.created")]
    async fn destructured(&self, OrderEvent { order_id: _ }: OrderEvent) {}

    #[subscribe_message("ping")]
    async fn ping(&self) -> &'static str {
        "pong"
    }
}

fn main() {
    let _ = GatewayApp::builder()
        .with_event_bus(EventBus::new())
        .gateway(Orders)
        .build();
}
