use gateway_core::gateway;

struct Chat;

#[gateway(namespace = 5, port = 70000, colour = "blue", full_queue = "sometimes")]
impl Chat {
    #[subscribe_message(message)]
    async fn handle(&mut self) {}
}

fn main() {}
