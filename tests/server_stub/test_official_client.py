"""The official client (`mlflow` from PyPI) runs whole workflows against the stub: tracking, and a model's
lifecycle (logged model, registry, aliases, loading by alias), the latter against a real server as well."""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_stub import StubServer


@pytest.fixture(autouse=True)
def _no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stub bug must fail the test at once, not after MLflow's minutes of retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def test_full_workflow_with_official_client(stub: StubServer, tmp_path: Path) -> None:
    import mlflow.artifacts
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=stub.url)
    exp_id = client.create_experiment("workflow", tags={"team": "core"})
    exp = client.get_experiment_by_name("workflow")
    assert exp is not None and exp.experiment_id == exp_id and exp.tags == {"team": "core"}
    assert exp.artifact_location == f"mlflow-artifacts:/{exp_id}"
    with pytest.raises(MlflowException) as dup:
        client.create_experiment("workflow")
    assert dup.value.error_code == "RESOURCE_ALREADY_EXISTS"

    runs = []
    for i in range(5):
        run = client.create_run(exp_id, run_name=f"run-{i}", tags={"index": str(i)})
        assert run.info.run_name == f"run-{i}" and run.data.tags["mlflow.runName"] == f"run-{i}"
        client.log_param(run.info.run_id, "lr", str(0.1 * (i + 1)))
        for step in range(3):
            client.log_metric(run.info.run_id, "loss", 1.0 / (i + step + 1), step=step)
        client.set_tag(run.info.run_id, "stage", "dev")
        runs.append(run.info.run_id)
    first = runs[0]

    ts = int(time.time() * 1000)
    client.log_batch(
        first,
        metrics=[Metric("acc", i / 1000, ts + i, i) for i in range(1000)],
        params=[Param("batch_size", "32")],
        tags=[RunTag("note", "batched")],
    )
    history = client.get_metric_history(first, "acc")
    assert len(history) == 1000 and sorted(m.step for m in history) == list(range(1000))
    got = client.get_run(first)
    assert got.data.params == {"lr": "0.1", "batch_size": "32"}
    assert got.data.metrics["acc"] == pytest.approx(0.999) and got.data.metrics["loss"] == pytest.approx(1 / 3)
    assert got.data.tags["note"] == "batched" and got.data.tags["stage"] == "dev"

    with pytest.raises(MlflowException) as changed:
        client.log_param(first, "lr", "0.9")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"

    found = client.search_runs([exp_id], filter_string="metrics.loss < 0.3", order_by=["metrics.loss ASC"])
    losses = [r.data.metrics["loss"] for r in found]
    assert losses == sorted(losses) and all(x < 0.3 for x in losses) and len(found) == 4
    seen: list[str] = []
    token = None
    while True:
        page = client.search_runs([exp_id], order_by=["params.lr DESC"], max_results=2, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert seen == list(reversed(runs))

    client.set_terminated(first)
    assert client.get_run(first).info.status == RunStatus.to_string(RunStatus.FINISHED)
    client.delete_run(runs[1])
    assert client.get_run(runs[1]).info.lifecycle_stage == "deleted"
    assert runs[1] not in {r.info.run_id for r in client.search_runs([exp_id])}
    assert runs[1] in {r.info.run_id for r in client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)}
    client.restore_run(runs[1])
    assert client.get_run(runs[1]).info.lifecycle_stage == "active"

    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "model.txt").write_bytes(b"weights" * 1000)
    (src / "nested" / "empty.bin").write_bytes(b"")
    client.log_artifact(first, str(src / "model.txt"), "outputs")
    client.log_artifacts(first, str(src / "nested"), "outputs/nested")
    # MLflow 3's run-id forms go through logged-models/search first (a path may name a logged model).
    listed = {f.path: f for f in client.list_artifacts(first, "outputs")}
    assert set(listed) == {"outputs/model.txt", "outputs/nested"} and listed["outputs/nested"].is_dir
    assert listed["outputs/model.txt"].file_size == 7000
    dst = Path(client.download_artifacts(first, "outputs", str(tmp_path / "dst")))
    assert hashlib.sha256((dst / "model.txt").read_bytes()).digest() == hashlib.sha256(b"weights" * 1000).digest()
    assert (dst / "nested" / "empty.bin").read_bytes() == b""
    root = client.get_run(first).info.artifact_uri
    by_uri = mlflow.artifacts.list_artifacts(artifact_uri=f"{root}/outputs", tracking_uri=stub.url)
    assert {f.path for f in by_uri} == set(listed)

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert client.get_run(runs[2]).info.lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_run(runs[2]).info.lifecycle_stage == "active"


@pytest.fixture(params=["stub", "stub-mlruns", "mlflow"])
def tracking_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stub (SQLite in memory, then an mlruns folder), then a real ``mlflow server``: the same
    assertions hold on all of them."""

    with contextlib.ExitStack() as stack:
        if request.param == "stub-mlruns":
            folder = tmp_path_factory.mktemp("mlruns")
            url = stack.enter_context(StubServer(port=0, backend_store_uri=str(folder / "mlruns"))).url
        else:
            url = request.getfixturevalue("stub_url" if request.param == "stub" else "mlflow_server_url")
        yield from _using(url)


def _using(url: str) -> Iterator[str]:
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield url
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")


def test_model_lifecycle_with_official_client(tracking_url: str, tmp_path: Path) -> None:
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    import numpy as np
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelStatus
    from mlflow.exceptions import MlflowException
    from sklearn.linear_model import LogisticRegression

    client = MlflowClient(tracking_uri=tracking_url, registry_uri=tracking_url)
    uniq = uuid.uuid4().hex[:10]
    exp_id = client.create_experiment(f"lifecycle-{uniq}")
    rng = np.random.default_rng(17)
    features = rng.normal(size=(60, 3))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(features, labels)

    with mlflow.start_run(experiment_id=exp_id) as run:
        info = mlflow.sklearn.log_model(model, name="clf", params={"C": "1.0"})
        mlflow.log_metric("accuracy", float(model.score(features, labels)), model_id=info.model_id)
    run_id = run.info.run_id
    assert info.model_uri == f"models:/{info.model_id}" and info.model_id.startswith("m-")

    logged = client.get_logged_model(info.model_id)
    assert logged.status == LoggedModelStatus.READY and logged.source_run_id == run_id
    location = client.get_experiment(exp_id).artifact_location
    assert logged.artifact_location == f"{location}/models/{info.model_id}/artifacts"
    assert logged.params == {"C": "1.0"} and [x.key for x in logged.metrics or []] == ["accuracy"]
    outputs = client.get_run(run_id).outputs
    assert outputs is not None and [o.model_id for o in outputs.model_outputs] == [info.model_id]
    # MLflow 3 resolves a run's path through the run's logged models of that name.
    listed = {f.path for f in client.list_artifacts(run_id, "clf")}
    assert {"clf/MLmodel", "clf/requirements.txt"} <= listed, listed
    searched = client.search_logged_models(experiment_ids=[exp_id], filter_string="name = 'clf'")
    assert [x.model_id for x in searched] == [info.model_id]

    name = f"reg-{uniq}"
    version = mlflow.register_model(info.model_uri, name)
    assert version.version == "1" and version.run_id == run_id
    assert client.get_model_version_download_uri(name, "1") == logged.artifact_location
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_tag(name, "team", "core")
    client.set_model_version_tag(name, "1", "validated", "yes")

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert (loaded.predict(features) == model.predict(features)).all()
    champion = client.get_model_version_by_alias(name, "champion")
    assert (champion.version, champion.aliases, champion.tags) == ("1", ["champion"], {"validated": "yes"})

    second = client.create_model_version(name, info.model_uri, run_id=run_id, model_id=info.model_id)
    assert second.version == "2"
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    client.delete_model_version(name, "2")
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(MlflowException) as no_alias:
        client.get_model_version_by_alias(name, "champion")
    assert no_alias.value.error_code == "INVALID_PARAMETER_VALUE"

    found = client.search_registered_models(filter_string=f"name LIKE 'reg-{uniq}%'")
    assert [(r.name, r.tags) for r in found] == [(name, {"team": "core"})]
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{run_id}'")] == ["1"]

    client.delete_registered_model(name)
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(name)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{name}'") == []
    client.delete_logged_model(info.model_id)
    with pytest.raises(MlflowException) as deleted:
        client.get_logged_model(info.model_id)
    assert deleted.value.error_code == "RESOURCE_DOES_NOT_EXIST"
