"""The exception tree of ``mlflow_client``: what went wrong, and whether a server said so.

::

    MlflowException                       MLflow-compatible: .message, .error_code, .http_status
    ├── ConfigurationError (ValueError)   a setting or environment variable is wrong
    ├── BadRequest                        BAD_REQUEST, MALFORMED_REQUEST; 400 without a code
    │   └── InvalidParameterValue         INVALID_PARAMETER_VALUE
    ├── ResourceNotFound                  RESOURCE_DOES_NOT_EXIST, NOT_FOUND
    ├── ResourceAlreadyExists             RESOURCE_ALREADY_EXISTS, ALREADY_EXISTS (MLflow sends 400)
    ├── EndpointNotFound                  ENDPOINT_NOT_FOUND; 404/405 without a code (wrong URL, old server)
    ├── Unauthenticated                   UNAUTHENTICATED, CUSTOMER_UNAUTHORIZED; 401
    ├── PermissionDenied                  PERMISSION_DENIED; 403
    ├── RequestLimitExceeded              REQUEST_LIMIT_EXCEEDED, RESOURCE_EXHAUSTED; 429
    ├── TemporarilyUnavailable            TEMPORARILY_UNAVAILABLE, DEADLINE_EXCEEDED; 502, 503, 504
    ├── InternalError                     INTERNAL_ERROR, IO_ERROR, DATA_LOSS; other 5xx
    ├── FeatureNotImplemented             NOT_IMPLEMENTED, FEATURE_DISABLED; 501
    ├── RestException                     marker: the error is a server's answer (carries .body)
    ├── MlflowConnectionError             no answer at all
    │   ├── ConnectionFailed              refused, reset, DNS, TLS
    │   └── RequestTimeout
    ├── AsyncLoggingError                 asynchronous operations the server refused (.failures)
    ├── DeliveryTimeout                   a wait for asynchronous data ran out; the data stays spooled
    └── SpoolFull                         the spool reached its cap or the disk failed; nothing was taken

The per-code classes say *what* went wrong and do not depend on HTTP: a local store or the client's own
validation raises ``InvalidParameterValue(...)`` or ``ResourceNotFound(...)`` with ``http_status=None``.
``RestException`` says *where* it came from: an error answer of a server is an instance of both its
per-code class and ``RestException`` (``error_from_response`` builds it), so ``except ResourceNotFound``
catches a missing run whichever store raised it, while ``except RestException`` catches only what a
server answered, as in MLflow.

The subclass is chosen by ``error_code`` first, because MLflow pairs codes and statuses loosely
(RESOURCE_ALREADY_EXISTS comes with HTTP 400), and by the HTTP status only when the body carries no
code (an HTML page from a proxy, say).

This module uses the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

__all__ = [
    "AsyncLoggingError",
    "BadRequest",
    "ConfigurationError",
    "ConnectionFailed",
    "DeliveryTimeout",
    "EndpointNotFound",
    "FeatureNotImplemented",
    "InternalError",
    "InvalidParameterValue",
    "MlflowConnectionError",
    "MlflowException",
    "PermissionDenied",
    "RequestLimitExceeded",
    "RequestTimeout",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "RestException",
    "SpoolFull",
    "TemporarilyUnavailable",
    "Unauthenticated",
    "error_from_response",
]

#: MLflow's error codes: name -> (number, the HTTP status sent with it). Mirrors spec/errors.proto; a
#: test pins it to the generated ``ErrorCode`` so the two cannot drift.
ERROR_CODES: Mapping[str, tuple[int, int]] = {
    "INTERNAL_ERROR": (1, 500),
    "TEMPORARILY_UNAVAILABLE": (2, 503),
    "IO_ERROR": (3, 500),
    "BAD_REQUEST": (4, 400),
    "DEADLINE_EXCEEDED": (7, 504),
    "CANCELLED": (8, 499),
    "RESOURCE_EXHAUSTED": (9, 429),
    "ABORTED": (10, 409),
    "NOT_FOUND": (11, 404),
    "ALREADY_EXISTS": (12, 409),
    "UNAUTHENTICATED": (13, 401),
    "INVALID_PARAMETER_VALUE": (1000, 400),
    "ENDPOINT_NOT_FOUND": (1001, 404),
    "MALFORMED_REQUEST": (1002, 400),
    "INVALID_STATE": (1003, 500),
    "PERMISSION_DENIED": (1004, 403),
    "FEATURE_DISABLED": (1005, 500),
    "CUSTOMER_UNAUTHORIZED": (1006, 401),
    "REQUEST_LIMIT_EXCEEDED": (1007, 429),
    "RESOURCE_CONFLICT": (1008, 409),
    "NOT_IMPLEMENTED": (1010, 501),
    "DATA_LOSS": (1011, 500),
    "RESOURCE_ALREADY_EXISTS": (3001, 400),
    "RESOURCE_DOES_NOT_EXIST": (3002, 404),
}
_CODE_BY_NUMBER = {number: name for name, (number, _) in ERROR_CODES.items()}

#: How much of an error body an exception keeps (``.body``) and shows in its message.
MAX_BODY_CHARS = 2000
MAX_MESSAGE_BODY_CHARS = 300
REDACTED = "***"


def _code_name(error_code: str | int | None, default: str) -> str:
    """MLflow passes proto numbers, we pass names; both are accepted, an unknown number is INTERNAL_ERROR."""
    if error_code is None:
        return default
    if isinstance(error_code, int):
        return _CODE_BY_NUMBER.get(error_code, "INTERNAL_ERROR")
    return str(error_code)


class MlflowException(Exception):
    """An error of an MLflow operation, compatible with ``mlflow.exceptions.MlflowException``.

    ``error_code`` is the code's name (``"RESOURCE_DOES_NOT_EXIST"``); a proto number is accepted too.
    ``http_status`` is the status the server answered with, or ``None`` when no server was involved.
    Extra keyword arguments go into ``serialize_as_json()``, as in MLflow.
    """

    #: The code an instance gets when none is given.
    default_error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(
        self,
        message: object,
        error_code: str | int | None = None,
        http_status: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.message = str(message)
        self.error_code = _code_name(error_code, self.default_error_code)
        self.http_status = http_status
        self.json_kwargs: dict[str, Any] = kwargs
        super().__init__(self.message)

    def get_http_status_code(self) -> int:
        """The status an answer carried, else the one MLflow pairs with the error code (500 if unknown)."""
        if self.http_status is not None:
            return self.http_status
        return ERROR_CODES.get(self.error_code, (0, 500))[1]

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.message, **self.json_kwargs})

    @classmethod
    def invalid_parameter_value(cls, message: str, **kwargs: Any) -> MlflowException:
        """MLflow's shortcut for an ``INVALID_PARAMETER_VALUE`` error."""
        return cls(message, error_code="INVALID_PARAMETER_VALUE", **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only state would be lost by Exception's default pickling (it replays ``args``).
        rest_of: type[MlflowException] | None = getattr(type(self), "_rest_of", None)
        cls = rest_of if rest_of is not None else type(self)
        return _rebuild, (cls, rest_of is not None, dict(self.__dict__))

    def __repr__(self) -> str:
        code, status = self.error_code, self.http_status
        return f"{type(self).__name__}({self.message!r}, error_code={code!r}, http_status={status!r})"


def _rebuild(cls: type[MlflowException], rest: bool, state: dict[str, Any]) -> MlflowException:
    klass = _rest_variant(cls) if rest else cls
    obj = klass.__new__(klass)
    Exception.__init__(obj, state.get("message", ""))
    obj.__dict__.update(state)
    return obj


class ConfigurationError(MlflowException, ValueError):
    """A setting or environment variable has a value the client cannot use; the message names it."""

    default_error_code = "INVALID_PARAMETER_VALUE"


class BadRequest(MlflowException):
    default_error_code = "BAD_REQUEST"


class InvalidParameterValue(BadRequest, ValueError):
    """An argument is missing, malformed or out of limits; raised before the wire too (``http_status=None``)."""

    default_error_code = "INVALID_PARAMETER_VALUE"


class ResourceNotFound(MlflowException):
    default_error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(MlflowException):
    default_error_code = "RESOURCE_ALREADY_EXISTS"


class EndpointNotFound(MlflowException):
    """No RPC at this path: a wrong tracking URI, a proxy in the way, or a server too old for the call."""

    default_error_code = "ENDPOINT_NOT_FOUND"


class Unauthenticated(MlflowException):
    default_error_code = "UNAUTHENTICATED"


class PermissionDenied(MlflowException):
    default_error_code = "PERMISSION_DENIED"


class RequestLimitExceeded(MlflowException):
    default_error_code = "REQUEST_LIMIT_EXCEEDED"


class TemporarilyUnavailable(MlflowException):
    default_error_code = "TEMPORARILY_UNAVAILABLE"


class InternalError(MlflowException):
    default_error_code = "INTERNAL_ERROR"


class FeatureNotImplemented(MlflowException):
    default_error_code = "NOT_IMPLEMENTED"


class RestException(MlflowException):
    """An error answer of a server: ``error_code`` from its JSON body, ``http_status``, and ``body``.

    Like MLflow's, the message reads ``"<ERROR_CODE>: <server's message>"``. ``body`` is the answer's text,
    truncated to ``MAX_BODY_CHARS``; ``json`` is its JSON object (or ``{error_code, message}``).
    For MLflow compatibility, ``RestException({"error_code": ..., "message": ...})`` works too.
    """

    _rest_of: ClassVar[type[MlflowException] | None] = None
    #: Seconds the server asked to wait before the next attempt (its Retry-After, capped), if it said.
    retry_after: float | None = None

    def __init__(
        self,
        message: object,
        error_code: str | int | None = None,
        http_status: int | None = None,
        *,
        body: str = "",
        **kwargs: Any,
    ) -> None:
        if isinstance(message, Mapping):  # MLflow's signature: RestException(json)
            data = dict(message)
            error_code = error_code or data.get("error_code") or "INTERNAL_ERROR"
            message = f"{error_code}: {data.get('message', 'Response: ' + str(data))}"
            body = body or json.dumps(data)
        super().__init__(message, error_code, http_status, **kwargs)
        self.body = body
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.json: dict[str, Any] = (
            parsed if isinstance(parsed, dict) else {"error_code": self.error_code, "message": self.message}
        )


class MlflowConnectionError(MlflowException):
    """No answer came: the connection failed or timed out (``http_status`` is ``None``)."""


class ConnectionFailed(MlflowConnectionError):
    """Could not connect, or the connection broke (refused, reset, DNS, TLS handshake)."""


class RequestTimeout(MlflowConnectionError):
    """The server did not answer within the timeout (MLFLOW_HTTP_REQUEST_TIMEOUT)."""


class AsyncLoggingError(MlflowException):
    """Asynchronous operations the server refused for good; each is in the spool's dead-letter file.

    ``failures`` holds one exception per refused operation (each with its ``error_code`` and
    ``http_status``); the code and status of this exception are those of the first.
    """

    def __init__(self, message: str, failures: list[MlflowException], **kwargs: Any) -> None:
        first = failures[0] if failures else None
        super().__init__(
            message,
            error_code=first.error_code if first is not None else "INTERNAL_ERROR",
            http_status=first.http_status if first is not None else None,
            **kwargs,
        )
        self.failures = failures


class DeliveryTimeout(MlflowException):
    """Waiting for asynchronous data to reach the server took longer than allowed; nothing is lost:
    the data stays in the spool and is sent later."""

    default_error_code = "DEADLINE_EXCEEDED"


class SpoolFull(MlflowException):
    """The spool cannot take more: its cap (MLFLOW_CLIENT_SPOOL_MAX_MB) is reached or the disk failed.
    The operation was not recorded."""

    default_error_code = "RESOURCE_EXHAUSTED"


# -- mapping answers to classes ---------------------------------------------------------------------

_CLASS_BY_CODE: Mapping[str, type[MlflowException]] = {
    "BAD_REQUEST": BadRequest,
    "MALFORMED_REQUEST": BadRequest,
    "INVALID_PARAMETER_VALUE": InvalidParameterValue,
    "RESOURCE_DOES_NOT_EXIST": ResourceNotFound,
    "NOT_FOUND": ResourceNotFound,
    "RESOURCE_ALREADY_EXISTS": ResourceAlreadyExists,
    "ALREADY_EXISTS": ResourceAlreadyExists,
    "ENDPOINT_NOT_FOUND": EndpointNotFound,
    "UNAUTHENTICATED": Unauthenticated,
    "CUSTOMER_UNAUTHORIZED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitExceeded,
    "RESOURCE_EXHAUSTED": RequestLimitExceeded,
    "TEMPORARILY_UNAVAILABLE": TemporarilyUnavailable,
    "DEADLINE_EXCEEDED": TemporarilyUnavailable,
    "INTERNAL_ERROR": InternalError,
    "IO_ERROR": InternalError,
    "DATA_LOSS": InternalError,
    "NOT_IMPLEMENTED": FeatureNotImplemented,
    "FEATURE_DISABLED": FeatureNotImplemented,
}

# When the body has no code: the class and the code to report for a status.
_BY_STATUS: Mapping[int, tuple[type[MlflowException], str]] = {
    400: (BadRequest, "BAD_REQUEST"),
    401: (Unauthenticated, "UNAUTHENTICATED"),
    403: (PermissionDenied, "PERMISSION_DENIED"),
    404: (EndpointNotFound, "ENDPOINT_NOT_FOUND"),
    405: (EndpointNotFound, "ENDPOINT_NOT_FOUND"),
    429: (RequestLimitExceeded, "REQUEST_LIMIT_EXCEEDED"),
    500: (InternalError, "INTERNAL_ERROR"),
    501: (FeatureNotImplemented, "NOT_IMPLEMENTED"),
    502: (TemporarilyUnavailable, "TEMPORARILY_UNAVAILABLE"),
    503: (TemporarilyUnavailable, "TEMPORARILY_UNAVAILABLE"),
    504: (TemporarilyUnavailable, "DEADLINE_EXCEEDED"),
}

_REST_VARIANTS: dict[type[MlflowException], type[RestException]] = {}


def _rest_variant(cls: type[MlflowException]) -> type[RestException]:
    """The class of a server's answer of kind ``cls``: a subclass of both ``cls`` and ``RestException``.

    It keeps ``cls``'s name, so tracebacks read ``ResourceNotFound: RESOURCE_DOES_NOT_EXIST: ...``.
    """
    if issubclass(cls, RestException):
        return cls
    variant = _REST_VARIANTS.get(cls)
    if variant is None:
        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
        variant = type(cls.__name__, (cls, RestException), namespace)
        variant._rest_of = cls
        _REST_VARIANTS[cls] = variant
    return variant


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each (non-empty) secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str | None = None,
    path: str | None = None,
    secrets: Iterable[str | None] = (),
) -> RestException:
    """The exception for a non-2xx answer: by the body's ``error_code`` first, by ``status`` otherwise.

    ``secrets`` (password, token) are cut out of the body's text before it is kept anywhere, in case a
    server or proxy echoes a request back.
    """
    text = redact(body.decode("utf-8", "replace"), secrets)
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    code = data.get("error_code") if isinstance(data, dict) else None
    if isinstance(code, str) and code and not code.isdigit():
        assert isinstance(data, dict)
        server_message = data.get("message")
        message = f"{code}: {server_message if server_message is not None else 'Response: ' + text}"
        fallback = _BY_STATUS.get(status, (RestException, code))[0]
        cls = _CLASS_BY_CODE.get(code, fallback)
    else:
        cls, code = _BY_STATUS.get(status, (RestException, "BAD_REQUEST" if 400 <= status < 500 else "INTERNAL_ERROR"))
        where = f" to {method} {path}" if method and path else ""
        excerpt = " ".join(text.split())[:MAX_MESSAGE_BODY_CHARS]
        message = f"{code}: API request{where} failed with HTTP {status}. Response body: {excerpt!r}"
    return _rest_variant(cls)(message, code, status, body=text[:MAX_BODY_CHARS])
