"""Fixtures of the stub's own tests: a stub per tracking backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_stub import StubServer


@pytest.fixture(params=["memory", "sqlite", "mlruns"])
def backend_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """An HTTP client of a fresh stub over each backend: in memory, a SQLite file, an ``mlruns`` folder."""
    uri = {"memory": None, "sqlite": f"sqlite:///{tmp_path / 'stub.db'}", "mlruns": str(tmp_path / "mlruns")}
    with (
        StubServer(port=0, backend_store_uri=uri[request.param], artifacts_destination=tmp_path / "artifacts") as stub,
        httpx.Client(base_url=f"{stub.url}/api/2.0/mlflow", timeout=30) as client,
    ):
        yield client
