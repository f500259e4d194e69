use gateway_core::subscribe_message;

struct Chat;

impl Chat {
    #[subscribe_message("message")]
    async fn handle(&self) {}
}

fn main() {}
