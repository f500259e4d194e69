#!/usr/bin/env python3
"""The soak and churn run (issue #14), outside CI:

    python3 bench/soak.py                    # 30 minutes; --minutes M for a shorter run

Two `bench_server` instances behind one redis-server, both wire formats at once (one load
generator each: `loadgen soak`, see bench/loadgen/src/soak.rs): connect/disconnect churn at
200 per second per format, room joins, broadcasts and echo, 1% abusive clients. Redis is
restarted twice during the run. After the load stops it checks:

- RSS and open file descriptors of each instance are back within 10% of where they were once
  warmed up (after the first minute of load);
- the registry is empty (`GET /stats`: no socket, no room);
- neither instance's log holds a panic;
- every broadcast to a healthy subscriber is counted: on the publisher's instance none is
  missing; on the other, only those published while Redis was down or reconnecting.

It prints a report and exits 0 when every check holds; `--report FILE` appends it as Markdown.
"""

import argparse
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from run import free_port

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SERVER = os.path.join(ROOT, "target", "release", "examples", "bench_server")
LOADGEN = os.path.join(BENCH, "target", "release", "loadgen")
# A broadcast published this long after Redis came back may still miss the other instance:
# the adapters reconnect with backoff (up to 5 s) and resubscribe.
RECONNECT_GRACE_MS = 10_000


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def unix_ms():
    return int(time.time() * 1000)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Instance:
    def __init__(self, redis_url, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [SERVER, "--port", "0", "--routes", "--redis", redis_url],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on"):
            raise RuntimeError(f"bench_server did not start: {line!r}")
        self.addr = line.split()[-1]
        self.pid = self.proc.pid

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stats(self):
        with urllib.request.urlopen(f"http://{self.addr}/stats", timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200, help="churn per second per format")
    parser.add_argument("--report", help="append the Markdown report to this file")
    args = parser.parse_args()
    duration = args.minutes * 60
    logs = os.path.join(BENCH, "results", "soak")
    os.makedirs(logs, exist_ok=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    redis = Redis()
    url = f"redis://127.0.0.1:{redis.port}"
    instances = []
    try:
        for i in range(2):
            instances.append(Instance(url, os.path.join(logs, f"instance{i}.log")))
        return soak(args, duration, logs, started, redis, instances)
    finally:
        for instance in instances:
            if instance.proc.poll() is None:
                instance.proc.kill()
        if redis.proc.poll() is None:
            redis.proc.kill()


def soak(args, duration, logs, started, redis, instances):
    urls = ",".join(i.addr for i in instances)
    baseline = {"idle_rss": [i.rss_kib() for i in instances], "idle_fds": [i.fds() for i in instances]}

    loads = {}
    outputs = {}

    def run_load(fmt):
        out = subprocess.run(
            [LOADGEN, "soak", "--url", urls, "--format", fmt, "--rate", str(args.rate),
             "--subs", "50", "--conns", "10", "--duration", str(duration)],
            capture_output=True, text=True)
        outputs[fmt] = out

    for fmt in ("json", "sio"):
        loads[fmt] = threading.Thread(target=run_load, args=(fmt,))
        loads[fmt].start()

    # The peak, sampled every second while the load runs.
    peak = {"rss": [0, 0], "fds": [0, 0]}

    def sample_peak():
        while any(t.is_alive() for t in loads.values()):
            for n, instance in enumerate(instances):
                peak["rss"][n] = max(peak["rss"][n], instance.rss_kib())
                peak["fds"][n] = max(peak["fds"][n], instance.fds())
            time.sleep(1)

    sampler = threading.Thread(target=sample_peak, daemon=True)
    sampler.start()

    # Warmed up: the figures to come back to.
    time.sleep(min(60, duration / 4))
    warm = {"rss": [i.rss_kib() for i in instances], "fds": [i.fds() for i in instances]}

    outages = []
    for fraction in (1 / 3, 2 / 3):
        when = started.timestamp() + duration * fraction
        time.sleep(max(0, when - time.time()))
        down = unix_ms()
        redis.stop()
        time.sleep(5)
        redis.start()
        outages.append((down, unix_ms()))
        print(f"redis restarted ({(outages[-1][1] - down) / 1000:.1f} s down)", flush=True)

    for thread in loads.values():
        thread.join()
    sampler.join()
    # Let the servers notice every close (slow clients, the last churners).
    time.sleep(10)
    after = {"rss": [i.rss_kib() for i in instances], "fds": [i.fds() for i in instances]}
    stats = [i.stats() for i in instances]
    for i in instances:
        i.stop()
    redis.stop()
    panics = []
    for n in range(2):
        with open(os.path.join(logs, f"instance{n}.log")) as f:
            panics += [line.strip() for line in f if "panicked" in line]

    failures = []
    results = {}
    for fmt, out in outputs.items():
        if out.returncode != 0:
            failures.append(f"{fmt}: loadgen failed: {out.stderr.strip()[-500:]}")
            continue
        result = json.loads(out.stdout)
        results[fmt] = result
        if result["publisher"]:
            failures.append(f"{fmt}: publisher: {result['publisher']}")
        if result["subscriber_errors"]:
            failures.append(f"{fmt}: {result['subscriber_errors']} subscribers lost their connection")
        for sub in result["subscribers"]:
            if sub["duplicates"] or sub["out_of_order"]:
                failures.append(f"{fmt}: subscriber {sub}: duplicates or out of order")
            for first, last, from_ms, to_ms in sub["missing"]:
                in_outage = any(down <= from_ms and to_ms <= up + RECONNECT_GRACE_MS
                                for down, up in outages)
                if sub["instance"] == 0 or not in_outage:
                    failures.append(f"{fmt}: instance {sub['instance']} subscriber missed "
                                    f"{first}..{last} outside a Redis outage")
        if result["churn"]["failed"]:
            failures.append(f"{fmt}: {result['churn']['failed']} healthy churn connections failed")
        if result["echo"]["failed"]:
            failures.append(f"{fmt}: {result['echo']['failed']} echoes failed")
        if result["abusive"]["oversized_not_closed"]:
            failures.append(f"{fmt}: oversized frames not refused")
    for n in range(2):
        for key in ("rss", "fds"):
            if after[key][n] > warm[key][n] * 1.10:
                failures.append(f"instance {n}: {key} {after[key][n]} after the load, "
                                f"{warm[key][n]} once warmed up (more than 10% above)")
        if stats[n]["sockets"] or stats[n]["rooms"]:
            failures.append(f"instance {n}: registry not empty after the load: {stats[n]}")
    if panics:
        failures.append(f"panics in the logs: {panics[:3]}")

    report = render(started, args, baseline, warm, peak, after, stats, outages, results, failures)
    print(report)
    if args.report:
        with open(args.report, "a") as f:
            f.write(report + "\n")
    return 1 if failures else 0


def render(started, args, baseline, warm, peak, after, stats, outages, results, failures):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    lines = [
        f"### Soak, {started:%Y-%m-%d %H:%M} UTC, {args.minutes:g} minutes, at {commit}",
        "",
        f"Two instances behind Redis, both wire formats at once, churn {args.rate:g}/s per format; "
        f"Redis restarted {len(outages)} times "
        f"({', '.join(f'{(up - down) / 1000:.1f} s down' for down, up in outages)}).",
        "",
        "| instance | RSS idle → warm → peak → after (KiB) | open fds idle → warm → peak → after | registry after |",
        "|---|---|---|---|",
    ]
    for n in range(2):
        lines.append(
            f"| {n} | {baseline['idle_rss'][n]:,} → {warm['rss'][n]:,} → {peak['rss'][n]:,} → "
            f"{after['rss'][n]:,} | {baseline['idle_fds'][n]} → {warm['fds'][n]} → "
            f"{peak['fds'][n]} → {after['fds'][n]} | {stats[n]['sockets']} sockets, "
            f"{stats[n]['rooms']} rooms |")
    lines += ["", "| format | churn ok / failed | echo ok / failed | broadcasts | subscribers missing any (instance 0 / 1) | abusive: malformed, oversized (closed), slow |",
              "|---|---|---|---|---|---|"]
    for fmt, r in results.items():
        missing = [sum(1 for s in r["subscribers"] if s["instance"] == n and s["missing"])
                   for n in range(2)]
        a = r["abusive"]
        lines.append(
            f"| {fmt} | {r['churn']['ok']:,} / {r['churn']['failed']} | {r['echo']['ok']:,} / "
            f"{r['echo']['failed']} | {r['published']:,} | {missing[0]} / {missing[1]} | "
            f"{a['malformed']}, {a['oversized_closed']} ({a['oversized_not_closed']} not), "
            f"{a['slow']} |")
    lines += ["", "Result: " + ("passed" if not failures else "FAILED"), ""]
    lines += [f"- {f}" for f in failures]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
