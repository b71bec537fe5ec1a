"""``mlflow-client experiments``: MLflow's ``mlflow experiments`` commands, same names, options and output.

Each command is one function on the ``experiments`` group below, using ``EXPERIMENT_ID`` and ``client()``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import click

from ._common import VIEW_OPTION, client, view_type
from ._output import JSON_OPTION, echo_json, table

__all__ = ["EXPERIMENT_ID", "experiments"]

#: ``-x/--experiment-id``, as MLflow spells it.
EXPERIMENT_ID = click.option("--experiment-id", "-x", required=True, help="ID of the experiment.")


@click.group("experiments")
def experiments() -> None:
    """Create, list, rename, delete and restore experiments.

    \b
    Examples:
      mlflow-client experiments create -n churn -l s3://bucket/churn
      mlflow-client experiments search --view all
      mlflow-client experiments search --json
      mlflow-client experiments rename -x 3 --new-name churn-v2
      mlflow-client experiments delete -x 3
      mlflow-client experiments restore -x 3
      mlflow-client experiments csv -x 3 -o runs.csv
    """


@experiments.command("create")
@click.option("--experiment-name", "-n", required=True, help="Name of the new experiment.")
@click.option(
    "--artifact-location",
    "-l",
    help="Where its runs store artifacts (a run's go under <location>/<run id>/artifacts); "
    "unset, the tracking server picks one.",
)
def create_command(experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment and print its ID.

    \b
    Examples:
      mlflow-client experiments create -n churn
      mlflow-client experiments create --experiment-name churn --artifact-location s3://bucket/churn
    """
    with client() as c:
        experiment_id = c.create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


@experiments.command("search")
@VIEW_OPTION
@click.option("--max-results", type=click.IntRange(min=0), help="List at most this many (default: all).")
@JSON_OPTION
def search_command(view: str, max_results: int | None, as_json: bool) -> None:
    """List experiments: ID, name and artifact location, sorted by ID.

    \b
    Examples:
      mlflow-client experiments search
      mlflow-client experiments search --view deleted_only
      mlflow-client experiments search --json | jq '.[].name'
    """
    import itertools

    with client() as c:
        found = list(itertools.islice(c.iter_experiments(view_type(view)), max_results))
    found.sort(key=lambda e: _id_order(e.experiment_id))
    if as_json:
        echo_json([dict(e) for e in found])
        return
    rows = [(e.experiment_id, e.name, _shown_location(e.artifact_location)) for e in found]
    click.echo(table(["Experiment Id", "Name", "Artifact Location"], rows))


@experiments.command("rename")
@EXPERIMENT_ID
@click.option("--new-name", required=True, help="The experiment's new name.")
def rename_command(experiment_id: str, new_name: str) -> None:
    """Rename an experiment.

    \b
    Examples:
      mlflow-client experiments rename -x 3 --new-name churn-v2
    """
    with client() as c:
        c.rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with id {experiment_id} has been renamed to '{new_name}'.")


@experiments.command("delete")
@EXPERIMENT_ID
def delete_command(experiment_id: str) -> None:
    """Mark an experiment deleted (with its runs); `restore` brings it back until the server purges it.

    \b
    Examples:
      mlflow-client experiments delete -x 3
    """
    with client() as c:
        c.delete_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been deleted.")


@experiments.command("restore")
@EXPERIMENT_ID
def restore_command(experiment_id: str) -> None:
    """Restore a deleted experiment.

    \b
    Examples:
      mlflow-client experiments restore -x 3
    """
    with client() as c:
        c.restore_experiment(experiment_id)
    click.echo(f"Experiment with id {experiment_id} has been restored.")


@experiments.command("csv")
@EXPERIMENT_ID
@click.option("--filename", "-o", help="Write the CSV to this file (unset: print it).")
def csv_command(experiment_id: str, filename: str | None) -> None:
    """Every active run of an experiment as CSV: the columns of `mlflow_client.search_runs` (needs pandas).

    \b
    Examples:
      mlflow-client experiments csv -x 3
      mlflow-client experiments csv --experiment-id 3 --filename runs.csv
    """
    from .._runs_frame import SEARCH_MAX_RESULTS_PANDAS, search_runs

    with client() as c:
        frame = search_runs(
            c,
            default_experiment_id=lambda: experiment_id,
            experiment_ids=[experiment_id],
            filter_string="",
            run_view_type="ACTIVE_ONLY",
            max_results=SEARCH_MAX_RESULTS_PANDAS,
            order_by=None,
            output_format="pandas",
            search_all_experiments=False,
            experiment_names=None,
        )
    if filename:
        frame.to_csv(filename, index=False)
        click.echo(f"Experiment with ID {experiment_id} has been exported as a CSV to file: {filename}.")
    else:
        click.echo(frame.to_csv(index=False))


def _id_order(experiment_id: str) -> tuple[int, int | str]:
    # Numeric IDs in numeric order (2 before 10), any others after them as text.
    return (0, int(experiment_id)) if experiment_id.isdigit() else (1, experiment_id)


def _shown_location(location: str) -> str:
    # A plain path is shown absolute, as MLflow shows it; URIs as they are.
    return location if not location or urlsplit(location).scheme else os.path.abspath(location)
