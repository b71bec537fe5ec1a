"""HTTP for the stub: routing from the generated endpoint table, JSON in and out, auth, TLS, faults.

Built on the standard library's threading HTTP server so the stub starts in a blink and needs nothing
beyond the client's own dependencies. Everything MLflow-specific lives in ``handlers`` (tracking) and
``artifacts`` (the proxy); this module only speaks HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec
from mlflow_client._generated import models as m
from mlflow_client._generated._runtime import Endpoint, encode
from mlflow_client._generated.endpoints import ENDPOINTS
from mlflow_client._generated.rules import DEPRECATED_FOR, ENUM_FIELDS

from . import handlers, logged_models, model_db, registry, ui  # noqa: F401  (registry registers its handlers)
from .artifacts import ArtifactStore
from .errors import StubError, invalid
from .faults import FaultRule, Faults

logger = logging.getLogger("server_stub")
MAX_JSON_BODY = 64 << 20
# The MLflow release whose behaviour the stub reproduces, answered by ``GET /version`` (clients gate features
# on it). Kept equal to the ``mlflow`` pin in constraints.txt, which the parity tests run against.
MLFLOW_VERSION = "3.17.2"
_HTML_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL "
    "was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
)
_HTML_405 = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    "<p>The method is not allowed for the requested URL.</p>\n"
)


@dataclass
class Config:
    basic_auth: tuple[str, str] | None = None
    bearer_token: str | None = None
    tls_context: ssl.SSLContext | None = None
    mlflow_version: str = MLFLOW_VERSION
    serve_artifacts: bool = True


class Router:
    """Finds the endpoint for a method and path, using only the generated table.

    A path parameter matches one segment, or any number of them when the table marks it
    multi-segment (artifact paths); fixed paths win over templated ones. As in MLflow, every route is
    also served under ``/ajax-api/`` (what its web UI calls), as the same RPC.
    """

    def __init__(self, endpoints: tuple[Endpoint, ...]) -> None:
        self.exact: dict[tuple[str, str], Endpoint] = {}
        self.templated: list[tuple[str, re.Pattern[str], Endpoint]] = []
        for e in endpoints:
            for path in _served_paths(e.path):
                if e.path_params:
                    self.templated.append((e.method, _path_pattern(e, path), e))
                else:
                    self.exact[(e.method, path)] = e

    def match(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str], list[str]]:
        """(endpoint, path arguments, the methods this path is served under)."""
        method = "GET" if method == "HEAD" else method
        e = self.exact.get((method, path))
        if e is not None:
            return e, {}, [method]
        for meth, pattern, endpoint in self.templated:
            found = pattern.fullmatch(path)
            if meth == method and found:
                return endpoint, found.groupdict(), [method]
        # A fixed path is its own resource: /logged-models/search is not /logged-models/{model_id}.
        allowed = {meth for (meth, p) in self.exact if p == path} or {
            meth for meth, pattern, _ in self.templated if pattern.fullmatch(path)
        }
        return None, {}, sorted(allowed)


def _served_paths(path: str) -> tuple[str, ...]:
    """An ``/api/`` route is also served under ``/ajax-api/``; a route the spec puts under ``/ajax-api/``
    only (the logged-model file download) is served there only, as MLflow does."""
    if path.startswith("/api/"):
        return (path, "/ajax-api/" + path[len("/api/") :])
    return (path,)


def _path_pattern(endpoint: Endpoint, path: str) -> re.Pattern[str]:
    pieces = re.split(r"\{(\w+)\}", path)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(re.escape(piece))
        else:
            out.append(f"(?P<{piece}>{'.+' if piece in endpoint.multi_segment else '[^/]+'})")
    return re.compile("".join(out))


def _fields_all_in_path(endpoint: Endpoint) -> bool:
    """A DELETE named by its path alone (a logged model, one of its tags): MLflow reads no body for it, so
    none is needed, nor its content type."""
    names = {f.name for f in msgspec.structs.fields(endpoint.request)}
    return endpoint.method == "DELETE" and names <= set(endpoint.path_params)


_REPEATED: dict[type[Any], set[str]] = {}


def _field_info(struct_type: type[msgspec.Struct]) -> set[str]:
    """Names of the repeated fields of a request type, for turning query strings into lists."""
    repeated = _REPEATED.get(struct_type)
    if repeated is None:
        repeated = {f.name for f in msgspec.structs.fields(struct_type) if "list[" in str(f.type)}
        _REPEATED[struct_type] = repeated
    return repeated


def _normalise_enums(request_type: type[msgspec.Struct], data: dict[str, Any]) -> None:
    """Enums arrive as names or numbers (protobuf's JSON parser takes both). Like MLflow, an unknown
    name is ignored (the field stays unset) and an unknown number is refused."""
    for field, enum_name in ENUM_FIELDS.get(request_type.__name__, {}).items():
        if field not in data:
            continue
        value = data[field]
        numbers: dict[str, int] = getattr(m, enum_name).NUMBERS
        if isinstance(value, bool):
            raise invalid(f"Invalid value {json.dumps(value)} for parameter '{field}' supplied.")
        if isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()):
            by_number = {v: k for k, v in numbers.items()}
            if int(value) not in by_number:
                raise invalid(f"Invalid value {json.dumps(value)} for parameter '{field}' supplied.")
            data[field] = by_number[int(value)]
        elif not isinstance(value, str) or value not in numbers:
            del data[field]


def _json_object(body: bytes) -> dict[str, Any]:
    """The JSON object in a request body. Like MLflow: an empty body or ``null`` is ``{}`` and a JSON
    string holding an object is unwrapped. Unlike MLflow (which reads malformed JSON as ``{}`` and
    answers other JSON values with a 500), anything else is refused with a 400."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
        if isinstance(data, str):
            data = json.loads(data)
    except ValueError as err:
        raise invalid(f"Malformed JSON in the request body: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return data


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake_case_keys(request_type: type[msgspec.Struct], data: dict[str, Any]) -> None:
    """protobuf's JSON parser takes lowerCamelCase names too (``experimentId``), so the stub does."""
    fields = {f.name for f in msgspec.structs.fields(request_type)}
    for key in [k for k in data if not k.islower()]:
        snake = _CAMEL.sub(r"_\1", key).lower()
        if snake in fields and snake != key:
            if snake in data:
                raise invalid(f"Request specifies both '{snake}' and '{key}'; provide only one of them.")
            data[snake] = data.pop(key)


def decode_request(
    endpoint: Endpoint, query: str, body: bytes, path_args: dict[str, str] | None = None
) -> msgspec.Struct:
    """Turn query parameters (GET) or a JSON body (any other method, DELETE too, as MLflow reads it), and the
    path's arguments, into the endpoint's request Struct.

    As in MLflow, a GET without a query string may carry its fields as a JSON body instead.
    """
    data: Any
    if endpoint.in_query and (query or not body.strip()):
        repeated = _field_info(endpoint.request)
        data = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in repeated:
                data.setdefault(key, []).append(value)
            else:
                data.setdefault(key, value)  # a repeated scalar takes its first value
    else:
        data = _json_object(body)
    if path_args:
        logged_models.path_arguments(endpoint.rpc, data, path_args)
    _snake_case_keys(endpoint.request, data)
    for old, new in DEPRECATED_FOR.get(endpoint.request.__name__, {}).items():
        if data.get(old) and not data.get(new):
            data[new] = data[old]
    _normalise_enums(endpoint.request, data)
    try:
        request = msgspec.convert(data, endpoint.request, strict=False)
    except msgspec.ValidationError as err:
        raise _wrong_type(err, data) from None
    handlers.check_rules(request)
    return request


_ERROR_PATH = re.compile(r"at `\$\.(\w+)((?:\[\d+\]|\.\w+)*)`")


def _wrong_type(err: msgspec.ValidationError, data: dict[str, Any]) -> StubError:
    """MLflow's words for a value of the wrong JSON type (its ``_validate_param_against_schema``): the
    parameter and its whole value, e.g. ``Invalid value 31 for parameter 'run_id' supplied``. A wrong item
    of a list of strings names the list, as MLflow does; a field inside a nested message is named by its
    path (``metrics[0].value``), where MLflow itself accepts such garbage and drops the field."""
    found = _ERROR_PATH.search(str(err))
    if found is None:  # pragma: no cover - msgspec always says where
        return invalid(f"Invalid request: {err}")
    name, rest = found.groups()
    value: Any = data.get(name)
    if re.fullmatch(r"(\[\d+\])?", rest) is None:
        name += rest
        for key in re.findall(r"\[(\d+)\]|\.(\w+)", rest):
            with contextlib.suppress(LookupError, TypeError):
                value = value[int(key[0])] if key[0] else value[key[1]]
    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return invalid(
        f"Invalid value {shown} for parameter '{name}' supplied:  Hint: Value was of type '{type(value).__name__}'. "
        "See the API docs for more information about request parameters."
    )


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], store: handlers.Store, artifacts: ArtifactStore, faults: Faults, config: Config
    ) -> None:
        super().__init__(address, RequestHandler)
        self.store = store
        self.artifacts = artifacts
        self.faults = faults
        self.config = config
        self.router = Router(ENDPOINTS)
        self.requests: Counter[str] = Counter()
        self.request_log: deque[str] = deque(maxlen=100_000)  # RPC names in the order they arrived (tests)
        self.counter_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.config.tls_context else "http"
        return f"{scheme}://{host if isinstance(host, str) else host.decode()}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so one slow or broken
        # client cannot hold up the accept loop.
        raw = request
        with self.counter_lock:
            self._connections.add(raw)
        try:
            if self.config.tls_context is not None:
                try:
                    request = self.config.tls_context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            super().finish_request(request, client_address)
        finally:
            with self.counter_lock:
                self._connections.discard(raw)

    def server_close(self) -> None:
        """Stop listening and cut the connections still open, as a server going down does: a kept-alive
        connection must not go on being served by a stopped server."""
        super().server_close()
        with self.counter_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def count(self, rpc: str) -> None:
        with self.counter_lock:
            self.requests[rpc] += 1
            self.request_log.append(rpc)


_MAX_LINE = 65536  # the standard library's limits for a header line and the number of headers
_MAX_HEADERS = 100


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body would wait ~40 ms
    # for the client's delayed ACK of the headers.
    disable_nagle_algorithm = True
    server: StubHTTPServer
    server_version = "mlflow-client-stub"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet by default; the CLI's --verbose turns the standard log back on

    # -- requests -------------------------------------------------------------------------------

    def parse_request(self) -> bool:
        """Read the request line and headers as the base class does, without its email-package parser.

        That parser took about a fifth of the stub's time per small request. Anything but a plain
        ``METHOD target HTTP/1.x`` line goes to the base class, with its error answers.
        """
        words = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n").split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            return super().parse_request()
        self.command, path, self.request_version = words
        self.requestline = " ".join(words)
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        headers = HTTPMessage()
        name = None
        for count in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            if count == _MAX_HEADERS:
                self.send_error(431, "Too many headers")
                return False
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and name is not None:  # an obsolete folded continuation line
                value = headers[name] + " " + text.strip()
                del headers[name]
                headers[name] = value
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                self.send_error(400, f"Bad header line {text[:80]!r}")
                return False
            headers[name] = value.strip()
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        self.close_connection = self.request_version == "HTTP/1.0" or connection == "close"
        if connection == "keep-alive":
            self.close_connection = False
        if headers.get("Expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    # -- responses ------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.command != "HEAD":
            # One write for headers and body: end_headers() flushes the header buffer.
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        else:
            self.end_headers()

    def _send_error(self, err: StubError, headers: dict[str, str] | None = None) -> None:
        if not self._body_consumed:
            # An unread body would be parsed as the next request: read a small one, else hang up.
            if int(self.headers.get("Content-Length") or 0) <= 1 << 20 and "chunked" not in self.headers.get(
                "Transfer-Encoding", ""
            ):
                self._drain()
            else:
                self.close_connection = True
                headers = {**(headers or {}), "Connection": "close"}
        body = json.dumps({"error_code": err.error_code, "message": err.message}).encode()
        self._send(err.http_status, body, headers=headers)

    def _reset_connection(self) -> None:
        """Close with RST: the client sees 'connection reset by peer'."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    # -- request bodies -------------------------------------------------------------------------

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives, whether sized or chunked; never held whole."""
        yield from self._raw_body_chunks()
        self._body_consumed = True

    def _raw_body_chunks(self) -> Iterator[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    block = self.rfile.read(min(remaining, 1 << 20))
                    if not block:
                        raise ConnectionError("client closed the connection mid-body")
                    remaining -= len(block)
                    yield block
                self.rfile.readline(3)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                block = self.rfile.read(min(remaining, 1 << 20))
                if not block:
                    raise ConnectionError("client closed the connection mid-body")
                remaining -= len(block)
                yield block

    def _read_body(self) -> bytes:
        chunks = []
        size = 0
        for block in self._body_chunks():
            size += len(block)
            if size > MAX_JSON_BODY:
                raise invalid(f"Request body larger than {MAX_JSON_BODY} bytes.")
            chunks.append(block)
        return b"".join(chunks)

    # -- auth -----------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        cfg = self.server.config
        if cfg.basic_auth is None and cfg.bearer_token is None:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if cfg.basic_auth is not None and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user, cfg.basic_auth[0]) & hmac.compare_digest(password, cfg.basic_auth[1])
        if cfg.bearer_token is not None and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip(), cfg.bearer_token)
        return False

    # -- dispatch -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def __getattr__(self, name: str) -> Any:
        # Any other method (HEAD, OPTIONS, TRACE, QUERY, ...) gets MLflow's answers, 405 on a known
        # path and 404 elsewhere, rather than the base class's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        self._body_consumed = False
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path.startswith("/_stub/"):
                self._control(path, parts.query)
                return
            if path in ("/health", "/version"):
                self._drain()
                methods = {"Allow": "GET, HEAD, OPTIONS"}
                if self.command == "OPTIONS":
                    self._send(200, b"", "text/html; charset=utf-8", methods)
                elif self.command not in ("GET", "HEAD"):
                    self._send(405, _HTML_405.encode(), "text/html; charset=utf-8", methods)
                elif path == "/health":
                    self._send(200, b"OK", "text/plain; charset=utf-8")
                else:  # a bare string: Flask's default type, as in MLflow
                    self._send(200, self.server.config.mlflow_version.encode(), "text/html; charset=utf-8")
                return
            if not self._authorized():
                self._drain()
                scheme = "Basic" if self.server.config.basic_auth else "Bearer"
                self._send_error(
                    StubError(m.ErrorCode.UNAUTHENTICATED, "You are not authenticated."),
                    {"WWW-Authenticate": f'{scheme} realm="mlflow"'},
                )
                return
            endpoint, path_args, allowed = self.server.router.match(self.command, path)
            if endpoint is None and not allowed and ui.is_ui_path(path):
                self._drain()
                ui.serve_ui(self)
                return
            if endpoint is None:
                self._drain()
                if allowed:
                    extra = ["HEAD", "OPTIONS"] if "GET" in allowed else ["OPTIONS"]
                    allow = ", ".join([*allowed, *extra])
                    self._send(405, _HTML_405.encode(), "text/html; charset=utf-8", {"Allow": allow})
                else:
                    self._send(404, _HTML_404.encode(), "text/html; charset=utf-8")
                return
            self._serve(endpoint, path_args, parts.query)
        except StubError as err:
            self._send_error(err)
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception as err:  # a stub bug: answer like MLflow does, and keep serving
            logger.exception("unhandled error in %s %s", self.command, path)
            self._send_error(StubError(m.ErrorCode.INTERNAL_ERROR, f"{type(err).__name__}: {err}"))

    def _require_json_content_type(self) -> None:
        """MLflow insists on ``Content-Type: application/json`` for request bodies, even empty ones."""
        content_type = self.headers.get("Content-Type")
        if content_type is None:
            raise invalid("Bad Request. Content-Type header is missing.")
        if content_type.split(";", 1)[0].strip() != "application/json":
            raise invalid("Bad Request. Content-Type must be one of ['application/json'].")

    def _drain(self) -> None:
        if not self._body_consumed:
            for _ in self._body_chunks():
                pass

    def _serve(self, endpoint: Endpoint, path_args: dict[str, str], query: str) -> None:
        rpc = endpoint.rpc if not endpoint.path.startswith("/api/2.0/mlflow-artifacts") else "artifacts." + endpoint.rpc
        self.server.count(rpc)
        decision = self.server.faults.decide(endpoint.rpc)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)  # injected latency: the point of this fault
        if decision.kind == "reset":
            self._reset_connection()
            return
        if decision.kind in ("429", "500", "502", "503", "504"):
            self._drain()
            status = int(decision.kind)
            code = {429: m.ErrorCode.REQUEST_LIMIT_EXCEEDED, 503: m.ErrorCode.TEMPORARILY_UNAVAILABLE}.get(
                status, m.ErrorCode.INTERNAL_ERROR
            )
            headers = {"Retry-After": decision.retry_after} if decision.retry_after else None
            body = json.dumps({"error_code": code, "message": f"Injected fault: HTTP {status}"}).encode()
            self._send(status, body, headers=headers)
            return
        if endpoint.service == "MlflowArtifactsService":
            from .proxy import serve_artifact_rpc

            if not self.server.config.serve_artifacts:  # MLflow's answer under --no-serve-artifacts
                self._drain()
                rule = re.sub(
                    r"\{(\w+)\}",
                    lambda g: f"<{'path:' if g[1] in endpoint.multi_segment else ''}{g[1]}>",
                    endpoint.path,
                )
                text = (
                    f"Endpoint: {rule} disabled due to the mlflow server running with `--no-serve-artifacts`. "
                    "To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`"
                )
                self._send(503, text.encode(), "text/html; charset=utf-8")
                return

            serve_artifact_rpc(self, endpoint, {k: unquote(v) for k, v in path_args.items()}, query)
        elif endpoint.service == "MlflowLoggedModelArtifactsService":
            self._drain()
            logged_models.serve_model_file(self, decode_request(endpoint, query, b"", path_args))
        else:
            if not endpoint.in_query and not _fields_all_in_path(endpoint):
                self._require_json_content_type()
            server_handler = logged_models.SERVER_HANDLERS.get(endpoint.rpc)
            if endpoint.rpc not in handlers.HANDLERS and endpoint.rpc != "listArtifacts" and server_handler is None:
                raise StubError(m.ErrorCode.NOT_IMPLEMENTED, f"{endpoint.service}.{endpoint.rpc} is not implemented")
            request = decode_request(endpoint, query, self._read_body(), path_args)
            if endpoint.rpc == "listArtifacts":
                from .proxy import list_run_artifacts

                response: msgspec.Struct | bytes = list_run_artifacts(self.server, request)
            elif server_handler is not None:
                response = server_handler(self.server, request)
            else:
                response = handlers.HANDLERS[endpoint.rpc](self.server.store, request)
                logged_models.after(self.server.store, endpoint.rpc, request, response)
            if decision.kind == "drop":
                self._reset_connection()  # applied, but the client never hears so
                return
            self._send(200, response if isinstance(response, bytes) else encode(response))
            return
        if decision.kind == "drop":
            self._reset_connection()

    # -- control plane --------------------------------------------------------------------------

    def _control(self, path: str, query: str) -> None:
        srv = self.server
        if path.startswith("/_stub/multipart/") and self.command == "PUT":
            from .proxy import serve_multipart_part

            serve_multipart_part(self, path)
            return
        body = self._read_body()
        if path == "/_stub/reset" and self.command == "POST":
            srv.store.reset()
            model_db.reset(srv.store)
            srv.artifacts.reset()
            srv.faults.configure([])
            with srv.counter_lock:
                srv.requests.clear()
                srv.request_log.clear()
            self._send(200, b"{}")
        elif path == "/_stub/faults" and self.command == "GET":
            self._send(200, json.dumps(srv.faults.describe()).encode())
        elif path == "/_stub/faults" and self.command in ("POST", "PUT"):
            try:
                spec = json.loads(body or b"{}")
                rules = [FaultRule(**r) for r in spec.get("rules", [])]
            except (ValueError, TypeError) as err:
                raise invalid(f"Bad fault configuration: {err}") from None
            srv.faults.configure(rules, spec.get("seed"))
            self._send(200, json.dumps(srv.faults.describe()).encode())
        elif path == "/_stub/faults" and self.command == "DELETE":
            srv.faults.configure([])
            self._send(200, b"{}")
        elif path == "/_stub/requests" and self.command == "GET":
            with srv.counter_lock:
                counts = dict(srv.requests)
            self._send(200, json.dumps(counts).encode())
        else:
            self._send(404, _HTML_404.encode(), "text/html; charset=utf-8")
