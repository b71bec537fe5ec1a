from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from server_stub import StubServer
from tests import real_server
from tests.mlflow_releases import RELEASES
from tests.real_server import real_mlflow_server

# Nothing a test logs asynchronously goes to the user's own spool (~/.cache/mlflow-client/spool).
os.environ["MLFLOW_CLIENT_SPOOL_DIR"] = tempfile.mkdtemp(prefix="mlflow-client-test-spool-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--mlflow-release",
        choices=sorted(RELEASES),
        help="start real `mlflow server`s from this release's cached venv (.cache/compat) instead of this venv's "
        "mlflow; `make compat` runs the `mlflow_server` tests so against each release",
    )


def pytest_configure(config: pytest.Config) -> None:
    real_server.use_release(config.getoption("--mlflow-release"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"real mlflow server: {real_server.server_version()}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test on the shared real server is an interop test whether or not it says so: `-m mlflow_server` finds it.
    for item in items:
        if "mlflow_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mlflow_server)


@pytest.fixture(scope="session")
def mlflow_server_url() -> Iterator[str]:
    """A real `mlflow server` shared by the session's tests; each test makes its own experiments."""
    with real_mlflow_server() as url:
        answered = httpx.get(f"{url}/version", timeout=10).text.strip()
        assert answered == real_server.server_version(), f"started {answered}, wanted {real_server.server_version()}"
        yield url


@pytest.fixture(scope="session")
def mlflow_server_version() -> tuple[int, ...]:
    """The release of the real `mlflow server` (e.g. ``(3, 11, 1)``), for tests whose expectations differ by it."""
    return real_server.server_version_info()


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
