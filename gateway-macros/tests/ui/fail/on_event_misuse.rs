use gateway_core::gateway;

struct Orders;

#[gateway(namespace = "/orders")]
impl Orders {
    #[on_event]
    async fn missing_pattern(&self) {}

    #[on_event()]
    async fn empty_parentheses(&self) {}

    #[on_event(order.created)]
    async fn not_a_string(&self) {}

    #[on_event("")]
    async fn empty_pattern(&self) {}

    #[on_event("order.")]
    async fn trailing_dot(&self) {}

    #[on_event("ord*")]
    async fn partial_wildcard(&self) {}

    #[on_event("a", "b")]
    async fn two_patterns_in_one(&self) {}

    #[on_event("a")]
    #[on_event("a")]
    async fn duplicate_pattern(&self) {}

    #[on_event("a")]
    fn not_async(&self) {}

    #[on_event("a")]
    async fn by_value(self) {}

    #[on_event("a")]
    async fn too_many_parameters(&self, _payload: u32, _event: &str, _extra: u8) {}

    #[on_event("a")]
    async fn name_not_str(&self, _payload: u32, _event: String) {}

    #[on_event("a")]
    #[subscribe_message("a")]
    async fn both_kinds(&self) {}

    #[on_event("a")]
    #[use_guards(gateway_core::pipeline::guard_fn(|_cx| async { true }))]
    async fn guarded(&self) {}

    #[on_event("a")]
    async fn message_body(&self, #[message_body] _payload: u32) {}
}

fn main() {}
