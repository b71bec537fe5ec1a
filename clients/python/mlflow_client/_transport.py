"""The one place where the SDK speaks HTTP: base URL, auth, TLS, timeouts, retries, error mapping.

``HttpTransport`` implements the generated layer's ``Transport`` (``request(...) -> bytes``) over one
pooled ``httpx.Client``, and ``stream(...)`` for downloads. What to retry, how often and how long to
wait is one ``RetryPolicy`` (run by tenacity), built from ``Settings`` and overridable per call.

httpx and tenacity are imported when a transport is built or used, never when this module is imported,
so ``import mlflow_client`` stays cheap.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ._settings import Settings
from .exceptions import (
    ConfigurationError,
    ConnectionFailed,
    MlflowConnectionError,
    MlflowException,
    RequestTimeout,
    RestException,
    error_from_response,
)

if TYPE_CHECKING:
    import ssl

    import httpx

    from ._generated._runtime import Body, QueryParams

__all__ = [
    "BACKOFF_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "RETRY_STATUSES",
    "BasicAuth",
    "BearerAuth",
    "HttpTransport",
    "RestError",
    "RetryPolicy",
    "error_from_response",
]

logger = logging.getLogger("mlflow_client")

#: Connecting gets at most this long, whatever the request timeout: a dead host should fail fast.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Longest backoff between two attempts; urllib3's ``Retry.DEFAULT_BACKOFF_MAX``, under which MLflow retries.
BACKOFF_MAX = 120.0
#: Statuses worth another attempt: the server or a proxy in front of it is overloaded or restarting.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that, with a Retry-After header, say the request was turned away unprocessed, so even a
#: non-idempotent request may be sent again.
REFUSED_STATUSES = frozenset({429, 503})

#: Deprecated name of ``RestException``, kept for code written against the first transport.
RestError = RestException


# -- retry policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, how many times, how long to wait, and for how long in total.

    Waits follow MLflow (urllib3's ``Retry`` under ``requests``): retry 1 goes at once, retry ``n >= 2``
    waits ``backoff_factor * 2**(n-1) + uniform(0, backoff_jitter)`` seconds, at most ``backoff_max``;
    with the defaults 0, 4, 8, 16, 32, 64, 120 s (+ jitter). A ``Retry-After`` header (seconds or an
    HTTP date) replaces the backoff, capped at ``max_retry_after``. No retry starts whose wait would
    end more than ``max_retry_time`` seconds after the first attempt began.

    Retried: connection failures, timeouts and ``retry_statuses``. A non-idempotent request is retried
    only when it surely did not reach the server (connecting failed) or the server turned it away with
    429/503 and a ``Retry-After``. A body given as an iterator cannot be replayed and is never retried.
    TLS failures other than an abrupt close are configuration errors and are not retried either.
    """

    max_retries: int = 7
    backoff_factor: float = 2.0
    backoff_jitter: float = 1.0
    backoff_max: float = BACKOFF_MAX
    max_retry_after: float = 60.0
    max_retry_time: float = 600.0
    retry_statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("backoff_factor", "backoff_jitter", "backoff_max", "max_retry_after", "max_retry_time"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            backoff_factor=settings.backoff_factor,
            backoff_jitter=settings.backoff_jitter,
            max_retry_after=settings.max_retry_after,
            max_retry_time=settings.max_retry_time,
        )

    def with_changes(self, **changes: Any) -> RetryPolicy:
        return dataclasses.replace(self, **changes)

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based) when the server named no time."""
        if retry_number <= 1:
            return 0.0
        value = self.backoff_factor * 2.0 ** (retry_number - 1) + rand() * self.backoff_jitter
        return max(0.0, min(self.backoff_max, value))

    def delay(self, retry_number: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
        """The wait before retry ``retry_number``: the server's ``Retry-After`` if positive, else the backoff."""
        if retry_after:
            return retry_after
        return self.backoff(retry_number, rand)

    def parse_retry_after(self, value: str | None, now: Callable[[], float] = time.time) -> float | None:
        """Seconds from a ``Retry-After`` value (delta-seconds or HTTP date), capped; ``None`` if unusable."""
        if value is None:
            return None
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive for "-0000"
                return None
            seconds = when.timestamp() - now()
        if math.isnan(seconds):
            return None
        return max(0.0, min(seconds, self.max_retry_after))

    def retries_status(self, status: int, *, idempotent: bool, retry_after: float | None) -> bool:
        if status not in self.retry_statuses:
            return False
        return idempotent or (status in REFUSED_STATUSES and retry_after is not None)

    def retries_error(self, err: BaseException, *, idempotent: bool) -> bool:
        import httpx

        tls = _find_tls_error(err)
        if tls is not None and not _tls_error_is_transient(tls):
            return False
        if isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return True  # the request never left: safe to send whatever it is
        if isinstance(err, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
            return idempotent
        return False


def _find_tls_error(err: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind an httpx error (httpx chains httpcore's, which chains the socket's)."""
    import ssl

    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        todo += [current.__cause__, current.__context__]
    return None


def _tls_error_is_transient(err: ssl.SSLError) -> bool:
    import ssl

    # An abrupt close mid-handshake is what an overloaded or restarting server looks like; a failed
    # verification, a missing client certificate or a protocol mismatch will fail the same way again.
    return isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError))


#: How a failed request ended, for a caller that retries on its own (``failure_kind``).
REFUSED, AMBIGUOUS, AUTH, REJECTED = "refused", "ambiguous", "auth", "rejected"


def failure_kind(err: BaseException) -> str:
    """Whether a request that raised may have been applied, and whether sending it again can help.

    - ``REFUSED``: surely not applied, worth sending again later: connecting failed; 429; 503 with a
      Retry-After; an answer without MLflow's error code (an HTML 404 or 400 page of a proxy or an
      old server, so not about this request's content).
    - ``AMBIGUOUS``: may have been applied: the connection broke or timed out after the request left,
      or a 5xx.
    - ``AUTH``: 401/403, or a TLS failure that is not an abrupt close: nothing goes through until the
      credentials or the TLS settings change.
    - ``REJECTED``: the server refused this request's content (a 4xx with MLflow's error code, or
      413): the same request fails the same way.
    """
    import httpx

    if isinstance(err, RestException):
        return _answer_kind(err)
    cause = err.__cause__
    if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        tls = _find_tls_error(cause)
        return AUTH if tls is not None and not _tls_error_is_transient(tls) else REFUSED
    return AMBIGUOUS


def _answer_kind(err: RestException) -> str:
    status = err.http_status or 500
    if status in (401, 403):
        return AUTH
    if status == 429 or (status == 503 and err.retry_after is not None):
        return REFUSED
    if status >= 500:
        return AMBIGUOUS
    if status == 413 or "error_code" in _json_object(err.body):
        return REJECTED
    return REFUSED


def _json_object(body: str) -> dict[str, Any]:
    import json

    try:
        data = json.loads(body) if body else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# -- auth ---------------------------------------------------------------------------------------------


class BasicAuth:
    """HTTP Basic credentials; httpx takes it as ``auth=`` (a callable that signs each request).

    It is a plain callable rather than an ``httpx.Auth`` subclass so that this module imports without
    httpx. The password lives only inside the encoded header and never shows in ``repr``.
    """

    __slots__ = ("_encoded", "_header", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._encoded = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = "Basic " + self._encoded

    def __call__(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='***')"


class BearerAuth:
    """A bearer token (``Authorization: Bearer ...``); like ``BasicAuth``, a callable for httpx's ``auth=``."""

    __slots__ = ("_header",)

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __call__(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"


def auth_from_settings(settings: Settings) -> BasicAuth | BearerAuth | None:
    """Basic when a username and password are set (it wins over a token, as in MLflow), else Bearer."""
    if settings.username is not None and settings.password is not None:
        return BasicAuth(settings.username, settings.password)
    if settings.token is not None:
        return BearerAuth(settings.token)
    return None


# -- TLS ----------------------------------------------------------------------------------------------


def ssl_context_from_settings(settings: Settings) -> ssl.SSLContext | bool:
    """What httpx's ``verify=`` gets: ``True`` (httpx's default CA bundle), ``False``, or a context."""
    if settings.client_cert_path is None:
        if settings.insecure_tls:
            return False
        if settings.server_cert_path is None:
            return True
    import os.path
    import ssl

    try:
        if settings.insecure_tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif settings.server_cert_path is not None:
            path = settings.server_cert_path
            ctx = ssl.create_default_context(
                cafile=None if os.path.isdir(path) else path, capath=path if os.path.isdir(path) else None
            )
        else:
            import certifi  # httpx's own dependency, and its default CA bundle

            ctx = ssl.create_default_context(cafile=certifi.where())
    except (OSError, ssl.SSLError) as err:
        raise ConfigurationError(
            f"cannot load the CA bundle in MLFLOW_TRACKING_SERVER_CERT_PATH={settings.server_cert_path!r}: {err}"
        ) from err
    if settings.client_cert_path is not None:
        try:
            ctx.load_cert_chain(settings.client_cert_path)
        except (OSError, ssl.SSLError) as err:
            raise ConfigurationError(
                "cannot load the client certificate and key in "
                f"MLFLOW_TRACKING_CLIENT_CERT_PATH={settings.client_cert_path!r}: {err}"
            ) from err
    return ctx


# -- the transport ------------------------------------------------------------------------------------


def _default_transports(
    verify: ssl.SSLContext | bool,
) -> tuple[httpx.BaseTransport, dict[str, httpx.BaseTransport | None]]:
    """Our wire for direct connections, and httpx's proxy transports for what the environment proxies.

    httpx mounts ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (minus ``NO_PROXY``) only when it builds the
    default transport itself, so with ours they are mounted here, the way httpx would (its own reading of
    the environment, as before: requests and MLflow honour the same variables).
    """
    import httpx
    from httpx._utils import get_environment_proxies  # pinned in constraints.txt; a test covers it

    from ._wire import WireTransport

    mounts: dict[str, httpx.BaseTransport | None] = {
        pattern: None if proxy is None else httpx.HTTPTransport(proxy=proxy, verify=verify)
        for pattern, proxy in get_environment_proxies().items()
    }
    return WireTransport(verify), mounts


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host/x`` -> (``http://host/x``, (user, pw)): credentials go in a header, never in
    a URL that httpx would log."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def _user_agent() -> str:
    from . import __version__

    return f"mlflow-client/{__version__}"


@dataclass
class _Call:
    """One logical request across its attempts: what the retry callbacks need to decide."""

    policy: RetryPolicy
    method: str
    path: str
    idempotent: bool
    replayable: bool
    started: float
    attempts: int = 0
    retry_ok: bool = False  # whether the last attempt's failure may be retried
    retry_after: float | None = None
    reason: str = ""
    delays: dict[int, float] = dataclasses.field(default_factory=dict)

    def delay(self, retry_number: int) -> float:
        # Memoised: tenacity asks for the wait and, through the time bound, for it again; the jitter
        # must be drawn once.
        if retry_number not in self.delays:
            self.delays[retry_number] = self.policy.delay(retry_number, self.retry_after)
        return self.delays[retry_number]


class HttpTransport:
    """Sends requests to one MLflow tracking server; implements the generated layer's ``Transport``.

    ``settings`` defaults to ``Settings.from_env()``. Escape hatches: ``client`` (an ``httpx.Client`` you
    configured and close yourself; auth and headers still come from here), ``transport`` (an httpx
    transport for the client built here, e.g. ``httpx.MockTransport``), ``headers`` (sent with every
    request), ``retry_policy``, and ``sleep``/``clock`` for tests.
    """

    def __init__(
        self,
        base_url: str,
        settings: Settings | None = None,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"a tracking server URL must start with http:// or https://, got {base_url!r}")
        import httpx

        self.settings = settings if settings is not None else Settings.from_env()
        self.base_url, url_credentials = _split_credentials(base_url.rstrip("/"))
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy.from_settings(self.settings)
        self._auth = auth_from_settings(self.settings)
        if self._auth is None and url_credentials is not None:
            self._auth = BasicAuth(*url_credentials)
        # Cut out of any error body we keep: a server or proxy may echo the request's headers.
        self._secrets = tuple(
            s for s in (self.settings.password, self.settings.token, getattr(self._auth, "_encoded", None)) if s
        )
        self._headers = {"User-Agent": _user_agent(), **(headers or {})}
        self._sleep = sleep
        self._clock = clock
        self._owns_client = client is None
        if client is None:
            from ._httpx_client import Client

            timeout = self.settings.timeout
            verify = ssl_context_from_settings(self.settings)
            mounts = None
            if transport is None:
                transport, mounts = _default_transports(verify)
            client = Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, DEFAULT_CONNECT_TIMEOUT)),
                verify=verify,
                follow_redirects=self.settings.allow_redirects,
                transport=transport,
                mounts=mounts,
            )
        self._client = client

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
        response = self._send(
            method=method,
            path=path,
            params=params,
            content=content,
            headers=headers,
            idempotent=idempotent,
            retry_policy=retry_policy,
            stream=False,
        )
        return response.content

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
        response = self._send(
            method=method,
            path=path,
            params=params,
            content=None,
            headers=headers,
            idempotent=True,
            retry_policy=retry_policy,
            stream=True,
        )
        try:
            yield self._chunks(response, method, path)
        finally:
            response.close()

    @property
    def sleep(self) -> Callable[[float], None]:
        """How this transport waits between attempts (``time.sleep`` unless a test gave another)."""
        return self._sleep

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def close(self) -> None:
        """Close the pooled connections (unless the ``httpx.Client`` was given from outside)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r}, auth={self._auth!r})"

    # -- internals ----------------------------------------------------------------------------------

    def _send(
        self,
        *,
        method: str,
        path: str,
        params: QueryParams | None,
        content: Body | None,
        headers: Mapping[str, str] | None,
        idempotent: bool,
        retry_policy: RetryPolicy | None,
        stream: bool,
    ) -> httpx.Response:
        import tenacity

        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        policy = retry_policy if retry_policy is not None else self.retry_policy
        call = _Call(
            policy,
            method,
            path,
            idempotent,
            replayable=content is None or isinstance(content, (bytes, bytearray, memoryview, str)),
            started=self._clock(),
        )
        try:
            # Fast path: the first attempt runs without the retry machinery (most requests succeed).
            try:
                return self._attempt(call, params, content, headers, stream)
            except MlflowException:
                if not call.retry_ok or policy.max_retries < 1 or self._out_of_time(call, 1):
                    raise
            self._log_retry(call, 1)
            self._sleep(call.delay(1))
            # tenacity numbers its attempts from 1; they are this request's attempts 2, 3, ...
            retrying = tenacity.Retrying(
                retry=lambda state: call.retry_ok,
                wait=lambda state: call.delay(state.attempt_number + 1),
                stop=lambda state: (
                    state.attempt_number + 1 > policy.max_retries or self._out_of_time(call, state.attempt_number + 1)
                ),
                before_sleep=lambda state: self._log_retry(call, state.attempt_number + 1),
                sleep=self._sleep,
                reraise=True,
            )
            response: httpx.Response = retrying(self._attempt, call, params, content, headers, stream)
        except MlflowConnectionError as err:
            if call.attempts > 1:
                err.message = err.message + f" (gave up after {call.attempts} attempts)"
                err.args = (err.message,)
            raise
        return response

    def _attempt(
        self,
        call: _Call,
        params: QueryParams | None,
        content: Body | None,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> httpx.Response:
        import httpx

        call.attempts += 1
        call.retry_ok, call.retry_after, call.reason = False, None, ""
        request = self._client.build_request(
            call.method,
            self.base_url + call.path,
            params=tuple(params) if params else None,
            content=content,
            headers={**self._headers, **headers} if headers else self._headers,
        )
        started = time.perf_counter()
        try:
            response = self._client.send(
                request, auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT, stream=stream
            )
            if stream and not response.is_success:
                try:
                    response.read()
                finally:
                    response.close()
        except httpx.HTTPError as err:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.debug("%s %s -> %s in %.1f ms", call.method, call.path, type(err).__name__, elapsed_ms)
            call.retry_ok = call.replayable and call.policy.retries_error(err, idempotent=call.idempotent)
            call.reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise self._connection_error(err, call.method, call.path) from err
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug("%s %s -> %d in %.1f ms", call.method, call.path, response.status_code, elapsed_ms)
        if response.is_success:
            return response
        status = response.status_code
        call.retry_after = call.policy.parse_retry_after(response.headers.get("Retry-After"))
        call.retry_ok = call.replayable and call.policy.retries_status(
            status, idempotent=call.idempotent, retry_after=call.retry_after
        )
        call.reason = f"HTTP {status}"
        error = error_from_response(status, response.content, method=call.method, path=call.path, secrets=self._secrets)
        error.retry_after = call.retry_after
        raise error

    def _out_of_time(self, call: _Call, retry_number: int) -> bool:
        elapsed = self._clock() - call.started
        if elapsed + call.delay(retry_number) <= call.policy.max_retry_time:
            return False
        logger.debug(
            "not retrying %s %s: the next attempt would start after %.1f s (max_retry_time %.1f s)",
            call.method,
            call.path,
            elapsed + call.delay(retry_number),
            call.policy.max_retry_time,
        )
        return True

    def _log_retry(self, call: _Call, retry_number: int) -> None:
        logger.debug(
            "retry %d/%d of %s %s in %.2f s after %s",
            retry_number,
            call.policy.max_retries,
            call.method,
            call.path,
            call.delay(retry_number),
            call.reason,
        )

    def _connection_error(self, err: httpx.HTTPError, method: str, path: str) -> MlflowConnectionError:
        import ssl

        import httpx

        where = f"{method} {self.base_url}{path}"
        if isinstance(err, httpx.TimeoutException):
            return RequestTimeout(
                f"{where} timed out ({type(err).__name__}); the timeout is {self.settings.timeout:g} s "
                f"(MLFLOW_HTTP_REQUEST_TIMEOUT), {DEFAULT_CONNECT_TIMEOUT:g} s at most to connect"
            )
        tls = _find_tls_error(err)
        if tls is not None:
            if isinstance(tls, ssl.SSLCertVerificationError):
                hint = (
                    "the server's certificate could not be verified; set MLFLOW_TRACKING_SERVER_CERT_PATH to the "
                    "CA bundle that signed it (or MLFLOW_TRACKING_INSECURE_TLS=true to skip verification, unsafe)"
                )
            else:
                hint = "if the server requires a client certificate, set MLFLOW_TRACKING_CLIENT_CERT_PATH"
            return ConnectionFailed(f"TLS error on {where}: {tls}; {hint}")
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        return ConnectionFailed(f"{where} failed: {detail}")

    def _chunks(self, response: httpx.Response, method: str, path: str) -> Iterator[bytes]:
        import httpx

        try:
            yield from response.iter_bytes()
        except httpx.HTTPError as err:
            raise self._connection_error(err, method, path) from err
