"""``mlflow-client runs``: effects as MLflow's client sees them, and ``describe`` as ``mlflow runs describe``."""

from __future__ import annotations

import json

import mlflow
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, Metric, Param, RunTag

from tests.cli.conftest import Invoke, run_mlflow, unique


def _logged_run(theirs: mlflow.MlflowClient, experiment_id: str, *, finished: bool) -> str:
    run = theirs.create_run(experiment_id, start_time=1_700_000_000_000, run_name="described", tags={"team": "ml"})
    run_id = run.info.run_id
    theirs.log_batch(
        run_id,
        metrics=[
            Metric("loss", 0.25, 1_700_000_000_500, 3),
            Metric("nan", float("nan"), 1_700_000_000_600, 0),
            Metric("big", 2.0**53, 1_700_000_000_700, 2**40),
        ],
        params=[Param("lr", "0.01"), Param("layers", "3")],
        tags=[RunTag("mlflow.note.content", "a note\nover two lines"), RunTag("unicode", "é✓")],
    )
    dataset = Dataset("train", "d1g3st", "local", json.dumps({"uri": "/data/train.csv"}), schema='{"a": 1}')
    theirs.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    if finished:
        theirs.set_terminated(run_id, "FINISHED", end_time=1_700_000_009_000)
    return str(run_id)


def test_describe_prints_exactly_what_mlflow_prints(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("describe"))
    for finished in (True, False):
        run_id = _logged_run(theirs, experiment_id, finished=finished)
        ours = invoke("runs", "describe", "--run-id", run_id)
        assert ours.exit_code == 0, ours.output
        expected = run_mlflow(["runs", "describe", "--run-id", run_id], server_url).stdout
        assert ours.stdout == expected
        described = json.loads(ours.stdout)
        assert described["info"]["status"] == ("FINISHED" if finished else "RUNNING")
        assert described["data"]["params"] == {"lr": "0.01", "layers": "3"}
        assert "NaN" in ours.stdout


def test_describe_writes_model_inputs_as_their_ids(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("models"))
    run_id = theirs.create_run(experiment_id).info.run_id
    model_id = theirs.create_logged_model(experiment_id).model_id
    theirs.log_inputs(run_id, models=[LoggedModelInput(model_id)])

    ours = invoke("runs", "describe", "--run-id", run_id)
    assert ours.exit_code == 0, ours.output
    assert json.loads(ours.stdout)["inputs"]["model_inputs"] == [{"model_id": model_id}]
    expected = run_mlflow(["runs", "describe", "--run-id", run_id], server_url, check=False)
    if expected.returncode == 0:  # a later MLflow that can print them: then the same text
        assert ours.stdout == expected.stdout
    else:  # MLflow 3.17 fails on such runs, its json.dumps meeting the LoggedModelInput objects
        assert "LoggedModelInput is not JSON serializable" in expected.stderr


def test_list_newest_first_by_view_as_table_and_json(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("list"))
    old = theirs.create_run(experiment_id, start_time=1_700_000_000_000, run_name="old").info.run_id
    new = theirs.create_run(experiment_id, start_time=1_700_000_100_000, run_name="new").info.run_id
    gone = theirs.create_run(experiment_id, start_time=1_700_000_200_000, run_name="gone").info.run_id
    theirs.delete_run(gone)

    table = invoke("runs", "list", "--experiment-id", experiment_id)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["Date", "Name", "ID"]
    assert [line.split()[-2:] for line in lines[2:]] == [["new", new], ["old", old]]

    listed = json.loads(invoke("runs", "list", "--experiment-id", experiment_id, "--view", "all", "--json").stdout)
    assert [r["run_id"] for r in listed] == [gone, new, old]
    assert [r["lifecycle_stage"] for r in listed] == ["deleted", "active", "active"]
    deleted = invoke("runs", "list", "--experiment-id", experiment_id, "-v", "deleted_only", "--json")
    assert [r["run_id"] for r in json.loads(deleted.stdout)] == [gone]


def test_delete_and_restore_as_mlflow_sees_them(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    run_id = theirs.create_run(theirs.create_experiment(unique("delete"))).info.run_id

    result = invoke("runs", "delete", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    assert theirs.get_run(run_id).info.lifecycle_stage == "deleted"
    assert result.stdout == f"Run with ID {run_id} has been deleted.\n"

    result = invoke("runs", "restore", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    assert theirs.get_run(run_id).info.lifecycle_stage == "active"
    assert result.stdout == f"Run with id {run_id} has been restored.\n"


def test_list_takes_the_experiment_from_mlflow_experiment_id(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("env"))
    run_id = theirs.create_run(experiment_id).info.run_id

    result = invoke("runs", "list", "--json", env={"MLFLOW_EXPERIMENT_ID": experiment_id})
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.stdout)] == [run_id]
    missing = invoke("runs", "list")
    assert missing.exit_code == 2
    assert "--experiment-id" in missing.stderr
