"""``bench/relay.py``, the latency the stores' bench adds: bytes pass unchanged both ways, in order, and
a request and its answer take at least the round trip."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bench.relay import relaying


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback server that sends back what it receives, until the client half-closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(1 << 16):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield port
    listener.close()


def test_the_relay_passes_bytes_unchanged_and_adds_the_round_trip(echo_port: int) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    with relaying(echo_port, delay_ms=40) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"  # the first bytes also wait for the handshake's round trip
        sock.sendall(b"x")
        start = time.monotonic()
        assert sock.recv(1) == b"x"
        assert time.monotonic() - start >= 0.08  # 40 ms each way

        def send() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        received = bytearray()
        while data := sock.recv(1 << 20):
            received += data
        sender.join()
    assert bytes(received) == payload  # every byte, in order, and the half-close passed on
