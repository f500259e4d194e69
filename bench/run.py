#!/usr/bin/env python3
"""Runs every benchmark scenario against every system, side by side, and writes bench/RESULTS.md.

    python3 bench/run.py                 # everything, 5 repetitions (about 35 minutes)
    python3 bench/run.py --reps 1 --only echo,fanout --systems ours-json,bare

The server under test is pinned to CPU 0 and the load generator to CPU 1 (taskset). Each
(system, scenario, repetition) starts a fresh server. Figures are medians over repetitions;
ratios are medians of the per-repetition ratios (ours against the other system in the same
repetition), computed on server CPU time per operation, which compares systems whatever
their throughput (the server's core was saturated in the throughput scenarios; where a
system waits, its throughput says little).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
NODE = os.path.join(BENCH, "node")
LOADGEN = os.path.join(BENCH, "target", "release", "loadgen")
SERVER_CPU, CLIENT_CPU = "0", "1"

# name -> (command, wire format); REDIS_SYSTEMS also run the Redis scenario
SYSTEMS = {
    "ours-json": ([os.path.join(ROOT, "target/release/examples/bench_server")], "json"),
    "ours-sio": ([os.path.join(ROOT, "target/release/examples/bench_server")], "sio"),
    # The same server with the gateways layered in front of an axum Router (`--axum`).
    "ours-json-axum": ([os.path.join(ROOT, "target/release/examples/bench_server"), "--axum"], "json"),
    "ours-sio-axum": ([os.path.join(ROOT, "target/release/examples/bench_server"), "--axum"], "sio"),
    # The same Router served by listen() beside the gateways (`--routes`, `GatewayApp::with_routes`).
    "ours-json-routes": ([os.path.join(ROOT, "target/release/examples/bench_server"), "--routes"], "json"),
    "ours-sio-routes": ([os.path.join(ROOT, "target/release/examples/bench_server"), "--routes"], "sio"),
    # An earlier build of bench_server copied to bench/target/baseline/, for before/after runs.
    "ours-json-baseline": ([os.path.join(BENCH, "target/baseline/bench_server")], "json"),
    "ours-sio-baseline": ([os.path.join(BENCH, "target/baseline/bench_server")], "sio"),
    "bare": ([os.path.join(BENCH, "target/release/bench-bare")], "json"),
    "socketioxide": ([os.path.join(BENCH, "target/release/bench-socketioxide")], "sio"),
    "nest-ws": (["node", os.path.join(NODE, "nest-ws.js")], "json"),
    "nest-sio": (["node", os.path.join(NODE, "nest-sio.js")], "sio"),
    "socketio": (["node", os.path.join(NODE, "socketio.js")], "sio"),
}
# The JWT variants: the same servers with `--jwt JWT_SECRET`; the load generator signs a token
# per connection (connection setup only, and the reconnect storm in storm.py).
JWT_SECRET = "storm-benchmark-secret-32-bytes!"
JWT_SYSTEMS = ["ours-json", "ours-sio", "bare", "socketioxide", "nest-ws", "nest-sio"]
for _name in JWT_SYSTEMS:
    SYSTEMS[f"{_name}-jwt"] = (SYSTEMS[_name][0] + ["--jwt", JWT_SECRET], SYSTEMS[_name][1])
REDIS_SYSTEMS = ["ours-json", "ours-sio", "socketioxide", "socketio"]
# Run only when asked for (`--systems`): the same server served another way, not a peer.
OPTIONAL_SYSTEMS = ["ours-json-axum", "ours-sio-axum", "ours-json-routes", "ours-sio-routes", "ours-json-baseline", "ours-sio-baseline"] + [f"{n}-jwt" for n in JWT_SYSTEMS]
OURS = {"json": "ours-json", "sio": "ours-sio"}
SCENARIOS = ["echo", "echo16k", "fanout", "latency", "idle", "connect", "slow", "enhancers", "redis"]


def sh(cmd, cwd=ROOT):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def build():
    sh(["cargo", "build", "--release", "-j", "2", "--example", "bench_server"])
    sh(["cargo", "build", "--release", "-j", "2"], cwd=BENCH)
    if not os.path.isdir(os.path.join(NODE, "node_modules")):
        sh(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE)
    if shutil.which("redis-server") is None:
        sh(["apt-get", "install", "-y", "redis-server"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process pinned to the server core; `port` once it said it listens."""

    def __init__(self, cmd, extra=()):
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *cmd, "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on"):
                break
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited before listening")
        self.addr = line.split()[-1]
        self.pid = self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["taskset", "-c", CLIENT_CPU, "redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(7) == b"+PONG\r\n":
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def loadgen(scenario, servers, fmt, *args):
    cmd = ["taskset", "-c", CLIENT_CPU, LOADGEN, scenario,
           "--url", ",".join(s.addr for s in servers), "--format", fmt,
           "--server-pid", ",".join(str(s.pid) for s in servers), *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout)


def run_one(system, scenario, peaks, duration):
    cmd, fmt = SYSTEMS[system]
    if scenario == "redis":
        redis = Redis()
        servers = []
        try:
            servers = [Server(cmd, ["--redis", redis.url]) for _ in range(2)]
            return loadgen("fanout", servers, fmt, "--subs", 1000, "--size", 100,
                           "--duration", duration)
        finally:
            for s in servers:
                s.stop()
            redis.stop()
    server = Server(cmd)
    try:
        if scenario == "echo":
            return loadgen("echo", [server], fmt, "--conns", 100, "--size", 20, "--duration", duration)
        if scenario == "echo16k":
            return loadgen("echo", [server], fmt, "--conns", 100, "--size", 16384, "--duration", duration)
        if scenario == "fanout":
            return loadgen("fanout", [server], fmt, "--subs", 1000, "--size", 100, "--duration", duration)
        if scenario == "latency":
            rate = peaks.get((system, "echo"), 20000) / 2
            # Longer than the others: the tail needs samples (p99.9 of 5 s at 50 000/s is 250).
            return loadgen("latency", [server], fmt, "--conns", 100, "--size", 20, "--rate", rate,
                           "--duration", max(duration, 5.0))
        if scenario == "idle":
            return loadgen("idle", [server], fmt, "--conns", 10000, "--concurrency", 100)
        if scenario == "connect":
            jwt = ["--jwt", JWT_SECRET] if system.endswith("-jwt") else []
            return loadgen("connect", [server], fmt, "--conns", 5000, "--concurrency", 200, *jwt)
        if scenario == "slow":
            rate = peaks.get((system, "fanout"), 2000) / 2
            healthy = loadgen("fanout", [server], fmt, "--subs", 1000, "--size", 100,
                              "--rate", rate, "--duration", duration)
            server.stop()
            server = Server(cmd)
            stalled = loadgen("fanout", [server], fmt, "--subs", 1000, "--stalled", 10, "--size", 100,
                              "--rate", rate, "--duration", duration)
            return {"scenario": "slow", "rate": rate, "without_stalled": healthy, "with_stalled": stalled}
        if scenario == "enhancers":
            plain = loadgen("echo", [server], fmt, "--conns", 100, "--size", 20, "--event", "echoDto",
                            "--duration", duration)
            enhanced = loadgen("echo", [server], fmt, "--conns", 100, "--size", 20,
                               "--event", "echoEnhanced", "--duration", duration)
            return {"scenario": "enhancers", "plain": plain, "enhanced": enhanced}
        raise ValueError(scenario)
    finally:
        server.stop()


def systems_for(scenario, wanted):
    if scenario == "enhancers":
        names = ["ours-json", "ours-sio"]
    elif scenario == "redis":
        names = REDIS_SYSTEMS
    else:
        names = list(SYSTEMS)
    return [n for n in names if n in wanted]


# --- the figures each scenario reports: (label, function of a result, unit, lower is better) --

def cpu_per_op(r):
    return r["cpu_us_per_op"]


FIGURES = {
    "echo": [("round trips/s", lambda r: r["ops_per_s"], "", False),
             ("server CPU per round trip", cpu_per_op, "µs", True),
             ("of which in the kernel", lambda r: 100 * r["server_kernel_share"], "%", True)],
    "echo16k": [("round trips/s", lambda r: r["ops_per_s"], "", False),
                ("server CPU per round trip", cpu_per_op, "µs", True)],
    "fanout": [("deliveries/s", lambda r: r["deliveries_per_s"], "", False),
               ("server CPU per delivery", lambda r: r["cpu_us_per_delivery"], "µs", True),
               ("of which in the kernel", lambda r: 100 * r["server_kernel_share"], "%", True),
               ("out of publish order", lambda r: 100 * r["out_of_order"] / r["deliveries"], "%", True)],
    "latency": [("p50", lambda r: r["latency"]["p50_us"], "µs", True),
                ("p99", lambda r: r["latency"]["p99_us"], "µs", True),
                ("p99.9", lambda r: r["latency"]["p999_us"], "µs", True)],
    "idle": [("RSS per connection", lambda r: r["bytes_per_conn"] / 1024, "KiB", True)],
    "connect": [("connections/s", lambda r: r["conns_per_s"], "", False),
                ("server CPU per connection", lambda r: r["cpu_us_per_conn"], "µs", True),
                ("of which in the kernel", lambda r: 100 * r["server_kernel_share"], "%", True)],
    "slow": [("healthy p99 without stalled", lambda r: r["without_stalled"]["delivery_latency"]["p99_us"], "µs", True),
             ("healthy p99 with 10 stalled", lambda r: r["with_stalled"]["delivery_latency"]["p99_us"], "µs", True),
             ("RSS growth with stalled", lambda r: (r["with_stalled"]["rss_max_kib"] - r["with_stalled"]["rss_before_kib"]) / 1024, "MiB", True),
             ("all healthy deliveries verified", lambda r: float(r["with_stalled"]["verified"] and r["without_stalled"]["verified"]), "", False)],
    "enhancers": [("CPU per echo, typed body", lambda r: r["plain"]["cpu_us_per_op"], "µs", True),
                  ("CPU per echo, guard + pipe + interceptor", lambda r: r["enhanced"]["cpu_us_per_op"], "µs", True),
                  ("throughput cost", lambda r: 100 * (1 - r["plain"]["cpu_us_per_op"] / r["enhanced"]["cpu_us_per_op"]), "%", True)],
    "redis": [("deliveries/s", lambda r: r["deliveries_per_s"], "", False),
              ("server CPU per delivery (both instances)", lambda r: r["cpu_us_per_delivery"], "µs", True),
              ("out of publish order", lambda r: 100 * r["out_of_order"] / r["deliveries"], "%", True)],
}
# The figure ratios are computed on (the first CPU figure, or the first figure).
RATIO_FIGURE = {"echo": 1, "echo16k": 1, "fanout": 1, "latency": 1, "idle": 0, "connect": 1,
                "slow": 1, "enhancers": 2, "redis": 1}

TITLES = {
    "echo": "Echo: 100 connections × 20 B, one request in flight each (Socket.IO: emit with ack)",
    "echo16k": "Echo: 100 connections × 16 KiB",
    "fanout": "Fan-out: 1 room × 1 000 subscribers, 100 B, every delivery counted and checked in order",
    "latency": "Echo latency under open-loop load at 50% of the system's own echo peak",
    "idle": "Idle memory: 10 000 connections, each joined to a room after one message (RSS delta)",
    "connect": "Connection setup: handshake + Socket.IO connect + room join, 200 at a time, 5 000 in all",
    "slow": "Slow consumers: 10 stalled among 1 000 subscribers, publishing at 50% of the fan-out peak",
    "enhancers": "Enhancer cost: echo with a typed body, without and with guard + validation pipe + interceptor",
    "redis": "Two instances behind Redis: 1 000 subscribers split across both, publisher on the first",
}


def fmt_num(v, unit):
    if v is None:
        return "–"
    if unit in ("µs", "KiB", "MiB", "%"):
        return f"{v:,.2f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    return f"{v:,.0f}"


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} × {model}, {mem:.0f} GiB RAM, Linux {platform.release()}"


def versions():
    def out(cmd, cwd=ROOT):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd).stdout.strip()
        except OSError:
            return "?"
    lock = json.load(open(os.path.join(NODE, "package-lock.json")))["packages"]
    npm = {k.split("node_modules/")[-1]: v["version"] for k, v in lock.items() if k.count("node_modules/") == 1}
    cargo_lock = open(os.path.join(BENCH, "Cargo.lock")).read()

    def crate(name):
        i = cargo_lock.find(f'name = "{name}"\nversion = "')
        return cargo_lock[i:].split('"')[3] if i >= 0 else "?"
    ours_version = open(os.path.join(ROOT, "Cargo.toml")).read().split('version = "')[1].split('"')[0]
    redis_version = out(["redis-server", "--version"]).split()[2] if shutil.which("redis-server") else "?"
    return [
        f"rustc: {out(['rustc', '--version'])}; node {out(['node', '--version'])}; redis-server {redis_version}",
        f"ours: gateway-core {ours_version} at {out(['git', 'rev-parse', '--short', 'HEAD'])} (tokio-tungstenite {crate('tokio-tungstenite')})",
        f"bare: tokio-tungstenite {crate('tokio-tungstenite')}, 4 KiB read buffer, one writer task per connection, feed + one flush",
        f"socketioxide {crate('socketioxide')}, socketioxide-redis {crate('socketioxide-redis')} (axum {crate('axum')})",
        f"NestJS {npm.get('@nestjs/core')} with @nestjs/platform-ws / platform-socket.io {npm.get('@nestjs/platform-ws')}; ws {npm.get('ws')}; socket.io {npm.get('socket.io')}; @socket.io/redis-adapter {npm.get('@socket.io/redis-adapter')}; bufferutil {npm.get('bufferutil')}",
    ]


def report(results, reps, started, args, path):
    by = {}
    for r in results:
        by.setdefault((r["scenario"], r["system"]), []).append(r)
    lines = [
        "# Benchmark results",
        "",
        f"Run: {started:%Y-%m-%d %H:%M} UTC, `python3 bench/run.py{' ' + ' '.join(args) if args else ''}`, "
        f"{reps} repetition(s), each with a fresh server per scenario. Machine: {machine()}. "
        f"Server pinned to CPU {SERVER_CPU}, load generator (and redis-server) to CPU {CLIENT_CPU} (`taskset`).",
        "",
        *[f"- {v}" for v in versions()],
        "",
        "Figures are medians over the repetitions that completed (\"runs\": completed of attempted; a "
        "fan-out run in which a subscriber missed a delivery counts as failed; deliveries that arrive out of "
        "publish order are counted). \"per CPU-s\" divides by the server's CPU time "
        "(utime + stime from `/proc`), which compares systems whatever their throughput. \"ours ÷ them\" compares the marked figure within each repetition (for CPU "
        "per operation and latency: their value ÷ ours, so above 1 means we do better), median over "
        "repetitions.",
        "",
    ]
    for scenario in SCENARIOS:
        systems = [s for s in SYSTEMS if (scenario, s) in by]
        if not systems:
            continue
        figures = FIGURES[scenario]
        ratio_i = RATIO_FIGURE[scenario]
        lines += [f"## {TITLES[scenario]}", ""]
        header = ["system", "runs", *[f[0] + (" ◆" if i == ratio_i else "") for i, f in enumerate(figures)]]
        if scenario in ("echo", "echo16k", "fanout", "connect", "redis"):
            header.append("per server CPU-s")
        header.append("ours ÷ them ◆")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for system in systems:
            runs = by[(scenario, system)]
            row = [system, f"{sum(1 for r in runs if r.get('result'))}/{len(runs)}"]
            for label, f, unit, _ in figures:
                vals = [f(r["result"]) for r in runs if r.get("result")]
                row.append(fmt_num(statistics.median(vals), unit) if vals else "failed")
            if scenario in ("echo", "echo16k", "fanout", "connect", "redis"):
                vals = [figures[1][1](r["result"]) for r in runs if r.get("result")]
                row.append(fmt_num(1e6 / statistics.median(vals), "") if vals else "–")
            ours = OURS[SYSTEMS[system][1]]
            ratios = []
            for r in runs:
                mine = next((o for o in by.get((scenario, ours), []) if o["rep"] == r["rep"]), None)
                if mine and mine.get("result") and r.get("result"):
                    label, f, unit, lower = figures[ratio_i]
                    a, b = f(mine["result"]), f(r["result"])
                    if a and b:
                        ratios.append(b / a if lower else a / b)
            row.append(f"{statistics.median(ratios):.2f}×" if ratios and system != ours else "–")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    extra = os.path.join(BENCH, "NOTES.md")
    if os.path.exists(extra):
        lines += [open(extra).read().rstrip(), ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--systems",
                        default=",".join(n for n in SYSTEMS if n not in OPTIONAL_SYSTEMS))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--report", default=os.path.join(BENCH, "RESULTS.md"),
                        help="where the report goes (a partial run should not replace RESULTS.md)")
    args = parser.parse_args()
    if not args.no_build:
        build()
    started = datetime.datetime.now(datetime.timezone.utc)
    scenarios = [s for s in SCENARIOS if s in args.only.split(",")]
    wanted = args.systems.split(",")
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    raw_path = os.path.join(BENCH, "results", f"{started:%Y%m%dT%H%M%S}.jsonl")
    results = []
    with open(raw_path, "w") as raw:
        for rep in range(args.reps):
            peaks = {}
            for scenario in scenarios:
                for system in systems_for(scenario, wanted):
                    print(f"rep {rep + 1}/{args.reps} {scenario} {system}", flush=True)
                    entry = {"rep": rep, "scenario": scenario, "system": system}
                    try:
                        r = run_one(system, scenario, peaks, args.duration)
                        if "expected" in r and r["deliveries"] != r["expected"]:
                            # Lost (or extra) deliveries: not a result. Order is reported.
                            raise RuntimeError(
                                f"{r['deliveries']} deliveries of {r['expected']} expected")
                        entry["result"] = r
                        if scenario == "echo":
                            peaks[(system, "echo")] = r["ops_per_s"]
                        if scenario == "fanout":
                            peaks[(system, "fanout")] = r["published"] / r["seconds"]
                    except Exception as e:  # a failed run is reported, not fatal
                        print(f"  failed: {e}", file=sys.stderr, flush=True)
                        entry["error"] = str(e)
                    results.append(entry)
                    raw.write(json.dumps(entry) + "\n")
                    raw.flush()
    passthrough = [a for a in sys.argv[1:] if a != "--no-build"]
    report(results, args.reps, started, passthrough, args.report)


if __name__ == "__main__":
    main()
