use gateway_core::{gateway, Socket};

struct Chat;

struct NotAnExtractor;

#[gateway(namespace = "/chat")]
impl Chat {
    #[subscribe_message("message")]
    async fn handle(&self, _client: Socket, _bad: NotAnExtractor) {}
}

fn main() {}
