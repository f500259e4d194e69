"""python-socketio 5.18 (an independent client implementation) against the conformance gateways
(`/`, `/custom`) and the interop gateway (`/interop`):

    python socketio_client.py http://127.0.0.1:3000 polling,websocket|polling|websocket

Prints one line per step and exits 0 when every expectation held, 1 otherwise.
"""

import queue
import sys

import socketio

TIMEOUT = 20


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def expect_equal(actual, expected, what):
    if actual != expected:
        fail(f"{what}: expected {expected!r}, got {actual!r}")
    print(f"ok - {what}", flush=True)


def main():
    base, transports = sys.argv[1], sys.argv[2].split(",")
    received = queue.Queue()
    sio = socketio.Client(reconnection=False)

    @sio.on("auth", namespace="/")
    def on_auth(auth):
        received.put(("auth", auth))

    @sio.on("auth", namespace="/custom")
    def on_custom_auth(auth):
        received.put(("custom auth", auth))

    @sio.on("message-back", namespace="/")
    def on_message_back(*args):
        received.put(("message-back", args))

    @sio.on("question", namespace="/interop")
    def on_question(question):
        return f"{question} yes"

    @sio.on("answered", namespace="/interop")
    def on_answered(report):
        received.put(("answered", report))

    def next_event():
        try:
            return received.get(timeout=TIMEOUT)
        except queue.Empty:
            fail("no event in time")

    sio.connect(
        base,
        namespaces=["/", "/custom", "/interop"],
        auth={"token": "py"},
        transports=transports,
        wait_timeout=TIMEOUT,
    )
    events = dict([next_event(), next_event()])
    expect_equal(events.get("auth"), {"token": "py"}, "auth payload reaches the server")
    expect_equal(events.get("custom auth"), {"token": "py"}, "multiplexed namespace")

    answer = sio.call("message-with-ack", (1, "two", b"\x01\x02"), namespace="/", timeout=TIMEOUT)
    expect_equal(answer, (1, "two", b"\x01\x02"), "ack with the same arguments, binary included")

    sio.emit("message", ("hi", b"\x07\x08"), namespace="/")
    expect_equal(next_event(), ("message-back", ("hi", b"\x07\x08")), "message-back, binary included")

    sio.emit("askMe", namespace="/interop")
    expect_equal(next_event(), ("answered", {"answer": "ready? yes"}), "server emit with ack")

    expected = "polling" if transports == ["polling"] else "websocket"
    expect_equal(sio.transport(), expected, "transport")
    sio.disconnect()
    print(f"python-socketio passed ({','.join(transports)})", flush=True)


if __name__ == "__main__":
    main()
