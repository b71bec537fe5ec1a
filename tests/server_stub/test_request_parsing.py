"""The stub reads request lines and headers itself (the standard parser was a fifth of its time per request):
these talk raw HTTP to it and check what the standard BaseHTTPRequestHandler would answer."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import pytest

_SEARCH = "/api/2.0/mlflow/experiments/get?experiment_id=0"  # the Default experiment


def _connect(base_url: str) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port or 80), timeout=10)


def _exchange(stub_url: str, raw: bytes, *, answers: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``raw`` and read ``answers`` answers off the same connection."""
    with _connect(stub_url) as sock:
        sock.sendall(raw)
        stream = sock.makefile("rb")
        out = []
        for _ in range(answers):
            status = int(stream.readline().split()[1])
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            out.append((status, headers, stream.read(int(headers.get("content-length", 0)))))
        return out


def _get(extra_headers: str = "", version: str = "HTTP/1.1") -> bytes:
    return f"GET {_SEARCH} {version}\r\nHost: x\r\n{extra_headers}\r\n".encode()


def test_keep_alive_serves_pipelined_requests_and_close_ends_the_connection(stub_url: str) -> None:
    answers = _exchange(stub_url, _get() + _get("Connection: close\r\n"), answers=2)
    assert [a[0] for a in answers] == [200, 200]
    assert b'"Default"' in answers[0][2] and b'"Default"' in answers[1][2]
    assert "close" not in answers[0][1].get("connection", "")


def test_header_names_are_case_insensitive_and_folded_lines_join(stub_url: str) -> None:
    body = b'{"name": "folded-%s"}' % uuid.uuid4().hex.encode()
    raw = (
        b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"X-Note: first\r\n  second\r\nCONTENT-LENGTH: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    ((status, _, answer),) = _exchange(stub_url, raw)
    assert status == 200 and b"experiment_id" in answer


def test_http_1_0_closes_unless_asked_to_keep_alive(stub_url: str) -> None:
    with _connect(stub_url) as sock:
        sock.sendall(_get(version="HTTP/1.0") + _get())
        data = b"".join(iter(lambda: sock.recv(65536), b""))  # ends when the server hangs up
    assert data.startswith(b"HTTP/1.1 200 ") and data.count(b"HTTP/1.1 ") == 1
    answers = _exchange(stub_url, _get("Connection: keep-alive\r\n", "HTTP/1.0") + _get(), answers=2)
    assert [a[0] for a in answers] == [200, 200]


def test_expect_100_continue_is_answered_before_the_body(stub_url: str) -> None:
    body = b'{"name": "expect-%s"}' % uuid.uuid4().hex.encode()
    head = (
        b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with _connect(stub_url) as sock:
        sock.sendall(head)
        stream = sock.makefile("rb")
        assert stream.readline().split()[1] == b"100"
        assert stream.readline() == b"\r\n"
        sock.sendall(body)
        assert stream.readline().split()[1] == b"200"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (_get("X-Long: " + "a" * 70000 + "\r\n"), 431),  # a header line over 64 KiB
        (_get("".join(f"X-{i}: v\r\n" for i in range(101))), 431),  # more than 100 headers
        (_get("no colon here\r\n"), 400),
        (_get("X-Space : v\r\n"), 400),  # whitespace before the colon (a request-smuggling vector)
    ],
)
def test_malformed_headers_get_the_standard_errors(stub_url: str, raw: bytes, status: int) -> None:
    ((got, _, _),) = _exchange(stub_url, raw)
    assert got == status


@pytest.mark.parametrize(
    ("raw", "status"), [(b"GET\r\n\r\n", 400), (b"GET / HTTP/2.0\r\n\r\n", 505), (b"GET / HTTP/x\r\n\r\n", 400)]
)
def test_odd_request_lines_get_the_base_class_answers(stub_url: str, raw: bytes, status: int) -> None:
    # The base class answers these HTTP/0.9 style, a bare HTML page, as it always has.
    with _connect(stub_url) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    assert f"Error code: {status}".encode() in data


def test_exactly_100_headers_are_accepted(stub_url: str) -> None:
    ((status, _, _),) = _exchange(stub_url, _get("".join(f"X-{i}: v\r\n" for i in range(99))))  # + Host = 100
    assert status == 200
