"""The sync transport: the sans-IO core (``_http_core``) run over urllib3.

``HttpTransport`` implements the generated layer's ``Transport`` (``request(...) -> bytes``), plus
``stream(...)`` for downloads. Every decision (retries, errors, auth, cookies, redaction) is the core's;
this module only moves bytes with urllib3: one ``PoolManager`` of keep-alive connections, TLS from the
settings, ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` from the environment, redirects, and bodies
streamed both ways.

urllib3 is imported when a transport is built, never when this module is imported, so
``import mlflow_client`` stays cheap.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ._http_core import (
    AMBIGUOUS,
    AUTH,
    BACKOFF_MAX,
    DEFAULT_CONNECT_TIMEOUT,
    REFUSED,
    REJECTED,
    RETRY_STATUSES,
    AdapterError,
    BasicAuth,
    BearerAuth,
    HttpCore,
    Request,
    RetryPolicy,
    auth_from_settings,
    failure_kind,
    find_tls_error,
    ssl_context_from_settings,
)
from ._proxies import proxy_for
from ._settings import Settings
from .exceptions import RestException, error_from_response

if TYPE_CHECKING:
    import urllib3

    from ._generated._runtime import Body, QueryParams

__all__ = [
    "AMBIGUOUS",
    "AUTH",
    "BACKOFF_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "READ_BYTES",
    "REFUSED",
    "REJECTED",
    "RETRY_STATUSES",
    "Adapter",
    "Answer",
    "BasicAuth",
    "BearerAuth",
    "HttpTransport",
    "RestError",
    "RetryPolicy",
    "Urllib3Adapter",
    "auth_from_settings",
    "error_from_response",
    "failure_kind",
    "ssl_context_from_settings",
]

#: Deprecated name of ``RestException``, kept for code written against the first transport.
RestError = RestException
#: Largest read of a streamed body: 1 MiB reads keep a 1 GiB download on curl's pace (bench/artifacts.py).
READ_BYTES = 1024 * 1024
#: Connections kept per host (requests' and httpx's default pool size).
POOL_SIZE = 20
#: Redirects followed when MLFLOW_ALLOW_HTTP_REDIRECTS allows them (requests' limit).
MAX_REDIRECTS = 30


class Answer(Protocol):
    """An answer as an adapter hands it over: status and headers at once, the body on demand."""

    status: int

    def header(self, name: str) -> str | None: ...

    def set_cookie(self) -> list[str]: ...

    def read(self) -> bytes: ...

    def chunks(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Adapter(Protocol):
    """Sends one attempt; raises ``AdapterError`` (library error as cause) when no answer came."""

    def send(self, request: Request, *, stream: bool) -> Answer: ...

    def close(self) -> None: ...


# -- the urllib3 adapter ------------------------------------------------------------------------------


class _Urllib3Answer:
    __slots__ = ("_response", "status")

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self.status = response.status

    def header(self, name: str) -> str | None:
        value: str | None = self._response.headers.get(name)
        return value

    def set_cookie(self) -> list[str]:
        headers = self._response.headers
        return headers.getlist("Set-Cookie") if "set-cookie" in headers else []

    def read(self) -> bytes:
        try:
            return self._response.data
        except Exception as err:
            failure = _adapter_error(err)
            raise failure from failure.__cause__
        finally:
            self._response.release_conn()

    def chunks(self) -> Iterator[bytes]:
        response = self._response
        try:
            while True:
                data = response.read1(READ_BYTES)
                if not data:
                    return
                yield data
        except Exception as err:
            failure = _adapter_error(err)
            raise failure from failure.__cause__

    def close(self) -> None:
        # A body read to the end gives its connection back to the pool; one left unread closes it.
        response = self._response
        if not response.closed:  # the body was not read to its end: the connection cannot be reused
            response.close()
        response.release_conn()


class Urllib3Adapter:
    """urllib3 under the transport. ``pool_manager`` is an escape hatch: a ``urllib3.PoolManager`` you
    configured and close yourself (the settings' proxies then are yours to mount, too)."""

    def __init__(self, core: HttpCore, pool_manager: urllib3.PoolManager | None = None) -> None:
        import urllib3

        self._urllib3 = urllib3
        settings = core.settings
        self._owns_manager = pool_manager is None
        self._tls = core.base_url.startswith("https:") or _tls_configured(settings)
        tls_kw: dict[str, Any] = {"ssl_context": ssl_context_from_settings(settings)} if self._tls else {}
        self._tls_kw = tls_kw
        self._manager = pool_manager or urllib3.PoolManager(maxsize=POOL_SIZE, **tls_kw)
        self._timeout = urllib3.Timeout(connect=core.connect_timeout, read=settings.timeout)
        self._redirect = settings.allow_redirects
        self._retries = urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            status=0,
            other=0,
            redirect=MAX_REDIRECTS if settings.allow_redirects else 0,
            raise_on_redirect=False,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        # HTTP(S)_PROXY, ALL_PROXY and NO_PROXY as Settings read them (the variables requests and MLflow read);
        # None when no proxy is set (or the manager is given): every request then goes straight to _manager.
        proxied = any(p is not None for p in (settings.http_proxy, settings.https_proxy, settings.all_proxy))
        self._settings: Settings | None = settings if pool_manager is None and proxied else None
        self._proxy_managers: dict[str, urllib3.ProxyManager] = {}
        self._route: dict[tuple[str, str], urllib3.PoolManager] = {}

    def send(self, request: Request, *, stream: bool) -> _Urllib3Answer:
        try:
            response = self._manager_for(request.url).urlopen(
                request.method,
                request.url,
                body=request.body,
                headers=request.headers,
                retries=self._retries,
                redirect=self._redirect,
                timeout=self._timeout,
                preload_content=not stream,
            )
        except self._urllib3.exceptions.HTTPError as err:
            failure = _adapter_error(err)
            raise failure from failure.__cause__
        return _Urllib3Answer(response)

    def close(self) -> None:
        if self._owns_manager:
            self._manager.clear()
        for manager in self._proxy_managers.values():
            manager.clear()

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        """Direct, or through the proxy the settings name for this scheme and host."""
        s = self._settings
        if s is None:
            return self._manager
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0].rpartition("@")[2]
        manager = self._route.get((scheme, host))
        if manager is None:
            proxy = proxy_for(s, url)
            manager = self._manager if proxy is None else self._proxy_manager(proxy)
            self._route[(scheme, host)] = manager
        return manager

    def _proxy_manager(self, proxy: str) -> urllib3.ProxyManager:
        from ._http_core import split_credentials

        manager = self._proxy_managers.get(proxy)
        if manager is None:
            url, credentials = split_credentials(proxy)
            headers = None
            if credentials is not None:  # urllib3 does not read them from the URL
                headers = self._urllib3.make_headers(proxy_basic_auth=":".join(credentials))
            manager = self._urllib3.ProxyManager(url, proxy_headers=headers, maxsize=POOL_SIZE, **self._tls_kw)
            self._proxy_managers[proxy] = manager
        return manager


def _tls_configured(settings: Settings) -> bool:
    return settings.insecure_tls or settings.server_cert_path is not None or settings.client_cert_path is not None


#: urllib3 starts connection errors with the connection's repr: "HTTPConnection(host=..., port=...): ".
_CONNECTION_PREFIX = re.compile(r"^(<[^>]*>|\w*Connection(Pool)?\([^)]*\)): ")


def _adapter_error(err: BaseException) -> AdapterError:
    """What a urllib3 failure means for the retry decision (see ``AdapterError``)."""
    from urllib3 import exceptions as e

    reason = err.reason if isinstance(err, e.MaxRetryError) and err.reason is not None else err
    if isinstance(reason, e.ProxyError) and isinstance(reason.original_error, BaseException):
        reason = reason.original_error
    if isinstance(reason, e.NewConnectionError):  # before ConnectTimeoutError, which it subclasses
        kind = AdapterError.CONNECT
    elif isinstance(reason, e.ConnectTimeoutError):
        kind = AdapterError.CONNECT_TIMEOUT
    elif isinstance(reason, (e.SSLError, e.ProxyError, e.LocationValueError)):
        kind = AdapterError.CONNECT  # the TLS handshake or the proxy failed: nothing of the request left
    elif isinstance(reason, (e.ReadTimeoutError, TimeoutError, e.TimeoutError)):
        kind = AdapterError.TIMEOUT
    else:
        kind = AdapterError.BROKEN
    text = _CONNECTION_PREFIX.sub("", str(reason))
    detail = f"{type(reason).__name__}: {text}" if text else type(reason).__name__
    failure = AdapterError(kind, detail, tls=find_tls_error(err))
    failure.__cause__ = reason  # what ``raise failure from failure.__cause__`` chains
    return failure


# -- the transport ------------------------------------------------------------------------------------


class HttpTransport:
    """Sends requests to one MLflow tracking server; implements the generated layer's ``Transport``.

    ``settings`` defaults to ``Settings.from_env()``. Escape hatches: ``pool_manager`` (a
    ``urllib3.PoolManager`` you configured and close yourself; auth and headers still come from here),
    ``adapter`` (any ``Adapter``, e.g. an in-process fake for tests), ``headers`` (sent with every
    request), ``retry_policy``, and ``sleep``/``clock`` for tests.
    """

    def __init__(
        self,
        base_url: str,
        settings: Settings | None = None,
        *,
        pool_manager: urllib3.PoolManager | None = None,
        adapter: Adapter | None = None,
        headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = settings if settings is not None else Settings.from_env()
        self._core = HttpCore(base_url, settings, headers=headers, retry_policy=retry_policy, clock=clock)
        self._sleep = sleep
        self._adapter: Adapter = adapter if adapter is not None else Urllib3Adapter(self._core, pool_manager)

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._core.retry_policy

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        self._core.retry_policy = policy

    @property
    def _auth(self) -> BasicAuth | BearerAuth | None:
        return self._core.auth

    @property
    def _secrets(self) -> tuple[str, ...]:
        return self._core.secrets

    # -- public API ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> bytes:
        """Send one request (retrying as the policy says) and return the body of its 2xx answer.

        Raises a ``RestException`` subclass for an error answer and an ``MlflowConnectionError`` when no
        answer came. Pass ``idempotent=False`` for requests that must not run twice (creating a run).
        """
        exchange = self._core.start(
            method,
            path,
            params=params,
            content=content,
            headers=headers,
            idempotent=idempotent,
            retry_policy=retry_policy,
        )
        wait: float | None
        while True:
            request = exchange.next_request()
            started = time.perf_counter()
            try:
                answer = self._adapter.send(request, stream=False)
                body = answer.read()
            except AdapterError as err:
                wait = exchange.failed(err, time.perf_counter() - started)
            else:
                wait = exchange.answered(
                    answer.status, answer.header, answer.set_cookie(), body, time.perf_counter() - started
                )
                if wait is None:
                    return body
            self._sleep(wait)

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Iterator[Iterator[bytes]]:
        """Yield the body of a 2xx answer as byte chunks, for downloads.

        Errors map as in ``request``; attempts are retried only until an answer's headers arrive, a
        failure mid-body raises ``ConnectionFailed``.
        """
        exchange = self._core.start(method, path, params=params, headers=headers, retry_policy=retry_policy)
        wait: float | None
        while True:
            request = exchange.next_request()
            started = time.perf_counter()
            try:
                answer = self._adapter.send(request, stream=True)
                ok = 200 <= answer.status < 300
                body = b"" if ok else answer.read()
            except AdapterError as err:
                wait = exchange.failed(err, time.perf_counter() - started)
            else:
                wait = exchange.answered(
                    answer.status, answer.header, answer.set_cookie(), body, time.perf_counter() - started
                )
                if wait is None:
                    break
            self._sleep(wait)
        try:
            yield _chunks(answer, exchange)
        finally:
            answer.close()

    def send_external(
        self, method: str, url: str, *, content: Body | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Callable[[str], str | None], bytes]:
        """One attempt to another host (a presigned URL), on the same pool and TLS settings but without this
        server's credentials or cookies: (status, header lookup, body). Raises ``AdapterError``."""
        answer = self._adapter.send(Request(method, url, dict(headers or {}), content), stream=False)
        return answer.status, answer.header, answer.read()

    @property
    def sleep(self) -> Callable[[float], None]:
        """How this transport waits between attempts (``time.sleep`` unless a test gave another)."""
        return self._sleep

    @property
    def clock(self) -> Callable[[], float]:
        return self._core.clock

    def close(self) -> None:
        """Close the pooled connections (unless the ``urllib3.PoolManager`` was given from outside)."""
        self._adapter.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r}, auth={self._auth!r})"


def _chunks(answer: Answer, exchange: Any) -> Iterator[bytes]:
    try:
        yield from answer.chunks()
    except AdapterError as err:
        raise exchange.broke_mid_body(err) from err
