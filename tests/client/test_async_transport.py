"""The async transport (httpx.AsyncClient under the shared core) against real loopback servers: the
behaviours the sync transport's tests pin, where they apply to an async client too: retries and their
waits, no second send of an unsafe request, timeouts, TLS (CA bundle, unknown CA, insecure, client
certificates), auth and redacted secrets, cookies, redirects, proxies from the environment."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mlflow_client._async_transport import AsyncHttpTransport
from mlflow_client._http_core import AdapterError
from mlflow_client._settings import Settings
from mlflow_client.exceptions import (
    ConfigurationError,
    ConnectionFailed,
    MlflowConnectionError,
    RequestTimeout,
    ResourceNotFound,
    RestException,
    TemporarilyUnavailable,
    Unauthenticated,
)

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.client.scripted_server import NO_ANSWER, ScriptedServer, ok
from tests.client.scripted_server import Reply as ScriptedReply
from tests.tls_certs import Certs, issue_certs

T = TypeVar("T")
GET_EXPERIMENT = "/api/2.0/mlflow/experiments/get"
CREATE_RUN = "/api/2.0/mlflow/runs/create"
JSON = {"Content-Type": "application/json"}
SECRET = "s3cret-token-9f2"


def run(fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await fn()

    return asyncio.run(main())


def make(url: str, waits: list[float] | None = None, **settings: Any) -> AsyncHttpTransport:
    """A transport whose waits are recorded (and skipped) when ``waits`` is given."""
    if waits is None:
        return AsyncHttpTransport(url, Settings.from_env({}, **settings))

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return AsyncHttpTransport(url, Settings.from_env({}, **settings), sleep=sleep)


async def default_experiment(t: AsyncHttpTransport) -> dict[str, Any]:
    data = await t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")])
    result: dict[str, Any] = json.loads(data)
    return result


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield monkeypatch


# -- retries ------------------------------------------------------------------------------------------


def test_a_transient_error_is_retried_on_mlflows_schedule(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=2)])
    waits: list[float] = []

    async def go() -> dict[str, Any]:
        async with make(stub.url, waits, backoff_factor=2, backoff_jitter=0) as t:
            return await default_experiment(t)

    assert run(go)["experiment"]["experiment_id"] == "0"
    assert waits == [0.0, 4.0]  # MLflow (urllib3) backoff: none before the first retry, then factor * 2 ** (n - 1)
    assert stub.httpd.requests["getExperiment"] == 3


def test_retry_after_is_honoured_and_the_error_says_what_failed(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="429", rpc="getExperiment", count=10, retry_after="3")])
    waits: list[float] = []

    async def go() -> None:
        async with make(stub.url, waits, max_retries=2, backoff_jitter=0) as t:
            await default_experiment(t)

    with pytest.raises(RestException) as info:
        run(go)
    assert info.value.http_status == 429 and info.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert waits == [3.0, 3.0]


def test_an_error_answer_maps_to_mlflows_error_code(stub: StubServer) -> None:
    async def go() -> None:
        async with make(stub.url) as t:
            await t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "404404")])

    with pytest.raises(ResourceNotFound) as info:
        run(go)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST" and info.value.http_status == 404


def test_an_unsafe_request_is_not_sent_twice_after_a_hang_up() -> None:
    async def go() -> None:
        async with make(server.url, backoff_factor=0.01) as t:
            await t.request("POST", CREATE_RUN, content=b"{}", headers=JSON, idempotent=False)

    with ScriptedServer(ScriptedReply(b"", close=True), ok(b"{}")) as server, pytest.raises(ConnectionFailed):
        run(go)
    assert len(server.requests) == 1  # it may have been applied


def test_a_safe_request_is_sent_again_after_a_hang_up() -> None:
    waits: list[float] = []

    async def go() -> bytes:
        async with make(server.url, waits, backoff_jitter=0) as t:
            return await t.request("GET", GET_EXPERIMENT)

    with ScriptedServer(ScriptedReply(b"", close=True), ok(b'{"ok": 1}')) as server:
        assert run(go) == b'{"ok": 1}'
    assert len(server.requests) == 2 and len(waits) == 1


def test_a_refused_connection_gives_up_after_the_retries() -> None:
    from tests.real_server import free_port

    waits: list[float] = []

    async def go() -> None:
        async with make(f"http://127.0.0.1:{free_port()}", waits, max_retries=2, backoff_jitter=0) as t:
            await default_experiment(t)

    with pytest.raises(ConnectionFailed, match=r"gave up after 3 attempts") as info:
        run(go)
    assert isinstance(info.value.__cause__, AdapterError) and info.value.__cause__.kind == AdapterError.CONNECT
    assert len(waits) == 2


def test_read_timeout() -> None:
    async def go() -> None:
        async with make(server.url, timeout=0.3, max_retries=0) as t:
            await t.request("GET", "/slow")

    with ScriptedServer(NO_ANSWER, ok(b"late")) as server, pytest.raises(RequestTimeout, match="MLFLOW_HTTP"):
        run(go)


def test_a_retry_sleeps_on_the_event_loop_without_blocking_it(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=2)])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def go() -> None:
        task = asyncio.create_task(ticker())
        async with make(stub.url, backoff_factor=0.15, backoff_jitter=0) as t:  # waits 0 s, then 0.3 s
            await default_experiment(t)
        task.cancel()

    run(go)
    assert ticks >= 10  # the loop ran other tasks through the 0.3 s wait


# -- TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return issue_certs(tmp_path_factory.mktemp("tls"))


def test_tls_with_a_ca_bundle_an_unknown_ca_and_insecure(certs: Certs) -> None:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key) as stub:

        async def get(**settings: Any) -> dict[str, Any]:
            async with make(stub.url, [], **settings) as t:
                return await default_experiment(t)

        assert run(lambda: get(server_cert_path=certs.ca))["experiment"]["experiment_id"] == "0"
        assert run(lambda: get(insecure_tls=True))["experiment"]["experiment_id"] == "0"
        with pytest.raises(ConnectionFailed, match="MLFLOW_TRACKING_SERVER_CERT_PATH") as info:
            run(get)
        assert "certificate verify failed" in str(info.value)
        assert stub.httpd.requests["getExperiment"] == 2  # the failed handshake was not retried into a request


def test_tls_with_requests_ca_bundle_when_no_server_cert_path_is_set(certs: Certs, tmp_path: Path) -> None:
    other = issue_certs(tmp_path)  # another CA, which did not sign the server's certificate
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key) as stub:

        async def get(**settings: Any) -> dict[str, Any]:
            async with make(stub.url, [], max_retries=0, **settings) as t:
                return await default_experiment(t)

        assert run(lambda: get(requests_ca_bundle=certs.ca))["experiment"]["experiment_id"] == "0"
        assert run(lambda: get(curl_ca_bundle=certs.ca))["experiment"]["experiment_id"] == "0"
        with pytest.raises(ConnectionFailed, match="certificate verify failed"):
            run(lambda: get(requests_ca_bundle=certs.ca, server_cert_path=other.ca))  # this one wins


def test_mutual_tls_sends_the_client_certificate(certs: Certs) -> None:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key, tls_client_ca=certs.ca) as stub:

        async def get(**settings: Any) -> dict[str, Any]:
            async with make(stub.url, [], server_cert_path=certs.ca, max_retries=1, **settings) as t:
                return await default_experiment(t)

        assert run(lambda: get(client_cert_path=certs.client_pem))["experiment"]["experiment_id"] == "0"
        # TLS 1.3 may report the missing certificate during the handshake or on the first read after it
        # (an alert httpx lets out unwrapped): either way, a ConnectionFailed with the hint, and no retry.
        for _ in range(5):
            with pytest.raises(ConnectionFailed, match="MLFLOW_TRACKING_CLIENT_CERT_PATH") as info:
                run(get)
            assert isinstance(info.value.__cause__, AdapterError) and info.value.__cause__.tls is not None
        assert stub.httpd.requests["getExperiment"] == 1


def test_an_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_SERVER_CERT_PATH"):
        make("https://127.0.0.1:1", server_cert_path=str(tmp_path / "missing.pem"))


# -- auth, secrets, cookies ----------------------------------------------------------------------------


def test_bearer_auth_and_no_secret_in_errors_or_reprs() -> None:
    with StubServer(bearer_token=SECRET) as stub:

        async def get(token: str) -> tuple[dict[str, Any], str]:
            async with make(stub.url, token=token) as t:
                return await default_experiment(t), repr(t)

        answer, text = run(lambda: get(SECRET))
        assert answer["experiment"]["experiment_id"] == "0" and SECRET not in text
        with pytest.raises(Unauthenticated) as info:
            run(lambda: get("wrong-" + SECRET))
    assert info.value.http_status == 401
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_a_secret_echoed_by_the_server_is_redacted() -> None:
    def echo(request: Any) -> ScriptedReply:
        body = f"bad request with {request.header('Authorization')}".encode()
        head = f"HTTP/1.1 500 Oops\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        return ScriptedReply(head + body)

    async def go() -> None:
        async with make(server.url, token=SECRET, max_retries=0) as t:
            await t.request("GET", GET_EXPERIMENT)

    with ScriptedServer(respond=echo) as server, pytest.raises(RestException) as info:
        run(go)
    assert SECRET not in info.value.body and "***" in info.value.body


def test_cookies_the_server_sets_are_sent_back() -> None:
    answers = (
        ok(b"{}", "Set-Cookie: sid=abc123; Path=/; HttpOnly"),
        ok(b"{}"),
        ok(b"{}", "Set-Cookie: sid=; Max-Age=0"),
    )

    async def go() -> None:
        async with make(server.url) as t:
            for _ in range(3):
                await t.request("GET", GET_EXPERIMENT)

    with ScriptedServer(*answers, ok(b"{}")) as server:
        run(go)
    assert [r.header("Cookie") for r in server.requests] == [None, "sid=abc123", "sid=abc123"]


# -- redirects and proxies ------------------------------------------------------------------------------


def test_redirects_are_followed_and_credentials_stay_on_their_host() -> None:
    async def go() -> bytes:
        async with make(server.url, token="tok-secret") as t:
            return await t.request("GET", "/start")

    with ScriptedServer(ok(b"moved here")) as other:
        moved = ok(b"", f"Location: {other.url}/elsewhere", status="302 Found")
        with ScriptedServer(moved) as server:
            assert run(go) == b"moved here"
    (first,) = server.requests
    (second,) = other.requests
    assert first.header("Authorization") == "Bearer tok-secret"
    assert second.request_line == b"GET /elsewhere HTTP/1.1" and second.header("Authorization") is None


def test_redirects_are_not_followed_when_disallowed() -> None:
    async def go() -> None:
        async with make(server.url, allow_redirects=False) as t:
            await t.request("GET", "/start")

    moved = ok(b"", "Location: /elsewhere", status="302 Found")
    with ScriptedServer(moved) as server, pytest.raises(RestException) as info:
        run(go)
    assert info.value.http_status == 302 and len(server.requests) == 1


def test_http_proxy_and_no_proxy_from_the_environment(no_proxies: pytest.MonkeyPatch) -> None:
    async def get(url: str) -> bytes:
        # The process's environment, read the default way (as AsyncMlflowClient() reads it).
        async with AsyncHttpTransport(url, Settings.from_env(max_retries=0)) as t:
            return await t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")])

    with ScriptedServer(ok(b'{"via": "proxy"}')) as proxy, ScriptedServer(ok(b'{"via": "direct"}')) as server:
        no_proxies.setenv("HTTP_PROXY", proxy.url.replace("://", "://carol:pr0xy-pw@"))
        no_proxies.setenv("NO_PROXY", "127.0.0.1")
        try:
            assert run(lambda: get("http://mlflow.invalid:5000")) == b'{"via": "proxy"}'
        except MlflowConnectionError as err:
            pytest.fail(f"the request did not go through HTTP_PROXY: {err}")
        assert run(lambda: get(server.url)) == b'{"via": "direct"}'
    (request,) = proxy.requests
    assert request.request_line == f"GET http://mlflow.invalid:5000{GET_EXPERIMENT}?experiment_id=0 HTTP/1.1".encode()
    assert request.header("Proxy-Authorization") == "Basic " + base64.b64encode(b"carol:pr0xy-pw").decode()
    assert len(server.requests) == 1


# -- concurrency ----------------------------------------------------------------------------------------


def test_max_concurrency_bounds_the_requests_in_flight() -> None:
    import threading

    lock = threading.Lock()
    in_flight = peak = 0

    def slow(request: Any) -> ScriptedReply:  # a slow server: each answer takes 50 ms
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        threading.Event().wait(0.05)
        with lock:
            in_flight -= 1
        return ScriptedReply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    async def go(limit: int) -> None:
        t = AsyncHttpTransport(server.url, Settings.from_env({}, max_retries=0), max_concurrency=limit)
        async with t:
            await asyncio.gather(*(t.request("GET", GET_EXPERIMENT) for _ in range(8)))

    with ScriptedServer(respond=slow, serial=False) as server:
        run(lambda: go(2))
        bounded = peak
        peak = 0
        run(lambda: go(8))
    assert bounded == 2 and peak > 2 and len(server.requests) == 16


def test_max_concurrency_must_be_positive() -> None:
    from mlflow_client.exceptions import InvalidParameterValue

    with pytest.raises(InvalidParameterValue, match="max_concurrency"):
        AsyncHttpTransport("http://127.0.0.1:1", Settings.from_env({}), max_concurrency=0)


def test_a_temporarily_unavailable_server_is_reported_with_its_status(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=5)])

    async def go() -> None:
        async with make(stub.url, [], max_retries=1) as t:
            await default_experiment(t)

    with pytest.raises(TemporarilyUnavailable) as info:
        run(go)
    assert info.value.http_status == 503


def test_an_unreachable_proxy_is_a_refused_connection_and_says_nothing_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from tests.real_server import free_port

    caplog.set_level(logging.DEBUG)
    proxy = f"http://carol:pr0xy-s3cret@127.0.0.1:{free_port()}"

    async def go() -> None:
        async with make("http://mlflow.invalid:5000", [], max_retries=0, http_proxy=proxy) as t:
            await t.request("GET", GET_EXPERIMENT)

    with pytest.raises(ConnectionFailed) as info:
        run(go)
    assert isinstance(info.value.__cause__, AdapterError) and info.value.__cause__.kind == AdapterError.CONNECT
    texts = [str(info.value), repr(info.value), repr(info.value.__cause__), caplog.text]
    assert all("pr0xy-s3cret" not in text for text in texts)
