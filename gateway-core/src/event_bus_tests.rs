use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn tasks() -> HandlerTasks {
    HandlerTasks {
        tracker: TaskTracker::new(),
        hard_stop: CancellationToken::new(),
    }
}

fn handler<F, Fut>(pattern: &str, f: F) -> EventHandlerDefinition
where
    F: Fn(PublishedEvent) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    EventHandlerDefinition {
        pattern: EventPattern::parse(pattern).unwrap(),
        name: pattern.into(),
        listener: Arc::new(move |event| f(event).boxed()),
    }
}

/// A handler that records each event it gets as `name=payload`.
fn recorder(pattern: &str, seen: &Arc<Mutex<Vec<String>>>) -> EventHandlerDefinition {
    let seen = seen.clone();
    handler(pattern, move |event| {
        let seen = seen.clone();
        async move {
            let payload: u32 = event.payload().map_err(|e| e.to_string())?;
            seen.lock()
                .unwrap()
                .push(format!("{}={payload}", event.name()));
            Ok(())
        }
    })
}

#[tokio::test]
async fn events_reach_the_handlers_whose_pattern_matches() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for pattern in ["order.created", "order.*", "order.**", "user.*"] {
        bus.subscribe("test", recorder(pattern, &seen), tasks());
    }
    assert_eq!(bus.publish_and_wait("order.created", 1u32).await, 3);
    assert_eq!(bus.publish_and_wait("order.item.added", 2u32).await, 1);
    assert_eq!(bus.publish_and_wait("payment.failed", 3u32).await, 0);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            "order.created=1",
            "order.created=1",
            "order.created=1",
            "order.item.added=2"
        ]
    );
}

#[tokio::test]
async fn publish_returns_at_once_and_the_calls_run_in_tasks() {
    let bus = EventBus::new();
    let (release, released) = tokio::sync::watch::channel(false);
    let done = Arc::new(tokio::sync::Notify::new());
    let notify = done.clone();
    bus.subscribe(
        "test",
        handler("slow", move |_| {
            let mut released = released.clone();
            let notify = notify.clone();
            async move {
                let _ = released.wait_for(|r| *r).await;
                notify.notify_one();
                Ok(())
            }
        }),
        tasks(),
    );
    // The handler waits for `release`: publish must not.
    assert_eq!(bus.publish("slow", ()), 1);
    release.send_replace(true);
    tokio::time::timeout(std::time::Duration::from_secs(30), done.notified())
        .await
        .expect("the handler ran");
}

#[tokio::test]
async fn a_failing_or_panicking_handler_does_not_stop_the_others() {
    let bus = EventBus::new();
    let ran = Arc::new(AtomicUsize::new(0));
    bus.subscribe(
        "test",
        handler("job.*", |_| async {
            Err("the job store is down".to_owned())
        }),
        tasks(),
    );
    async fn panics(_: PublishedEvent) -> Result<(), String> {
        panic!("handler bug")
    }
    bus.subscribe("test", handler("job.*", panics), tasks());
    let counter = ran.clone();
    bus.subscribe(
        "test",
        handler("job.*", move |_| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }),
        tasks(),
    );
    assert_eq!(bus.publish_and_wait("job.done", ()).await, 3);
    assert_eq!(bus.publish_and_wait("job.done", ()).await, 3);
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unsubscribed_handlers_no_longer_run() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let first = bus.subscribe("test", recorder("a", &seen), tasks());
    bus.subscribe("test", recorder("a", &seen), tasks());
    bus.unsubscribe(&[first]);
    assert_eq!(bus.publish_and_wait("a", 1u32).await, 1);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_hard_stop_drops_a_stuck_handler() {
    let bus = EventBus::new();
    let tasks = tasks();
    bus.subscribe(
        "test",
        handler("stuck", |_| std::future::pending::<Result<(), String>>()),
        tasks.clone(),
    );
    assert_eq!(bus.publish("stuck", ()), 1);
    tasks.tracker.close();
    tasks.hard_stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(30), tasks.tracker.wait())
        .await
        .expect("the stuck call was dropped");
}

#[test]
fn publishing_outside_a_runtime_runs_nothing_and_does_not_panic() {
    let bus = EventBus::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    bus.subscribe("test", recorder("a", &seen), tasks());
    assert_eq!(bus.publish("a", 1u32), 0);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn results_convert_to_logged_text() {
    assert_eq!(().into_event_result(), Ok(()));
    let io = std::io::Error::other("disk full");
    assert_eq!(
        Err::<(), _>(io).into_event_result(),
        Err("disk full".to_owned())
    );
}
