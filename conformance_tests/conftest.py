"""Options, the server under test, capability detection and the report plugin for the conformance suite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance_tests._api import ARTIFACTS, Api, unique
from conformance_tests._report import NOT_SUPPORTED, ReportPlugin
from conformance_tests._settings import Settings

CAPABILITIES = ("artifact-proxy", "multipart", "log-inputs", "bulk-interval", "registry", "logged-models")
_stack = contextlib.ExitStack()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--conformance-url", default=None, help="server under test (default: start the stub)")
    group.addoption("--conformance-username", default=None)
    group.addoption("--conformance-password", default=None)
    group.addoption("--conformance-token", default=None)
    group.addoption("--conformance-insecure", action="store_true", default=None)
    group.addoption("--conformance-ca-bundle", default=None)
    group.addoption("--conformance-report", default=None, help="write a Markdown report here")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capability(name): needs an optional server capability: " + ", ".join(CAPABILITIES)
    )
    settings = Settings.resolve(
        url=config.getoption("--conformance-url"),
        username=config.getoption("--conformance-username"),
        password=config.getoption("--conformance-password"),
        token=config.getoption("--conformance-token"),
        insecure=config.getoption("--conformance-insecure"),
        ca_bundle=config.getoption("--conformance-ca-bundle"),
    )
    if not settings.url:  # no server given: test the bundled stub
        from server_stub import StubServer

        stub = _stack.enter_context(StubServer(port=0))
        settings = Settings(url=stub.url)
    config.stash[_SETTINGS] = settings
    report = config.getoption("--conformance-report")
    config.pluginmanager.register(ReportPlugin(Path(report) if report else None, settings.url), "conformance-report")


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


_SETTINGS = pytest.StashKey[Settings]()


@pytest.fixture(scope="session")
def api(pytestconfig: pytest.Config) -> Iterator[Api]:
    client = Api(pytestconfig.stash[_SETTINGS])
    yield client
    client.close()


@pytest.fixture
def experiment_id(api: Api) -> str:
    """A fresh experiment with a unique name: every test works in its own."""
    return api.create_experiment()


@pytest.fixture
def run_id(api: Api, experiment_id: str) -> str:
    return api.create_run(experiment_id, start_time=1_700_000_000_000)


def _absent(status: int, content_type: str, body: bytes) -> bool:
    """The endpoint is not there: a 501, a 404/405 that is not an MLflow JSON error, or any error
    answer that names ENDPOINT_NOT_FOUND (FastTrackML says so with a 500 and plain text)."""
    if status == 501:
        return True
    if status >= 400 and b"ENDPOINT_NOT_FOUND" in body:
        return True
    return status in (404, 405) and (content_type != "application/json" or b"error_code" not in body)


def _probe(api: Api, name: str) -> str | None:
    """None if the server has capability ``name``, else why not."""
    if name == "artifact-proxy":
        r = api.call("GET", ARTIFACTS, params={"path": unique("probe")})
    elif name == "multipart":
        if _probe(api, "artifact-proxy"):
            return "no artifact proxy"
        path = f"/api/2.0/mlflow-artifacts/mpu/create/{unique('probe')}"
        r = api.call("POST", path, {"path": "f.bin", "num_parts": 1})
        if r.status == 200:
            upload_id = r.json().get("upload_id")
            abort = path.replace("/mpu/create/", "/mpu/abort/")
            api.call("POST", abort, {"path": "f.bin", "upload_id": upload_id})
    elif name == "log-inputs":
        r = api.call("POST", "runs/log-inputs", {"run_id": "0" * 32})
    elif name == "bulk-interval":
        r = api.call("GET", "metrics/get-history-bulk-interval", params={"run_ids": "0" * 32, "metric_key": "m"})
    elif name == "registry":
        # Decided by a create, never by a search: FastTrackML answers every registry search with an empty
        # list but has no registry behind it.
        model = unique("probe")
        r = api.call("POST", "registered-models/create", {"name": model})
        if r.status == 200:
            api.call("DELETE", "registered-models/delete", {"name": model})
    elif name == "logged-models":
        r = api.call("POST", "logged-models", {"experiment_id": api.create_experiment()})
    else:
        raise ValueError(f"unknown capability {name!r}")
    if _absent(r.status, r.content_type, r.content):
        return f"{r.method} {r.path.split('?')[0]} answered {r.status}"
    return None


_probed: dict[str, str | None] = {}


@pytest.fixture(autouse=True)
def _capabilities(request: pytest.FixtureRequest, api: Api) -> None:
    for marker in request.node.iter_markers("capability"):
        name = marker.args[0]
        if name not in _probed:
            _probed[name] = _probe(api, name)
        if _probed[name] is not None:
            pytest.skip(f"{NOT_SUPPORTED} {name} ({_probed[name]})")
