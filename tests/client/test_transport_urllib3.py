"""The sync transport's urllib3 adapter against real loopback sockets: keep-alive, bodies both ways,
proxies from the environment, redirects, timeouts. ``ScriptedServer`` plays raw HTTP answers."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow_client._proxies import proxy_for
from mlflow_client._settings import Settings
from mlflow_client._transport import HttpTransport
from mlflow_client.exceptions import ConnectionFailed, MlflowConnectionError, RequestTimeout, RestException

from tests.client.scripted_server import NO_ANSWER, Received, ScriptedServer, ok
from tests.client.scripted_server import Reply as ScriptedReply

GET_EXPERIMENT = "/api/2.0/mlflow/experiments/get"


def make(url: str, **settings: object) -> HttpTransport:
    return HttpTransport(url, Settings.from_env({}, **settings))


def make_in(environ: dict[str, str], url: str, **settings: object) -> HttpTransport:
    """A transport whose settings come from ``environ`` (as if it were the process's environment)."""
    return HttpTransport(url, Settings.from_env(environ, **settings))


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


def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(ok(b'{"experiment": {"experiment_id": "0"}}', "Content-Type: application/json")) as proxy:
        for name in ("http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("://", "://carol:pr0xy-pw@"))
        # The process's environment, read the default way (as MlflowClient() reads it).
        with HttpTransport("http://mlflow.invalid:5000", Settings.from_env(max_retries=0)) as t:
            try:
                body = t.request("GET", GET_EXPERIMENT, params=[("experiment_id", "0")])
            except MlflowConnectionError as err:
                pytest.fail(f"the request did not go through HTTP_PROXY: {err}")
    assert body == b'{"experiment": {"experiment_id": "0"}}'
    (request,) = proxy.requests
    assert request.request_line == f"GET http://mlflow.invalid:5000{GET_EXPERIMENT}?experiment_id=0 HTTP/1.1".encode()
    assert request.header("Proxy-Authorization") == "Basic " + base64.b64encode(b"carol:pr0xy-pw").decode()


def test_all_proxy_is_used_when_no_scheme_proxy_is_set() -> None:
    with (
        ScriptedServer(ok(b"{}")) as proxy,
        make_in({"ALL_PROXY": proxy.url}, "http://mlflow.invalid:5000", max_retries=0) as t,
    ):
        t.request("GET", GET_EXPERIMENT)
    assert len(proxy.requests) == 1


def test_the_lowercase_proxy_variable_wins_and_a_proxy_may_have_no_scheme() -> None:
    with ScriptedServer(ok(b'{"via": "lower"}')) as lower, ScriptedServer(ok(b'{"via": "upper"}')) as upper:
        environ = {"http_proxy": lower.url.removeprefix("http://"), "HTTP_PROXY": upper.url}
        with make_in(environ, "http://mlflow.invalid:5000", max_retries=0) as t:
            assert t.request("GET", GET_EXPERIMENT) == b'{"via": "lower"}'
    assert len(lower.requests) == 1 and upper.requests == []


def test_http_proxy_is_not_read_in_a_cgi_script() -> None:
    """In CGI, HTTP_PROXY comes from the request's "Proxy:" header (httpoxy): as urllib and requests do,
    it is not read when REQUEST_METHOD is set; the lowercase name still is."""
    with ScriptedServer(ok(b"{}")) as proxy, ScriptedServer(ok(b'{"direct": true}')) as server:
        with make_in({"HTTP_PROXY": proxy.url, "REQUEST_METHOD": "GET"}, server.url, max_retries=0) as t:
            assert t.request("GET", GET_EXPERIMENT) == b'{"direct": true}'
        assert proxy.requests == []
        with make_in({"http_proxy": proxy.url, "REQUEST_METHOD": "GET"}, "http://mlflow.invalid:5000") as t:
            t.request("GET", GET_EXPERIMENT)
        assert len(proxy.requests) == 1


def test_no_proxy_from_the_environment_bypasses_the_proxy() -> None:
    with ScriptedServer(ok(b"{}")) as proxy, ScriptedServer(respond=lambda _: ok(b'{"direct": true}')) as server:
        for no_proxy in ("127.0.0.1", "example.org, 127.0.0.1", "*"):
            with make_in({"HTTP_PROXY": proxy.url, "NO_PROXY": no_proxy}, server.url, max_retries=0) as t:
                assert t.request("GET", GET_EXPERIMENT) == b'{"direct": true}'
        assert proxy.requests == [] and len(server.requests) == 3
        with make_in({"HTTP_PROXY": proxy.url, "NO_PROXY": "other.invalid"}, "http://mlflow.invalid:5000") as t:
            t.request("GET", GET_EXPERIMENT)
        assert len(proxy.requests) == 1


def test_no_proxy_matches_hosts_and_domain_suffixes_by_urllibs_rules() -> None:
    s = Settings(https_proxy="proxy.corp:3128", all_proxy="socks5://all.corp:1080", no_proxy="corp.example, .internal")
    assert proxy_for(s, "https://mlflow.example.com/api") == "http://proxy.corp:3128"  # no scheme: http://
    assert proxy_for(s, "http://mlflow.example.com/api") == "socks5://all.corp:1080"  # no HTTP_PROXY: ALL_PROXY
    for direct in ("https://corp.example", "https://ml.corp.example:8443/x", "https://a.b.internal", "http://internal"):
        assert proxy_for(s, direct) is None, direct
    assert proxy_for(s, "https://notcorp.example") == "http://proxy.corp:3128"  # a suffix matches at a dot only
    assert proxy_for(s.with_changes(no_proxy="*"), "https://anywhere.example") is None
    assert proxy_for(s.with_changes(no_proxy="::1"), "http://[::1]:5000/") is None
    # CIDR blocks, as requests (so MLflow) takes them: addresses inside go direct, others and names do not.
    blocks = s.with_changes(no_proxy="example.org, 10.0.0.0/8, fd00::/8, not/a-block")
    for direct in ("https://10.1.2.3:5000", "https://10.255.255.255", "https://[fd00::5]/x", "https://example.org"):
        assert proxy_for(blocks, direct) is None, direct
    for proxied in ("https://11.0.0.1", "https://[fe80::1]", "https://10.0.0.0.example.com"):
        assert proxy_for(blocks, proxied) == "http://proxy.corp:3128", proxied
    assert proxy_for(Settings(), "https://mlflow.example.com") is None


def test_an_unreachable_proxy_is_a_refused_connection_and_says_nothing_secret() -> None:
    from tests.real_server import free_port

    environ = {"HTTP_PROXY": f"http://carol:pr0xy-pw@127.0.0.1:{free_port()}"}
    waits: list[float] = []
    settings = Settings.from_env(environ, max_retries=2, backoff_jitter=0)
    with (
        HttpTransport("http://mlflow.invalid:5000", settings, sleep=waits.append) as t,
        pytest.raises(ConnectionFailed) as info,
    ):
        t.request("POST", "/create", content=b"{}", idempotent=False)
    assert waits == [0.0, 4.0]  # nothing left: even an unsafe request is sent again
    assert "pr0xy-pw" not in str(info.value) and "pr0xy-pw" not in repr(info.value.__cause__)
