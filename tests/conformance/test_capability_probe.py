"""What counts as "the server does not have this endpoint" when probing optional capabilities."""

from __future__ import annotations

import httpx
import pytest

from conformance_tests._api import Api
from conformance_tests._settings import Settings
from conformance_tests.conftest import _absent, _probe


@pytest.mark.parametrize(
    ("status", "content_type", "body", "absent"),
    [
        (501, "application/json", b'{"error_code": "NOT_IMPLEMENTED"}', True),
        (404, "text/html", b"<h1>Not Found</h1>", True),
        (405, "text/html", b"<h1>Method Not Allowed</h1>", True),
        (500, "text/plain", b"ENDPOINT_NOT_FOUND: Not found", True),  # FastTrackML's way
        (404, "application/json", b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}', False),  # endpoint exists
        (400, "application/json", b'{"error_code": "INVALID_PARAMETER_VALUE"}', False),
        (500, "application/json", b'{"error_code": "INTERNAL_ERROR"}', False),
    ],
)
def test_absent_endpoint_detection(status: int, content_type: str, body: bytes, absent: bool) -> None:
    assert _absent(status, content_type, body) is absent


def _fake_server(create_status: int, create_body: bytes) -> Api:
    """A server whose registry and logged-model searches answer empty lists, FastTrackML-style."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/experiments/create"):
            return httpx.Response(200, json={"experiment_id": "1"})
        if path.endswith(("/search", "/delete")):
            return httpx.Response(200, json={"registered_models": [], "model_versions": []})
        return httpx.Response(create_status, content=create_body, headers={"Content-Type": "application/json"})

    api = Api(Settings(url="http://fake"))
    api.http = httpx.Client(base_url="http://fake", transport=httpx.MockTransport(handle))
    return api


@pytest.mark.parametrize("capability", ["registry", "logged-models"])
def test_model_capabilities_are_probed_by_a_create_not_a_search(capability: str) -> None:
    absent = _fake_server(404, b'{"message":"Not found","error_code":"ENDPOINT_NOT_FOUND"}')
    assert "answered 404" in (_probe(absent, capability) or "")
    present = _fake_server(200, b'{"registered_model": {"name": "x"}, "model": {"info": {"model_id": "m-1"}}}')
    assert _probe(present, capability) is None  # a create that works: the checks run, and an empty search fails
