use gateway_core::gateway;
use gateway_core::pipeline::connection_guard_fn;

struct Chat;

#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    #[use_connection_guards(connection_guard_fn(|_cx| async { true }))]
    async fn handle(&self) {}

    #[use_guards(gateway_core::pipeline::guard_fn(|_cx| async { true }))]
    fn helper(&self) {}
}

fn main() {}
