#!/usr/bin/env python3
"""The reconnect storm: every client connects at once, authenticates (JWT variant), joins room
`bench` and waits for one broadcast, sent once all have joined.

    flock /tmp/build.lock python3 bench/storm.py                 # 19,800 clients, 3 repetitions
    flock /tmp/build.lock python3 bench/storm.py --reps 1 --clients 2000 --systems ours-json,bare --jwt

Per run: a fresh server pinned to CPU 0 (with `--jwt SECRET` in the JWT variant), `--procs`
`loadgen storm` processes pinned to CPU 1, each with its own source address 127.0.0.(2+i)
(see bench/loadgen/src/storm.rs for the protocol between them). It reports the time from `go`
until every client received the broadcast, the server's CPU time (utime + stime) over that
window per client, the connect latency (start of the first attempt to the join's reply, retries
included), the server's peak RSS (VmHWM), retried and failed connects, and the kernel's listen
queue overflows and drops and SYN cookies over the run (system-wide counters: nothing else
should run meanwhile; hence the lock).

19,800 clients by default: the machine allows 20,000 open files per process, the server holds
every client at once plus the publisher and its own descriptors (listener, epoll, pipes: a few
dozen), so 19,800 leaves it about 180 to spare.
"""

import argparse
import datetime
import json
import math
import os
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from run import (BENCH, CLIENT_CPU, JWT_SECRET, LOADGEN, NODE, OURS, ROOT, SERVER_CPU, SYSTEMS,
                 Server, machine, sh, versions)

STORM_SYSTEMS = ["ours-json", "ours-sio", "bare", "socketioxide", "nest-ws", "nest-sio"]
SECRET = JWT_SECRET
# The kernel's TCP counters (/proc/net/netstat, TcpExt) reported as deltas over a run.
NET_COUNTERS = ["ListenOverflows", "ListenDrops", "SyncookiesSent", "TCPReqQFullDrop", "TCPSynRetrans"]


def build():
    """The bench workspace and the Node peers. Not run.py's build(): that also builds
    bench_server in the main workspace, which this script only uses."""
    sh(["cargo", "build", "--release", "-j", "2"], cwd=BENCH)
    if not os.path.isdir(os.path.join(NODE, "node_modules", "jsonwebtoken")):
        sh(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE)
    server = SYSTEMS["ours-json"][0][0]
    if not os.path.exists(server):
        sys.exit(f"{server} is missing: cargo build --release --example bench_server")


def cpu_seconds(pid):
    """utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def net_counters():
    with open("/proc/net/netstat") as f:
        lines = [l.split() for l in f if l.startswith("TcpExt:")]
    values = dict(zip(lines[0][1:], map(int, lines[1][1:])))
    return {k: values.get(k, 0) for k in NET_COUNTERS}


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return "?"


def listen_backlog(addr):
    """The backlog of the socket listening on `addr` (the Send-Q column of `ss -l`), or None."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{addr.rsplit(':', 1)[1]}"],
                         capture_output=True, text=True).stdout.split()
    return int(out[2]) if len(out) > 2 and out[2].isdigit() else None


def bench_server_build():
    """When bench_server was built, and whether the sources it is built from differ from HEAD
    (the binary is not rebuilt here: it may hold uncommitted work)."""
    server = SYSTEMS["ours-json"][0][0]
    built = datetime.datetime.fromtimestamp(os.path.getmtime(server), datetime.timezone.utc)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "gateway-core", "gateway-redis",
                            "examples", "gateway-macros"], cwd=ROOT).returncode != 0
    return f"bench_server built {built:%Y-%m-%d %H:%M:%S} UTC" + (
        " (the working tree then differed from HEAD in the library or examples)" if dirty else "")


class Loadgen:
    """One `loadgen storm` process pinned to the client core; its stdout lines go to a queue
    (read by a thread), so that every wait for one is bounded."""

    def __init__(self, cmd, stderr):
        self.cmd = cmd
        self.stderr = stderr
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output

    def next_line(self, deadline):
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.time()))
        except queue.Empty:
            raise RuntimeError(f"loadgen said nothing in time: {' '.join(self.cmd)}") from None
        if line is None:
            self.proc.wait()
            self.stderr.seek(0)
            raise RuntimeError(f"loadgen exited ({self.proc.returncode}): {self.stderr.read().strip()}")
        return line

    def expect(self, want, deadline):
        line = self.next_line(deadline)
        if line != want:
            raise RuntimeError(f"loadgen said {line!r}, expected {want!r}")

    def say(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self):
        try:
            self.say("exit")
            self.proc.stdin.close()
        except OSError:
            pass  # already gone
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def percentile(sorted_values, q):
    """Nearest rank."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def run_one(system, jwt, clients, procs, timeout):
    """One storm against a fresh server; the figures of the run."""
    cmd, fmt = SYSTEMS[system]
    server = Server(cmd, ["--jwt", SECRET] if jwt else [])
    loadgens = []
    try:
        first = 0
        for p in range(procs):
            n = clients // procs + (1 if p < clients % procs else 0)
            args = ["taskset", "-c", CLIENT_CPU, LOADGEN, "storm", "--url", server.addr,
                    "--format", fmt, "--conns", str(n), "--src", f"127.0.0.{2 + p}",
                    "--first", str(first), "--timeout", str(timeout)]
            if jwt:
                args += ["--jwt", SECRET]
            if p == 0:
                args.append("--publisher")
            # A file, not a pipe: a pipe nobody reads could fill and block the process.
            loadgens.append(Loadgen(args, tempfile.TemporaryFile("w+")))
            first += n
        backlog = listen_backlog(server.addr)
        deadline = time.time() + 60  # tokens signed, publisher connected
        for lg in loadgens:
            lg.expect("ready", deadline)
        cpu_before = cpu_seconds(server.pid)
        net_before = net_counters()
        go_us = time.time_ns() // 1000
        for lg in loadgens:
            lg.say("go")
        # Each process says `joined` by its own deadline (`timeout` after go) at the latest.
        deadline = time.time() + timeout + 30
        for lg in loadgens:
            lg.expect("joined", deadline)
        loadgens[0].say("publish")
        outs = [json.loads(lg.next_line(deadline)) for lg in loadgens]
        # Read while every client is still connected: no disconnect is in the window.
        cpu = cpu_seconds(server.pid) - cpu_before
        peak_rss_kib = status_kib(server.pid, "VmHWM")
        server_fds = len(os.listdir(f"/proc/{server.pid}/fd"))
        net = {k: v - net_before[k] for k, v in net_counters().items()}
        server_alive = server.proc.poll() is None
    finally:
        for lg in loadgens:
            lg.stop()
        server.stop()

    latencies = sorted(l for o in outs for l in o["latencies_us"])
    received = sum(o["received"] for o in outs)
    joined = sum(o["joined"] for o in outs)
    publish_error = next((o["publish_error"] for o in outs if o["publish_error"]), None)
    attempt_errors, failures, samples = {}, {}, []
    for o in outs:
        for k, v in o["attempt_errors"].items():
            attempt_errors[k] = attempt_errors.get(k, 0) + v
        for k, v in o["failures"].items():
            failures[k] = failures.get(k, 0) + v
        samples += [s for s in o["error_samples"] if s not in samples][:10 - len(samples)]

    def since_go(key, complete):
        stamps = [o[key] for o in outs if o[key] is not None]
        return (max(stamps) - go_us) / 1e6 if complete and stamps else None

    return {
        "clients": clients,
        "procs": procs,
        "joined": joined,
        "received": received,
        "never_joined": clients - joined,
        "joined_not_received": joined - received,
        "complete": received == clients and publish_error is None and server_alive,
        "all_received_s": since_go("received_max_us", received == clients),
        "all_joined_s": since_go("joined_max_us", joined == clients),
        "server_cpu_s": cpu,
        "cpu_us_per_conn": cpu * 1e6 / clients,
        "connect_p50_ms": percentile(latencies, 0.50) / 1e3 if latencies else None,
        "connect_p99_ms": percentile(latencies, 0.99) / 1e3 if latencies else None,
        "connect_max_ms": latencies[-1] / 1e3 if latencies else None,
        "peak_rss_kib": peak_rss_kib,
        "listen_backlog": backlog,
        "server_fds": server_fds,
        "server_alive": server_alive,
        "retries": sum(o["retries"] for o in outs),
        "clients_retried": sum(o["clients_retried"] for o in outs),
        "attempt_errors": attempt_errors,
        "failures": failures,
        "error_samples": samples,
        "publish_error": publish_error,
        "client_cpu_s": sum(o["client_cpu_s"] for o in outs),
        "net": net,
    }


# (label, function of a result, unit, how the repetitions are summed up)
FIGURES = [
    ("all received", lambda r: r["all_received_s"], "s", "median"),
    ("server CPU per connection ◆", lambda r: r["cpu_us_per_conn"], "µs", "median"),
    ("connect p50", lambda r: r["connect_p50_ms"], "ms", "median"),
    ("connect p99", lambda r: r["connect_p99_ms"], "ms", "median"),
    ("peak RSS", lambda r: r["peak_rss_kib"] / 1024, "MiB", "median"),
    ("retried connects", lambda r: r["retries"], "", "max"),
    ("failed", lambda r: r["clients"] - r["received"], "", "max"),
    ("listen drops", lambda r: r["net"]["ListenDrops"], "", "max"),
    ("listen backlog", lambda r: r["listen_backlog"], "", "max"),
    ("load generator CPU", lambda r: r["client_cpu_s"], "s", "median"),
]


def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "":
        return f"{v:,.0f}"
    if unit == "s":
        return f"{v:,.2f} s"
    return f"{v:,.2f} {unit}" if v < 100 else f"{v:,.0f} {unit}"


def report(results, args, started):
    variants = [v for v in (False, True) if any(r["jwt"] == v for r in results)]
    systems = [s for s in STORM_SYSTEMS if any(r["system"] == s for r in results)]
    lines = [
        "# Reconnect storm",
        "",
        f"Run: {started:%Y-%m-%d %H:%M} UTC, `python3 bench/storm.py {' '.join(sys.argv[1:])}`, "
        f"{args.reps} repetition(s), {args.clients:,} clients from {args.procs} processes "
        f"(source addresses 127.0.0.2–127.0.0.{1 + args.procs}). Machine: {machine()}. "
        f"Server pinned to CPU {SERVER_CPU}, all load generator processes to CPU {CLIENT_CPU}. "
        f"somaxconn {sysctl('net.core.somaxconn')}, tcp_max_syn_backlog "
        f"{sysctl('net.ipv4.tcp_max_syn_backlog')}, tcp_syncookies {sysctl('net.ipv4.tcp_syncookies')}, "
        f"open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]:,} per process.",
        "",
        *[f"- {v}" for v in versions()],
        f"- {bench_server_build()}",
        "",
        "Every client connects at `go` (one task each), joins room `bench` and waits for one broadcast, "
        "published once all have joined; a failed attempt (refused, reset, timed out after 30 s) is "
        "retried after 100 ms until 120 s after `go`. \"all received\": from `go` until the last client "
        "got the broadcast (– unless every client did). CPU per connection: the server's utime + stime "
        "from `go` until all received, divided by the clients. Connect latency: from a client's first "
        "attempt to its join's reply. Peak RSS: the server's VmHWM. Medians over the repetitions; the "
        "failure counts are the worst repetition. \"failed\": clients that never joined or never got "
        "the broadcast. \"listen drops\": the kernel's ListenDrops over the run, SYNs (and handshake "
        "ACKs) dropped while the accept queue, as long as the listen backlog, was full (a client "
        "retransmits its SYN after 1 s, then 3 s, 7 s…). \"load generator CPU\": all its processes, on their one core, from `go` to the "
        "end. \"ours ÷ them\": their CPU per connection ÷ ours "
        "(same wire format, same variant, same repetition; above 1 means we do better), median over "
        "repetitions.",
        "",
    ]
    by = {}
    for r in results:
        by.setdefault((r["system"], r["jwt"]), []).append(r)
    for jwt in variants:
        lines += [f"## {'With' if jwt else 'Without'} a JWT check", ""]
        header = ["system", "complete", *[f[0] for f in FIGURES], "ours ÷ them ◆"]
        if jwt and False in variants:
            header.append("JWT cost per connection")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for system in systems:
            runs = by.get((system, jwt), [])
            if not runs:
                continue
            done = [r["result"] for r in runs if "result" in r]
            row = [system, f"{sum(1 for r in done if r['complete'])}/{len(runs)}"]
            for _, f, unit, how in FIGURES:
                vals = [f(r) for r in done if f(r) is not None]
                v = (statistics.median(vals) if how == "median" else max(vals)) if vals else None
                row.append(fmt(v, unit))
            ours = OURS[SYSTEMS[system][1]]
            ratios = []
            for r in runs:
                mine = next((o for o in by.get((ours, jwt), []) if o["rep"] == r["rep"]), None)
                if mine and "result" in mine and "result" in r:
                    ratios.append(r["result"]["cpu_us_per_conn"] / mine["result"]["cpu_us_per_conn"])
            row.append(f"{statistics.median(ratios):.2f}×" if ratios and system != ours else "–")
            if jwt and False in variants:
                without = [r["result"]["cpu_us_per_conn"] for r in by.get((system, False), []) if "result" in r]
                with_ = [r["cpu_us_per_conn"] for r in done]
                cost = statistics.median(with_) - statistics.median(without) if with_ and without else None
                row.append(f"{cost:+.1f} µs" if cost is not None else "–")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    anomalies = []
    for r in results:
        name = f"rep {r['rep'] + 1}, {r['system']}, {'JWT' if r['jwt'] else 'no JWT'}"
        if "error" in r:
            anomalies.append(f"- {name}: did not complete: {r['error']}")
            continue
        x = r["result"]
        notes = []
        if x["retries"]:
            notes.append(f"{x['retries']:,} retries by {x['clients_retried']:,} clients ({x['attempt_errors']})")
        if x["never_joined"] or x["joined_not_received"]:
            notes.append(f"{x['never_joined']:,} never joined, {x['joined_not_received']:,} joined without "
                         f"the broadcast: {x['failures']}")
        if x["publish_error"]:
            notes.append(f"publish failed: {x['publish_error']}")
        if not x["server_alive"]:
            notes.append("the server died")
        if x["error_samples"]:
            notes.append(f"errors: {'; '.join(x['error_samples'])}")
        if notes:
            notes.append(f"kernel: {x['net']}")
            anomalies.append(f"- {name}: " + "; ".join(notes))
    lines += ["## Retries, failures and drops", ""]
    lines += anomalies or ["None: every client joined at its first attempt and got the broadcast."]
    lines += ["", "Raw figures of every run: the `.jsonl` file of the same name (not committed)."]
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--systems", default=",".join(STORM_SYSTEMS))
    parser.add_argument("--clients", type=int, default=19_800)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120, help="seconds after go for every client")
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--jwt", dest="variants", action="store_const", const=[True])
    variant.add_argument("--no-jwt", dest="variants", action="store_const", const=[False])
    variant.add_argument("--both", dest="variants", action="store_const", const=[False, True])
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    variants = args.variants or [False, True]
    systems = args.systems.split(",")
    unknown = [s for s in systems if s not in STORM_SYSTEMS]
    if unknown:
        sys.exit(f"unknown systems {unknown}: choose among {STORM_SYSTEMS}")
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if args.clients + 100 > limit:
        sys.exit(f"{args.clients} clients need more open files than the {limit} a server may hold")
    if not args.no_build:
        build()
    started = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    base = os.path.join(BENCH, "results", f"storm-{started:%Y%m%dT%H%M%S}")
    results = []
    with open(base + ".jsonl", "w") as raw:
        for rep in range(args.reps):
            for jwt in variants:
                for system in systems:
                    print(f"rep {rep + 1}/{args.reps} {system} {'jwt' if jwt else 'no-jwt'}", flush=True)
                    entry = {"rep": rep, "system": system, "jwt": jwt}
                    try:
                        entry["result"] = run_one(system, jwt, args.clients, args.procs, args.timeout)
                        r = entry["result"]
                        print(f"  {r['received']:,}/{args.clients:,} received, all in {fmt(r['all_received_s'], 's')}, "
                              f"{r['cpu_us_per_conn']:.1f} µs CPU per connection, {r['retries']} retries", flush=True)
                    except Exception as e:  # a failed run is reported, not fatal
                        print(f"  failed: {e}", file=sys.stderr, flush=True)
                        entry["error"] = str(e)
                    results.append(entry)
                    raw.write(json.dumps(entry) + "\n")
                    raw.flush()
    text = report(results, args, started)
    with open(base + ".md", "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {base}.md and {base}.jsonl")


if __name__ == "__main__":
    main()
