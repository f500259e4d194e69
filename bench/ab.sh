#!/bin/bash
# Alternating-order A/B of two server binaries: echo, 100 connections, server on CPU 0 and the
# load generator on CPU 1, six pairs, the order swapped every pair (run.py always runs systems in
# one order, and the first slot of a repetition measured about 10% slower in a control run).
#   bash bench/ab.sh NEW_BINARY OLD_BINARY       # FORMAT=json|sio, SIZE=bytes (default 16384)
set -euo pipefail
A=$1; B=$2; FORMAT=${FORMAT:-json}; SIZE=${SIZE:-16384}
LOADGEN="$(dirname "$0")/target/release/loadgen"
LOG=$(mktemp)
run() {
  taskset -c 0 "$1" --port 0 > "$LOG" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
  local addr
  addr=$(grep "listening on" "$LOG" | awk '{print $NF}')
  taskset -c 1 "$LOADGEN" echo --url "$addr" --format "$FORMAT" --server-pid "$pid" \
    --conns 100 --size "$SIZE" --duration 3 |
    python3 -c "import json,sys; print(round(json.load(sys.stdin)['cpu_us_per_op'],1))"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for i in 1 2 3 4 5 6; do
  if [ $((i % 2)) = 1 ]; then a=$(run "$A"); b=$(run "$B"); else b=$(run "$B"); a=$(run "$A"); fi
  echo "pair $i: µs of server CPU per round trip: $A $a, $B $b"
done
rm -f "$LOG"
