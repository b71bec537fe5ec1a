"""``mlflow-client experiments``: each command's effect as MLflow's own client sees it."""

from __future__ import annotations

import json

import mlflow

from tests.cli.conftest import Invoke, unique


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
