#!/bin/bash
# Runs every fuzz target for RUNS executions (default 10 million), two at a time, and records
# each run's last status line in fuzz/logs/. Usage: bash fuzz/campaign.sh [RUNS] [TARGET...]
set -u
cd "$(dirname "$0")"
RUNS=${1:-10000000}
shift || true
TARGETS=${*:-json_envelope socketio_packets polling_body handshake redis_inbound validated_body deflate_stream}
mkdir -p logs
cargo +nightly fuzz build -s none >/dev/null 2>&1 || { echo "build failed"; exit 1; }
run() {
  local t=$1
  local start=$(date +%s)
  mkdir -p corpus/$t
  ./target/x86_64-unknown-linux-gnu/release/$t corpus/$t seeds/$t -runs="$RUNS" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix=artifacts/$t- -print_final_stats=1 > logs/$t.log 2>&1
  local rc=$?
  echo "$t rc=$rc seconds=$(( $(date +%s) - start )) $(grep -E '^Done|stat::number_of_executed_units' logs/$t.log | tr '\n' ' ')" >> logs/summary.txt
}
mkdir -p artifacts
set -- $TARGETS
while [ $# -gt 0 ]; do
  run "$1" &
  if [ $# -gt 1 ]; then run "$2" & shift; fi
  shift
  wait
done
