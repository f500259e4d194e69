use gateway_core::gateway;

struct Chat;

struct Secret;

#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    async fn handle(&self) -> Secret {
        Secret
    }
}

fn main() {}
