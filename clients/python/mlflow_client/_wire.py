"""The HTTP/1.1 wire under the transport's ``httpx.Client``: pooled keep-alive sockets, parsed here.

httpx's default transport (httpcore + h11) spent ~0.2 ms of CPU per request, three times the socket work;
with 1000 small artifacts that, not the network, was the limit. ``WireTransport`` is an
``httpx.BaseTransport`` (httpx's extension point for transports), so everything above it is still httpx:
auth, redirects, cookies, content decoding and per-request timeouts. This one only makes direct
connections: for proxies from the environment, ``_transport`` mounts httpx's own proxy transports. What it
does:

- sends the request head and a small body in one ``sendall``; a body of unknown length goes chunked;
- reads answers with one ``recv`` where one suffices and parses the status line and headers itself;
  bodies are framed by ``Content-Length``, chunked encoding or the end of the connection (RFC 9112 §6);
- keeps idle connections per (scheme, host, port) and reuses one only when its last answer was read to
  the end, the server did not ask to close, and the socket has nothing to read (a server that closed an
  idle connection makes it readable);
- on Linux and macOS, plain-TCP sockets block and carry their timeouts in the kernel (``SO_RCVTIMEO``,
  ``SO_SNDTIMEO``): a Python socket timeout adds a ``poll`` before every ``send`` and ``recv``, and with
  several upload threads each extra system call is another hand-over of the GIL;
- raises the httpx exceptions the retry policy knows (``ConnectError``, ``ReadTimeout``,
  ``RemoteProtocolError``, ...), with the socket or TLS error chained.

Imported with httpx, when the first transport is built.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import struct
import sys
import threading
from collections.abc import Iterable, Iterator

import httpx

__all__ = ["MAX_HEAD_BYTES", "READ_BYTES", "WireTransport"]

#: Largest read of a body. 1 MiB reads keep a 1 GiB download on curl's pace; httpcore's 64 KiB reads
#: were ~12% behind (bench/artifacts.py).
READ_BYTES = 1024 * 1024
#: Read size while waiting for an answer's head (a small body usually arrives in the same read).
HEAD_READ_BYTES = 64 * 1024
#: Longest answer head accepted, and most header lines (the standard library's limits).
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
#: Bodies up to this size go out in the same ``sendall`` as the request head.
COALESCE_BYTES = 256 * 1024
#: Idle connections kept per host (httpx's default keep-alive limit).
MAX_IDLE_PER_HOST = 20

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HAS_POLL = hasattr(select, "poll")
_KERNEL_TIMEOUTS = sys.platform.startswith("linux") or sys.platform == "darwin"
_NO_BODY_STATUSES = frozenset({204, 304})
_NOT_TOKEN = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")  # a header name is an RFC 9110 token
_NOT_VALUE = re.compile(rb"[\x00\r\n]")
_Key = tuple[str, str, int]
_Headers = list[tuple[bytes, bytes]]


class WireTransport(httpx.BaseTransport):
    """Direct HTTP/1.1 connections, pooled. ``verify`` is what ``httpx.Client`` takes: ``True`` (the
    default CA bundle), ``False`` or an ``ssl.SSLContext``; it only matters for ``https`` URLs."""

    def __init__(self, verify: ssl.SSLContext | bool = True, *, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self._verify = verify
        self._ssl_context: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._max_idle = max_idle_per_host
        self._idle: dict[_Key, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- httpx.BaseTransport --------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
        if not url.host:
            raise httpx.LocalProtocolError("Request URL has no host.")
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout", {})
        head, chunked, close = _request_head(request)
        conn = self._reusable(key)
        if conn is not None:
            try:
                return self._exchange(conn, request, head, chunked, close)
            except _StaleConnection as err:
                # Nothing reached the server: a fresh connection is safe if the body can be sent again.
                if not isinstance(request.stream, httpx.ByteStream):
                    raise httpx.WriteError(f"the idle connection was closed by the server: {err.__cause__}") from err
        conn = _Connection.open(key, self._tls_context() if scheme == "https" else None, timeouts.get("connect"))
        return self._exchange(conn, request, head, chunked, close)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _tls_context(self) -> ssl.SSLContext:
        # Built on first use: loading the default CA bundle takes ~20 ms that plain-http users never need.
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context(verify=self._verify)
            return self._ssl_context

    # -- the pool -------------------------------------------------------------------------------

    def _reusable(self, key: _Key) -> _Connection | None:
        while True:
            with self._lock:
                conns = self._idle.get(key)
                conn = conns.pop() if conns else None
            if conn is None:
                return None
            if conn.is_idle_and_open():
                return conn
            conn.close()

    def _release(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed:
                conns = self._idle.setdefault(conn.key, [])
                if len(conns) < self._max_idle:
                    conns.append(conn)
                    return
        conn.close()

    # -- one exchange ---------------------------------------------------------------------------

    def _exchange(
        self, conn: _Connection, request: httpx.Request, head: bytes, chunked: bool, close: bool
    ) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        stream = request.stream
        assert isinstance(stream, Iterable)
        body: Iterable[bytes] = _chunked(stream) if chunked else stream
        try:
            conn.set_timeouts(timeouts.get("read"), timeouts.get("write"))
            sent_all = conn.send(head, body)
            status, reason, version, headers = conn.read_head(sent_all=sent_all)
            framing = _framing(request.method, status, headers)
        except BaseException:
            conn.close()
            raise
        conn.requests += 1
        keep = sent_all and not close and _keeps_alive(version, headers) and framing != _UNTIL_CLOSE
        return httpx.Response(
            status,
            headers=headers,
            stream=_ResponseBody(self, conn, framing, keep),
            extensions={"http_version": b"HTTP/1.1" if version == 1 else b"HTTP/1.0", "reason_phrase": reason},
        )


class _StaleConnection(Exception):
    """A reused connection failed before any of the request reached the server."""


class _Connection:
    """One socket to one server, the bytes received but not yet consumed, and its timeouts."""

    def __init__(self, key: _Key, sock: socket.socket, *, kernel_timeouts: bool) -> None:
        self.key = key
        self.sock = sock
        self.buffer = bytearray()
        self.requests = 0
        self._kernel_timeouts = kernel_timeouts
        self._timeouts: tuple[float | None, float | None] | None = None
        self._python: float | None = sock.gettimeout()

    @classmethod
    def open(cls, key: _Key, ssl_context: ssl.SSLContext | None, timeout: float | None) -> _Connection:
        _, host, port = key
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as err:
            raise httpx.ConnectTimeout(str(err) or "timed out while connecting") from err
        except OSError as err:
            raise httpx.ConnectError(str(err)) from err
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:  # the handshake runs under the connect timeout
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
        except TimeoutError as err:
            sock.close()
            raise httpx.ConnectTimeout(str(err) or "timed out during the TLS handshake") from err
        except OSError as err:  # ssl.SSLError is an OSError
            sock.close()
            raise httpx.ConnectError(str(err)) from err
        kernel = _KERNEL_TIMEOUTS and ssl_context is None  # TLS reads need Python's own timeout handling
        if kernel:
            sock.settimeout(None)
        return cls(key, sock, kernel_timeouts=kernel)

    def set_timeouts(self, read: float | None, write: float | None) -> None:
        if (read, write) == self._timeouts:
            return
        if self._kernel_timeouts:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(read))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(write))
        self._timeouts = (read, write)

    def _python_timeout(self, which: int) -> None:
        """Without kernel timeouts, the socket's own: the read (0) or write (1) timeout, set when it changes."""
        if not self._kernel_timeouts and self._timeouts is not None:
            timeout = self._timeouts[which]
            if timeout != self._python:
                self.sock.settimeout(timeout)
                self._python = timeout

    def is_idle_and_open(self) -> bool:
        """False when the server closed the connection or sent something unasked (it is readable)."""
        if self.buffer:
            return False
        try:
            if _HAS_POLL:  # select() fails on descriptors above 1023
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return not poller.poll(0)
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    # -- sending --------------------------------------------------------------------------------

    def send(self, head: bytes, body: Iterable[bytes]) -> bool:
        """Send the request; ``False`` if the server stopped reading it (its answer may still say why)."""
        self._python_timeout(1)
        chunks = iter(body)
        first = next(chunks, b"")
        data = head + first if len(first) <= COALESCE_BYTES else head
        try:
            self.sock.sendall(data)
        except (TimeoutError, BlockingIOError) as err:
            raise httpx.WriteTimeout(str(err) or "timed out while sending") from err
        except OSError as err:
            if self.requests:
                raise _StaleConnection() from err
            raise httpx.WriteError(str(err)) from err
        try:
            if data is head and first:
                self.sock.sendall(first)
            for chunk in chunks:
                if chunk:
                    self.sock.sendall(chunk)
        except (TimeoutError, BlockingIOError) as err:
            raise httpx.WriteTimeout(str(err) or "timed out while sending") from err
        except (BrokenPipeError, ConnectionResetError):
            return False  # e.g. a 413 or 401 sent before the whole body was read: read it
        except OSError as err:
            raise httpx.WriteError(str(err)) from err
        return True

    # -- receiving ------------------------------------------------------------------------------

    def recv(self, size: int) -> bytes:
        self._python_timeout(0)
        try:
            return self.sock.recv(size)
        except (TimeoutError, BlockingIOError) as err:
            raise httpx.ReadTimeout(str(err) or "timed out while reading") from err
        except OSError as err:
            raise httpx.ReadError(str(err)) from err

    def read_head(self, *, sent_all: bool = True) -> tuple[int, bytes, int, _Headers]:
        """Status, reason, HTTP minor version and headers of the next final answer (1xx are skipped)."""
        while True:
            try:
                head = self._read_until_blank_line()
            except httpx.ReadError as err:
                if not sent_all:  # the server stopped reading and hung up without answering
                    raise httpx.WriteError(f"the server closed the connection during the request: {err}") from err
                raise
            status, reason, version, headers = _parse_head(head)
            if status >= 200:
                return status, reason, version, headers
            if status == 101:
                raise httpx.RemoteProtocolError("unexpected 101 Switching Protocols")

    def _read_until_blank_line(self) -> bytes:
        buf = self.buffer
        searched = 0
        while True:
            end = buf.find(b"\n\r\n", max(0, searched - 2))
            bare = buf.find(b"\n\n", max(0, searched - 1))
            if end >= 0 and (bare < 0 or end < bare):
                size, skip = end, 3
            elif bare >= 0:
                size, skip = bare, 2
            else:
                size = skip = -1
            if size > MAX_HEAD_BYTES or (size < 0 and len(buf) > MAX_HEAD_BYTES):
                raise httpx.RemoteProtocolError(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
            if size >= 0:
                head = bytes(buf[:size])
                del buf[: size + skip]
                return head
            searched = len(buf)
            data = self.recv(HEAD_READ_BYTES)
            if not data:
                if buf.strip():
                    raise httpx.RemoteProtocolError("Server disconnected in the middle of the answer's head.")
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            buf += data

    def read_line(self) -> bytes:
        buf = self.buffer
        while True:
            end = buf.find(b"\n")
            if end >= 0:
                line = bytes(buf[:end]).rstrip(b"\r")
                del buf[: end + 1]
                return line
            if len(buf) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("a chunk-size or trailer line is too long")
            data = self.recv(HEAD_READ_BYTES)
            if not data:
                raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
            buf += data

    def read_exact(self, size: int) -> Iterator[bytes]:
        """``size`` body bytes: what is buffered first, then straight from the socket in big reads."""
        buf = self.buffer
        if len(buf) >= size:
            block = bytes(buf[:size])
            del buf[:size]
            yield block
            return
        left = size - len(buf)
        if size <= READ_BYTES:  # a small body: gather it and give it as one block
            parts = [bytes(buf)]
            buf.clear()
            while left:
                data = self.recv(left)
                if not data:
                    raise _incomplete(left)
                parts.append(data)
                left -= len(data)
            yield b"".join(parts)
            return
        if buf:
            yield bytes(buf)
            buf.clear()
        while left:
            data = self.recv(min(left, READ_BYTES))
            if not data:
                raise _incomplete(left)
            left -= len(data)
            yield data

    def read_to_end(self) -> Iterator[bytes]:
        if self.buffer:
            yield bytes(self.buffer)
            self.buffer.clear()
        while data := self.recv(READ_BYTES):
            yield data

    def close(self) -> None:
        self.sock.close()  # never raises for a socket (errors on close are ignored by Python)


# Body framings besides a length (an int >= 0).
_CHUNKED = -1
_UNTIL_CLOSE = -2


class _ResponseBody(httpx.SyncByteStream):
    """The body of one answer; gives its connection back to the pool once read to the end."""

    def __init__(self, transport: WireTransport, conn: _Connection, framing: int, keep: bool) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._framing = framing
        self._keep = keep
        self._done = framing == 0

    def __iter__(self) -> Iterator[bytes]:
        conn = self._conn
        if conn is None or self._done:
            return
        try:
            if self._framing >= 0:
                yield from conn.read_exact(self._framing)
            elif self._framing == _CHUNKED:
                yield from _read_chunked(conn)
            else:
                yield from conn.read_to_end()
        except BaseException:
            self._keep = False
            raise
        self._done = True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep:
            self._transport._release(conn)
        else:
            conn.close()


def _read_chunked(conn: _Connection) -> Iterator[bytes]:
    while True:
        line = conn.read_line()
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise httpx.RemoteProtocolError(f"bad chunk size line {line[:80]!r}") from None
        if size < 0 or not size_text.isalnum():
            raise httpx.RemoteProtocolError(f"bad chunk size line {line[:80]!r}")
        if size == 0:
            while conn.read_line():  # trailer fields, ignored
                pass
            return
        yield from conn.read_exact(size)
        if conn.read_line():
            raise httpx.RemoteProtocolError("a chunk is longer than its size line says")


def _incomplete(left: int) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        f"peer closed connection without sending complete message body ({left} bytes missing)"
    )


def _parse_head(head: bytes) -> tuple[int, bytes, int, _Headers]:
    lines = head.split(b"\n")
    status_line = lines[0].rstrip(b"\r")
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(f"malformed status line {status_line[:100]!r}")
    if len(lines) > MAX_HEADERS + 1:
        raise httpx.RemoteProtocolError(f"more than {MAX_HEADERS} header lines")
    headers: _Headers = []
    for raw in lines[1:]:
        line = raw.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the previous value
            if not headers:
                raise httpx.RemoteProtocolError("a continuation line before any header")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name.rstrip() != name:
            raise httpx.RemoteProtocolError(f"malformed header line {line[:100]!r}")
        headers.append((name, value.strip(b" \t")))
    return int(code), reason, 1 if version == b"HTTP/1.1" else 0, headers


def _framing(method: str, status: int, headers: _Headers) -> int:
    """How the body ends (RFC 9112 §6.3): a length, ``_CHUNKED`` or ``_UNTIL_CLOSE``."""
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        return 0
    lengths: set[bytes] = set()
    coding = b""
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            coding = value.rsplit(b",", 1)[-1].strip().lower()
        elif lowered == b"content-length":
            lengths.update(v.strip() for v in value.split(b","))
    if coding:
        return _CHUNKED if coding == b"chunked" else _UNTIL_CLOSE
    if not lengths:
        return _UNTIL_CLOSE
    if len(lengths) > 1 or not next(iter(lengths)).isdigit():
        raise httpx.RemoteProtocolError(f"bad Content-Length {sorted(lengths)!r}")
    return int(next(iter(lengths)))


def _keeps_alive(version: int, headers: _Headers) -> bool:
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    if version == 1:
        return b"close" not in tokens
    return b"keep-alive" in tokens


def _timeval(seconds: float | None) -> bytes:
    """A ``struct timeval`` for ``SO_RCVTIMEO``/``SO_SNDTIMEO``; all zero means no timeout."""
    if seconds is None:
        return struct.pack("ll", 0, 0)
    micros = max(1, round(seconds * 1_000_000))  # never zero, which would mean "wait forever"
    return struct.pack("ll", micros // 1_000_000, micros % 1_000_000)


def _request_head(request: httpx.Request) -> tuple[bytes, bool, bool]:
    """``METHOD target HTTP/1.1`` and the headers httpx prepared (Host included), CRLF-terminated;
    whether the body goes in chunked encoding (httpx says so for a body of unknown length); and whether
    the request itself asks to close the connection after its answer."""
    method = request.method.encode("ascii", "replace")
    if not method or _NOT_TOKEN.search(method):
        raise httpx.LocalProtocolError(f"illegal method {request.method!r}")
    lines = [b"%s %s HTTP/1.1" % (method, request.url.raw_path)]
    chunked = close = False
    for name, value in request.headers.raw:
        if not name or _NOT_TOKEN.search(name) or _NOT_VALUE.search(value):
            raise httpx.LocalProtocolError(f"illegal header {name!r}")
        lowered = name.lower()
        if lowered == b"transfer-encoding" and value.lower() == b"chunked":
            chunked = True
        elif lowered == b"connection" and b"close" in (t.strip().lower() for t in value.split(b",")):
            close = True
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines), chunked, close


def _chunked(stream: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in stream:
        if chunk:
            yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"
