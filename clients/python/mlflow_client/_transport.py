"""The one place where the SDK speaks HTTP.

For now a minimal transport over an ``httpx.Client`` (connection pooling, timeouts, error mapping);
retries, auth and TLS settings join it here, not elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from ._generated._runtime import Body, QueryParams

DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0


class RestError(Exception):
    """A non-2xx answer: carries MLflow's ``error_code`` (when the body has one) and the HTTP status."""

    def __init__(self, http_status: int, error_code: str, message: str) -> None:
        super().__init__(f"{error_code} (HTTP {http_status}): {message}")
        self.http_status = http_status
        self.error_code = error_code
        self.message = message


def error_from_response(status: int, body: bytes) -> RestError:
    import msgspec

    from ._generated.models import ErrorResponse

    try:
        err = msgspec.json.decode(body, type=ErrorResponse, strict=False)
        if err.error_code:
            return RestError(status, err.error_code, err.message or "")
    except msgspec.DecodeError:
        pass
    text = body.decode("utf-8", "replace").strip()
    return RestError(status, "ENDPOINT_NOT_FOUND" if status == 404 else "UNPARSEABLE_HTTP_ERROR", text[:500])


class HttpTransport:
    """Sends requests to one tracking server; implements the generated layer's ``Transport``."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT, client: httpx.Client | None = None):
        import httpx

        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=DEFAULT_CONNECT_TIMEOUT)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        content: Body | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        query = tuple(params) if params else None
        response = self._client.request(method, path, params=query, content=content, headers=headers)
        if response.is_success:
            return response.content
        raise error_from_response(response.status_code, response.content)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r})"
