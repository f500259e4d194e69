//! The enhancer pipeline end to end: execution order across global, gateway and handler levels,
//! and every failure path (guards, interceptors, pipes, filters), through a real client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway_core::enhancers::{RateLimitGuard, TimeoutInterceptor};
use gateway_core::pipeline::{
    catch_only, filter_fn, guard_fn, interceptor_fn, pipe_fn, ArgumentMetadata,
    BaseWsExceptionFilter, ExceptionFilter, ExecutionContext, Guard, Interceptor, Next, Pipe,
};
use gateway_core::test::TestClient;
use gateway_core::{gateway, GatewayApp, MessageBody, Reply, WsException};
use gateway_tests::{serve, ws_url};
use serde_json::{json, Value};

type Log = Arc<Mutex<Vec<String>>>;

fn record(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

/// Records `guard:{name}` and lets the message through unless the body asks it to refuse.
struct NamedGuard(&'static str, Log);
impl Guard for NamedGuard {
    async fn can_activate(&self, cx: &ExecutionContext) -> Result<bool, WsException> {
        record(&self.1, format!("guard:{}", self.0));
        let data: Value = cx.data().unwrap_or(Value::Null);
        match data.get("deny").and_then(Value::as_str) {
            Some(name) if name == self.0 => Ok(false),
            _ => match data.get("throw").and_then(Value::as_str) {
                Some(name) if name == self.0 => Err(WsException::new(format!("{name} says no"))),
                _ => Ok(true),
            },
        }
    }
}

/// Records `before:{name}` and `after:{name}` around the rest.
struct NamedInterceptor(&'static str, Log);
impl Interceptor for NamedInterceptor {
    async fn intercept(&self, _cx: &ExecutionContext, next: Next) -> Result<Reply, WsException> {
        record(&self.1, format!("before:{}", self.0));
        let reply = next.run().await;
        record(&self.1, format!("after:{}", self.0));
        reply
    }
}

/// Records `pipe:{name}` and appends `:{name}` to string bodies.
struct NamedPipe(&'static str, Log);
impl Pipe for NamedPipe {
    fn transform(&self, value: Value, _arg: &ArgumentMetadata<'_>) -> Result<Value, WsException> {
        record(&self.1, format!("pipe:{}", self.0));
        Ok(match value {
            Value::String(s) => Value::String(format!("{s}:{}", self.0)),
            other => other,
        })
    }
}

/// Records `filter:{name}`; handles the error only if its message names this filter.
struct NamedFilter(&'static str, Log);
impl ExceptionFilter for NamedFilter {
    async fn catch(
        &self,
        exception: WsException,
        cx: &ExecutionContext,
    ) -> Result<(), WsException> {
        record(&self.1, format!("filter:{}", self.0));
        if exception
            .message()
            .contains(&format!("handled-by-{}", self.0))
        {
            cx.socket().emit(
                "filtered",
                &json!({"by": self.0, "message": exception.message()}),
            )?;
            Ok(())
        } else {
            Err(exception)
        }
    }
}

struct Levels {
    log: Log,
}

#[gateway(namespace = "/levels")]
#[use_guards(NamedGuard("gateway", self.log.clone()))]
#[use_interceptors(NamedInterceptor("gateway", self.log.clone()))]
#[use_pipes(NamedPipe("gateway", self.log.clone()))]
#[use_filters(NamedFilter("gateway", self.log.clone()))]
impl Levels {
    #[subscribe_message("echo")]
    #[use_guards(NamedGuard("handler", self.log.clone()))]
    #[use_interceptors(NamedInterceptor("handler", self.log.clone()))]
    #[use_pipes(NamedPipe("handler", self.log.clone()))]
    #[use_filters(NamedFilter("handler", self.log.clone()))]
    async fn echo(&self, MessageBody(body): MessageBody<Value>) -> Result<Value, WsException> {
        record(&self.log, "handler");
        match body.get("fail").and_then(Value::as_str) {
            Some(message) => Err(WsException::new(message.to_owned())),
            None => Ok(body),
        }
    }

    #[subscribe_message("text")]
    async fn text(&self, MessageBody(body): MessageBody<String>) -> String {
        record(&self.log, "handler");
        body
    }
}

async fn levels() -> (gateway_tests::TestServer, TestClient, Log) {
    let log: Log = Arc::default();
    let app = GatewayApp::builder()
        .gateway(Levels { log: log.clone() })
        .with_global_guard(NamedGuard("global", log.clone()))
        .with_global_interceptor(NamedInterceptor("global", log.clone()))
        .with_global_pipe(NamedPipe("global", log.clone()))
        .with_global_filter(NamedFilter("global", log.clone()));
    let server = serve(app).await;
    let client = TestClient::connect(&ws_url(&server, "/levels")).await;
    (server, client, log)
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn enhancers_run_in_nest_order_across_levels() {
    let (_server, mut c, log) = levels().await;
    c.emit("echo", json!({"a": 1})).await;
    assert_eq!(c.recv().await, json!({"a": 1}));
    assert_eq!(
        take(&log),
        [
            "guard:global",
            "guard:gateway",
            "guard:handler",
            "before:global",
            "before:gateway",
            "before:handler",
            "pipe:global",
            "pipe:gateway",
            "pipe:handler",
            "handler",
            "after:handler",
            "after:gateway",
            "after:global",
        ]
    );
    // Pipes transform in order: global first.
    c.emit("text", "x").await;
    assert_eq!(c.recv().await, json!("x:global:gateway"));
}

#[tokio::test]
async fn filters_run_from_handler_to_global_then_default() {
    let (_server, mut c, log) = levels().await;
    for (by, expected) in [
        ("handler", vec!["filter:handler"]),
        ("gateway", vec!["filter:handler", "filter:gateway"]),
        (
            "global",
            vec!["filter:handler", "filter:gateway", "filter:global"],
        ),
    ] {
        c.emit("echo", json!({"fail": format!("handled-by-{by}")}))
            .await;
        assert_eq!(
            c.recv().await,
            json!({"event": "filtered", "data": {"by": by, "message": format!("handled-by-{by}")}})
        );
        let trail: Vec<String> = take(&log)
            .into_iter()
            .filter(|e| e.starts_with("filter:"))
            .collect();
        assert_eq!(trail, expected);
    }
    // Nobody handles it: the default filter does, NestJS shape.
    c.emit("echo", json!({"fail": "nobody"})).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"nobody","cause":{"pattern":"echo","data":{"fail":"nobody"}}}})
    );
}

#[tokio::test]
async fn a_guard_that_refuses_stops_everything_after_it() {
    let (_server, mut c, log) = levels().await;
    c.emit("echo", json!({"deny": "gateway"})).await;
    assert_eq!(
        c.recv().await,
        json!({"event":"exception","data":{"status":"error","message":"Forbidden resource","cause":{"pattern":"echo","data":{"deny":"gateway"}}}})
    );
    let trail = take(&log);
    assert_eq!(&trail[..2], ["guard:global", "guard:gateway"]);
    assert!(
        !trail
            .iter()
            .any(|e| e == "handler" || e.starts_with("before:")),
        "{trail:?}"
    );

    c.emit("echo", json!({"throw": "handler"})).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "handler says no"
    );
    assert!(!take(&log).contains(&"handler".to_owned()));
}

struct Failing;

#[gateway(namespace = "/failing")]
impl Failing {
    /// The interceptor itself fails before calling the handler.
    #[subscribe_message("brokenInterceptor")]
    #[use_interceptors(interceptor_fn(|_cx: ExecutionContext, _next: Next| async {
        Err::<Reply, _>(WsException::new("interceptor failed"))
    }))]
    async fn broken_interceptor(&self) -> &'static str {
        "unreachable"
    }

    /// The interceptor maps the reply.
    #[subscribe_message("mapped")]
    #[use_interceptors(interceptor_fn(|_cx: ExecutionContext, next: Next| async move {
        match next.run().await? {
            Reply::Json(json) => Reply::json(&json!({"data": serde_json::from_str::<Value>(&json).unwrap(), "intercepted": true})),
            other => Ok(other),
        }
    }))]
    async fn mapped(&self) -> &'static str {
        "hello"
    }

    /// The interceptor catches the handler's error and answers instead.
    #[subscribe_message("recovered")]
    #[use_interceptors(interceptor_fn(|_cx: ExecutionContext, next: Next| async move {
        next.run().await.or_else(|e| Reply::json(&json!({"recovered": e.message()})))
    }))]
    async fn recovered(&self) -> Result<(), WsException> {
        Err(WsException::new("boom"))
    }

    /// A filter that itself fails: its error goes on to the default filter.
    #[subscribe_message("brokenFilter")]
    #[use_filters(filter_fn(|_e: WsException, _cx: ExecutionContext| async {
        Err(WsException::new("the filter failed too"))
    }))]
    async fn broken_filter(&self) -> Result<(), WsException> {
        Err(WsException::new("original"))
    }

    /// A filter that panics: the client still gets an internal error.
    #[subscribe_message("panickingFilter")]
    #[use_filters(filter_fn(|_e: WsException, _cx: ExecutionContext| async {
        panic!("filter bug")
    }))]
    async fn panicking_filter(&self) -> Result<(), WsException> {
        Err(WsException::new("original"))
    }

    /// `catch_only` filters handle only internal errors of their type.
    #[subscribe_message("io")]
    #[use_filters(catch_only::<std::io::Error, _>(filter_fn(|_e: WsException, cx: ExecutionContext| async move {
        cx.socket().emit("ioFailed", &true)?;
        Ok(())
    })))]
    async fn io(&self, MessageBody(kind): MessageBody<String>) -> Result<(), WsException> {
        match kind.as_str() {
            "io" => Err(std::io::Error::other("disk").into()),
            _ => Err(WsException::new("not io")),
        }
    }

    #[subscribe_message("slow")]
    #[use_interceptors(TimeoutInterceptor::new(Duration::from_millis(50)))]
    async fn slow(&self) -> &'static str {
        std::future::pending::<()>().await;
        "never"
    }

    #[subscribe_message("limited")]
    #[use_guards(RateLimitGuard::new(2, Duration::from_secs(3600)).with_max_violations(2))]
    async fn limited(&self) -> &'static str {
        "ok"
    }

    #[subscribe_message("closureGuard")]
    #[use_guards(guard_fn(|cx: ExecutionContext| async move { cx.data::<bool>().unwrap_or(false) }))]
    async fn closure_guard(&self) -> &'static str {
        "let in"
    }

    #[subscribe_message("tagged")]
    #[use_pipes(pipe_fn(|value: Value, arg: &ArgumentMetadata<'_>| {
        Ok(json!({"value": value, "pattern": arg.pattern}))
    }))]
    async fn tagged(&self, MessageBody(v): MessageBody<Value>) -> Value {
        v
    }
}

async fn failing() -> (gateway_tests::TestServer, TestClient) {
    let server = serve(GatewayApp::builder().gateway(Failing)).await;
    let client = TestClient::connect(&ws_url(&server, "/failing")).await;
    (server, client)
}

#[tokio::test]
async fn interceptors_can_fail_map_and_recover() {
    let (_s, mut c) = failing().await;
    c.emit("brokenInterceptor", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "interceptor failed"
    );
    c.emit("mapped", ()).await;
    assert_eq!(
        c.recv().await,
        json!({"data": "hello", "intercepted": true})
    );
    c.emit("recovered", ()).await;
    assert_eq!(c.recv().await, json!({"recovered": "boom"}));
    c.emit("slow", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Request timeout"
    );
}

#[tokio::test]
async fn failing_filters_fall_through_to_the_default() {
    let (_s, mut c) = failing().await;
    c.emit("brokenFilter", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "the filter failed too"
    );
    c.emit("panickingFilter", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Internal server error"
    );
    c.emit("io", "io").await;
    assert_eq!(c.recv().await, json!({"event": "ioFailed", "data": true}));
    c.emit("io", "other").await;
    assert_eq!(c.recv_event("exception").await["message"], "not io");
}

#[tokio::test]
async fn closures_work_as_guards_and_pipes() {
    let (_s, mut c) = failing().await;
    c.emit("closureGuard", false).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Forbidden resource"
    );
    c.emit("closureGuard", true).await;
    assert_eq!(c.recv().await, json!("let in"));
    c.emit("tagged", 5).await;
    assert_eq!(c.recv().await, json!({"value": 5, "pattern": "tagged"}));
}

#[tokio::test]
async fn the_rate_limiter_refuses_then_disconnects() {
    let (_s, mut c) = failing().await;
    for _ in 0..2 {
        c.emit("limited", ()).await;
        assert_eq!(c.recv().await, json!("ok"));
    }
    c.emit("limited", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Too many requests"
    );
    c.emit("limited", ()).await;
    assert_eq!(
        c.recv_event("exception").await["message"],
        "Too many requests"
    );
    assert_eq!(c.expect_close().await, Some(1000));
}

#[tokio::test]
async fn a_global_base_filter_can_drop_the_cause() {
    let app = GatewayApp::builder()
        .gateway(Failing)
        .with_global_filter(BaseWsExceptionFilter::new().with_include_cause(false));
    let server = serve(app).await;
    let mut c = TestClient::connect(&ws_url(&server, "/failing")).await;
    c.emit("io", "other").await;
    assert_eq!(
        c.recv().await,
        json!({"event": "exception", "data": {"status": "error", "message": "not io"}})
    );
}

#[derive(Clone, Debug, PartialEq)]
struct Roles(&'static [&'static str]);

struct WithMetadata;

#[gateway(namespace = "/meta")]
#[set_metadata(Roles(&["member"]))]
impl WithMetadata {
    #[subscribe_message("inherited")]
    async fn inherited(&self) {}

    #[subscribe_message("own")]
    #[set_metadata(Roles(&["admin"]))]
    async fn own(&self) {}
}

#[tokio::test]
async fn handler_metadata_overrides_gateway_metadata() {
    let seen: Log = Arc::default();
    let seen_in_guard = seen.clone();
    let spy = guard_fn(move |cx: ExecutionContext| {
        let seen = seen_in_guard.clone();
        async move {
            let roles = cx
                .metadata::<Roles>()
                .map(|r| r.0.join(","))
                .unwrap_or_default();
            record(&seen, format!("{}:{}:{roles}", cx.handler(), cx.pattern()));
            true
        }
    });
    let server = serve(
        GatewayApp::builder()
            .gateway(WithMetadata)
            .with_global_guard(spy),
    )
    .await;
    let mut c = TestClient::connect(&ws_url(&server, "/meta")).await;
    c.emit("inherited", ()).await;
    c.emit("own", ()).await;
    c.emit("nope", ()).await;
    // Both handled in order before this one.
    c.emit("own", ()).await;
    gateway_tests::wait_until("three guard calls", || seen.lock().unwrap().len() == 3).await;
    assert_eq!(
        take(&seen),
        [
            "inherited:inherited:member",
            "own:own:admin",
            "own:own:admin"
        ]
    );
}

struct ShortCircuit;

#[gateway(namespace = "/short")]
#[use_interceptors(interceptor_fn(|cx: ExecutionContext, next: Next| async move {
    if cx.pattern() == "closed" {
        return Reply::json(&"maintenance"); // answers without running the handler
    }
    next.run().await
}))]
impl ShortCircuit {
    #[subscribe_message("closed")]
    async fn closed(&self) -> &'static str {
        panic!("the interceptor answers first")
    }

    #[subscribe_message("open")]
    async fn open(&self) -> &'static str {
        "open"
    }
}

#[tokio::test]
async fn an_interceptor_can_answer_without_the_handler() {
    let server = serve(GatewayApp::builder().gateway(ShortCircuit)).await;
    let mut c = TestClient::connect(&ws_url(&server, "/short")).await;
    c.emit("closed", ()).await;
    assert_eq!(c.recv().await, json!("maintenance"));
    c.emit("open", ()).await;
    assert_eq!(c.recv().await, json!("open"));
}
