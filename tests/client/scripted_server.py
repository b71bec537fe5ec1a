"""A loopback HTTP/1.1 server that plays scripted raw answers, for transport tests against real sockets.

``ScriptedServer`` accepts connections on 127.0.0.1, reads each request (head and body, chunked or not),
records it with the connection it came on, and plays back scripted raw bytes; it counts the connections it
accepted and those the client closed. Nothing here sleeps to synchronise: the server signals with events
and is joined.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


class Reply(NamedTuple):
    """What the server does with one request: send ``data``, then close the connection if ``close``."""

    data: bytes
    close: bool = False


NO_ANSWER = Reply(b"")  # read the request, answer nothing, wait for the next one
HANG_UP = Reply(b"", close=True)  # close the connection without answering


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    connection: int  # index of the connection it came on, in accept order
    head: bytes  # request line and header lines, without the blank line
    raw_body: bytes  # the body as framed on the wire
    body: bytes  # the body, chunked encoding removed

    @property
    def request_line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.decode().lower() == name.lower():
                return value.strip().decode()
        return None


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def fill(self) -> None:
        data = self.sock.recv(1024 * 1024)
        if not data:
            raise EOFError
        self.buf += data

    def until(self, marker: bytes) -> bytes:
        while (end := self.buf.find(marker)) < 0:
            self.fill()
        return self.exact(end + len(marker))

    def exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            self.fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data


class ScriptedServer:
    """A loopback HTTP/1.1 server playing ``script`` (one reply per request, across connections, in order)
    or, when given, the replies of ``respond``. Each connection is served by its own thread; ``respond`` is
    called for one request at a time unless ``serial=False`` (then it runs concurrently, for slow servers)."""

    def __init__(
        self,
        *script: bytes | Reply,
        respond: Callable[[Received], bytes | Reply] | None = None,
        serial: bool = True,
    ) -> None:
        self._script = list(script)
        self._respond = respond
        self._serial = serial
        self._lock = threading.Lock()
        self.accepted = 0
        self.eofs = 0  # connections the client closed (recv gave b"")
        self.requests: list[Received] = []
        self.server_closed = threading.Event()  # set when a Reply(close=True) has been carried out
        self._stopping = False
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while True:
            sock, _ = self._listener.accept()
            with self._lock:
                if self._stopping:
                    sock.close()
                    return
                thread = threading.Thread(target=self._serve, args=(sock, self.accepted), daemon=True)
                self.accepted += 1
                self._open.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        reader = _Reader(sock)
        try:
            while True:
                received = self._read_request(reader, index)
                with self._lock:
                    self.requests.append(received)
                    if self._respond is not None and self._serial:
                        reply = self._respond(received)
                    elif self._respond is None:
                        reply = self._script.pop(0) if self._script else HANG_UP
                if self._respond is not None and not self._serial:
                    reply = self._respond(received)
                data, close = (reply, False) if isinstance(reply, bytes) else reply
                if data:
                    sock.sendall(data)
                if close:
                    self._forget(sock)
                    self.server_closed.set()
                    return
        except EOFError:
            with self._lock:
                self.eofs += 0 if self._stopping else 1
        except OSError:
            pass  # the client reset the connection, or close() shut it down
        finally:
            self._forget(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            if sock in self._open:
                self._open.remove(sock)
            sock.close()

    @staticmethod
    def _read_request(reader: _Reader, index: int) -> Received:
        head = reader.until(b"\r\n\r\n")[:-4]
        received = Received(index, head, b"", b"")
        if (received.header("Transfer-Encoding") or "").lower() == "chunked":
            raw, body = bytearray(), bytearray()
            while True:
                size_line = reader.until(b"\r\n")
                raw += size_line
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while (trailer := reader.until(b"\r\n")) != b"\r\n":
                        raw += trailer
                    raw += trailer
                    break
                chunk = reader.exact(size + 2)
                raw += chunk
                body += chunk[:-2]
            raw_body, decoded = bytes(raw), bytes(body)
        else:
            raw_body = decoded = reader.exact(int(received.header("Content-Length") or 0))
        return Received(index, head, raw_body, decoded)

    def join_connections(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds in all) for every connection so far to end."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self._acceptor.join()
        self._listener.close()
        for thread in self._threads:
            thread.join()


def ok(body: bytes = b"", *headers: str, version: str = "HTTP/1.1", status: str = "200 OK") -> bytes:
    """A complete answer with a Content-Length."""
    head = [f"{version} {status}", f"Content-Length: {len(body)}", *headers]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body
