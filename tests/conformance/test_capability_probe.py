"""What counts as "the server does not have this endpoint" when probing optional capabilities."""

from __future__ import annotations

import pytest

from conformance_tests.conftest import _absent


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
