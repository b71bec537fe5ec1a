from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow_client import _delivery


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A spool folder of the test's own, for explicit clients and the fluent API alike; every delivery
    the test started is shut down afterwards."""
    folder = tmp_path / "spool"
    monkeypatch.setenv("MLFLOW_CLIENT_SPOOL_DIR", str(folder))
    yield folder
    _delivery.shutdown_all(1.0)
