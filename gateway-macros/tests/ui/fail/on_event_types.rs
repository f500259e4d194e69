use gateway_core::gateway;

/// Neither `Clone` nor `Deserialize`: not a payload type.
struct NotData;

struct Orders;

#[gateway(namespace = "/orders")]
impl Orders {
    #[on_event("order.created")]
    async fn payload_not_data(&self, _order: NotData) {}

    #[on_event("order.shipped")]
    async fn returns_a_number(&self) -> u32 {
        1
    }
}

fn main() {}
