from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from server_stub import StubServer
from tests.real_server import real_mlflow_server

# Nothing a test logs asynchronously goes to the user's own spool (~/.cache/mlflow-client/spool).
os.environ["MLFLOW_CLIENT_SPOOL_DIR"] = tempfile.mkdtemp(prefix="mlflow-client-test-spool-")


@pytest.fixture(scope="session")
def mlflow_server_url() -> Iterator[str]:
    """A real `mlflow server` shared by the session's tests; each test makes its own experiments."""
    with real_mlflow_server() as url:
        yield url


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A fresh in-memory stub server on a free loopback port."""
    with StubServer(port=0) as server:
        yield server


@pytest.fixture(scope="session")
def stub_url() -> Iterator[str]:
    """A stub server shared by the session's tests; each test makes its own experiments."""
    with StubServer(port=0) as server:
        yield server.url
