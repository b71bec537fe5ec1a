"""Creates that are safe to retry: a lost answer gives neither an error nor a duplicate.

Against the stub, whose ``drop`` fault applies a request and then cuts the connection, and against a
real ``mlflow server`` behind a proxy that loses one answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mlflow_client import MlflowClient
from mlflow_client._creation import CREATION_ID_TAG
from mlflow_client.entities import ViewType
from mlflow_client.exceptions import ConnectionFailed, ResourceAlreadyExists

from conformance_tests._proxy import Exchange, Forward, MutatingProxy, Mutation
from server_stub import StubServer
from server_stub.faults import FaultRule


def _client(url: str, **settings: Any) -> MlflowClient:
    """A client with a short backoff, so that retries take milliseconds here."""
    return MlflowClient(url, backoff_factor=0.01, backoff_jitter=0, **settings)


def _runs(client: MlflowClient, experiment_id: str, view: int = ViewType.ACTIVE_ONLY) -> list[str]:
    return [r.info.run_id for r in client.search_runs([experiment_id], run_view_type=view)]


@pytest.mark.parametrize("kind", ["drop", "500", "502", "504"])
def test_a_lost_or_failed_run_create_makes_exactly_one_run(stub: StubServer, kind: str) -> None:
    client = _client(stub.url)
    exp = client.create_experiment("one-run")
    stub.faults.configure([FaultRule(kind=kind, rpc="createRun", count=2)])
    run = client.create_run(exp, run_name="r")
    assert _runs(client, exp, ViewType.ALL) == [run.info.run_id]
    assert run.info.run_name == "r" and run.data.tags[CREATION_ID_TAG]
    # A dropped answer is found at the first look; a failure that was not applied is sent again.
    assert stub.httpd.requests["createRun"] == (1 if kind == "drop" else 3)


@pytest.mark.parametrize("kind", ["drop", "500", "503"])
def test_a_lost_or_failed_experiment_create_neither_raises_nor_duplicates(stub: StubServer, kind: str) -> None:
    client = _client(stub.url)
    stub.faults.configure([FaultRule(kind=kind, rpc="createExperiment", count=2)])
    exp_id = client.create_experiment("one-exp", tags={"team": "ml"})
    experiment = client.get_experiment_by_name("one-exp")
    assert experiment is not None and experiment.experiment_id == exp_id and experiment.tags["team"] == "ml"


def test_someone_elses_experiment_of_that_name_is_still_refused(stub: StubServer) -> None:
    other = MlflowClient(stub.url)
    other.create_experiment("taken")
    client = _client(stub.url)
    with pytest.raises(ResourceAlreadyExists):
        client.create_experiment("taken")
    stub.faults.configure([FaultRule(kind="500", rpc="createExperiment", count=1)])  # ambiguous, then a look
    with pytest.raises(ResourceAlreadyExists, match="taken"):
        client.create_experiment("taken")


def test_a_run_applied_late_is_not_left_as_a_ghost(stub: StubServer) -> None:
    """The first create times out and lands only after the client has looked and created again: the
    copy it finds afterwards is deleted, so one active run is left."""
    client = _client(stub.url, timeout=1.0)
    exp = client.create_experiment("late")
    stub.faults.configure(
        [
            FaultRule(kind="latency", rpc="createRun", count=2, latency_ms=800),  # 1st: 1.5 s, 2nd: 0.8 s
            FaultRule(kind="latency", rpc="createRun", count=1, latency_ms=700),
        ]
    )
    run = client.create_run(exp)
    assert _runs(client, exp) == [run.info.run_id]
    assert len(_runs(client, exp, ViewType.ALL)) in (1, 2)  # a copy, if any, is deleted, not lost


def test_the_happy_path_costs_no_request(stub: StubServer) -> None:
    client = MlflowClient(stub.url)
    exp = client.create_experiment("cheap")
    client.create_run(exp)
    assert stub.httpd.requests["createExperiment"] == 1 and stub.httpd.requests["createRun"] == 1
    assert stub.httpd.requests["searchRuns"] == 0 and stub.httpd.requests["getExperimentByName"] == 0


def test_a_server_that_stays_down_still_raises(stub: StubServer) -> None:
    client = MlflowClient(stub.url, max_retries=2, backoff_factor=0, backoff_jitter=0)
    exp = client.create_experiment("down")
    stub.faults.configure([FaultRule(kind="drop", rpc="createRun", count=1), FaultRule(kind="reset", rpc="searchRuns")])
    with pytest.raises(ConnectionFailed):
        client.create_run(exp)


@pytest.mark.mlflow_server
def test_lost_answers_to_creates_on_a_real_server(mlflow_server_url: str) -> None:
    lost = {"experiments/create": 0, "runs/create": 0}

    def lose_the_first(ex: Exchange, forward: Forward) -> None:
        for route, count in lost.items():
            if ex.route.endswith("/mlflow/" + route) and count == 0:
                lost[route] = 1
                ex.status = 0  # applied by the server, answer lost

    name = f"lost-{uuid.uuid4().hex[:8]}"
    with MutatingProxy(mlflow_server_url, Mutation(after=lose_the_first)) as proxy:
        client = MlflowClient(proxy.url)
        exp_id = client.create_experiment(name)
        run = client.create_run(exp_id)
    assert lost == {"experiments/create": 1, "runs/create": 1}
    direct = MlflowClient(mlflow_server_url)
    experiment = direct.get_experiment_by_name(name)
    assert experiment is not None and experiment.experiment_id == exp_id
    assert _runs(direct, exp_id, ViewType.ALL) == [run.info.run_id]
