"""What every generated call shares: the transport interface, the endpoint record, and JSON
encoding/decoding with MLflow's wire quirks (int64 as numbers or strings, NaN/Infinity as strings)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)
M = TypeVar("M", bound=msgspec.Struct)

QueryParams = Sequence[tuple[str, str]]
Body = bytes | Iterable[bytes]


class Transport(Protocol):
    """Sends one HTTP request and returns the body of a 2xx answer.

    ``path`` is absolute (``/api/2.0/...``) and already percent-encoded. A transport raises for any
    non-2xx answer; what it raises is its own business. ``idempotent=False`` asks it not to retry
    after a failure that may have reached the server.
    """

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        content: Body | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> bytes: ...


class Endpoint(NamedTuple):
    """One HTTP binding of one RPC."""

    rpc: str  # the RPC's name in the proto service, e.g. "createExperiment"
    service: str
    method: str
    path: str  # absolute; "{name}" marks a path parameter
    request: type[msgspec.Struct]
    response: type[msgspec.Struct]
    since: str
    request_body: str  # "json" or "binary"
    response_body: str  # "json" or "binary"
    path_params: tuple[str, ...]
    retry_safe: bool  # False: a retry after a failure that may have reached the server could repeat it
    multi_segment: tuple[str, ...] = ()  # path parameters that may span several segments (artifact paths)
    # (field, value) a client sends when the request leaves the field unset: where servers read an absent field
    # differently, every client asks the same question of all of them (the spec's ``client_default``).
    client_defaults: tuple[tuple[str, int], ...] = ()

    @property
    def in_query(self) -> bool:
        """Whether JSON request fields travel as query parameters rather than a body. Only for GET: MLflow's
        server reads every other method's fields (DELETE's too) from the JSON body, and ignores the query."""
        return self.method == "GET"


_encoder = msgspec.json.Encoder()
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _finite(value: Any) -> Any:
    """Replace non-finite floats the way protobuf's JSON mapping writes them."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else _NON_FINITE[value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(message: msgspec.Struct) -> bytes:
    """Encode a request message as JSON, omitting unset fields."""
    data = _encoder.encode(message)
    # msgspec writes NaN and +-inf as null; null never appears otherwise because unset fields are
    # omitted. Only then take the slower path that spells them as MLflow expects.
    if b"null" in data:
        data = _encoder.encode(_finite(msgspec.to_builtins(message)))
    return data


def decode(data: bytes, type_: type[S]) -> S:
    """Decode a JSON response, tolerating unknown fields and int64/double values sent as strings."""
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_, strict=False)
    if not data.strip():
        return type_()
    result: S = decoder.decode(data)
    return result


def query_params(message: msgspec.Struct) -> list[tuple[str, str]]:
    """Flatten a request message into query parameters (repeated fields become repeated keys)."""
    out: list[tuple[str, str]] = []
    for key, value in msgspec.to_builtins(message).items():
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            else:
                out.append((key, str(_finite(item))))
    return out


def fill_path(endpoint: Endpoint, path_args: Mapping[str, str | None]) -> str:
    """Substitute path parameters, percent-encoding them; only multi-segment ones keep their slashes."""
    path = endpoint.path
    if not endpoint.path_params:
        return path
    from urllib.parse import quote

    for name in endpoint.path_params:
        value = path_args.get(name)
        if value is None:
            raise TypeError(f"{endpoint.rpc}() needs the path argument {name!r}")
        safe = "/" if name in endpoint.multi_segment else ""
        path = path.replace("{" + name + "}", quote(value, safe=safe))
    return path


def with_client_defaults(endpoint: Endpoint, request: M) -> M:
    """``request`` with the endpoint's client defaults filled into the fields it leaves unset."""
    missing = {name: value for name, value in endpoint.client_defaults if getattr(request, name) is None}
    return msgspec.structs.replace(request, **missing) if missing else request


def call(
    transport: Transport,
    endpoint: Endpoint,
    request: msgspec.Struct,
    response: type[S],
    path_args: Mapping[str, str | None] | None = None,
) -> S:
    """Send a JSON request message through ``transport`` and decode the answer."""
    path = fill_path(endpoint, path_args or {})
    request = with_client_defaults(endpoint, request)
    if endpoint.in_query:
        data = transport.request(endpoint.method, path, params=query_params(request) or None)
    else:
        data = transport.request(
            endpoint.method,
            path,
            content=encode(request),
            headers={"Content-Type": "application/json"},
            idempotent=endpoint.retry_safe,
        )
    return decode(data, response)


def call_binary(
    transport: Transport,
    endpoint: Endpoint,
    path_args: Mapping[str, str | None],
    content: Body | None = None,
    *,
    request: msgspec.Struct | None = None,
) -> bytes:
    """Send or fetch raw file bytes (artifact upload/download); ``request``'s fields go in the query."""
    path = fill_path(endpoint, path_args)
    headers = {"Content-Type": "application/octet-stream"} if content is not None else None
    params = (query_params(with_client_defaults(endpoint, request)) or None) if request is not None else None
    return transport.request(endpoint.method, path, params=params, content=content, headers=headers)
