"""The sync transport's urllib3 adapter against real loopback sockets: keep-alive, bodies both ways,
proxies from the environment, redirects, timeouts. ``ScriptedServer`` plays raw HTTP answers."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow_client._settings import Settings
from mlflow_client._transport import HttpTransport
from mlflow_client.exceptions import ConnectionFailed, MlflowConnectionError, RequestTimeout, RestException

from tests.client.scripted_server import NO_ANSWER, Received, ScriptedServer, ok
from tests.client.scripted_server import Reply as ScriptedReply

GET_EXPERIMENT = "/api/2.0/mlflow/experiments/get"


def make(url: str, **settings: object) -> HttpTransport:
    return HttpTransport(url, Settings.from_env({}, **settings))


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield monkeypatch


# -- keep-alive ------------------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection() -> None:
    with ScriptedServer(ok(b"first"), ok(b"second")) as server, make(server.url) as t:
        assert t.request("GET", "/a") == b"first"
        assert t.request("GET", "/b") == b"second"
    assert server.accepted == 1


def test_idle_connection_closed_by_the_server_is_replaced() -> None:
    with ScriptedServer(ScriptedReply(ok(b"first"), close=True), ok(b"second")) as server, make(server.url) as t:
        assert t.request("GET", "/a") == b"first"
        server.server_closed.wait(5)
        assert t.request("POST", "/b", content=b"{}", idempotent=False) == b"second"  # no retry was needed
    assert server.accepted == 2 and len(server.requests) == 2


def test_concurrent_requests_share_the_pool_and_close_leaves_nothing_open() -> None:
    def echo_path(request: Received) -> bytes:
        return ok(request.request_line.split(b" ")[1])

    def worker(t: HttpTransport, thread: int) -> list[bytes]:
        return [t.request("GET", f"/t{thread}/r{i}") for i in range(20)]

    with ScriptedServer(respond=echo_path) as server:
        with make(server.url) as t, ThreadPoolExecutor(4) as pool:
            bodies = [f.result() for f in [pool.submit(worker, t, n) for n in range(4)]]
        server.join_connections(5)
        assert bodies == [[f"/t{n}/r{i}".encode() for i in range(20)] for n in range(4)]
        assert 1 <= server.accepted <= 4  # never more connections than threads
        assert server.eofs == server.accepted  # close() closed every idle connection


# -- bodies ----------------------------------------------------------------------------------------


def test_large_download_streams_intact_and_the_connection_is_reused() -> None:
    payload = bytes(range(256)) * (3 * 1024 * 4) + b"tail"  # 3 MiB and a bit
    with ScriptedServer(ok(payload), ok(b"next")) as server, make(server.url) as t:
        digest = hashlib.sha256()
        with t.stream("GET", "/big") as chunks:
            for block in chunks:
                digest.update(block)
        assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
        assert t.request("GET", "/next") == b"next"
    assert server.accepted == 1


def test_a_download_left_unread_closes_its_connection() -> None:
    with ScriptedServer(ok(b"x" * 3_000_000), ok(b"next")) as server, make(server.url) as t:
        with t.stream("GET", "/big") as chunks:
            next(chunks)
        assert t.request("GET", "/next") == b"next"
    assert server.accepted == 2  # the half-read connection was not handed to the next request


def test_iterator_body_goes_out_chunked() -> None:
    payload = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32) + b"tail"

    def digest_of_body(request: Received) -> bytes:
        return ok(hashlib.sha256(request.body).hexdigest().encode())

    pieces = (payload[i : i + 100_000] for i in range(0, len(payload), 100_000))
    with ScriptedServer(respond=digest_of_body) as server, make(server.url) as t:
        answer = t.request("POST", "/upload", content=pieces)
    assert answer.decode() == hashlib.sha256(payload).hexdigest()
    assert server.requests[0].header("Transfer-Encoding") == "chunked"


def test_iterator_body_with_a_length_goes_out_as_is() -> None:
    pieces = iter([b"a" * 70_000, b"b" * 30_000])
    with ScriptedServer(respond=lambda r: ok(str(len(r.body)).encode())) as server, make(server.url) as t:
        assert t.request("PUT", "/file", content=pieces, headers={"Content-Length": "100000"}) == b"100000"
    (request,) = server.requests
    assert request.header("Transfer-Encoding") is None and request.raw_body == b"a" * 70_000 + b"b" * 30_000


# -- timeouts and failures -------------------------------------------------------------------------


def test_read_timeout_when_the_server_never_answers() -> None:
    with (
        ScriptedServer(NO_ANSWER, ok(b"late")) as server,
        make(server.url, timeout=0.3, max_retries=0) as t,
        pytest.raises(RequestTimeout, match="MLFLOW_HTTP_REQUEST_TIMEOUT"),
    ):
        t.request("GET", "/slow")


def test_a_server_that_hangs_up_is_connection_failed_for_an_unsafe_request() -> None:
    with (
        ScriptedServer(ScriptedReply(b"", close=True)) as server,
        make(server.url) as t,
        pytest.raises(ConnectionFailed),
    ):
        t.request("POST", "/create", content=b"{}", idempotent=False)
    assert len(server.requests) == 1  # it may have been applied: not sent again


# -- redirects -------------------------------------------------------------------------------------


def test_redirects_are_followed_and_credentials_stay_on_their_host() -> None:
    with ScriptedServer(ok(b"moved here")) as other:
        moved = ok(b"", f"Location: {other.url}/elsewhere", status="302 Found")
        with ScriptedServer(moved) as server, make(server.url, token="tok-secret") as t:
            assert t.request("GET", "/start") == b"moved here"
    (first,) = server.requests
    (second,) = other.requests
    assert first.header("Authorization") == "Bearer tok-secret"
    assert second.request_line == b"GET /elsewhere HTTP/1.1" and second.header("Authorization") is None


def test_redirects_are_not_followed_when_disallowed() -> None:
    moved = ok(b"", "Location: /elsewhere", status="302 Found")
    with (
        ScriptedServer(moved) as server,
        make(server.url, allow_redirects=False) as t,
        pytest.raises(RestException) as info,
    ):
        t.request("GET", "/start")
    assert info.value.http_status == 302 and len(server.requests) == 1


# -- proxies from the environment ------------------------------------------------------------------


def test_http_proxy_from_the_environment_is_used(no_proxies: pytest.MonkeyPatch) -> None:
    with ScriptedServer(ok(b'{"experiment": {"experiment_id": "0"}}', "Content-Type: application/json")) as proxy:
        no_proxies.setenv("HTTP_PROXY", proxy.url.replace("://", "://carol:pr0xy-pw@"))
        with make("http://mlflow.invalid:5000", max_retries=0) as t:
            try:
                body = t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")])
            except MlflowConnectionError as err:
                pytest.fail(f"the request did not go through HTTP_PROXY: {err}")
    assert body == b'{"experiment": {"experiment_id": "0"}}'
    (request,) = proxy.requests
    assert request.request_line == f"GET http://mlflow.invalid:5000{GET_EXPERIMENT}?experiment_id=0 HTTP/1.1".encode()
    assert request.header("Proxy-Authorization") == "Basic " + base64.b64encode(b"carol:pr0xy-pw").decode()


def test_all_proxy_is_used_when_no_scheme_proxy_is_set(no_proxies: pytest.MonkeyPatch) -> None:
    with ScriptedServer(ok(b"{}")) as proxy:
        no_proxies.setenv("ALL_PROXY", proxy.url)
        with make("http://mlflow.invalid:5000", max_retries=0) as t:
            t.request("GET", GET_EXPERIMENT)
    assert len(proxy.requests) == 1


def test_no_proxy_from_the_environment_bypasses_the_proxy(no_proxies: pytest.MonkeyPatch) -> None:
    with ScriptedServer(ok(b"{}")) as proxy, ScriptedServer(ok(b'{"direct": true}')) as server:
        no_proxies.setenv("HTTP_PROXY", proxy.url)
        no_proxies.setenv("NO_PROXY", "127.0.0.1")
        with make(server.url, max_retries=0) as t:
            body = t.request("GET", GET_EXPERIMENT)
    assert body == b'{"direct": true}'
    assert proxy.requests == [] and len(server.requests) == 1


def test_an_unreachable_proxy_is_a_refused_connection_and_says_nothing_secret(no_proxies: pytest.MonkeyPatch) -> None:
    from tests.real_server import free_port

    no_proxies.setenv("HTTP_PROXY", f"http://carol:pr0xy-pw@127.0.0.1:{free_port()}")
    waits: list[float] = []
    settings = Settings.from_env({}, max_retries=2, backoff_jitter=0)
    with (
        HttpTransport("http://mlflow.invalid:5000", settings, sleep=waits.append) as t,
        pytest.raises(ConnectionFailed) as info,
    ):
        t.request("POST", "/create", content=b"{}", idempotent=False)
    assert waits == [0.0, 4.0]  # nothing left: even an unsafe request is sent again
    assert "pr0xy-pw" not in str(info.value) and "pr0xy-pw" not in repr(info.value.__cause__)
