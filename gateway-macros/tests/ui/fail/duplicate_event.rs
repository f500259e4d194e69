use gateway_core::gateway;

struct Chat;

#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    async fn first(&self) {}

    #[subscribe_message("message")]
    async fn second(&self) {}
}

fn main() {}
