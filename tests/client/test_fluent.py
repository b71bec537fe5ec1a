"""The fluent API against the stub: active runs, nesting, resume, failure status, env variables."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow_client
import pytest
from mlflow_client import MlflowClient, fluent
from mlflow_client._context import git_facts
from mlflow_client.exceptions import MlflowException

from server_stub import StubServer


@pytest.fixture
def tracking(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    mlflow_client.set_tracking_uri(stub.url)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    with MlflowClient(stub.url) as client:
        yield client
    while mlflow_client.active_run():
        mlflow_client.end_run()
    mlflow_client.set_tracking_uri(None)


def test_start_run_logs_and_finishes(tracking: MlflowClient) -> None:
    assert mlflow_client.get_tracking_uri() == tracking.tracking_uri
    exp = mlflow_client.set_experiment("fluent-exp")
    assert mlflow_client.set_experiment("fluent-exp").experiment_id == exp.experiment_id  # found, not re-made
    with mlflow_client.start_run(run_name="r1", tags={"custom": "yes"}) as run:
        assert mlflow_client.active_run() is run
        mlflow_client.log_param("lr", 0.1)
        mlflow_client.log_params({"bs": 32, "opt": "adam"})
        mlflow_client.log_metric("loss", 0.5, step=1)
        mlflow_client.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        mlflow_client.set_tag("stage", "dev")
        mlflow_client.set_tags({"a": 1})
    assert mlflow_client.active_run() is None
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.experiment_id == exp.experiment_id
    assert got.data.params == {"lr": "0.1", "bs": "32", "opt": "adam"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8}
    tags = got.data.tags
    assert tags["stage"] == "dev" and tags["a"] == "1" and tags["custom"] == "yes"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"] and tags["mlflow.source.name"]
    assert tags["mlflow.runName"] == "r1"


def test_run_ending_by_exception_is_failed(tracking: MlflowClient) -> None:
    with pytest.raises(ZeroDivisionError), mlflow_client.start_run() as run:
        1 / 0  # noqa: B018
    assert tracking.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs_and_active_run_rules(tracking: MlflowClient) -> None:
    with mlflow_client.start_run() as parent:
        with pytest.raises(MlflowException, match="already active"):
            mlflow_client.start_run()
        with mlflow_client.start_run(nested=True) as child:
            assert mlflow_client.active_run() is child
        assert mlflow_client.active_run() is parent
    got = tracking.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_resume_by_id_and_by_env(tracking: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with mlflow_client.start_run() as first:
        pass
    with mlflow_client.start_run(run_id=first.info.run_id) as resumed:
        assert resumed.info.run_id == first.info.run_id and resumed.info.status == "RUNNING"
        mlflow_client.log_metric("later", 1.0)
    monkeypatch.setenv("MLFLOW_RUN_ID", first.info.run_id)
    with mlflow_client.start_run() as from_env:
        assert from_env.info.run_id == first.info.run_id
    assert tracking.get_run(first.info.run_id).data.metrics == {"later": 1.0}


def test_experiment_from_env(tracking: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mlflow_client.start_run() as run:
        pass
    exp = tracking.get_experiment_by_name("from-env")
    assert exp is not None and run.info.experiment_id == exp.experiment_id
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", exp.experiment_id)
    with mlflow_client.start_run() as run2:
        pass
    assert run2.info.experiment_id == exp.experiment_id


def test_log_without_active_run_starts_one(tracking: MlflowClient) -> None:
    mlflow_client.log_metric("auto", 1.0)
    run = mlflow_client.active_run()
    assert run is not None and run.info.experiment_id == "0"
    mlflow_client.end_run()
    assert tracking.get_run(run.info.run_id).info.status == "FINISHED"


def test_active_run_is_ended_at_interpreter_exit(stub: StubServer, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "import mlflow_client\n"
        "run = mlflow_client.start_run(run_name='left-open')\n"
        "mlflow_client.log_metric('m', 1.0)\n"
        "print(run.info.run_id)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": stub.url, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
    run_id = out.stdout.strip()
    with MlflowClient(stub.url) as client:
        assert client.get_run(run_id).info.status == "FINISHED"


def test_git_facts_are_read_without_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "feature", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", "https://example.com/x.git"], check=True)
    (repo / "f.txt").write_text("x")
    subprocess.run(["git", "-C", str(repo), "add", "f.txt"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], check=True
    )
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    facts = git_facts(repo / ".git")
    assert facts == {
        "mlflow.source.git.branch": "feature",
        "mlflow.source.git.commit": head.stdout.strip(),
        "mlflow.source.git.repoURL": "https://example.com/x.git",
    }
    subprocess.run(["git", "-C", str(repo), "pack-refs", "--all"], check=True)
    assert git_facts(repo / ".git")["mlflow.source.git.commit"] == head.stdout.strip()
