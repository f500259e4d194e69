//! `bench-socketioxide`: socketioxide 0.18 (default features) on axum, the benchmark's
//! Socket.IO v5 contract on namespace "/":
//! - `42<id>["echo",D]`      → ack `43<id>[D]`
//! - `42<id>["join"]`        → joins room "bench", ack `43<id>["ok"]`
//! - `42<id>["broadcast",D]` → `42["bcast",D]` to every member of "bench", then ack `43<id>["ok"]`
//!
//! Usage: `bench-socketioxide [--port N] [--redis URL | --redis-cluster URL,URL,…] [--jwt SECRET]`
//! (port also from env `PORT`; 0 picks a free port). With `--redis`, the socketioxide-redis
//! adapter makes broadcasts span instances; with `--redis-cluster`, its cluster driver does, over
//! a Redis Cluster (sharded pub/sub). With `--jwt`, a connect middleware refuses (CONNECT_ERROR) a namespace
//! connect whose `auth.token` is not an HS256 token signed with SECRET with an `exp` claim (the
//! reconnect storm's JWT variant). Prints `listening on 127.0.0.1:PORT` once ready.

use std::future::{ready, Ready};
use std::io::Write;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use socketioxide_redis::drivers::redis::redis_client as redis;
use socketioxide_redis::{ClusterAdapter, RedisAdapter, RedisAdapterCtr};

/// Registers the event handlers. A connect middleware, not the connect handler: socketioxide
/// sends the CONNECT reply before it spawns the connect handler, so a client's first event (the
/// benchmark's `join`, sent as soon as the reply arrives) could be read before a handler
/// registered there exists, and be dropped. Middlewares run before the reply.
async fn register_handlers<A: Adapter>(
    socket: SocketRef<A>,
) -> Result<(), std::convert::Infallible> {
    socket.on("echo", on_echo);
    socket.on("join", on_join);
    socket.on("broadcast", on_broadcast);
    Ok(())
}

/// The connect handler: everything is set up by [`register_handlers`] already.
async fn on_connect<A: Adapter>(_socket: SocketRef<A>) {}

async fn on_echo<A: Adapter>(Data(data): Data<Value>, ack: AckSender<A>) {
    ack.send(&data).ok();
}

async fn on_join<A: Adapter>(socket: SocketRef<A>, ack: AckSender<A>) {
    socket.join("bench");
    ack.send("ok").ok();
}

async fn on_broadcast<A: Adapter>(
    socket: SocketRef<A>,
    Data(data): Data<Value>,
    ack: AckSender<A>,
) {
    // `within` (unlike `to`) includes the sender when it is in the room.
    socket.within("bench").emit("bcast", &data).await.ok();
    ack.send("ok").ok();
}

/// The CONNECT packet's auth payload.
#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// The claims a token must carry (`exp` is checked by `jsonwebtoken`'s default validation).
#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)] // verified, not used: the contract has no per-user behaviour
    sub: String,
}

/// What `--jwt SECRET` sets up: the key and the rules every token is checked against.
struct Jwt {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

/// The connect middleware of `--jwt`: refuses the namespace connect (CONNECT_ERROR) unless
/// `auth.token` is a valid token. A missing or malformed auth payload fails the `Data`
/// extractor, which refuses it too.
fn verify_with(
    jwt: Arc<Jwt>,
) -> impl FnOnce(Data<Auth>) -> Ready<Result<(), jsonwebtoken::errors::Error>>
       + Clone
       + Send
       + Sync
       + 'static {
    move |Data(auth): Data<Auth>| {
        ready(jsonwebtoken::decode::<Claims>(&auth.token, &jwt.key, &jwt.validation).map(|_| ()))
    }
}

/// Packets a socket may have waiting to be written, as ours (its default, 128, drops fan-out
/// frames when 16 broadcasts are in flight).
const SEND_QUEUE: usize = 1024;

struct Args {
    port: u16,
    redis: Option<String>,
    redis_cluster: Option<String>,
    jwt: Option<Arc<Jwt>>,
}

fn args() -> Args {
    let mut port = None;
    let mut redis = None;
    let mut redis_cluster = None;
    let mut jwt = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next(),
            "--redis" => redis = it.next(),
            "--redis-cluster" => redis_cluster = it.next(),
            "--jwt" => jwt = it.next(),
            _ => {
                if let Some(v) = a.strip_prefix("--port=") {
                    port = Some(v.to_owned());
                } else if let Some(v) = a.strip_prefix("--redis=") {
                    redis = Some(v.to_owned());
                } else {
                    eprintln!(
                        "usage: bench-socketioxide [--port N] [--redis URL | --redis-cluster URLS] [--jwt SECRET]"
                    );
                    std::process::exit(2);
                }
            }
        }
    }
    let port = port
        .or_else(|| std::env::var("PORT").ok())
        .map(|p| p.parse().expect("port must be a number"))
        .unwrap_or(3000);
    let jwt = jwt.map(|secret| {
        Arc::new(Jwt {
            key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            validation: jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        })
    });
    Args {
        port,
        redis,
        redis_cluster,
        jwt,
    }
}

/// The adapter's redis drivers need RESP3 (pub/sub pushes on a multiplexed connection); the
/// redis crate defaults to RESP2, so ask for it in the URL.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// Namespace "/" with a Redis adapter (its `ns` is async: it subscribes first). A macro: the
/// bound `ns` needs (`DefinedAdapter`) is not exported by socketioxide.
macro_rules! mount {
    ($io:expr, $jwt:expr) => {
        match $jwt {
            None => $io.ns("/", on_connect.with(register_handlers)).await?,
            Some(jwt) => {
                $io.ns(
                    "/",
                    on_connect.with(register_handlers).with(verify_with(jwt)),
                )
                .await?
            }
        }
    };
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();

    let app: axum::Router = match (args.redis, args.redis_cluster) {
        (None, None) => {
            let (layer, io) = SocketIo::builder()
                .max_buffer_size(SEND_QUEUE)
                .build_layer();
            match args.jwt {
                None => io.ns("/", on_connect.with(register_handlers)),
                // The last middleware added runs first: the token is checked before anything.
                Some(jwt) => io.ns(
                    "/",
                    on_connect.with(register_handlers).with(verify_with(jwt)),
                ),
            }
            axum::Router::new().layer(layer)
        }
        (Some(url), _) => {
            let client = redis::Client::open(resp3(&url))?;
            let adapter = RedisAdapterCtr::new_with_redis(&client).await?;
            let (layer, io) = SocketIo::builder()
                .max_buffer_size(SEND_QUEUE)
                .with_adapter::<RedisAdapter<_>>(adapter)
                .build_layer();
            mount!(io, args.jwt);
            axum::Router::new().layer(layer)
        }
        (None, Some(urls)) => {
            let client = redis::cluster::ClusterClient::new(urls.split(',').map(resp3))?;
            let adapter = RedisAdapterCtr::new_with_cluster(&client).await?;
            let (layer, io) = SocketIo::builder()
                .max_buffer_size(SEND_QUEUE)
                .with_adapter::<ClusterAdapter<_>>(adapter)
                .build_layer();
            mount!(io, args.jwt);
            axum::Router::new().layer(layer)
        }
    };

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on 127.0.0.1:{port}")?;
        out.flush()?;
    }
    // As ours and bare: small frames go out at once (axum leaves Nagle's algorithm on).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
