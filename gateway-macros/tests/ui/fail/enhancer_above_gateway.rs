use gateway_core::{gateway, use_guards};
use gateway_core::pipeline::guard_fn;

struct Chat;

#[use_guards(guard_fn(|_cx| async { true }))]
#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    async fn handle(&self) {}
}

fn main() {}
