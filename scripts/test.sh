#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, checks formatting and
# lints, runs every Rust test (unit, doc, trybuild UI, end-to-end over loopback with real
# clients: npm socket.io-client and ws, python-socketio, Node socket.io with the Redis adapter,
# real redis-server processes, headless Chromium on the chat example's browser demo, and the
# differential parity run against real NestJS 12 in tests/parity, and the AsyncAPI documents
# and TypeScript types checked with @asyncapi/parser and tsc), runs the end-to-end tests
# again with the gateways mounted in axum, then runs the chat and axum_app example binaries and
# two redis_cluster instances on one redis-server, and drives them with the npm `ws` client (and
# the chat example with the typed socket.io-client).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The browser demo's end-to-end test drives Debian's Chromium at this path
# (tests/tests/browser_demo.rs; CHROMIUM overrides it there).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  apt-get update
  apt-get install -y "${need_apt[@]}"
fi

step "npm ci (Node test clients)"
(cd tests/node && npm ci --no-audit --no-fund)

step "npm ci and build (the NestJS twin of the parity harness)"
(cd tests/parity && npm ci --no-audit --no-fund && npm run build --silent)

step "python venv (python-socketio test client)"
if [ ! -x tests/python/.venv/bin/python ]; then
  python3 -m venv tests/python/.venv
  tests/python/.venv/bin/pip install -q -r tests/python/requirements.txt
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy -j 2 --workspace --all-targets --all-features -- -D warnings

step "cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -j 2 --workspace 2>&1 | tee "$log"

step "cargo test: the end-to-end tests again, with the gateways mounted in axum"
# (The parity run drives the chat example binary, served one way only.)
GATEWAY_TEST_SERVING=axum cargo test -j 2 -p gateway-tests --tests -- \
  --skip chat_example_answers_every_client_as_nestjs_does 2>&1 | tee -a "$log"
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '; ([0-9]+) failed' "$log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')

# start_example NAME ARGS...: runs an example in the background until it prints its chat URL;
# sets $started_pid and $started_port.
start_example() {
  local out
  out=$(mktemp)
  cargo run -q -j 2 --example "$@" >"$out" 2>/dev/null &
  started_pid=$!
  started_port=""
  for _ in $(seq 1 1200); do   # up to 2 minutes (the first run may compile it)
    started_port=$(grep -Eo 'localhost:[0-9]+/chat' "$out" | head -1 | grep -Eo '[0-9]+' || true)
    [ -n "$started_port" ] && break
    kill -0 "$started_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$started_port" ]; then
    echo "the $1 example did not start"; cat "$out"; kill "$started_pid" 2>/dev/null || true
  fi
  rm -f "$out"
  [ -n "$started_port" ]
}

# count_smoke NAME: counts a smoke test's outcome (its commands ran with `|| smoke=1`).
count_smoke() {
  if [ "$smoke" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1"; fi
}

# two_redis_cluster_instances: starts two redis_cluster examples (the environment picks their
# adapter) and plays the chat flow with alice on one and bob on the other (`|| smoke=1`).
two_redis_cluster_instances() {
  if start_example redis_cluster -- --port 0; then
    first_pid=$started_pid first_port=$started_port
    if start_example redis_cluster -- --port 0; then
      node tests/node/chat_flow.mjs "ws://127.0.0.1:$first_port" "$alice" "$bob" "ws://127.0.0.1:$started_port" || smoke=1
      kill -INT "$started_pid"
      wait "$started_pid" || smoke=1
    else
      smoke=1
    fi
    kill -INT "$first_pid"
    wait "$first_pid" || smoke=1
  else
    smoke=1
  fi
}

alice=$(cargo run -q -j 2 --example mint_token -- alice)
bob=$(cargo run -q -j 2 --example mint_token -- bob)

step "example smoke test: cargo run --example chat, driven by two ws clients, then by the typed socket.io-client"
smoke=0
if PORT=0 start_example chat; then
  node tests/node/chat_flow.mjs "ws://127.0.0.1:$started_port" "$alice" "$bob" || smoke=1
  # tests/node/typed_client: generated types (docs/asyncapi/chat.d.ts), compiled with tsc --strict
  # by the api_description tests above; here against the example binary, with its document served.
  node tests/node/typed_client/dist/client.js "http://127.0.0.1:$started_port" "$alice" "$bob" \
    6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f || smoke=1
  node -e 'fetch(process.argv[1]).then(async (r) => { const d = await r.json(); if (r.status !== 200 || d.asyncapi !== "3.0.0") process.exit(1); console.log("GET /asyncapi.json: AsyncAPI", d.asyncapi); })' \
    "http://127.0.0.1:$started_port/asyncapi.json" || smoke=1
  kill -INT "$started_pid"
  wait "$started_pid" || smoke=1   # graceful shutdown on Ctrl-C exits 0
  # The command that writes the example's types and document writes the committed snapshots.
  emitted=$(mktemp -d)
  cargo run -q -j 2 --example chat -- --emit-types "$emitted" --emit-asyncapi "$emitted" >/dev/null || smoke=1
  cmp "$emitted/chat.d.ts" docs/asyncapi/chat.d.ts || smoke=1
  cmp "$emitted/chat.asyncapi.json" docs/asyncapi/chat.asyncapi.json || smoke=1
  rm -rf "$emitted"
else
  smoke=1
fi
count_smoke "chat example"

step "example smoke test: cargo run --example axum_app, the same ws clients through axum"
smoke=0
if PORT=0 start_example axum_app; then
  node tests/node/chat_flow.mjs "ws://127.0.0.1:$started_port" "$alice" "$bob" || smoke=1
  kill -INT "$started_pid"
  wait "$started_pid" || smoke=1
else
  smoke=1
fi
count_smoke "axum_app example"

step "example smoke test: two redis_cluster instances on one redis-server, alice on one, bob on the other"
smoke=0
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
redis=$!
until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do
  kill -0 "$redis" 2>/dev/null || { echo "redis-server did not start"; break; }
  sleep 0.1
done
export REDIS_URL="redis://127.0.0.1:$redis_port"
two_redis_cluster_instances
count_smoke "redis_cluster example"

step "example smoke test: two redis_cluster instances with the Redis Streams adapter (REDIS_STREAMS_URL)"
smoke=0
REDIS_STREAMS_URL="$REDIS_URL" two_redis_cluster_instances
kill "$redis" 2>/dev/null || true
wait "$redis" 2>/dev/null || true
count_smoke "redis_cluster example with Redis Streams"

step "example smoke test: two redis_cluster instances on a three-master Redis Cluster (REDIS_CLUSTER_URLS), alice on one, bob on the other"
smoke=0
cluster_dir=$(mktemp -d)
cluster_nodes=() cluster_pids=()
for _ in 1 2 3; do
  read -r port bus < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
  mkdir -p "$cluster_dir/$port"
  (cd "$cluster_dir/$port" && exec redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 \
    --cluster-enabled yes --cluster-config-file nodes.conf --save "" --appendonly no >/dev/null) &
  cluster_pids+=($!) cluster_nodes+=("127.0.0.1:$port")
done
for node in "${cluster_nodes[@]}"; do
  until redis-cli -p "${node#*:}" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
done
redis-cli --cluster create "${cluster_nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null || smoke=1
for node in "${cluster_nodes[@]}"; do
  until redis-cli -p "${node#*:}" cluster info 2>/dev/null | grep -q "cluster_state:ok"; do sleep 0.1; done
done
urls=$(printf 'redis://%s,' "${cluster_nodes[@]}")
export REDIS_CLUSTER_URLS="${urls%,}"
two_redis_cluster_instances
unset REDIS_CLUSTER_URLS
kill "${cluster_pids[@]}" 2>/dev/null || true
wait "${cluster_pids[@]}" 2>/dev/null || true
rm -rf "$cluster_dir"
count_smoke "redis_cluster example on a Redis Cluster"

echo
echo "summary: $passed passed, $failed failed"
[ "$failed" = 0 ]
