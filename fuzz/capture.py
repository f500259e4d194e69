#!/usr/bin/env python3
"""Seeds the fuzz corpora with what real clients and real instances sent.

    python3 fuzz/capture.py        # needs the example binaries (cargo build --examples),
                                   # tests/node's npm packages and redis-server

It runs the repository's own end-to-end flows with the real npm clients (`ws`,
`socket.io-client` over every transport) through a recording TCP proxy, and a mixed cluster
(the `redis_cluster` example and Node socket.io with @socket.io/redis-adapter, driven by
tests/node/redis_capture.mjs) on a redis-server it watches with PSUBSCRIBE. From the recorded bytes it writes, under fuzz/seeds/<target>/:

- json_envelope: every JSON-format WebSocket frame a client sent;
- socketio_packets: each Socket.IO WebSocket connection's frames, in order (`\\n\\0` between
  frames, binary ones prefixed with `\\x01`);
- polling_body: every long-polling POST body;
- handshake: every HTTP request head, with the CONNECT packets that connection sent;
- validated_body: the data of every `sendMessage`;
- redis_inbound: every message published on Redis, its first byte naming the channel kind.

Files are named by the SHA-1 of their content, so re-running adds only what is new.
"""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
EXAMPLES = os.path.join(ROOT, "target", "debug", "examples")
NODE = os.path.join(ROOT, "tests", "node")
SEEDS = os.path.join(FUZZ, "seeds")
SEP = b"\n\0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Proxy:
    """Forwards 127.0.0.1:port to upstream and records what each client sent."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.port = free_port()
        self.streams = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(512)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            sent = bytearray()
            with self.lock:
                self.streams.append(sent)
            threading.Thread(target=self.pipe, args=(client, server, sent), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, None), daemon=True).start()

    @staticmethod
    def pipe(src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def start(cmd, env=None, port=None):
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if port:
        wait_port(port)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def node(script, *args):
    out = subprocess.run(["node", script, *args], cwd=NODE, capture_output=True, text=True,
                         timeout=120)
    print(f"  {script}: exit {out.returncode}", flush=True)


def token(sub, role=None):
    cmd = [os.path.join(EXAMPLES, "mint_token"), sub] + ([role] if role else [])
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def ws_frames(data):
    """The client's WebSocket frames in `data`: (opcode, payload), fragments joined."""
    frames, i, partial = [], 0, None
    while i + 2 <= len(data):
        fin, opcode = data[i] & 0x80, data[i] & 0x0F
        masked, length = data[i + 1] & 0x80, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            length = int.from_bytes(data[i:i + 2], "big")
            i += 2
        elif length == 127:
            length = int.from_bytes(data[i:i + 8], "big")
            i += 8
        mask = data[i:i + 4] if masked else b"\0\0\0\0"
        i += 4 if masked else 0
        payload = bytes(b ^ mask[k % 4] for k, b in enumerate(data[i:i + length]))
        i += length
        if opcode == 0 and partial:
            partial = (partial[0], partial[1] + payload)
        elif opcode in (1, 2):
            partial = (opcode, payload)
        else:
            continue
        if fin:
            frames.append(partial)
            partial = None
    return frames


def http_requests(data):
    """(head, body, rest): the HTTP requests at the start of `data`, and what follows an upgrade."""
    requests, i = [], 0
    while True:
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            return requests, b""
        head = bytes(data[i:end + 4])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        body = bytes(data[end + 4:end + 4 + length])
        requests.append((head, body))
        i = end + 4 + length
        if b"upgrade: websocket" in head.lower():
            return requests, bytes(data[i:])


class Corpus:
    def __init__(self):
        self.added = {}

    def add(self, target, content):
        if not content:
            return
        folder = os.path.join(SEEDS, target)
        os.makedirs(folder, exist_ok=True)
        name = hashlib.sha1(content).hexdigest()
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(content)
            self.added[target] = self.added.get(target, 0) + 1


def seed_from_streams(corpus, streams):
    for data in streams:
        requests, upgraded = http_requests(bytes(data))
        connects = []
        for head, body in requests:
            path = head.split(b" ")[1] if b" " in head else b""
            if path.startswith(b"/socket.io/") and body:
                corpus.add("polling_body", body)
                connects += [p for p in body.split(b"\x1e") if p.startswith(b"40")]
                for packet in body.split(b"\x1e"):
                    seed_validated(corpus, packet, socketio=True)
        frames = ws_frames(upgraded)
        socketio = any(head.split(b" ")[1].startswith(b"/socket.io/") for head, _ in requests)
        if socketio and frames:
            parts = [p if op == 1 else b"\x01" + p for op, p in frames]
            corpus.add("socketio_packets", SEP.join(parts))
            connects += [p for op, p in frames if op == 1 and p.startswith(b"40")]
            for op, p in frames:
                if op == 1:
                    seed_validated(corpus, p, socketio=True)
        elif frames:
            for op, p in frames:
                corpus.add("json_envelope", p)
                seed_validated(corpus, p, socketio=False)
        for head, _ in requests:
            corpus.add("handshake", head + (SEP + connects[0] if connects else b""))


def seed_validated(corpus, frame, socketio):
    try:
        if socketio:
            if not frame.startswith(b"42"):
                return
            text = frame.decode()
            start = text.index("[")
            args = json.loads(text[start:])
            if args and args[0] == "sendMessage" and len(args) > 1:
                corpus.add("validated_body", json.dumps(args[1]).encode())
        else:
            message = json.loads(frame)
            if message.get("event") == "sendMessage" and "data" in message:
                corpus.add("validated_body", json.dumps(message["data"]).encode())
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        pass


def capture_clients(corpus):
    alice, bob, carol = token("alice"), token("bob"), token("carol")
    for example, scripts in [
        ("chat", [("chat_flow.mjs", "ws://127.0.0.1:{port}", [alice, bob]),
                  ("socketio_flow.mjs", "http://127.0.0.1:{port}", [alice, bob, carol])]),
        ("axum_app", [("axum_flow.mjs", "http://127.0.0.1:{port}", [alice, bob])]),
    ]:
        port = free_port()
        server = start([os.path.join(EXAMPLES, example), "--port", str(port)],
                       env={"PORT": str(port)}, port=port)
        proxy = Proxy(port)
        try:
            for script, base, args in scripts:
                node(script, base.format(port=proxy.port), *args)
        finally:
            stop(server)
        time.sleep(0.5)  # the proxy's threads record the last bytes
        seed_from_streams(corpus, proxy.streams)


def capture_redis(corpus):
    redis_port = free_port()
    redis = start(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                  port=redis_port)
    messages = []
    watcher = socket.create_connection(("127.0.0.1", redis_port))
    watcher.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n")
    threading.Thread(target=read_pubsub, args=(watcher, messages), daemon=True).start()
    url = f"redis://127.0.0.1:{redis_port}"
    instances = []
    try:
        port = free_port()
        instances.append(start([os.path.join(EXAMPLES, "redis_cluster"), "--port", str(port)],
                               env={"REDIS_URL": url}, port=port))
        node("redis_capture.mjs", url, f"http://127.0.0.1:{port}")
    finally:
        for proc in instances:
            stop(proc)
        time.sleep(0.5)
        watcher.close()
        redis.kill()
    for channel, payload in messages:
        if "-request#" in channel:
            kind = 1
        elif "-response#" in channel:
            kind = 2
        elif channel.count("#") > 2:
            kind = 3
        else:
            kind = 0
        corpus.add("redis_inbound", bytes([kind]) + payload)


def read_pubsub(sock, messages):
    """Records (channel, payload) of every `pmessage` on `sock` (RESP2)."""
    buf = b""

    def read_line():
        nonlocal buf
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        line, buf = buf.split(b"\r\n", 1)
        return line

    def read_bulk(length):
        nonlocal buf
        while len(buf) < length + 2:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        value, buf = buf[:length], buf[length + 2:]
        return value

    try:
        while True:
            header = read_line()
            if not header.startswith(b"*"):
                continue
            items = []
            for _ in range(int(header[1:])):
                line = read_line()
                items.append(read_bulk(int(line[1:])) if line.startswith(b"$") else line)
            if items and items[0] == b"pmessage" and len(items) == 4:
                messages.append((items[2].decode(errors="replace"), items[3]))
    except (EOFError, OSError):
        pass


def main():
    corpus = Corpus()
    capture_clients(corpus)
    capture_redis(corpus)
    for target in sorted(corpus.added):
        print(f"{target}: {corpus.added[target]} new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
