"""MlflowClient against the stub (in-process) and a real `mlflow server`; the same workflow through our
client and through the official one must give the same results."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow_client import MlflowClient
from mlflow_client._creation import CREATION_ID_TAG
from mlflow_client.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow_client.exceptions import InvalidParameterValue, MlflowException, ResourceAlreadyExists, ResourceNotFound

from server_stub import StubServer


@pytest.fixture
def client(stub: StubServer) -> Iterator[MlflowClient]:
    with MlflowClient(stub.url) as c:
        yield c


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_experiment_lifecycle(client: MlflowClient) -> None:
    name = _name("exp")
    exp_id = client.create_experiment(name, tags={"team": "core", "n": 3})
    exp = client.get_experiment(exp_id)
    tags = dict(exp.tags)
    assert tags.pop(CREATION_ID_TAG)  # makes a lost answer safe to retry (tests/client/test_creation.py)
    assert (exp.name, exp.lifecycle_stage, tags) == (name, "active", {"team": "core", "n": "3"})
    assert client.get_experiment_by_name(name) == exp
    assert client.get_experiment_by_name(_name("missing")) is None
    with pytest.raises(ResourceAlreadyExists) as dup:
        client.create_experiment(name)
    assert (dup.value.error_code, dup.value.http_status) == ("RESOURCE_ALREADY_EXISTS", 400)
    client.rename_experiment(exp_id, name + "-2")
    client.set_experiment_tag(exp_id, "k", "v")
    client.delete_experiment_tag(exp_id, "k")
    assert client.get_experiment(exp_id).name == name + "-2" and "k" not in client.get_experiment(exp_id).tags
    client.delete_experiment(exp_id)
    assert exp_id in {e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)}
    client.restore_experiment(exp_id)
    with pytest.raises(ResourceNotFound) as missing:
        client.get_experiment("987654")
    assert missing.value.http_status == 404


def test_runs_metrics_params_tags(client: MlflowClient) -> None:
    exp_id = client.create_experiment(_name("runs"))
    run = client.create_run(exp_id, run_name="first", tags={"a": 1})
    run_id = run.info.run_id
    assert run.info.status == "RUNNING" and run.info.run_name == "first" and run.data.tags["a"] == "1"
    assert run.info.user_id == "unknown"
    client.log_metric(run_id, "loss", 0.5, step=1)
    client.log_metric(run_id, "loss", float("nan"), step=2)
    client.log_metric(run_id, "loss", 0.25, timestamp=5, step=-1)
    assert client.log_param(run_id, "lr", 0.1) == 0.1
    client.set_tag(run_id, "stage", "dev")
    client.delete_tag(run_id, "stage")
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == [-1, 1, 2]
    got = client.get_run(run_id)
    assert math.isnan(got.data.metrics["loss"]) and got.data.params == {"lr": "0.1"}
    assert "stage" not in got.data.tags
    with pytest.raises(InvalidParameterValue):
        client.log_param(run_id, "lr", 0.2)
    client.update_run(run_id, name="renamed")
    assert client.get_run(run_id).info.run_name == "renamed"
    client.set_terminated(run_id, "FAILED")
    info = client.get_run(run_id).info
    assert info.status == "FAILED" and info.end_time is not None and info.end_time >= info.start_time
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run_id)


def test_bad_arguments_fail_before_the_wire(stub: StubServer, client: MlflowClient) -> None:
    run_id = client.create_run("0").info.run_id
    before = sum(stub.httpd.requests.values())
    for bad in ("bad!key", "a/../b", "/abs", ""):
        with pytest.raises(InvalidParameterValue):
            client.log_metric(run_id, bad, 1.0)
    for value in ("1.0", None, True):
        with pytest.raises(InvalidParameterValue) as err:
            client.log_metric(run_id, "m", value)  # type: ignore[arg-type]
        assert "m" in err.value.message
    with pytest.raises(InvalidParameterValue):
        client.log_batch(run_id, params=[Param("bad key!", "v")])
    with pytest.raises(InvalidParameterValue):
        client.set_terminated(run_id, "DONE")
    assert sum(stub.httpd.requests.values()) == before


def test_log_batch_is_split_within_server_limits(stub: StubServer, client: MlflowClient) -> None:
    run_id = client.create_run("0").info.run_id
    ts = int(time.time() * 1000)
    metrics = [Metric(f"m{i % 7}", float(i), ts, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(250)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(120)]
    before = stub.httpd.requests["logBatch"]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    # Params go 100/100/50 and tags 100/20; metrics fill each request up to 1000 entities
    # (800 + 880 + 950 >= 2500), so three requests carry everything.
    assert stub.httpd.requests["logBatch"] - before == 3
    run = client.get_run(run_id)
    assert len(run.data.params) == 250 and len(run.data.tags) >= 120
    assert sum(len(client.get_metric_history(run_id, f"m{k}")) for k in range(7)) == 2500
    before = stub.httpd.requests["logBatch"]
    client.log_batch(run_id)
    assert stub.httpd.requests["logBatch"] == before  # nothing to send, nothing sent


def test_search_runs_paging_and_iterators(client: MlflowClient) -> None:
    exp_id = client.create_experiment(_name("search"))
    ids = []
    for i in range(7):
        run = client.create_run(exp_id, start_time=1000 + i)
        client.log_metric(run.info.run_id, "score", i)
        ids.append(run.info.run_id)
    page = client.search_runs([exp_id], "metrics.score >= 2", order_by=["metrics.score DESC"], max_results=2)
    assert [r.data.metrics["score"] for r in page] == [6, 5] and page.token
    all_runs = list(client.iter_runs([exp_id], "metrics.score >= 2", order_by=["metrics.score DESC"], page_size=2))
    assert [r.data.metrics["score"] for r in all_runs] == [6, 5, 4, 3, 2]
    assert [r.info.run_id for r in client.iter_runs([exp_id], page_size=3)] == list(reversed(ids))
    names = {e.name for e in client.list_experiments()}
    assert "Default" in names and len(client.list_experiments()) == len(list(client.iter_experiments(page_size=1)))


def test_errors_carry_code_status_and_cause(client: MlflowClient) -> None:
    with pytest.raises(ResourceNotFound) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST" and err.value.http_status == 404
    assert isinstance(err.value, MlflowException)


def test_unknown_tracking_uris_fail_clearly() -> None:
    with pytest.raises(MlflowException, match="mlflow server --backend-store-uri"):
        MlflowClient("sqlite:///mlflow.db")
    with pytest.raises(MlflowException, match=r"[Dd]atabricks"):
        MlflowClient("databricks")


def _workflow(client: Any, exp_name: str) -> dict[str, Any]:
    """One tracking workflow, written once, run through either client; returns what it observed."""
    exp_id = client.create_experiment(exp_name, tags={"team": "x"})
    run = client.create_run(exp_id, start_time=1700000000000, tags={"k": "v"}, run_name="wf")
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.01")
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), timestamp=1700000000000 + step, step=step)
    client.log_metric(run_id, "weird", float("inf"), timestamp=1, step=0)
    client.set_tag(run_id, "stage", "dev")
    client.log_batch(run_id, params=[type_param(client)("bs", "32")])
    client.set_terminated(run_id, "FINISHED", end_time=1700000009999)
    got = client.get_run(run_id)
    history = client.get_metric_history(run_id, "loss")
    found = client.search_runs([exp_id], "params.lr = '0.01'", order_by=["metrics.loss ASC"])
    return {
        "info": (got.info.run_name, got.info.status, got.info.start_time, got.info.end_time, got.info.lifecycle_stage),
        "params": got.data.params,
        "metrics": got.data.metrics,
        "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
        "history": sorted((h.step, h.value, h.timestamp) for h in history),
        "found": [r.info.run_name for r in found],
        "experiment": (client.get_experiment(exp_id).name, client.get_experiment(exp_id).tags),
    }


def type_param(client: Any) -> Any:
    """Each client logs its own package's entities."""
    if isinstance(client, MlflowClient):
        return Param
    from mlflow.entities import Param as MlflowParam

    return MlflowParam


@pytest.mark.mlflow_server
def test_same_results_as_the_official_client(mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient as OfficialClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    suffix = uuid.uuid4().hex[:8]
    theirs = _workflow(OfficialClient(tracking_uri=mlflow_server_url), f"official-{suffix}")
    with MlflowClient(mlflow_server_url) as ours_client:
        ours = _workflow(ours_client, f"ours-{suffix}")
    theirs["experiment"] = (theirs["experiment"][0].replace("official", "ours"), theirs["experiment"][1])
    # The one difference, documented: our creates carry a creation id, so a lost answer is never a duplicate.
    assert len(ours["tags"].pop(CREATION_ID_TAG)) == 32 and len(ours["experiment"][1].pop(CREATION_ID_TAG)) == 32
    assert ours == theirs
    assert ours["metrics"]["weird"] == pytest.approx(1.7976931348623157e308)
    assert ours["info"][1] == RunStatus.to_string(RunStatus.FINISHED)


class _CannedTransport:
    """Answers every request with one fixed body (only the REST store's decoding is under test)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, path: str, **kwargs: Any) -> bytes:
        self.calls.append((method, path))
        return self.body


def test_metric_history_decodes_straight_into_metric_entities(client: MlflowClient) -> None:
    run_id = client.create_run(client.create_experiment(_name("hist"))).info.run_id
    client.log_batch(
        run_id, metrics=[Metric("m", i / 3, 1000 + i, i) for i in range(5)] + [Metric("m", math.nan, 5000, 9)]
    )
    history = client.get_metric_history(run_id, "m")
    assert all(type(x) is Metric for x in history)
    assert [(x.key, x.value, x.timestamp, x.step) for x in history[:5]] == [("m", i / 3, 1000 + i, i) for i in range(5)]
    assert math.isnan(history[5].value)


def test_metric_history_reads_odd_points_leniently() -> None:
    from mlflow_client._rest_store import RestStore

    # No step, no key, and a dataset name without its digest: the entity refuses these, the reader keeps them.
    body = (
        b'{"metrics": [{"key": "m", "value": "NaN", "timestamp": "7"}, {"value": 2.5, "timestamp": 8, "step": 1},'
        b' {"key": "m", "value": 1, "timestamp": 9, "step": 2, "dataset_name": "iris"}]}'
    )
    transport = _CannedTransport(body)
    history = RestStore(transport).get_metric_history("r1", "m")
    assert transport.calls == [("GET", "/api/2.0/mlflow/metrics/get-history")]
    assert [(x.key, x.timestamp, x.step) for x in history] == [("m", 7, 0), ("", 8, 1), ("m", 9, 2)]
    assert math.isnan(history[0].value)
    assert (history[2].dataset_name, history[2].dataset_digest) == ("iris", None)


def test_metric_history_always_asks_for_pages_and_follows_them(stub: StubServer) -> None:
    # MLflow's client sends max_results=25000 and pages; MLflow 3.11 refuses its own token without it.
    with MlflowClient(stub.url) as client:
        run_id = client.create_run("0").info.run_id
        for start in range(0, 60_000, 1000):
            client.log_batch(run_id, metrics=[Metric("h", float(i), 1000 + i, i) for i in range(start, start + 1000)])
        before = stub.httpd.requests["getMetricHistory"]
        history = client.get_metric_history(run_id, "h")
    assert [x.step for x in history] == list(range(60_000))
    assert stub.httpd.requests["getMetricHistory"] - before == 3  # pages of 25,000, 25,000 and 10,000


def test_metric_history_pages_against_a_real_server(mlflow_server_url: str) -> None:
    with MlflowClient(mlflow_server_url) as client:
        run_id = client.create_run("0").info.run_id
        for start in range(0, 30_000, 1000):
            client.log_batch(run_id, metrics=[Metric("h", float(i), 1000 + i, i) for i in range(start, start + 1000)])
        history = client.get_metric_history(run_id, "h")
    assert sorted(x.step for x in history) == list(range(30_000))  # two pages, the second by MLflow's token


@pytest.mark.parametrize("where", ["stub", "local"])
def test_log_batch_and_log_inputs_take_mlflow_entities(stub: StubServer, tmp_path: Any, where: str) -> None:
    from mlflow import entities as theirs

    uri = stub.url if where == "stub" else str(tmp_path / "mlruns")
    with MlflowClient(uri) as client:
        run_id = client.create_run("0").info.run_id
        client.log_batch(
            run_id,
            metrics=[theirs.Metric("acc", 0.5, 1000, 3)],
            params=[theirs.Param("lr", "0.1")],
            tags=[theirs.RunTag("team", "ml")],
        )
        dataset = theirs.Dataset("iris", "abc123", "local", '{"uri": "iris.csv"}', schema="{}")
        client.log_inputs(run_id, [theirs.DatasetInput(dataset, [theirs.InputTag("mlflow.data.context", "train")])])
        run = client.get_run(run_id)
        with pytest.raises(InvalidParameterValue, match=r"Param .* object has no 'key'"):
            client.log_batch(run_id, params=[object()])  # type: ignore[list-item]
    assert run.data.metrics == {"acc": 0.5} and run.data.params == {"lr": "0.1"} and run.data.tags["team"] == "ml"
    assert run.inputs is not None
    (used,) = run.inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest, used.dataset.source) == ("iris", "abc123", '{"uri": "iris.csv"}')
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "train")]
