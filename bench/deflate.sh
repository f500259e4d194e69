#!/usr/bin/env bash
# permessage-deflate's trade-off (bench/node/deflate.mjs, npm `ws`): the 16 KiB JSON echo with and
# without the extension, and the memory a connection keeps after one compressed message each way.
# The server is pinned to CPU 0, the clients to CPU 1, as run.py does. Needs
# `cargo build --release --example bench_server` and `npm ci` in bench/node. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=target/release/examples/bench_server
REPS=${REPS:-3}

# Starts bench_server with the given flags; sets PID and PORT.
start() {
  local log
  log=$(mktemp)
  taskset -c 0 "$SERVER" --port 0 "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "$PORT" ] && return
    sleep 0.1
  done
  echo "bench_server did not start" >&2
  exit 1
}

stop() {
  kill "$PID"
  wait "$PID" 2>/dev/null || true
}

run() { # label, server flags, client flags...
  local label=$1 flags=$2
  shift 2
  # shellcheck disable=SC2086
  start $flags
  echo "{\"case\":\"$label\",\"result\":$(taskset -c 1 node bench/node/deflate.mjs "$@" --url "ws://127.0.0.1:$PORT/" --server-pid "$PID")}"
  stop
}

for _ in $(seq "$REPS"); do
  run off "" echo --no-deflate
  run deflate "--deflate" echo
  run deflate-level6 "--deflate --deflate-level 6" echo
  run deflate-no-takeover "--deflate-no-takeover" echo
done
for _ in $(seq "$REPS"); do
  run off "" idle --no-deflate
  run deflate "--deflate" idle
  run deflate-no-takeover "--deflate-no-takeover" idle
  # npm `ws` compresses every message when it keeps its context, under the threshold too: the
  # server keeps an inflater, and no compressor (its own messages stay under the threshold).
  run deflate-small "--deflate" idle --size 20
done
