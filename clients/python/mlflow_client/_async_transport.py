"""The async transport: ``httpx.AsyncClient`` under the same sans-IO core as the sync one.

Every decision (retries, backoff, ``Retry-After``, the total-time bound, which requests may be sent
twice, the exception for an answer, auth, cookies, redaction) is ``_http_core``'s; this module only
sends each attempt with httpx and reports how it went, as ``_transport`` does with urllib3. httpx is
the ``async`` extra, imported when the first async transport is built.

Waits between attempts are ``asyncio.sleep``: nothing here blocks the event loop. ``max_concurrency``
bounds the requests in flight (a semaphore around each attempt, and httpx's connection limit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._http_core import DEFAULT_CONNECT_TIMEOUT, AdapterError, HttpCore, Request, RetryPolicy, find_tls_error
from ._settings import Settings

if TYPE_CHECKING:
    import httpx

    from ._generated._runtime import Body, QueryParams

__all__ = ["DEFAULT_MAX_CONCURRENCY", "AsyncHttpTransport"]

#: Requests in flight at once per transport unless ``max_concurrency`` says otherwise: the pool size of
#: requests, and so of mlflow-skinny. An MLflow server runs a few workers, and more connections only
#: queue there; measured here (bench/async_client.py, 2 cores), 8 in flight beat 32 against every server.
DEFAULT_MAX_CONCURRENCY = 10
MAX_REDIRECTS = 30


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError as err:  # the async extra
        from .exceptions import ConfigurationError

        raise ConfigurationError(
            "AsyncMlflowClient talks to servers with httpx: pip install 'mlflow-client[async]'"
        ) from err
    return httpx


def _adapter_error(err: BaseException) -> AdapterError:
    """What an httpx failure means for the retry decision (see ``AdapterError``)."""
    import httpx

    if isinstance(err, httpx.ConnectTimeout):
        kind = AdapterError.CONNECT_TIMEOUT
    elif isinstance(err, (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol)):
        kind = AdapterError.CONNECT  # no connection, the TLS handshake or the proxy failed: nothing was sent
    elif isinstance(err, httpx.PoolTimeout):
        kind = AdapterError.CONNECT_TIMEOUT  # waited for a free connection: nothing was sent
    elif isinstance(err, httpx.TimeoutException):
        kind = AdapterError.TIMEOUT
    else:
        kind = AdapterError.BROKEN
    cause = err.__context__ if isinstance(err.__context__, OSError) and not isinstance(err, OSError) else err
    text = str(err) or str(cause)
    detail = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    failure = AdapterError(kind, detail, tls=find_tls_error(err))
    failure.__cause__ = err
    return failure


class AsyncHttpTransport:
    """Sends requests to one MLflow tracking server from asyncio; the async twin of ``HttpTransport``.

    ``client`` is an escape hatch: an ``httpx.AsyncClient`` you configured and close yourself (auth and
    headers still come from here). ``sleep``/``clock`` are for tests.
    """

    def __init__(
        self,
        base_url: str,
        settings: Settings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = settings if settings is not None else Settings.from_env()
        if max_concurrency is not None and (isinstance(max_concurrency, bool) or max_concurrency < 1):
            from .exceptions import InvalidParameterValue

            raise InvalidParameterValue(f"max_concurrency must be a positive integer, got {max_concurrency!r}")
        self._core = HttpCore(base_url, settings, headers=headers, retry_policy=retry_policy, clock=clock)
        self._sleep = sleep
        self.max_concurrency = max_concurrency or DEFAULT_MAX_CONCURRENCY
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._owns_client = client is None
        self._client = client if client is not None else self._new_client(settings)

    def _new_client(self, settings: Settings) -> httpx.AsyncClient:
        from ._http_core import ssl_context_from_settings
        from ._proxies import proxy_for
        from ._transport import _tls_configured

        lib = _import_httpx()
        tls = self._core.base_url.startswith("https:") or _tls_configured(settings)
        client: httpx.AsyncClient = lib.AsyncClient(
            verify=ssl_context_from_settings(settings) if tls else True,
            timeout=lib.Timeout(settings.timeout, connect=min(settings.timeout, DEFAULT_CONNECT_TIMEOUT)),
            limits=lib.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency),
            follow_redirects=settings.allow_redirects,
            max_redirects=MAX_REDIRECTS,
            # The settings' proxy for the server's URL (every request goes there), as the sync transport routes
            # it; httpx reads no variable. A redirect keeps the choice, as urllib3's manager does for the sync one.
            proxy=proxy_for(settings, self._core.base_url),
            trust_env=False,
        )
        return client

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
    def sleep(self) -> Callable[[float], Awaitable[object]]:
        return self._sleep

    @property
    def clock(self) -> Callable[[], float]:
        return self._core.clock

    async def _send(self, request: Request) -> httpx.Response:
        import httpx

        async with self._slots:
            try:
                return await self._client.request(
                    request.method, request.url, content=request.body, headers=request.headers
                )
            except (httpx.HTTPError, OSError) as err:
                # OSError: httpx lets some out unwrapped, such as TLS 1.3's "certificate required" alert, which
                # arrives on the first read after the handshake.
                failure = _adapter_error(err)
                raise failure from err

    async def request(
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

        Raises what ``HttpTransport.request`` raises: a ``RestException`` subclass for an error answer,
        an ``MlflowConnectionError`` when no answer came."""
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
                answer = await self._send(request)
            except AdapterError as err:
                wait = exchange.failed(err, time.perf_counter() - started)
            else:
                body = answer.content
                wait = exchange.answered(
                    answer.status_code,
                    answer.headers.get,
                    answer.headers.get_list("set-cookie"),
                    body,
                    time.perf_counter() - started,
                )
                if wait is None:
                    return body
            await self._sleep(wait)

    async def aclose(self) -> None:
        """Close the pooled connections (unless the ``httpx.AsyncClient`` was given from outside)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncHttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncHttpTransport({self.base_url!r}, auth={self._core.auth!r})"
