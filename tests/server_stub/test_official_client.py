"""The official client (`mlflow.MlflowClient` from PyPI) runs a whole tracking workflow against the stub."""

from __future__ import annotations

import hashlib
import time
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
    # MLflow 3's run-id forms (client.list_artifacts(run_id, ...)) also ask logged-models/search, which
    # is outside the spec; the artifact-URI forms go straight through mlflow-artifacts.
    root = client.get_run(first).info.artifact_uri
    listed = {f.path: f for f in mlflow.artifacts.list_artifacts(artifact_uri=f"{root}/outputs", tracking_uri=stub.url)}
    assert set(listed) == {"outputs/model.txt", "outputs/nested"} and listed["outputs/nested"].is_dir
    dst = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/outputs", dst_path=str(tmp_path / "dst"), tracking_uri=stub.url
        )
    )
    assert hashlib.sha256((dst / "model.txt").read_bytes()).digest() == hashlib.sha256(b"weights" * 1000).digest()
    assert (dst / "nested" / "empty.bin").read_bytes() == b""

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert client.get_run(runs[2]).info.lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_run(runs[2]).info.lifecycle_stage == "active"
