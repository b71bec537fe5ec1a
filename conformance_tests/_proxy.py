"""A mutating HTTP proxy: forwards to a good server and breaks the exchange on purpose (for the self-test)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


@dataclass
class Exchange:
    """One request and (once forwarded) its answer; hooks may rewrite either (``status = 0``: the answer
    is lost, the connection cut)."""

    method: str
    path: str
    body: bytes
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    answer: bytes = b""

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]


Forward = Callable[[str, str, bytes], tuple[int, dict[str, str], bytes]]
Hook = Callable[[Exchange, Forward], bool]  # True: the exchange is answered, do not forward


@dataclass(frozen=True)
class Mutation:
    before: Hook | None = None
    after: Callable[[Exchange, Forward], None] | None = None


class MutatingProxy:
    """``with MutatingProxy(upstream, mutation) as proxy: ... proxy.url ...`` on a free loopback port."""

    def __init__(self, upstream: str, mutation: Mutation) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.mutation = mutation
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: avoid the delayed-ACK stall
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                ex = Exchange(self.command, self.path, self.rfile.read(length) if length else b"")
                ex.headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
                proxy.serve(ex)
                if ex.status == 0:  # a hook lost the answer: cut the connection, as a failing network would
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(ex.status)
                for k, v in ex.headers.items():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(ex.answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(ex.answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            hdrs = dict(headers or {})
            if body and not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=body if body or method in ("POST", "PUT") else None, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}, resp.read()
        finally:
            conn.close()

    def serve(self, ex: Exchange) -> None:
        request_headers = ex.headers

        def fwd(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
            return self.forward(method, path, body)

        if self.mutation.before is not None and self.mutation.before(ex, fwd):
            return
        ex.status, ex.headers, ex.answer = self.forward(ex.method, ex.path, ex.body, request_headers)
        if self.mutation.after is not None:
            self.mutation.after(ex, fwd)

    def __enter__(self) -> MutatingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
