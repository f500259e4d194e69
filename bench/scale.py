#!/usr/bin/env python3
"""Past one Redis (issue #17 item 5): three instances behind a three-master Redis Cluster
(sharded pub/sub), behind one Redis (classic pub/sub) and behind one Redis through a stream.

    flock /tmp/build.lock python3 bench/scale.py              # 3 repetitions, 10 s windows: 5 minutes
    flock /tmp/build.lock python3 bench/scale.py --subs 30 --variants ours-json-classic,ours-json-streams

Every run starts three fresh servers on CPU 0 and `loadgen fanout` on CPU 1: `--subs` (1 000)
subscribers split across the three, one publisher on the first, 100 B, 16 broadcasts in flight. The
classic and streams runs get a fresh redis-server; the cluster (three masters, no replica) is
started once, in temp dirs, and every redis-server runs on CPU 1 with the load generator.
Server CPU is the three servers' (schedstat); Redis CPU is utime + stime of every redis-server
of the variant over the same window (`loadgen --redis-pid`). The variants alternate their order
between repetitions. Writes bench/results/scale-<time>.md and .jsonl; builds `bench_server` and this workspace
first, as run.py does.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from run import BENCH, CLIENT_CPU, ROOT, SERVER_CPU, Redis, Server, build, free_port, loadgen, machine, versions

OURS = [os.path.join(ROOT, "target/release/examples/bench_server")]
SIOX = [os.path.join(BENCH, "target/release/bench-socketioxide")]
# name -> (server command, wire format, which Redis, extra server arguments)
VARIANTS = {
    "ours-json-classic": (OURS, "json", "classic", []),
    "ours-json-sharded": (OURS, "json", "cluster", []),
    "ours-json-streams": (OURS, "json", "streams", []),
    "ours-sio-classic": (OURS, "sio", "classic", []),
    "ours-sio-sharded": (OURS, "sio", "cluster", []),
    "ours-sio-streams": (OURS, "sio", "streams", []),
    "ours-sio-streams-recovery": (OURS, "sio", "streams", ["--recovery", "120"]),
    "socketioxide-classic": (SIOX, "sio", "classic", []),
    "socketioxide-sharded": (SIOX, "sio", "cluster", []),
}
# Redis flag of each kind (the socketioxide peer has no streams driver).
FLAGS = {"classic": "--redis", "cluster": "--redis-cluster", "streams": "--redis-streams"}


class Cluster:
    """Three cluster-enabled redis-servers (masters, no replicas) on CPU 1, in temp dirs."""

    def __init__(self, masters=3):
        self.dir = tempfile.mkdtemp(prefix="scale-cluster-")
        self.ports, self.procs = [], []
        for i in range(masters):
            port, bus = free_port(), free_port()
            cwd = os.path.join(self.dir, str(i))
            os.mkdir(cwd)
            self.procs.append(subprocess.Popen(
                ["taskset", "-c", CLIENT_CPU, "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-port", str(bus),
                 "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"],
                cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.ports.append(port)
        for port in self.ports:
            self.cli(port, "PING", retry=True)
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"127.0.0.1:{p}" for p in self.ports],
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not all("cluster_state:ok" in self.cli(p, "CLUSTER", "INFO") for p in self.ports):
            if time.time() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.2)

    def cli(self, port, *args, retry=False):
        for _ in range(100 if retry else 1):
            out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True)
            if out.returncode == 0 and "Could not connect" not in out.stdout + out.stderr:
                return out.stdout
            time.sleep(0.1)
        raise RuntimeError(f"redis-cli -p {port} {' '.join(args)} failed")

    @property
    def urls(self):
        return ",".join(f"redis://127.0.0.1:{p}" for p in self.ports)

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_one(variant, cluster, duration, subs):
    cmd, fmt, kind, extra = VARIANTS[variant]
    redis = None if kind == "cluster" else Redis()
    servers = []
    try:
        target = cluster.urls if kind == "cluster" else redis.url
        pids = cluster.pids if kind == "cluster" else [redis.proc.pid]
        servers = [Server(cmd, [FLAGS[kind], target, *extra]) for _ in range(3)]
        r = loadgen("fanout", servers, fmt, "--subs", subs, "--size", 100, "--duration", duration,
                    "--redis-pid", ",".join(map(str, pids)))
        if r["deliveries"] != r["expected"]:
            raise RuntimeError(f"{r['deliveries']} deliveries of {r['expected']} expected")
        return r
    finally:
        for s in servers:
            s.stop()
        if redis:
            redis.stop()


# (label, function of a result, format)
FIGURES = [
    ("deliveries/s", lambda r: r["deliveries_per_s"], "{:,.0f}"),
    ("deliveries per server CPU-s", lambda r: r["deliveries"] / r["server_cpu_s"], "{:,.0f}"),
    ("server CPU per broadcast", lambda r: r["cpu_us_per_broadcast"], "{:,.0f} µs"),
    ("Redis CPU-s per s", lambda r: r["redis_cpu_s"] / r["seconds"], "{:.3f}"),
    ("Redis CPU per 1 000 deliveries", lambda r: 1e9 * r["redis_cpu_s"] / r["deliveries"], "{:.1f} µs"),
    ("Redis CPU per broadcast", lambda r: 1e6 * r["redis_cpu_s"] / r["published"], "{:,.1f} µs"),
    ("Redis CPU per broadcast (schedstat)", lambda r: 1e6 * r["redis_cpu_s_schedstat"] / r["published"], "{:,.1f} µs"),
    ("out of publish order", lambda r: 100 * r["out_of_order"] / r["deliveries"], "{:.2f} %"),
]
# Per-repetition ratios of server (and Redis) CPU per broadcast: variant ÷ baseline.
RATIOS = [("ours-json-streams", "ours-json-classic"), ("ours-sio-streams", "ours-sio-classic"),
          ("ours-sio-streams-recovery", "ours-sio-classic"), ("ours-sio-streams-recovery", "ours-sio-streams"),
          ("ours-json-sharded", "ours-json-classic"), ("ours-sio-sharded", "ours-sio-classic"),
          ("socketioxide-sharded", "socketioxide-classic"), ("ours-sio-sharded", "socketioxide-sharded")]


def report(results, args, started, path):
    ok = [e for e in results if "result" in e]
    lines = [
        "# Past one Redis: sharded pub/sub and streams",
        "",
        f"Run: {started:%Y-%m-%d %H:%M} UTC, `python3 bench/scale.py {' '.join(sys.argv[1:])}`, "
        f"{args.reps} repetition(s) × {args.duration:g} s. Machine: {machine()}. Three servers on CPU {SERVER_CPU}; "
        f"load generator and every redis-server on CPU {CLIENT_CPU}. {args.subs:,} subscribers split across the three "
        "instances, one publisher on the first, 100 B, 16 broadcasts in flight.",
        "",
        *[f"- {v}" for v in versions()],
        "",
        "Medians over repetitions. Server CPU: the three servers together. Redis CPU: every redis-server of "
        "the variant (the cluster's three masters; split shown per master).",
        "",
        "| variant | runs | " + " | ".join(f[0] for f in FIGURES) + " | Redis CPU-s per s, each master |",
        "|" + "---|" * (len(FIGURES) + 3),
    ]
    for v in VARIANTS:
        runs = [e for e in results if e["variant"] == v]
        if not runs:
            continue
        good = [e["result"] for e in runs if "result" in e]
        row = [v, f"{len(good)}/{len(runs)}"]
        for _, f, form in FIGURES:
            row.append(form.format(statistics.median(f(r) for r in good)) if good else "failed")
        each = [[c / r["seconds"] for c in r["redis_cpu_s_each"]] for r in good if len(r["redis_cpu_s_each"]) > 1]
        row.append(" / ".join(f"{statistics.median(x[i] for x in each):.3f}"
                              for i in range(len(each[0]))) if each else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Ratios of CPU per broadcast, median of the per-repetition ratios:", "",
              "| variant ÷ baseline | server CPU | Redis CPU |", "|---|---|---|"]
    for a, b in RATIOS:
        pairs = [(x["result"], y["result"]) for x in ok for y in ok
                 if x["variant"] == a and y["variant"] == b and x["rep"] == y["rep"]]
        if pairs:
            server = statistics.median(x["cpu_us_per_broadcast"] / y["cpu_us_per_broadcast"] for x, y in pairs)
            redis = statistics.median((x["redis_cpu_s"] / x["published"]) / (y["redis_cpu_s"] / y["published"])
                                      for x, y in pairs if y["redis_cpu_s"] > 0)
            lines.append(f"| {a} ÷ {b} | {server:.2f}× | {redis:.2f}× |")
    errors = [e for e in results if "error" in e]
    if errors:
        lines += ["", "Failed runs:", ""] + [f"- rep {e['rep'] + 1} {e['variant']}: {e['error'].splitlines()[0]}"
                                             for e in errors]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)  # Redis CPU counts 10 ms ticks
    parser.add_argument("--subs", type=int, default=1000,
                        help="subscribers; few (30) isolate the adapter's cost per broadcast")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    build()
    started = datetime.datetime.now(datetime.timezone.utc)
    base = os.path.join(BENCH, "results", f"scale-{started:%Y%m%dT%H%M%S}")
    os.makedirs(os.path.dirname(base), exist_ok=True)
    cluster = Cluster()
    results = []
    try:
        with open(base + ".jsonl", "w") as raw:
            for rep in range(args.reps):
                # Alternate the order, so that no variant always runs first.
                for v in variants if rep % 2 == 0 else variants[::-1]:
                    print(f"rep {rep + 1}/{args.reps} {v}", flush=True)
                    entry = {"rep": rep, "variant": v}
                    try:
                        entry["result"] = run_one(v, cluster, args.duration, args.subs)
                    except Exception as e:  # a failed run is reported, not fatal
                        print(f"  failed: {e}", file=sys.stderr, flush=True)
                        entry["error"] = str(e)
                    results.append(entry)
                    raw.write(json.dumps(entry) + "\n")
                    raw.flush()
    finally:
        cluster.stop()
    report(results, args, started, base + ".md")


if __name__ == "__main__":
    main()
