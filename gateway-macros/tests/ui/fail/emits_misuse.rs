use gateway_core::{gateway, Socket};

struct ChatGateway;

#[gateway(namespace = "/chat")]
#[emits("userJoined" = String)]
impl ChatGateway {
    // Not a string: event names are strings, as in `emit("userJoined", …)`.
    #[subscribe_message("join")]
    #[emits(userLeft = String)]
    async fn join(&self, _client: Socket) {}

    // The same event with another payload type.
    #[subscribe_message("leave")]
    #[emits("userJoined" = u64)]
    async fn leave(&self, _client: Socket) {}
}

#[emits("outside" = String)]
fn not_in_a_gateway() {}

fn main() {}
