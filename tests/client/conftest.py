"""Fixtures of the client's tests (the session's servers come from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["real", "stub"])
def server_url(request: pytest.FixtureRequest) -> str:
    """Each test twice: against a real `mlflow server` and against the stub (registry and logged models)."""
    fixture = "mlflow_server_url" if request.param == "real" else "stub_url"
    url: str = request.getfixturevalue(fixture)
    return url
