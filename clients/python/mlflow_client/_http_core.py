"""The sans-IO core of the transport: every HTTP decision, no sockets and no HTTP library.

The sync transport (``_transport``, on urllib3) and the async one (``_async_transport``, on
``httpx.AsyncClient``) run the same loop over an ``Exchange`` (one logical request across its attempts):

1. ``exchange.next_request()`` gives the attempt's ``Request``: URL with query, headers (user agent,
   auth, cookies), body;
2. the adapter sends it; it reports an answer with ``exchange.answered(...)`` or a failure with
   ``exchange.failed(AdapterError)``;
3. those return ``None`` (done: a 2xx), or the seconds to wait before the next attempt, or raise the
   exception the caller gets (``RestException`` for an error answer, ``MlflowConnectionError`` for no
   answer).

What is decided here: MLflow's backoff schedule with jitter, ``Retry-After``, the bound on total time,
whether a request may be sent twice (the spec's retry-safety marks, replayable bodies, how the attempt
failed), the exception for an answer, the messages for failures (with hints for TLS and timeouts),
auth headers, cookies set by auth proxies, and the redaction of secrets. Debug log lines are written
here too, so both adapters log the same.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from ._settings import Settings
from .exceptions import (
    ConfigurationError,
    ConnectionFailed,
    MlflowConnectionError,
    RequestTimeout,
    RestException,
    error_from_response,
)

if TYPE_CHECKING:
    import ssl

    from ._generated._runtime import Body, QueryParams

__all__ = [
    "AMBIGUOUS",
    "AUTH",
    "BACKOFF_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "REFUSED",
    "REJECTED",
    "RETRY_STATUSES",
    "AdapterError",
    "BasicAuth",
    "BearerAuth",
    "Exchange",
    "HttpCore",
    "Request",
    "RetryPolicy",
    "auth_from_settings",
    "failure_kind",
    "ssl_context_from_settings",
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

    def retries_failure(self, err: AdapterError, *, idempotent: bool) -> bool:
        if err.tls is not None and not _tls_error_is_transient(err.tls):
            return False
        if err.kind in (AdapterError.CONNECT, AdapterError.CONNECT_TIMEOUT):
            return True  # the request never left: safe to send whatever it is
        return idempotent


# -- what adapters report --------------------------------------------------------------------------


class AdapterError(Exception):
    """Raised by an IO adapter when no answer came, with the library's error as ``__cause__``.

    ``kind`` says how far the attempt got, which is all the retry decision needs:

    - ``CONNECT``: no connection (refused, unresolvable, TLS handshake failed): nothing was sent;
    - ``CONNECT_TIMEOUT``: connecting took too long (nothing was sent either);
    - ``TIMEOUT``: the request left and no answer came in time;
    - ``BROKEN``: the connection broke or the answer was not valid HTTP, after the request left.
    """

    CONNECT, CONNECT_TIMEOUT, TIMEOUT, BROKEN = "connect", "connect-timeout", "timeout", "broken"

    def __init__(self, kind: str, detail: str, *, tls: ssl.SSLError | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.tls = tls


def find_tls_error(err: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind a library error (they chain the socket's through causes and contexts)."""
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
        todo += [current.__cause__, current.__context__, *(a for a in current.args if isinstance(a, BaseException))]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError / SSLError keep it here
        if isinstance(reason, BaseException):
            todo.append(reason)
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
    if isinstance(err, RestException):
        return _answer_kind(err)
    failure = err.__cause__
    if isinstance(failure, AdapterError) and failure.kind in (AdapterError.CONNECT, AdapterError.CONNECT_TIMEOUT):
        tls = failure.tls
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
    """HTTP Basic credentials. The password lives only inside the encoded header, never in ``repr``."""

    __slots__ = ("_encoded", "header", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._encoded = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.header = "Basic " + self._encoded

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='***')"


class BearerAuth:
    """A bearer token (``Authorization: Bearer ...``)."""

    __slots__ = ("_token", "header")

    def __init__(self, token: str) -> None:
        self._token = token
        self.header = f"Bearer {token}"

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


def _verifying_context(path: str, variable: str) -> ssl.SSLContext:
    """A context verifying against the CA bundle file or folder at ``path``, which ``variable`` named."""
    import os.path
    import ssl

    folder = os.path.isdir(path)
    try:
        return ssl.create_default_context(cafile=None if folder else path, capath=path if folder else None)
    except (OSError, ssl.SSLError) as err:
        raise ConfigurationError(f"cannot load the CA bundle in {variable}={path!r}: {err}") from err


def ssl_context_from_settings(settings: Settings) -> ssl.SSLContext:
    """The TLS context for ``https`` URLs: certifi's CA bundle (as requests and so MLflow use), or the
    bundle or folder in ``MLFLOW_TRACKING_SERVER_CERT_PATH``, else in ``REQUESTS_CA_BUNDLE`` or
    ``CURL_CA_BUNDLE`` (which requests reads when MLflow passes no bundle), or no verification with
    ``MLFLOW_TRACKING_INSECURE_TLS``; plus the client certificate of ``MLFLOW_TRACKING_CLIENT_CERT_PATH``."""
    import ssl

    if settings.insecure_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif settings.server_cert_path is not None:
        ctx = _verifying_context(settings.server_cert_path, "MLFLOW_TRACKING_SERVER_CERT_PATH")
    elif settings.ca_bundle is not None:
        name = "REQUESTS_CA_BUNDLE" if settings.requests_ca_bundle else "CURL_CA_BUNDLE"
        ctx = _verifying_context(settings.ca_bundle, name)
    else:
        try:
            import certifi
        except ImportError:  # not a dependency of ours: without it, the system's CAs
            ctx = ssl.create_default_context()
        else:
            ctx = ssl.create_default_context(cafile=certifi.where())
    if settings.client_cert_path is not None:
        try:
            ctx.load_cert_chain(settings.client_cert_path)
        except (OSError, ssl.SSLError) as err:
            raise ConfigurationError(
                "cannot load the client certificate and key in "
                f"MLFLOW_TRACKING_CLIENT_CERT_PATH={settings.client_cert_path!r}: {err}"
            ) from err
    return ctx


# -- requests and exchanges ---------------------------------------------------------------------------


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host/x`` -> (``http://host/x``, (user, pw)): credentials go in a header, never in
    a URL that a library would log."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def _user_agent() -> str:
    from . import __version__

    return f"mlflow-client/{__version__}"


@dataclass(slots=True)
class Request:
    """One attempt, ready for an adapter: ``url`` is absolute and carries the query."""

    method: str
    url: str
    headers: dict[str, str]
    body: Body | None


class HttpCore:
    """What one transport to one server holds: base URL, settings, policy, auth, headers, cookies."""

    def __init__(
        self,
        base_url: str,
        settings: Settings,
        *,
        headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"a tracking server URL must start with http:// or https://, got {base_url!r}")
        self.settings = settings
        self.base_url, url_credentials = split_credentials(base_url.rstrip("/"))
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy.from_settings(settings)
        self.auth = auth_from_settings(settings)
        if self.auth is None and url_credentials is not None:
            self.auth = BasicAuth(*url_credentials)
        # Cut out of any error body we keep: a server or proxy may echo the request's headers.
        self.secrets = tuple(s for s in (settings.password, settings.token, getattr(self.auth, "_encoded", None)) if s)
        self.headers = {"User-Agent": _user_agent(), **(headers or {})}
        if self.auth is not None:
            self.headers["Authorization"] = self.auth.header
        self.clock = clock
        self.cookies: dict[str, str] = {}  # set by the server (auth proxies hand out session cookies)
        self._cookie_header: str | None = None

    @property
    def connect_timeout(self) -> float:
        return min(self.settings.timeout, DEFAULT_CONNECT_TIMEOUT)

    def start(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> Exchange:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return Exchange(self, method, path, params, content, headers, idempotent, retry_policy or self.retry_policy)

    def keep_cookies(self, set_cookie: Iterable[str]) -> None:
        """Remember what ``Set-Cookie`` headers of our server's answers set (expired ones are dropped)."""
        from http.cookies import CookieError, SimpleCookie

        changed = False
        for header in set_cookie:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                if morsel["max-age"] in ("0",) or morsel["max-age"].startswith("-"):
                    changed |= self.cookies.pop(name, None) is not None
                else:
                    self.cookies[name] = morsel.value
                    changed = True
        if changed:
            self._cookie_header = "; ".join(f"{k}={v}" for k, v in self.cookies.items()) or None

    def connection_error(self, err: AdapterError, method: str, path: str) -> MlflowConnectionError:
        """The exception for an attempt that got no answer, with a hint where the settings are the cause."""
        import ssl

        where = f"{method} {self.base_url}{path}"
        if err.kind in (AdapterError.TIMEOUT, AdapterError.CONNECT_TIMEOUT):
            return RequestTimeout(
                f"{where} timed out ({err.detail}); the timeout is {self.settings.timeout:g} s "
                f"(MLFLOW_HTTP_REQUEST_TIMEOUT), {DEFAULT_CONNECT_TIMEOUT:g} s at most to connect"
            )
        if err.tls is not None:
            if isinstance(err.tls, ssl.SSLCertVerificationError):
                hint = (
                    "the server's certificate could not be verified; set MLFLOW_TRACKING_SERVER_CERT_PATH to the "
                    "CA bundle that signed it (or MLFLOW_TRACKING_INSECURE_TLS=true to skip verification, unsafe)"
                )
            else:
                hint = "if the server requires a client certificate, set MLFLOW_TRACKING_CLIENT_CERT_PATH"
            return ConnectionFailed(f"TLS error on {where}: {err.tls}; {hint}")
        return ConnectionFailed(f"{where} failed: {err.detail}")


class Exchange:
    """One logical request across its attempts: builds each attempt and decides what follows it."""

    __slots__ = (
        "_core",
        "_headers",
        "_url",
        "attempts",
        "content",
        "idempotent",
        "method",
        "path",
        "policy",
        "replayable",
        "started",
    )

    def __init__(
        self,
        core: HttpCore,
        method: str,
        path: str,
        params: QueryParams | None,
        content: Body | None,
        headers: Mapping[str, str] | None,
        idempotent: bool,
        policy: RetryPolicy,
    ) -> None:
        self._core = core
        self.method = method
        self.path = path
        self.content = content
        self.idempotent = idempotent
        self.policy = policy
        self.replayable = content is None or isinstance(content, (bytes, bytearray, memoryview, str))
        self.started = core.clock()
        self.attempts = 0
        self._url = core.base_url + path + ("?" + urlencode(list(params)) if params else "")
        self._headers = {**core.headers, **headers} if headers else core.headers

    def next_request(self) -> Request:
        self.attempts += 1
        headers = self._headers
        cookie = self._core._cookie_header
        if cookie is not None:
            headers = {**headers, "Cookie": cookie}
        return Request(self.method, self._url, headers, self.content)

    def answered(
        self, status: int, header: Callable[[str], str | None], set_cookie: Iterable[str], body: bytes, elapsed: float
    ) -> float | None:
        """After an answer: ``None`` for a 2xx, else the wait before the next attempt, or raise its error.

        ``header`` looks a header up by name; ``body`` is read only for an error answer (pass ``b""``
        for a 2xx whose body the caller streams)."""
        core = self._core
        logger.debug("%s %s -> %d in %.1f ms", self.method, self.path, status, elapsed * 1000)
        if set_cookie:
            core.keep_cookies(set_cookie)
        if 200 <= status < 300:
            return None
        policy = self.policy
        retry_after = policy.parse_retry_after(header("Retry-After"))
        error = error_from_response(status, body, method=self.method, path=self.path, secrets=core.secrets)
        error.retry_after = retry_after
        retry = self.replayable and policy.retries_status(status, idempotent=self.idempotent, retry_after=retry_after)
        wait = self._next_wait(retry, retry_after, f"HTTP {status}")
        if wait is None:
            raise error
        return wait

    def failed(self, err: AdapterError, elapsed: float) -> float:
        """After an attempt without an answer: the wait before the next one, or raise the connection error."""
        logger.debug("%s %s -> %s in %.1f ms", self.method, self.path, err.kind, elapsed * 1000)
        retry = self.replayable and self.policy.retries_failure(err, idempotent=self.idempotent)
        wait = self._next_wait(retry, None, err.detail)
        if wait is not None:
            return wait
        error = self._core.connection_error(err, self.method, self.path)
        if self.attempts > 1:
            error.message = error.message + f" (gave up after {self.attempts} attempts)"
            error.args = (error.message,)
        raise error from err

    def broke_mid_body(self, err: AdapterError) -> MlflowConnectionError:
        """The error for a streamed answer whose body broke off (too late to retry: bytes were handed out)."""
        error = self._core.connection_error(err, self.method, self.path)
        error.__cause__ = err
        return error

    def _next_wait(self, retry: bool, retry_after: float | None, reason: str) -> float | None:
        retry_number = self.attempts
        policy = self.policy
        if not retry or retry_number > policy.max_retries:
            return None
        wait = policy.delay(retry_number, retry_after)
        elapsed = self._core.clock() - self.started
        if elapsed + wait > policy.max_retry_time:
            logger.debug(
                "not retrying %s %s: the next attempt would start after %.1f s (max_retry_time %.1f s)",
                self.method,
                self.path,
                elapsed + wait,
                policy.max_retry_time,
            )
            return None
        logger.debug(
            "retry %d/%d of %s %s in %.2f s after %s",
            retry_number,
            policy.max_retries,
            self.method,
            self.path,
            wait,
            reason,
        )
        return wait
