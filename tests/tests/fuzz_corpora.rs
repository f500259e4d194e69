//! Every committed fuzz corpus (fuzz/corpus/<target>/) and the seeds captured from real clients
//! (fuzz/seeds/<target>/), replayed through the fuzz targets' own entry points
//! (fuzz/src/lib.rs, compiled in here), so CI keeps what the fuzzer found: a crash or panic on
//! any input fails this test. Inputs that once crashed a target are named regression tests
//! below.

#[path = "../../fuzz/src/lib.rs"]
#[allow(missing_docs, dead_code)]
mod harness;

use std::path::PathBuf;

thread_local! {
    /// Whether anything panicked on this thread: the test's own code, or a task the harness
    /// spawned (its runtime runs them on the thread that blocks on it; tokio catches those
    /// panics, where the fuzzer, built with `panic = "abort"`, would crash on them).
    static PANICKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.with(|panicked| panicked.set(true));
            previous(info);
        }));
    });
}

/// Replays every input of `target`'s corpus through `run`; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    count_panics();
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs: Vec<PathBuf> = ["corpus", "seeds"]
        .iter()
        .flat_map(|kind| {
            let dir = fuzz.join(kind).join(target);
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.unwrap().path())
        })
        .filter(|path| path.is_file())
        .collect();
    inputs.sort();
    for input in &inputs {
        // (A fuzzer running meanwhile replaces files of its corpus.)
        let Ok(data) = std::fs::read(input) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| run(&data));
        let panicked = PANICKED.with(|panicked| panicked.replace(false));
        assert!(
            outcome.is_ok() && !panicked,
            "{target} panicked on {}",
            input.display()
        );
    }
    assert!(!inputs.is_empty(), "{target}: the corpus is empty");
    inputs.len()
}

#[test]
fn json_envelope_corpus() {
    replay("json_envelope", harness::json_envelope);
}

#[test]
fn socketio_packets_corpus() {
    replay("socketio_packets", harness::socketio_packets);
}

#[test]
fn polling_body_corpus() {
    replay("polling_body", harness::polling_body);
}

#[test]
fn deflate_stream_corpus() {
    replay("deflate_stream", harness::deflate_stream);
}

#[test]
fn handshake_corpus() {
    replay("handshake", harness::handshake);
}

#[test]
fn redis_inbound_corpus() {
    replay("redis_inbound", harness::redis_inbound);
}

#[test]
fn validated_body_corpus() {
    replay("validated_body", harness::validated_body);
}

/// Found replaying the `redis_inbound` corpus in a debug build: a broadcast whose data nests
/// arrays 1,000 deep overflowed a test thread's stack (rmpv accepted 1,024 levels and the
/// conversion to JSON recursed as deep). Values nest at most 128 levels now, as in JSON.
#[test]
fn redis_inbound_deeply_nested_broadcast() {
    let mut message = vec![0x93, 0xa1, b'u', 0x83, 0xa4];
    message.extend_from_slice(b"type");
    message.extend_from_slice(&[0x02, 0xa4]);
    message.extend_from_slice(b"data");
    message.extend_from_slice(&[0x92, 0xa2, b'e', b'v']);
    message.extend(std::iter::repeat_n(0x91, 1000));
    message.push(0xc0);
    message.extend_from_slice(&[0xa3, b'n', b's', b'p', 0xa5]);
    message.extend_from_slice(b"/chat");
    message.push(0x80);
    for kind in 0..4u8 {
        let mut data = vec![kind];
        data.extend_from_slice(&message);
        harness::redis_inbound(&data);
    }
}

/// Found by the first `deflate_stream` run: input that inflated to nothing after a fragment had
/// been handed on left the inflater's hand-over cursor past the end of its emptied buffer, and
/// the next read panicked. The input is in the corpus as `crash-stale-fragment-cursor`.
#[test]
fn deflate_stream_input_that_inflates_to_nothing_after_a_fragment() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let data =
        std::fs::read(fuzz.join("corpus/deflate_stream/crash-stale-fragment-cursor")).unwrap();
    harness::deflate_stream(&data);
}
