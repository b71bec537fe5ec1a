"""An in-process adapter for the transport's unit tests (retry timing, headers): no sockets.

Tests of behaviour against servers use real ones (the stub, ``mlflow server``); this fake only stands in
where a test must script answers a real server would not give (an echo of the request's headers, a body
that breaks off, a clock that jumps).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlflow_client._http_core import AdapterError, Request


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    set_cookie: list[str] = field(default_factory=list)
    chunks: list[bytes] | None = None  # a streamed body; ``breaks`` makes it fail after these
    breaks: bool = False

    @classmethod
    def json(cls, status: int, data: Any, **kwargs: Any) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"}, **kwargs)


class _Answer:
    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self.status = reply.status
        self.closed = False

    def header(self, name: str) -> str | None:
        return next((v for k, v in self._reply.headers.items() if k.lower() == name.lower()), None)

    def set_cookie(self) -> list[str]:
        return list(self._reply.set_cookie)

    def read(self) -> bytes:
        return self._reply.body if self._reply.chunks is None else b"".join(self._reply.chunks)

    def chunks(self) -> Iterator[bytes]:
        yield from self._reply.chunks if self._reply.chunks is not None else [self._reply.body]
        if self._reply.breaks:
            raise AdapterError(AdapterError.BROKEN, "ProtocolError: connection reset by peer")

    def close(self) -> None:
        self.closed = True


class FakeAdapter:
    """Answers each attempt with ``handler(request)``; a handler may raise ``AdapterError`` instead."""

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = False

    def send(self, request: Request, *, stream: bool) -> _Answer:
        self.requests.append(request)
        return _Answer(self.handler(request))

    def close(self) -> None:
        self.closed = True
