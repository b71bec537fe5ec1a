from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.real_server import real_mlflow_server


@pytest.fixture(scope="session")
def mlflow_server_url() -> Iterator[str]:
    """A real `mlflow server` shared by the session's tests; each test makes its own experiments."""
    with real_mlflow_server() as url:
        yield url
