use gateway_core::on_event;

struct Orders;

impl Orders {
    #[on_event("order.created")]
    async fn handle(&self) {}
}

fn main() {}
