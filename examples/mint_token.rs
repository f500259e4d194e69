//! `cargo run --example mint_token -- <sub> [role]`: prints a one-hour HS256 token for the chat
//! example, signed with `JWT_SECRET` (default `dev-secret-change-me`).
//!
//! ```text
//! $ cargo run -q --example mint_token -- alice admin
//! eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIs…
//! ```

use gateway_examples::chat::mint_token;
use gateway_examples::common::jwt_secret;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(sub) = args.next() else {
        eprintln!("usage: cargo run --example mint_token -- <sub> [role]");
        std::process::exit(2);
    };
    let role = args.next();
    println!("{}", mint_token(&jwt_secret(), &sub, role.as_deref()));
}
