#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, checks formatting and
# lints, runs every Rust test (unit, doc, trybuild UI, end-to-end over loopback with real
# clients: npm socket.io-client and ws, python-socketio), then runs the chat example binary
# and drives it with the npm `ws` client.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  apt-get update
  apt-get install -y "${need_apt[@]}"
fi

step "npm ci (Node test clients)"
(cd tests/node && npm ci --no-audit --no-fund)

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
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '; ([0-9]+) failed' "$log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')

step "example smoke test: cargo run --example chat, driven by two ws clients"
out=$(mktemp)
PORT=0 cargo run -q -j 2 --example chat >"$out" 2>/dev/null &
server=$!
port=""
for _ in $(seq 1 1200); do   # wait for the server to print its address (up to 2 minutes)
  port=$(grep -Eo 'localhost:[0-9]+/chat' "$out" | head -1 | grep -Eo '[0-9]+' || true)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "the chat example did not start"; cat "$out"; kill "$server" 2>/dev/null || true; exit 1
fi
smoke=0
alice=$(cargo run -q -j 2 --example mint_token -- alice)
bob=$(cargo run -q -j 2 --example mint_token -- bob)
node tests/node/chat_flow.mjs "ws://127.0.0.1:$port" "$alice" "$bob" || smoke=1
kill -INT "$server"
wait "$server" || smoke=1   # graceful shutdown on Ctrl-C exits 0
rm -f "$out"
if [ "$smoke" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo
echo "summary: $passed passed, $failed failed"
[ "$failed" = 0 ]
