"""Asynchronous logging against real ``mlflow server``s: a repeated batch, lost answers, a restart."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow_client import MlflowClient, flush_async_logging
from mlflow_client._delivery.spool import status
from mlflow_client.entities import Metric, Param, RunTag

from conformance_tests._proxy import Exchange, Forward, MutatingProxy, Mutation
from tests.real_server import free_port, real_mlflow_server

pytestmark = pytest.mark.mlflow_server

T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def file_store_server_url() -> Iterator[str]:
    """A real ``mlflow server`` on MLflow's file store (``./mlruns``), which keeps repeated points."""
    root = Path(tempfile.mkdtemp(prefix="mlflow-file-store-"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_ALLOW_FILE_STORE": "true"}
    with real_mlflow_server(("--backend-store-uri", str(root / "mlruns")), env=env) as url:
        yield url


@pytest.fixture(params=["sqlite", "file"])
def server_url(request: pytest.FixtureRequest, mlflow_server_url: str, file_store_server_url: str) -> str:
    return mlflow_server_url if request.param == "sqlite" else file_store_server_url


def _run(client: MlflowClient, name: str) -> str:
    import uuid

    exp = client.create_experiment(f"{name}-{uuid.uuid4().hex[:8]}")
    return client.create_run(exp).info.run_id


def _assert_exactly_once(client: MlflowClient, run_id: str, n: int) -> None:
    history = client.get_metric_history(run_id, "loss")
    steps = Counter(m.step for m in history)
    assert len(history) == n, f"{len(history)} points for {n}; repeated: {[s for s, c in steps.items() if c > 1][:5]}"
    assert sorted(steps) == list(range(n)) and all(m.value == m.step / 2 for m in history)


def test_what_a_repeated_log_batch_does(server_url: str, request: pytest.FixtureRequest) -> None:
    """Why the client checks before sending a batch again: MLflow's SQL store ignores an exact duplicate
    metric, its file store keeps both. Params with the same value and tags are fine on both."""
    client = MlflowClient(server_url)
    run_id = _run(client, "repeat")
    batch = [Metric("m", 1.0, T0, 1), Metric("m", 2.0, T0 + 1, 2)]
    for _ in range(2):
        client.log_batch(run_id, metrics=batch, params=[Param("p", "v")], tags=[RunTag("t", "v")])
    kept = len(client.get_metric_history(run_id, "m"))
    assert kept == (2 if server_url == request.getfixturevalue("mlflow_server_url") else 4)
    data = client.get_run(run_id).data
    assert data.params == {"p": "v"} and data.tags["t"] == "v"


def test_lost_answers_land_exactly_once(server_url: str, spool: Path) -> None:
    """A proxy forwards every log-batch but loses the answers of the 2nd and 4th: the server applied them,
    the client cannot know, and sends again only what the server does not hold."""
    seen = {"n": 0}

    def lose_some(ex: Exchange, forward: Forward) -> None:
        if ex.route.endswith("/runs/log-batch"):
            seen["n"] += 1
            if seen["n"] in (2, 4):
                ex.status = 0

    direct = MlflowClient(server_url)
    run_id = _run(direct, "lost")
    with MutatingProxy(server_url, Mutation(after=lose_some)) as proxy:
        client = MlflowClient(proxy.url)
        for step in range(3000):
            client.log_metric(run_id, "loss", step / 2, timestamp=T0 + step, step=step, synchronous=False)
        client.log_param(run_id, "lr", "0.1", synchronous=False)
        flush_async_logging()
    assert seen["n"] >= 5
    _assert_exactly_once(direct, run_id, 3000)
    assert direct.get_run(run_id).data.params == {"lr": "0.1"}
    assert status(str(spool)) == []


def test_a_server_stopped_and_restarted_mid_run(spool: Path, tmp_path: Path) -> None:
    port = free_port()
    workdir = tmp_path / "server"
    workdir.mkdir()
    with real_mlflow_server(workdir=workdir, port=port, keep_workdir=True) as url:
        client = MlflowClient(url, timeout=10)
        run_id = _run(client, "restart")
        for step in range(1000):
            client.log_metric(run_id, "loss", step / 2, timestamp=T0 + step, step=step, synchronous=False)
        flush_async_logging()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2)
    for step in range(1000, 3000):  # the server is down: nothing waits, nothing is lost
        client.log_metric(run_id, "loss", step / 2, timestamp=T0 + step, step=step, synchronous=False)
    assert status(str(spool))[0].pending >= 1000
    with real_mlflow_server(workdir=workdir, port=port):
        client.set_terminated(run_id)  # the run's data first, then its status
        _assert_exactly_once(client, run_id, 3000)
        assert client.get_run(run_id).info.status == "FINISHED"
    assert status(str(spool)) == []
