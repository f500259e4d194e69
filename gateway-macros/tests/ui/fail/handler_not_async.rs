use gateway_core::gateway;

struct Chat;

#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    fn handle(&self) -> &'static str {
        "not async"
    }
}

fn main() {}
