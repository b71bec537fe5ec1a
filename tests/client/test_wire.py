"""``WireTransport`` against real loopback sockets: keep-alive, framing, lenient parsing, errors, timeouts.

``ScriptedServer`` accepts connections on 127.0.0.1, reads each request (head and body, chunked or not),
records it with the connection it came on, and plays back scripted raw bytes; it counts the connections it
accepted and those the client closed. Nothing here sleeps to synchronise: the server signals with events
and is joined, and only the read-timeout test waits on a (short) client timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import httpx
import pytest
from mlflow_client._settings import Settings
from mlflow_client._transport import HttpTransport
from mlflow_client._wire import MAX_HEAD_BYTES, WireTransport
from mlflow_client.exceptions import MlflowConnectionError


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
    or, when given, the replies of ``respond``. Each connection is served by its own thread."""

    def __init__(self, *script: bytes | Reply, respond: Callable[[Received], bytes | Reply] | None = None) -> None:
        self._script = list(script)
        self._respond = respond
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
                    if self._respond is not None:
                        reply = self._respond(received)
                    else:
                        reply = self._script.pop(0) if self._script else HANG_UP
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


def send(transport: WireTransport, url: str, read: float = 5.0) -> httpx.Response:
    """A GET straight through the transport, body read, with connect, read and write timeouts."""
    timeouts = {"connect": 5.0, "read": read, "write": 5.0, "pool": None}
    response = transport.handle_request(httpx.Request("GET", url, extensions={"timeout": timeouts}))
    response.read()
    return response


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=WireTransport(), timeout=5.0) as c:
        yield c


# -- keep-alive ------------------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection(client: httpx.Client) -> None:
    with ScriptedServer(ok(b"first"), ok(b"second")) as server:
        assert client.get(server.url + "/a").content == b"first"
        assert client.get(server.url + "/b").content == b"second"
    assert server.accepted == 1
    assert [r.request_line for r in server.requests] == [b"GET /a HTTP/1.1", b"GET /b HTTP/1.1"]


def test_idle_connection_closed_by_the_server_is_replaced(client: httpx.Client) -> None:
    with ScriptedServer(Reply(ok(b"one"), close=True), ok(b"two")) as server:
        assert client.get(server.url).content == b"one"
        assert server.server_closed.wait(5)
        assert client.get(server.url).content == b"two"
    assert server.accepted == 2
    assert [r.connection for r in server.requests] == [0, 1]


@pytest.mark.parametrize(
    ("first", "connections"),
    [
        pytest.param(ok(b"x", "Connection: close"), 2, id="http11-connection-close"),
        pytest.param(ok(b"x", version="HTTP/1.0"), 2, id="http10-default"),
        pytest.param(ok(b"x", "Connection: Keep-Alive", version="HTTP/1.0"), 1, id="http10-keep-alive"),
    ],
)
def test_reuse_follows_the_connection_header_and_version(client: httpx.Client, first: bytes, connections: int) -> None:
    # The server keeps the connection open either way: only the answer's headers tell the client to drop it.
    with ScriptedServer(first, ok(b"next")) as server:
        assert client.get(server.url).content == b"x"
        assert client.get(server.url).content == b"next"
    assert server.accepted == connections


def test_request_with_connection_close_is_not_followed_by_another_on_that_connection(client: httpx.Client) -> None:
    # RFC 9112 §9.6: a client that sends "close" must not send further requests on that connection.
    with ScriptedServer(ok(b"one"), ok(b"two")) as server:
        assert client.get(server.url, headers={"Connection": "close"}).content == b"one"
        assert client.get(server.url).content == b"two"
    assert server.accepted == 2


# -- framing ---------------------------------------------------------------------------------------


def test_chunked_answer_with_extensions_and_trailers(client: httpx.Client) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6 ; a=b;c\r\n world\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n"
    )
    with ScriptedServer(chunked, ok(b"after")) as server:
        assert client.get(server.url).content == b"hello world"
        assert client.get(server.url).content == b"after"
    assert server.accepted == 1


def test_answer_without_length_is_read_until_close_and_not_reused(client: httpx.Client) -> None:
    until_close = Reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the end", close=True)
    with ScriptedServer(until_close, ok(b"next")) as server:
        assert client.get(server.url).content == b"read until the end"
        assert client.get(server.url).content == b"next"
    assert server.accepted == 2


def test_interim_100_continue_is_skipped(client: httpx.Client) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    with ScriptedServer(interim + ok(b"final", "X-Final: 1"), ok(b"next")) as server:
        response = client.post(server.url, content=b"data")
        assert (response.status_code, response.content) == (200, b"final")
        assert response.headers["X-Final"] == "1"
        assert "Link" not in response.headers
        assert client.get(server.url).content == b"next"
    assert server.accepted == 1


def test_bare_lf_heads_and_folded_header_lines(client: httpx.Client) -> None:
    bare = b"HTTP/1.1 200 OK\nContent-Length: 5\nX-Folded: first\n  second\n\tthird\nX-After: 2\n\nhello"
    with ScriptedServer(bare, ok(b"next")) as server:
        response = client.get(server.url)
        assert response.content == b"hello"
        assert response.headers["X-Folded"] == "first second third"
        assert response.headers["X-After"] == "2"
        assert client.get(server.url).content == b"next"
    assert server.accepted == 1


def test_head_request_and_204_304_with_content_length_have_no_body(client: httpx.Client) -> None:
    with ScriptedServer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
        ok(b"last"),
    ) as server:
        head = client.head(server.url)
        assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "100", b"")
        for status in (204, 304):
            response = client.get(server.url)
            assert (response.status_code, response.content) == (status, b"")
        assert client.get(server.url).content == b"last"
    assert [r.request_line.split(b" ")[0] for r in server.requests] == [b"HEAD", b"GET", b"GET", b"GET"]
    assert server.accepted == 1


# -- errors ----------------------------------------------------------------------------------------


def test_body_shorter_than_content_length_is_a_protocol_error(client: httpx.Client) -> None:
    with (
        ScriptedServer(Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close=True)) as server,
        client.stream("GET", server.url) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match="7 bytes missing"):
            response.read()


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"), id="malformed-status-line"),
        pytest.param(HANG_UP, id="closed-without-answering"),
        pytest.param(Reply(b"HTTP/1.1 200 OK\r\nContent-", close=True), id="closed-mid-head"),
        pytest.param(Reply(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"), id="malformed-header"),
        pytest.param(Reply(ok(b"", "X-Big: " + "x" * 4 * MAX_HEAD_BYTES)), id="head-4x-max"),
        pytest.param(Reply(ok(b"", "X-Big: " + "x" * MAX_HEAD_BYTES)), id="head-just-over-max"),
    ],
)
def test_bad_answer_heads_are_protocol_errors(client: httpx.Client, reply: Reply) -> None:
    with ScriptedServer(reply) as server, pytest.raises(httpx.RemoteProtocolError):
        client.get(server.url)


def test_read_timeout_when_the_server_never_answers() -> None:
    with ScriptedServer(NO_ANSWER) as server, WireTransport() as transport:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            send(transport, server.url, read=0.2)
        elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 1.0
    assert len(server.requests) == 1


def test_write_timeout_when_the_server_stops_reading() -> None:
    """A listener that never accepts: the kernel completes the handshake, nobody reads, the buffers fill."""
    with socket.create_server(("127.0.0.1", 0)) as listener, WireTransport() as transport:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/upload"
        request = httpx.Request(
            "PUT",
            url,
            content=b"x" * (64 * 1024 * 1024),
            extensions={"timeout": {"connect": 5.0, "read": 5.0, "write": 0.2, "pool": None}},
        )
        started = time.monotonic()
        with pytest.raises(httpx.WriteTimeout):
            transport.handle_request(request)
        elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 5.0


def test_connecting_to_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as holder, WireTransport() as transport:
        holder.bind(("127.0.0.1", 0))  # bound, never listening: the port stays ours and refuses connections
        port = holder.getsockname()[1]
        with pytest.raises(httpx.ConnectError):
            send(transport, f"http://127.0.0.1:{port}/")


# -- request bodies and headers --------------------------------------------------------------------


def test_iterator_body_goes_out_chunked(client: httpx.Client) -> None:
    with ScriptedServer(ok(b"got it")) as server:
        response = client.post(server.url + "/up", content=iter([b"abc", b"", b"de" * 10]))
        assert response.content == b"got it"
    (request,) = server.requests
    assert request.header("Transfer-Encoding") == "chunked"
    assert request.header("Content-Length") is None
    assert request.raw_body == b"3\r\nabc\r\n14\r\n" + b"de" * 10 + b"\r\n0\r\n\r\n"
    assert request.body == b"abc" + b"de" * 10


def test_bytes_body_goes_out_with_content_length_in_one_send(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[bytes] = []  # what this (the client's) thread sends; the server answers from its own threads
    sendall = socket.socket.sendall

    def recording_sendall(sock: socket.socket, data: bytes, *flags: int) -> None:
        if threading.current_thread() is threading.main_thread():
            sent.append(bytes(data))
        sendall(sock, data, *flags)

    monkeypatch.setattr(socket.socket, "sendall", recording_sendall)
    with ScriptedServer(ok(b"got it")) as server:
        assert client.put(server.url + "/up", content=b"hello world").content == b"got it"
    (request,) = server.requests
    assert request.request_line == b"PUT /up HTTP/1.1"
    assert request.header("Content-Length") == "11"
    assert request.header("Transfer-Encoding") is None
    assert sent == [request.head + b"\r\n\r\nhello world"]


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb", "a\x00b"])
def test_header_value_with_cr_lf_is_refused_before_sending(client: httpx.Client, value: str) -> None:
    with ScriptedServer(ok(b"one"), ok(b"two"), ok(b"three")) as server:
        assert client.get(server.url).content == b"one"  # a pooled connection the bad request could go on
        with pytest.raises(httpx.LocalProtocolError):
            client.get(server.url, headers={"X-Evil": value})
        assert client.get(server.url).content == b"two"
    assert len(server.requests) == 2
    assert not any(b"Injected" in r.head or b"X-Evil" in r.head for r in server.requests)
    assert server.accepted == 1


def test_method_with_cr_lf_is_refused_before_sending(client: httpx.Client) -> None:
    with ScriptedServer(ok(b"one"), ok(b"two"), ok(b"three")) as server:
        with pytest.raises(httpx.LocalProtocolError):
            client.request("GET / HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET", server.url + "/")
        assert client.get(server.url).content == b"one"
    assert [r.request_line for r in server.requests] == [b"GET / HTTP/1.1"]


# -- the pool --------------------------------------------------------------------------------------


def test_closing_a_response_unread_closes_its_connection(client: httpx.Client) -> None:
    # Only the head is sent: nothing is left to read that would make the connection look unusable.
    with ScriptedServer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", ok(b"next")) as server:
        with client.stream("GET", server.url) as response:
            assert response.status_code == 200
        assert client.get(server.url).content == b"next"
    assert server.accepted == 2


def test_reading_a_response_to_the_end_returns_its_connection(client: httpx.Client) -> None:
    with ScriptedServer(ok(b"read it all"), ok(b"next")) as server:
        with client.stream("GET", server.url) as response:
            assert b"".join(response.iter_raw()) == b"read it all"
        assert client.get(server.url).content == b"next"
    assert server.accepted == 1


def test_keep_alive_works_when_socket_descriptors_are_above_1024(client: httpx.Client) -> None:
    # A process with many files open (or many upload threads) gets socket descriptors >= FD_SETSIZE.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with ScriptedServer(ok(b"one"), ok(b"two"), ok(b"three")) as server:
            assert [client.get(server.url).content for _ in range(3)] == [b"one", b"two", b"three"]
        assert server.accepted == 1
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_concurrent_requests_share_the_pool_and_close_leaves_nothing_open() -> None:
    def echo_path(request: Received) -> bytes:
        return ok(request.request_line.split(b" ")[1])

    def worker(client: httpx.Client, url: str, thread: int) -> list[bytes]:
        return [client.get(f"{url}/t{thread}/r{i}").content for i in range(20)]

    with ScriptedServer(respond=echo_path) as server:
        with httpx.Client(transport=WireTransport(), timeout=5.0) as client, ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(worker, client, server.url, t) for t in range(4)]
            bodies = [f.result() for f in futures]
        server.join_connections(5)
        assert bodies == [[f"/t{t}/r{i}".encode() for i in range(20)] for t in range(4)]
        assert len(server.requests) == 80
        assert 1 <= server.accepted <= 4  # never more connections than threads
        assert server.eofs == server.accepted  # transport.close() closed every idle connection


def test_large_download_arrives_intact(client: httpx.Client) -> None:
    payload = bytes(range(256)) * (3 * 1024 * 4) + b"tail"  # 3 MiB and a bit
    with ScriptedServer(ok(payload), ok(b"next")) as server:
        digest = hashlib.sha256()
        with client.stream("GET", server.url) as response:
            for block in response.iter_raw():
                digest.update(block)
        assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
        assert client.get(server.url).content == b"next"
    assert server.accepted == 1


def test_large_chunked_upload_arrives_intact(client: httpx.Client) -> None:
    payload = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32) + b"tail"

    def digest_of_body(request: Received) -> bytes:
        return ok(hashlib.sha256(request.body).hexdigest().encode())

    pieces = (payload[i : i + 100_000] for i in range(0, len(payload), 100_000))
    with ScriptedServer(respond=digest_of_body) as server:
        response = client.post(server.url, content=pieces)
    assert response.content.decode() == hashlib.sha256(payload).hexdigest()
    assert server.requests[0].header("Transfer-Encoding") == "chunked"


# -- proxies from the environment ------------------------------------------------------------------


def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with ScriptedServer(ok(b'{"experiment": {"experiment_id": "0"}}', "Content-Type: application/json")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with HttpTransport("http://mlflow.invalid:5000", Settings.from_env({}, max_retries=0)) as t:
            try:
                body = t.request("GET", "/api/2.0/mlflow/experiments/get", params=[("experiment_id", "0")])
            except MlflowConnectionError as err:
                pytest.fail(f"the request did not go through HTTP_PROXY={proxy.url}: {err}")
    assert body == b'{"experiment": {"experiment_id": "0"}}'
    (request,) = proxy.requests
    assert (
        request.request_line
        == b"GET http://mlflow.invalid:5000/api/2.0/mlflow/experiments/get?experiment_id=0 HTTP/1.1"
    )


def test_no_proxy_from_the_environment_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with ScriptedServer(ok(b"{}")) as proxy, ScriptedServer(ok(b'{"direct": true}')) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with HttpTransport(server.url, Settings.from_env({}, max_retries=0)) as t:
            body = t.request("GET", "/api/2.0/mlflow/experiments/get")
    assert body == b'{"direct": true}'
    assert proxy.requests == [] and len(server.requests) == 1
