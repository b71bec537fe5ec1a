"""The HTTP transport against real servers: retries (stub fault injection), auth, TLS, secrets, streaming.

Waits are captured with a recording ``sleep`` so that retry schedules are checked exactly and fast; a few
tests sleep for real to show the waits are honoured in wall-clock time too.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import urllib3
from mlflow_client._http_core import AdapterError, Request
from mlflow_client._settings import Settings
from mlflow_client._transport import BasicAuth, BearerAuth, HttpTransport, RestError, RetryPolicy, Urllib3Adapter
from mlflow_client.exceptions import (
    ConfigurationError,
    ConnectionFailed,
    EndpointNotFound,
    InternalError,
    InvalidParameterValue,
    MlflowConnectionError,
    PermissionDenied,
    RequestLimitExceeded,
    RequestTimeout,
    ResourceNotFound,
    RestException,
    TemporarilyUnavailable,
    Unauthenticated,
)

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.client.fake_http import FakeAdapter, Reply
from tests.client.scripted_server import Reply as ScriptedReply
from tests.client.scripted_server import ScriptedServer, ok
from tests.real_server import free_port, real_mlflow_server
from tests.tls_certs import Certs, issue_certs

GET_EXPERIMENT = "/api/2.0/mlflow/experiments/get"
CREATE_EXPERIMENT = "/api/2.0/mlflow/experiments/create"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/"
JSON = {"Content-Type": "application/json"}
PASSWORD = "pw-" + secrets.token_hex(8)
TOKEN = "tok-" + secrets.token_hex(8)


def make(url: str, waits: list[float] | None = None, **settings: Any) -> HttpTransport:
    """A transport with settings from arguments only (not this process's environment)."""
    sleep = waits.append if waits is not None else _no_sleep
    return HttpTransport(url, Settings.from_env({}, **settings), sleep=sleep)


def _no_sleep(seconds: float) -> None:
    pass


def get_default_experiment(t: HttpTransport, **kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")], **kwargs))
    return data


def create_experiment(t: HttpTransport, name: str | None = None, **kwargs: Any) -> str:
    body = json.dumps({"name": name or f"exp-{secrets.token_hex(6)}"}).encode()
    experiment_id: str = json.loads(t.request("POST", CREATE_EXPERIMENT, content=body, headers=JSON, **kwargs))[
        "experiment_id"
    ]
    return experiment_id


def mock(handler: Any, waits: list[float] | None = None, **settings: Any) -> HttpTransport:
    return HttpTransport(
        "http://mlflow.test",
        Settings.from_env({}, **settings),
        adapter=FakeAdapter(handler),
        sleep=waits.append if waits is not None else _no_sleep,
    )


# -- retries against the stub's fault injection ----------------------------------------------------


def test_429_with_retry_after_seconds_waits_that_long(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="429", rpc="getExperiment", count=2, retry_after="3")])
    waits: list[float] = []
    with make(stub.url, waits) as t:
        assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"
    assert stub.httpd.requests["getExperiment"] == 3
    assert waits == [3.0, 3.0]


def test_retry_after_is_honoured_in_real_time(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="429", rpc="getExperiment", count=1, retry_after="1")])
    with HttpTransport(stub.url, Settings.from_env({})) as t:
        started = time.monotonic()
        get_default_experiment(t)
        elapsed = time.monotonic() - started
    assert stub.httpd.requests["getExperiment"] == 2
    assert elapsed >= 1.0


def test_429_with_http_date_retry_after(stub: StubServer) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    stub.faults.configure(
        [FaultRule(kind="429", rpc="getExperiment", count=1, retry_after=email.utils.format_datetime(when, True))]
    )
    waits: list[float] = []
    with make(stub.url, waits) as t:
        get_default_experiment(t)
    assert stub.httpd.requests["getExperiment"] == 2
    assert len(waits) == 1 and 27.0 < waits[0] <= 30.0


def test_retry_after_is_capped(stub: StubServer) -> None:
    far = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=6), True)
    stub.faults.configure(
        [
            FaultRule(kind="503", rpc="getExperiment", count=1, retry_after=far),
            FaultRule(kind="429", rpc="getExperiment", count=1, retry_after="86400"),
        ]
    )
    waits: list[float] = []
    with make(stub.url, waits, max_retry_after=5) as t:
        get_default_experiment(t)
    assert waits == [5.0, 5.0]


def test_503_burst_then_success_follows_the_backoff_schedule(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=3)])
    waits: list[float] = []
    with make(stub.url, waits, backoff_jitter=0) as t:
        get_default_experiment(t)
    assert stub.httpd.requests["getExperiment"] == 4
    assert waits == [0.0, 4.0, 8.0]


def test_connection_resets_then_success(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="reset", rpc="getExperiment", count=2)])
    waits: list[float] = []
    with make(stub.url, waits, backoff_jitter=0) as t:
        assert get_default_experiment(t)["experiment"]["name"] == "Default"
    assert stub.httpd.requests["getExperiment"] == 3
    assert waits == [0.0, 4.0]


def test_404_is_not_retried(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="createExperiment", count=5)])  # elsewhere: irrelevant
    waits: list[float] = []
    with make(stub.url, waits) as t, pytest.raises(ResourceNotFound) as info:
        t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "424242")])
    assert (info.value.http_status, info.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert stub.httpd.requests["getExperiment"] == 1 and waits == []


def test_400_is_not_retried(stub: StubServer) -> None:
    waits: list[float] = []
    with make(stub.url, waits) as t, pytest.raises(InvalidParameterValue) as info:
        t.request("POST", CREATE_EXPERIMENT, content=b"{}", headers=JSON)
    assert info.value.http_status == 400 and isinstance(info.value, RestException)
    assert stub.httpd.requests["createExperiment"] == 1 and waits == []


def test_unknown_path_is_endpoint_not_found(stub: StubServer) -> None:
    with make(stub.url) as t, pytest.raises(EndpointNotFound) as info:
        t.request("GET", "/api/2.0/mlflow/no-such-rpc")
    assert (info.value.http_status, info.value.error_code) == (404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("503", TemporarilyUnavailable), ("500", InternalError), ("502", InternalError)],  # by code
)
def test_exhausted_retries_raise_the_last_answer(stub: StubServer, kind: str, cls: type[RestException]) -> None:
    stub.faults.configure([FaultRule(kind=kind, rpc="getExperiment")])
    waits: list[float] = []
    with make(stub.url, waits, max_retries=2, backoff_jitter=0) as t, pytest.raises(cls) as info:
        get_default_experiment(t)
    assert info.value.http_status == int(kind)
    assert "Injected fault" in info.value.message
    assert stub.httpd.requests["getExperiment"] == 3
    assert waits == [0.0, 4.0]


def test_non_idempotent_post_is_not_retried_on_500(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="500", rpc="createExperiment", count=1)])
    with make(stub.url) as t, pytest.raises(InternalError):
        create_experiment(t, idempotent=False)
    assert stub.httpd.requests["createExperiment"] == 1


def test_non_idempotent_post_is_not_retried_after_a_reset(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="reset", rpc="createExperiment", count=1)])
    with make(stub.url) as t, pytest.raises(ConnectionFailed):
        create_experiment(t, idempotent=False)
    assert stub.httpd.requests["createExperiment"] == 1


def test_non_idempotent_post_is_retried_when_turned_away_with_retry_after(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="createExperiment", count=1, retry_after="2")])
    waits: list[float] = []
    with make(stub.url, waits) as t:
        create_experiment(t, idempotent=False)
    assert stub.httpd.requests["createExperiment"] == 2 and waits == [2.0]
    stub.faults.configure([FaultRule(kind="503", rpc="createExperiment", count=1)])  # no Retry-After
    with make(stub.url) as t, pytest.raises(TemporarilyUnavailable):
        create_experiment(t, idempotent=False)
    assert stub.httpd.requests["createExperiment"] == 3


class FailingConnects:
    """The real urllib3 adapter, whose first ``failures`` connection attempts fail."""

    def __init__(self, inner: Urllib3Adapter, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def send(self, request: Request, *, stream: bool) -> Any:
        if self.failures:
            self.failures -= 1
            raise AdapterError(AdapterError.CONNECT, "NewConnectionError: [Errno 111] Connection refused")
        return self.inner.send(request, stream=stream)

    def close(self) -> None:
        self.inner.close()


def test_non_idempotent_post_is_retried_on_connect_error(stub: StubServer) -> None:
    waits: list[float] = []
    settings = Settings.from_env({}, backoff_jitter=0)
    with HttpTransport(stub.url, settings, sleep=waits.append) as t:
        t._adapter = FailingConnects(t._adapter, 2)  # type: ignore[arg-type]
        experiment_id = create_experiment(t, "made-once", idempotent=False)
        assert json.loads(t.request("GET", GET_EXPERIMENT, params=[("experiment_id", experiment_id)]))
    assert stub.httpd.requests["createExperiment"] == 1  # the failed attempts never reached it
    assert waits == [0.0, 4.0]


def test_refused_connection_exhausts_retries_and_says_so() -> None:
    port = free_port()  # nothing listens there
    waits: list[float] = []
    t = make(f"http://127.0.0.1:{port}", waits, max_retries=3, backoff_jitter=0)
    with t, pytest.raises(ConnectionFailed) as info:
        create_experiment(t, idempotent=False)
    assert waits == [0.0, 4.0, 8.0]  # even a non-idempotent request: it never left
    cause = info.value.__cause__
    assert isinstance(cause, AdapterError) and cause.kind == AdapterError.CONNECT
    assert isinstance(cause.__cause__, urllib3.exceptions.NewConnectionError)
    assert "gave up after 4 attempts" in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
    assert info.value.http_status is None and isinstance(info.value, MlflowConnectionError)


def test_streaming_request_body_is_not_retried(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="createExperiment", count=1)])
    body = iter([b'{"name": "streamed-', secrets.token_hex(4).encode(), b'"}'])
    with make(stub.url) as t, pytest.raises(TemporarilyUnavailable):
        t.request("POST", CREATE_EXPERIMENT, content=body, headers=JSON)
    assert stub.httpd.requests["createExperiment"] == 1


def test_timeout_raises_request_timeout_and_is_retried(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="latency", rpc="getExperiment", count=1, latency_ms=1500)])
    with make(stub.url, timeout=0.3, max_retries=0) as t, pytest.raises(RequestTimeout) as info:
        get_default_experiment(t)
    cause = info.value.__cause__
    assert isinstance(cause, AdapterError) and cause.kind == AdapterError.TIMEOUT
    assert isinstance(cause.__cause__, urllib3.exceptions.ReadTimeoutError)
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" in str(info.value)
    stub.faults.configure([FaultRule(kind="latency", rpc="getExperiment", count=1, latency_ms=1500)])
    with make(stub.url, timeout=0.3, max_retries=1) as t:
        get_default_experiment(t)
    assert stub.httpd.requests["getExperiment"] == 3


def test_per_call_policy_overrides_the_transports(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=5)])
    waits: list[float] = []
    with make(stub.url, waits) as t:
        with pytest.raises(TemporarilyUnavailable):
            get_default_experiment(t, retry_policy=t.retry_policy.with_changes(max_retries=1))
        assert stub.httpd.requests["getExperiment"] == 2
        with pytest.raises(TemporarilyUnavailable):
            get_default_experiment(t, retry_policy=RetryPolicy(max_retries=0))
        assert stub.httpd.requests["getExperiment"] == 3
    assert waits == [0.0]


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_total_retry_time_is_bounded() -> None:
    clock = FakeClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep(seconds)

    settings = Settings.from_env({}, max_retries=50, backoff_factor=1, backoff_jitter=0, max_retry_time=20)
    adapter = FakeAdapter(lambda request: Reply(503))
    t = HttpTransport("http://mlflow.test", settings, adapter=adapter, sleep=sleep, clock=clock)
    with t, pytest.raises(TemporarilyUnavailable):
        t.request("GET", GET_EXPERIMENT)
    # 0 + 2 + 4 + 8 = 14 s slept; the next wait (16 s) would end past 20 s, so no retry starts.
    assert waits == [0.0, 2.0, 4.0, 8.0]


def test_total_retry_time_is_bounded_in_real_time(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="429", rpc="getExperiment", retry_after="1")])
    settings = Settings.from_env({}, max_retries=10, max_retry_time=1.5)
    with HttpTransport(stub.url, settings) as t, pytest.raises(RequestLimitExceeded) as info:
        started = time.monotonic()
        get_default_experiment(t)
    elapsed = time.monotonic() - started
    assert stub.httpd.requests["getExperiment"] == 2  # a second wait would end after 2 s > 1.5 s
    assert 1.0 <= elapsed < 2.0  # a second wait would have taken it past 2 s
    assert info.value.http_status == 429


# -- the backoff schedule ---------------------------------------------------------------------------


def test_backoff_schedule_is_mlflows() -> None:
    """The same waits as urllib3's Retry configured the way MLflow configures it (jitter aside)."""
    from urllib3.util.retry import RequestHistory, Retry

    def urllib3_wait(retry_number: int) -> float:
        history = tuple(RequestHistory("GET", "/", None, 503, None) for _ in range(retry_number))
        return Retry(total=7, backoff_factor=2, backoff_jitter=0.0, history=history).get_backoff_time()

    expected = [urllib3_wait(n) for n in range(1, 8)]
    assert expected == [0.0, 4.0, 8.0, 16.0, 32.0, 64.0, 120.0]
    waits: list[float] = []
    calls: list[Request] = []

    def handler(request: Request) -> Reply:
        calls.append(request)
        return Reply.json(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})

    with mock(handler, waits, backoff_jitter=0) as t, pytest.raises(TemporarilyUnavailable):
        t.request("GET", GET_EXPERIMENT)
    assert waits == expected
    assert len(calls) == 8


def test_jitter_stays_within_its_bound() -> None:
    policy = RetryPolicy(backoff_factor=2, backoff_jitter=1.0)
    for n, base in [(2, 4.0), (3, 8.0), (6, 64.0)]:
        assert base <= policy.backoff(n) <= base + 1.0
        assert policy.backoff(n, rand=lambda: 0.999) == pytest.approx(base + 0.999)
    assert policy.backoff(1) == 0.0
    assert policy.backoff(8, rand=lambda: 1.0) == 120.0  # capped, like urllib3


def test_retry_after_parsing() -> None:
    policy = RetryPolicy(max_retry_after=60)
    now = datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    assert policy.parse_retry_after(None) is None
    assert policy.parse_retry_after("garbage") is None
    assert policy.parse_retry_after(" 7 ") == 7.0
    assert policy.parse_retry_after("1000") == 60.0
    assert policy.parse_retry_after("-3") == 0.0
    assert policy.parse_retry_after("Tue, 01 Jan 2030 00:00:10 GMT", now=lambda: now) == 10.0
    assert policy.parse_retry_after("Tue, 31 Dec 2029 23:00:00 GMT", now=lambda: now) == 0.0
    assert policy.delay(3, retry_after=0.0, rand=lambda: 0.0) == 8.0  # Retry-After: 0 falls back to backoff


def test_retry_and_request_lines_are_logged_at_debug(stub: StubServer, caplog: pytest.LogCaptureFixture) -> None:
    stub.faults.configure([FaultRule(kind="503", rpc="getExperiment", count=1)])
    with caplog.at_level(logging.DEBUG, logger="mlflow_client"), make(stub.url) as t:
        get_default_experiment(t)
    lines = [r.getMessage() for r in caplog.records if r.name == "mlflow_client"]
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"GET {GET_EXPERIMENT} -> 503 in ")
    assert lines[1].startswith(f"retry 1/7 of GET {GET_EXPERIMENT} in 0.00 s after HTTP 503")
    assert lines[2].startswith(f"GET {GET_EXPERIMENT} -> 200 in ")


# -- requests, headers, streaming ---------------------------------------------------------------------


def test_headers_user_agent_and_base_path() -> None:
    adapter = FakeAdapter(lambda request: Reply(200, b"{}"))
    settings = Settings.from_env({}, username="alice", password=PASSWORD)
    with HttpTransport("http://mlflow.test/prefix/", settings, adapter=adapter, headers={"X-Team": "a"}) as t:
        assert t.request("GET", GET_EXPERIMENT, params=[("a", "1"), ("a", "2")], headers={"X-Team": "b"}) == b"{}"
        t.request("POST", CREATE_EXPERIMENT, content=b"{}", headers=JSON)
    first, second = adapter.requests
    assert first.url == f"http://mlflow.test/prefix{GET_EXPERIMENT}?a=1&a=2"
    assert first.headers["User-Agent"].startswith("mlflow-client/")
    assert first.headers["X-Team"] == "b" and second.headers["X-Team"] == "a"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert second.headers["Content-Type"] == "application/json" and second.body == b"{}"


def test_headers_reach_a_real_server() -> None:
    with (
        ScriptedServer(ok(b"{}"), ok(b"{}")) as server,
        HttpTransport(server.url, Settings.from_env({}, token=TOKEN), headers={"X-Team": "a"}) as t,
    ):
        t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")], headers={"X-Team": "b"})
        t.request("POST", CREATE_EXPERIMENT, content=b'{"name": "x"}', headers=JSON)
    first, second = server.requests
    assert first.request_line == f"GET {GET_EXPERIMENT}?experiment_id=0 HTTP/1.1".encode()
    assert (first.header("User-Agent") or "").startswith("mlflow-client/") and first.header("X-Team") == "b"
    assert first.header("Authorization") == f"Bearer {TOKEN}" == second.header("Authorization")
    assert second.header("Content-Length") == "13" and second.body == b'{"name": "x"}'
    assert second.header("X-Team") == "a" and second.connection == first.connection  # kept alive


def test_transport_reads_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    with HttpTransport("http://mlflow.test") as t:
        assert t.retry_policy.max_retries == 0
        assert isinstance(t._auth, BearerAuth)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        HttpTransport("localhost:5000", Settings())


def test_close_closes_only_a_pool_it_made(stub: StubServer) -> None:
    t = HttpTransport(stub.url, Settings())
    get_default_experiment(t)
    manager = t._adapter._manager  # type: ignore[attr-defined]
    assert len(manager.pools) == 1
    t.close()
    assert len(manager.pools) == 0
    own = urllib3.PoolManager()
    with HttpTransport(stub.url, Settings(), pool_manager=own) as t:
        get_default_experiment(t)
    assert len(own.pools) == 1  # still open: its owner closes it
    own.clear()


def test_rest_error_is_the_old_name_of_rest_exception() -> None:
    assert RestError is RestException


def test_stream_yields_the_body_and_retries_before_the_first_byte(stub: StubServer) -> None:
    payload = os.urandom(3_000_000)  # more than one read of READ_BYTES
    with make(stub.url) as t:
        t.request(
            "PUT", ARTIFACTS + "dir/blob.bin", content=payload, headers={"Content-Type": "application/octet-stream"}
        )
        stub.faults.configure([FaultRule(kind="503", rpc="downloadArtifact", count=1)])
        with t.stream("GET", ARTIFACTS + "dir/blob.bin") as chunks:
            received = list(chunks)
        with pytest.raises(RestException) as info, t.stream("GET", ARTIFACTS + "dir/missing.bin"):
            pass
    assert b"".join(received) == payload and len(received) > 1
    assert stub.httpd.requests["artifacts.downloadArtifact"] == 3
    assert info.value.http_status == 404 and isinstance(info.value, ResourceNotFound)


def test_stream_reads_big_blocks(stub: StubServer) -> None:
    from mlflow_client._transport import READ_BYTES

    payload = os.urandom(5 * READ_BYTES + 7)
    with make(stub.url) as t:
        t.request("PUT", ARTIFACTS + "big.bin", content=payload, headers={"Content-Type": "application/octet-stream"})
        with t.stream("GET", ARTIFACTS + "big.bin") as chunks:
            sizes = [len(chunk) for chunk in chunks]
        # The pooled connection went back to the pool and serves the next request.
        get_default_experiment(t)
    assert sum(sizes) == len(payload)
    # A chunk is what one socket read gave, up to READ_BYTES: how many there are depends on the machine's load,
    # but a reader capped at the 8 KiB buffer size would never hand over more than 8 KiB at once.
    assert max(sizes) <= READ_BYTES and max(sizes) > 16 * 1024


def test_stream_failure_mid_body_is_connection_failed() -> None:
    with mock(lambda request: Reply(200, chunks=[b"first chunk"], breaks=True)) as t:
        received: list[bytes] = []
        with pytest.raises(ConnectionFailed) as info, t.stream("GET", "/file") as chunks:
            received.extend(chunks)
    assert received == [b"first chunk"]
    cause = info.value.__cause__
    assert isinstance(cause, AdapterError) and cause.kind == AdapterError.BROKEN


def test_stream_cut_short_by_a_real_server_is_connection_failed() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n"
    cut = ScriptedReply(head + b"x" * 1_000_000, close=True)
    with ScriptedServer(cut, ok(b"whole")) as server, make(server.url) as t:
        with pytest.raises(ConnectionFailed) as info, t.stream("GET", "/file") as chunks:
            b"".join(chunks)
        assert "IncompleteRead" in str(info.value) or "ProtocolError" in str(info.value)
        with t.stream("GET", "/file") as chunks:
            assert b"".join(chunks) == b"whole"  # the pool dropped the broken connection
    assert server.accepted == 2


# -- auth ---------------------------------------------------------------------------------------------


def test_basic_auth_against_the_stub() -> None:
    with StubServer(basic_auth=("alice", PASSWORD)) as stub:
        with make(stub.url, username="alice", password=PASSWORD) as t:
            assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"
        with make(stub.url, username="alice", password=PASSWORD, token="ignored") as t:
            get_default_experiment(t)  # Basic wins over the token
        waits: list[float] = []
        for settings in ({"username": "alice", "password": "wrong-password"}, {}, {"token": TOKEN}):
            with make(stub.url, waits, **settings) as t, pytest.raises(Unauthenticated) as info:
                get_default_experiment(t)
            assert (info.value.http_status, info.value.error_code) == (401, "UNAUTHENTICATED")
        assert waits == []  # never retried


def test_bearer_auth_against_the_stub() -> None:
    with StubServer(bearer_token=TOKEN) as stub:
        with make(stub.url, token=TOKEN) as t:
            get_default_experiment(t)
        with make(stub.url, token="tok-wrong") as t, pytest.raises(Unauthenticated) as info:
            get_default_experiment(t)
        assert info.value.http_status == 401


def test_auth_reprs_hide_secrets() -> None:
    assert PASSWORD not in repr(BasicAuth("alice", PASSWORD)) and "alice" in repr(BasicAuth("alice", PASSWORD))
    assert TOKEN not in repr(BearerAuth(TOKEN))


@contextlib.contextmanager
def basic_auth_mlflow_server(admin: str, password: str) -> Iterator[str]:
    """A real ``mlflow server --app-name basic-auth`` whose admin user is ``admin``/``password``.

    MLflow 3.x ships no default admin password: it comes from ``admin_password`` in the auth config
    (MLFLOW_AUTH_CONFIG_PATH), and the app needs MLFLOW_FLASK_SERVER_SECRET_KEY for its CSRF protection.
    """
    workdir = Path(tempfile.mkdtemp(prefix="mlflow-auth-server-"))
    config = workdir / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'auth.db'}\n"
        f"admin_username = {admin}\n"
        f"admin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_AUTH_CONFIG_PATH=str(config), MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16))
    with real_mlflow_server(("--app-name", "basic-auth"), workdir=workdir, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def auth_server_url() -> Iterator[str]:
    # mlflow's basic-auth app needs mlflow[auth] (Flask-WTF), which the test extra installs: fail, don't skip.
    import flask_wtf  # type: ignore[import-untyped]  # noqa: F401

    with basic_auth_mlflow_server("admin", PASSWORD) as url:
        yield url


@pytest.mark.mlflow_server
def test_basic_auth_against_a_real_mlflow_server(auth_server_url: str) -> None:
    with make(auth_server_url, username="admin", password=PASSWORD) as t:
        experiment_id = create_experiment(t, idempotent=False)
        got = json.loads(t.request("GET", GET_EXPERIMENT, params=[("experiment_id", experiment_id)]))
    assert got["experiment"]["experiment_id"] == experiment_id
    waits: list[float] = []
    for settings in ({"username": "admin", "password": "wrong-password-123"}, {}, {"token": TOKEN}):
        with make(auth_server_url, waits, **settings) as t, pytest.raises(Unauthenticated) as info:
            create_experiment(t)
        assert info.value.http_status == 401 and info.value.error_code == "UNAUTHENTICATED"
        assert PASSWORD not in str(info.value)
    assert waits == []


@pytest.mark.mlflow_server
def test_real_mlflow_server_permission_denied(auth_server_url: str) -> None:
    reader, reader_password = f"reader-{secrets.token_hex(4)}", "rd-" + secrets.token_hex(10)
    with make(auth_server_url, username="admin", password=PASSWORD) as admin:
        experiment_id = create_experiment(admin)
        body = json.dumps({"username": reader, "password": reader_password}).encode()
        admin.request("POST", "/api/2.0/mlflow/users/create", content=body, headers=JSON)
    with make(auth_server_url, username=reader, password=reader_password) as t:
        assert json.loads(t.request("GET", GET_EXPERIMENT, params=[("experiment_id", experiment_id)]))
        with pytest.raises(PermissionDenied) as info:
            body = json.dumps({"experiment_id": experiment_id}).encode()
            t.request("POST", "/api/2.0/mlflow/experiments/delete", content=body, headers=JSON)
    assert info.value.http_status == 403


# -- TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return issue_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_url(certs: Certs) -> Iterator[str]:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key) as stub:
        assert stub.url.startswith("https://")
        yield stub.url


def test_tls_with_ca_bundle_from_settings(tls_url: str, certs: Certs) -> None:
    with make(tls_url, server_cert_path=certs.ca) as t:
        assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"


def test_tls_with_ca_bundle_from_the_environment(tls_url: str, certs: Certs) -> None:
    settings = Settings.from_env({"MLFLOW_TRACKING_SERVER_CERT_PATH": certs.ca})
    with HttpTransport(tls_url, settings) as t:
        get_default_experiment(t)


def test_tls_with_requests_ca_bundle_as_mlflows_client_reads_it(tls_url: str, certs: Certs, tmp_path: Path) -> None:
    """MLflow's client (requests) verifies with REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, when
    MLFLOW_TRACKING_SERVER_CERT_PATH is unset; so do we."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        with HttpTransport(tls_url, Settings.from_env({name: certs.ca})) as t:
            assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"
    other = issue_certs(tmp_path)  # another CA, which did not sign the server's certificate
    wrong = {"REQUESTS_CA_BUNDLE": certs.ca, "MLFLOW_TRACKING_SERVER_CERT_PATH": other.ca}
    with HttpTransport(tls_url, Settings.from_env(wrong, max_retries=0)) as t, pytest.raises(ConnectionFailed) as info:
        get_default_experiment(t)  # MLFLOW_TRACKING_SERVER_CERT_PATH wins, as in MLflow
    assert "certificate verify failed" in str(info.value)
    with pytest.raises(ConfigurationError, match="REQUESTS_CA_BUNDLE"):
        HttpTransport(tls_url, Settings.from_env({"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")}))
    with pytest.raises(ConfigurationError, match="CURL_CA_BUNDLE"):
        HttpTransport(tls_url, Settings.from_env({"CURL_CA_BUNDLE": str(tmp_path / "missing.pem")}))


def test_requests_ca_bundle_works_for_mlflows_client_and_ours_alike(
    tls_url: str, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim above, checked against MLflow's own client: it trusts the CA in REQUESTS_CA_BUNDLE, and
    without it rejects the server's certificate; ours, built from the same environment, does the same."""
    from mlflow import MlflowClient as OfficialClient

    for name in ("CURL_CA_BUNDLE", "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_INSECURE_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certs.ca)
    assert OfficialClient(tracking_uri=tls_url).get_experiment("0").experiment_id == "0"
    with HttpTransport(tls_url, Settings.from_env()) as t:
        assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(Exception, match=r"(?i)certificate verify failed"):
        OfficialClient(tracking_uri=tls_url).get_experiment("0")
    with HttpTransport(tls_url, Settings.from_env()) as t, pytest.raises(ConnectionFailed, match="verify failed"):
        get_default_experiment(t)


def test_tls_default_verification_rejects_an_unknown_ca(tls_url: str) -> None:
    waits: list[float] = []
    with make(tls_url, waits) as t, pytest.raises(ConnectionFailed) as info:
        get_default_experiment(t)
    message = str(info.value)
    assert "certificate verify failed" in message and "MLFLOW_TRACKING_SERVER_CERT_PATH" in message
    cause = info.value.__cause__
    assert isinstance(cause, AdapterError) and cause.kind == AdapterError.CONNECT and cause.tls is not None
    assert waits == []  # a verification failure is not retried


def test_tls_insecure_skips_verification(tls_url: str) -> None:
    with make(tls_url, insecure_tls=True) as t:
        get_default_experiment(t)


def test_tls_ca_bundle_and_insecure_together_are_an_error(certs: Certs) -> None:
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_SERVER_CERT_PATH"):
        make("https://127.0.0.1:1", server_cert_path=certs.ca, insecure_tls=True)


def test_tls_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_SERVER_CERT_PATH"):
        make("https://127.0.0.1:1", server_cert_path=str(tmp_path / "missing.pem"))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        make("https://127.0.0.1:1", client_cert_path=str(bad))


def test_mutual_tls_requires_the_client_certificate(certs: Certs) -> None:
    with StubServer(tls_cert=certs.server_cert, tls_key=certs.server_key, tls_client_ca=certs.ca) as stub:
        with make(stub.url, server_cert_path=certs.ca, client_cert_path=certs.client_pem) as t:
            assert get_default_experiment(t)["experiment"]["experiment_id"] == "0"
        with make(stub.url, server_cert_path=certs.ca, max_retries=1) as t, pytest.raises(ConnectionFailed):
            get_default_experiment(t)
        assert stub.httpd.requests["getExperiment"] == 1  # only the request with a certificate got through


# -- secrets ------------------------------------------------------------------------------------------


def test_secrets_never_show_in_messages_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    encoded = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    forbidden = (PASSWORD, TOKEN, encoded, "wrong-" + PASSWORD)

    def echo(request: Request) -> Reply:  # a server that echoes what it got, headers too
        return Reply(500, f"bad request with {request.headers}".encode())

    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with StubServer(basic_auth=("alice", PASSWORD)) as stub:
        with make(stub.url, username="alice", password="wrong-" + PASSWORD, token=TOKEN) as t:
            with pytest.raises(Unauthenticated) as unauthenticated:
                get_default_experiment(t)
            texts += [repr(t), repr(t.settings), str(t.settings), repr(t._auth)]
        texts += [str(unauthenticated.value), repr(unauthenticated.value)]
    with mock(echo, username="alice", password=PASSWORD, max_retries=1) as t, pytest.raises(InternalError) as echoed:
        t.request("GET", GET_EXPERIMENT)
    assert isinstance(echoed.value, RestException) and "***" in echoed.value.body
    with mock(echo, token=TOKEN, max_retries=0) as t, pytest.raises(InternalError) as echoed_token:
        t.request("GET", GET_EXPERIMENT)
    with (
        StubServer(basic_auth=("alice", PASSWORD)) as stub,
        HttpTransport(stub.url.replace("://", f"://alice:{PASSWORD}@"), Settings()) as t,
    ):
        get_default_experiment(t)  # credentials in the URL become a header, not a logged URL
        texts += [repr(t), t.base_url]
    for error in (echoed.value, echoed_token.value):
        texts += [
            str(error),
            repr(error),
            error.message,
            getattr(error, "body", ""),
            json.dumps(error.__dict__, default=str),
        ]
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) >= 4
    for text in texts:
        for secret in forbidden:
            assert secret not in text


def test_importing_the_transport_loads_no_http_library() -> None:
    code = (
        "import mlflow_client._transport, mlflow_client._settings, mlflow_client.exceptions, sys; "
        "print(*(m in sys.modules for m in ('httpx', 'tenacity', 'urllib3', 'ssl')))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root / "clients" / "python")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "False", "False", "False"]


def test_the_package_has_no_http_code_of_its_own() -> None:
    # No sockets and no HTTP parsing in the client: urllib3 and httpx do that. The one exception is the FTP
    # store: ftplib speaks the protocol and hands out each transfer's data connection as a socket, on which
    # the bytes of the file are sent (sendfile) and received (recv_into) as they are with ftplib's own calls.
    package = Path(__file__).resolve().parents[2] / "clients" / "python" / "mlflow_client"
    for path in package.rglob("*.py"):
        if path.relative_to(package).as_posix() == "artifacts/_ftp.py":
            assert "http.client" not in path.read_text() and "socket.socket(" not in path.read_text()
            continue
        text = path.read_text()
        for io in ("socket.socket(", "create_connection(", "http.client", ".recv(", ".sendall("):
            assert io not in text, (path, io)


def test_cookies_a_server_sets_are_sent_back() -> None:
    # Auth proxies in front of tracking servers hand out session cookies.
    seen: list[str | None] = []

    def handler(request: Request) -> Reply:
        seen.append(request.headers.get("Cookie"))
        if len(seen) == 2:
            return Reply(200, b"{}", set_cookie=["session=abc123; Path=/", "theme=dark"])
        if len(seen) == 4:
            return Reply(200, b"{}", set_cookie=["theme=; Max-Age=0"])
        return Reply(200, b"{}")

    with HttpTransport("http://tracking.test", Settings.from_env({}), adapter=FakeAdapter(handler)) as t:
        for _ in range(5):
            t.request("GET", "/api/2.0/mlflow/experiments/get", params=[("experiment_id", "0")])
    assert seen == [None, None, "session=abc123; theme=dark", "session=abc123; theme=dark", "session=abc123"]


def test_cookies_from_a_real_server_are_sent_back() -> None:
    answers = (ok(b"{}", "Set-Cookie: sid=s3cr3t; Path=/; HttpOnly"), ok(b"{}"))
    with ScriptedServer(*answers) as server, make(server.url) as t:
        get_default_experiment(t)
        get_default_experiment(t)
    assert [r.header("Cookie") for r in server.requests] == [None, "sid=s3cr3t"]
