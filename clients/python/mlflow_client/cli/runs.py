"""``mlflow-client runs``: MLflow's ``mlflow runs`` list, describe, delete and restore.

``describe`` prints what ``mlflow runs describe`` prints for the same run, byte for byte: the run's
dictionary (``Run.to_dictionary()``, which follows MLflow's key order) as JSON with four-space indents,
NaN and infinities as Python's ``json`` writes them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from ._common import VIEW_OPTION, client, view_type
from ._output import JSON_OPTION, echo_json, table

if TYPE_CHECKING:
    from ..entities import Run

__all__ = ["describe_json", "runs"]

RUN_ID = click.option("--run-id", required=True, help="ID of the run.")


@click.group("runs")
def runs() -> None:
    """List, describe, delete and restore runs.

    \b
    Examples:
      mlflow-client runs list --experiment-id 3
      mlflow-client runs list --experiment-id 3 --view all --json
      mlflow-client runs describe --run-id 0f4e...
      mlflow-client runs delete --run-id 0f4e...
      mlflow-client runs restore --run-id 0f4e...
    """


@runs.command("list")
@click.option("--experiment-id", help="ID of the experiment whose runs to list (default: MLFLOW_EXPERIMENT_ID).")
@VIEW_OPTION
@JSON_OPTION
def list_command(experiment_id: str | None, view: str, as_json: bool) -> None:
    """List the runs of an experiment, newest first: start date, name and ID.

    \b
    Examples:
      mlflow-client runs list --experiment-id 3
      mlflow-client runs list --experiment-id 3 --view deleted_only
      mlflow-client runs list --experiment-id 3 --json | jq -r '.[].run_id'
    """
    if experiment_id is None:
        from .._settings import Settings

        # MLflow's option reads the variable too; here it comes through the settings, as everywhere else.
        experiment_id = Settings.from_env().experiment_id
        if experiment_id is None:
            raise click.UsageError("Missing option '--experiment-id' (or MLFLOW_EXPERIMENT_ID)")
    with client() as c:
        found = list(c.iter_runs([experiment_id], run_view_type=view_type(view)))
    found.sort(key=lambda r: (r.info.start_time, r.info.run_name or "", r.info.run_id), reverse=True)
    if as_json:
        echo_json([dict(r.info) for r in found])
        return
    rows = [(_local_time(r.info.start_time), r.info.run_name or "", r.info.run_id) for r in found]
    click.echo(table(["Date", "Name", "ID"], rows))


@runs.command("describe")
@RUN_ID
def describe_command(run_id: str) -> None:
    """Print everything about a run as JSON: info, params, metrics, tags, inputs and outputs.

    The output is the same as `mlflow runs describe` prints.

    \b
    Examples:
      mlflow-client runs describe --run-id 0f4e...
      mlflow-client runs describe --run-id 0f4e... | jq .data.metrics
    """
    with client() as c:
        run = c.get_run(run_id)
    click.echo(describe_json(run))


@runs.command("delete")
@RUN_ID
def delete_command(run_id: str) -> None:
    """Mark a run deleted; `restore` brings it back until the server purges it.

    \b
    Examples:
      mlflow-client runs delete --run-id 0f4e...
    """
    with client() as c:
        c.delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been deleted.")


@runs.command("restore")
@RUN_ID
def restore_command(run_id: str) -> None:
    """Restore a deleted run.

    \b
    Examples:
      mlflow-client runs restore --run-id 0f4e...
    """
    with client() as c:
        c.restore_run(run_id)
    click.echo(f"Run with id {run_id} has been restored.")


def describe_json(run: Run) -> str:
    """The text ``mlflow runs describe`` prints for ``run`` (without the final newline)."""
    return json.dumps(run.to_dictionary(), indent=4, default=_model_input)


def _model_input(value: Any) -> Any:
    # MLflow leaves logged-model inputs as objects in the dictionary, which its `json.dumps` cannot
    # write (it fails on such runs); we write them as their model ID.
    from ..entities._run import LoggedModelInput

    if isinstance(value, LoggedModelInput):
        return {"model_id": value.model_id}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _local_time(ms: int) -> str:
    # As MLflow shows it: local time to the second, then the zone's name.
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname() or ''}".rstrip()
