"""``mlflow-client experiments``: each command's effect as MLflow's own client sees it."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas

from tests.cli.conftest import Invoke, run_mlflow, unique


def test_create_makes_the_experiment_with_its_artifact_location(invoke: Invoke, server_url: str) -> None:
    name = unique("create")
    location = f"s3://bucket/{name}"
    result = invoke("experiments", "create", "-n", name, "-l", location)
    assert result.exit_code == 0, result.output
    seen = mlflow.MlflowClient(tracking_uri=server_url).get_experiment_by_name(name)
    assert seen is not None
    assert seen.artifact_location == location
    assert result.stdout == f"Created experiment '{name}' with id {seen.experiment_id}\n"


def test_search_lists_by_view_as_table_and_json(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    kept, gone = unique("kept"), unique("gone")
    kept_id = theirs.create_experiment(kept)
    gone_id = theirs.create_experiment(gone)
    theirs.delete_experiment(gone_id)

    table = invoke("experiments", "search")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["Experiment", "Id", "Name", "Artifact", "Location"]
    assert set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows[kept_id][1] == kept
    assert gone_id not in rows
    # Aligned: every row's name starts in the column the header's does.
    column = lines[0].index("Name")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines[2:])

    every = json.loads(invoke("experiments", "search", "--view", "all", "--json").stdout)
    by_id = {e["experiment_id"]: e for e in every}
    assert by_id[kept_id]["name"] == kept and by_id[kept_id]["lifecycle_stage"] == "active"
    assert by_id[gone_id]["name"] == gone and by_id[gone_id]["lifecycle_stage"] == "deleted"
    deleted = json.loads(invoke("experiments", "search", "--view", "deleted_only", "--json").stdout)
    assert gone_id in {e["experiment_id"] for e in deleted}
    assert kept_id not in {e["experiment_id"] for e in deleted}


def test_rename_delete_and_restore_as_mlflow_sees_them(invoke: Invoke, server_url: str) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("old"))
    new_name = unique("new")

    result = invoke("experiments", "rename", "-x", experiment_id, "--new-name", new_name)
    assert result.exit_code == 0, result.output
    assert theirs.get_experiment(experiment_id).name == new_name
    assert result.stdout == f"Experiment with id {experiment_id} has been renamed to '{new_name}'.\n"

    result = invoke("experiments", "delete", "--experiment-id", experiment_id)
    assert result.exit_code == 0, result.output
    assert theirs.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert result.stdout == f"Experiment with ID {experiment_id} has been deleted.\n"

    result = invoke("experiments", "restore", "-x", experiment_id)
    assert result.exit_code == 0, result.output
    assert theirs.get_experiment(experiment_id).lifecycle_stage == "active"
    assert result.stdout == f"Experiment with id {experiment_id} has been restored.\n"


def test_csv_has_mlflows_columns_and_values(invoke: Invoke, server_url: str, tmp_path: Path) -> None:
    theirs = mlflow.MlflowClient(tracking_uri=server_url)
    experiment_id = theirs.create_experiment(unique("csv"))
    for i in range(3):
        run_id = theirs.create_run(experiment_id, run_name=f"r{i}").info.run_id
        theirs.log_metric(run_id, "loss", 1 / (i + 1), step=i)
        theirs.log_param(run_id, "lr", str(0.1 * i))
        if i:
            theirs.set_tag(run_id, "team", "a,b")  # a comma: quoted in the CSV
            theirs.log_metric(run_id, "acc", float("nan") if i == 2 else 0.5)
            theirs.set_terminated(run_id)
    deleted = theirs.create_run(experiment_id).info.run_id
    theirs.delete_run(deleted)

    ours_file, mlflow_file = tmp_path / "ours.csv", tmp_path / "mlflow.csv"
    result = invoke("experiments", "csv", "-x", experiment_id, "-o", str(ours_file))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Experiment with ID {experiment_id} has been exported as a CSV to file: {ours_file}.\n"
    run_mlflow(["experiments", "csv", "-x", experiment_id, "-o", str(mlflow_file)], server_url)
    ours, expected = pandas.read_csv(ours_file), pandas.read_csv(mlflow_file)
    # Within a group MLflow orders new keys by set iteration, which differs between processes (hash seed).
    assert list(ours.columns[:6]) == list(expected.columns[:6])
    assert sorted(ours.columns) == sorted(expected.columns)
    assert len(ours) == 3 and deleted not in set(ours["run_id"])
    pandas.testing.assert_frame_equal(ours[sorted(ours.columns)], expected[sorted(expected.columns)])

    printed = invoke("experiments", "csv", "-x", experiment_id)
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == ours_file.read_text() + "\n"  # click.echo adds a newline, as in MLflow
