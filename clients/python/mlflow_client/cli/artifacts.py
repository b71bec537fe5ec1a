"""``mlflow-client artifacts``: MLflow's ``mlflow artifacts`` list, download, log-artifact and log-artifacts.

Transfers draw a progress bar on stderr when it is a terminal (the artifact layer's ``Progress``), and
nothing on a pipe.
"""

from __future__ import annotations

import json

import click

from ._common import client
from ._output import JSON_OPTION, table

__all__ = ["artifacts"]

RUN_ID = click.option("--run-id", "-r", required=True, help="ID of the run.")
ARTIFACT_PATH = click.option(
    "--artifact-path", "-a", help="A folder under the run's artifact root (default: the root itself)."
)


@click.group("artifacts")
def artifacts() -> None:
    """List, download and upload the artifacts of runs.

    \b
    Examples:
      mlflow-client artifacts list -r 0f4e... -a model
      mlflow-client artifacts download -r 0f4e... -a model -d ./model
      mlflow-client artifacts download -u models:/churn@champion -d ./model
      mlflow-client artifacts log-artifact -l report.html -r 0f4e... -a reports
      mlflow-client artifacts log-artifacts -l ./outputs -r 0f4e...
    """


@artifacts.command("list")
@RUN_ID
@ARTIFACT_PATH
@JSON_OPTION
def list_command(run_id: str, artifact_path: str | None, as_json: bool) -> None:
    """List the files and folders directly under the run's artifact root, or under --artifact-path.

    With --json, the list `mlflow artifacts list` prints.

    \b
    Examples:
      mlflow-client artifacts list -r 0f4e...
      mlflow-client artifacts list --run-id 0f4e... --artifact-path model --json
    """
    with client() as c:
        infos = c.list_artifacts(run_id, artifact_path or None)
    if as_json:
        entries = []
        for info in infos:
            entry: dict[str, object] = {"path": info.path, "is_dir": info.is_dir}
            if info.file_size is not None:
                entry["file_size"] = info.file_size
            entries.append(json.dumps(entry, indent=2))
        click.echo("[" + ", ".join(entries) + "]")
        return
    rows = [(i.path + ("/" if i.is_dir else ""), "" if i.is_dir else i.file_size) for i in infos]
    click.echo(table(["Path", "Size"], rows))


@artifacts.command("download")
@click.option("--run-id", "-r", help="ID of the run to download from.")
@click.option("--artifact-path", "-a", help="With --run-id: a file or folder under the run's artifact root.")
@click.option(
    "--artifact-uri",
    "-u",
    help="Instead of --run-id: runs:/<run id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, "
    "or a store's URI (mlflow-artifacts:/..., s3://..., a path).",
)
@click.option(
    "--dst-path",
    "-d",
    help="Folder to download into, created if missing (default: a new temporary folder).",
)
def download_command(
    run_id: str | None, artifact_path: str | None, artifact_uri: str | None, dst_path: str | None
) -> None:
    """Download an artifact file or folder and print its local path.

    Give --run-id (and --artifact-path) or --artifact-uri; with --artifact-uri, the other two are
    ignored, as in `mlflow artifacts download`.

    \b
    Examples:
      mlflow-client artifacts download -r 0f4e... -a model -d ./model
      mlflow-client artifacts download -u runs:/0f4e.../model
      mlflow-client artifacts download --artifact-uri models:/churn/3 --dst-path ./churn
    """
    from ..artifacts import download_artifacts

    if artifact_uri is None and run_id is None:
        raise click.UsageError("Either --artifact-uri or --run-id is needed")
    if artifact_uri is not None:
        local = download_artifacts(artifact_uri=artifact_uri, dst_path=dst_path)
    else:
        local = download_artifacts(run_id=run_id, artifact_path=artifact_path, dst_path=dst_path)
    click.echo(local)


@artifacts.command("log-artifact")
@click.option(
    "--local-file",
    "-l",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The local file to upload.",
)
@RUN_ID
@ARTIFACT_PATH
def log_artifact_command(local_file: str, run_id: str, artifact_path: str | None) -> None:
    """Upload a local file into the run's artifact root, or into --artifact-path under it.

    \b
    Examples:
      mlflow-client artifacts log-artifact -l report.html -r 0f4e...
      mlflow-client artifacts log-artifact --local-file model.pkl --run-id 0f4e... --artifact-path model
    """
    with client() as c:
        c.log_artifact(run_id, local_file, artifact_path)
    click.echo(f"Logged artifact from local file {local_file} to artifact_path={artifact_path}", err=True)


@artifacts.command("log-artifacts")
@click.option(
    "--local-dir",
    "-l",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The local folder whose files to upload (relative paths kept).",
)
@RUN_ID
@ARTIFACT_PATH
def log_artifacts_command(local_dir: str, run_id: str, artifact_path: str | None) -> None:
    """Upload the files under a local folder into the run's artifact root, or into --artifact-path.

    \b
    Examples:
      mlflow-client artifacts log-artifacts -l ./outputs -r 0f4e...
      mlflow-client artifacts log-artifacts --local-dir ./plots --run-id 0f4e... --artifact-path plots
    """
    with client() as c:
        c.log_artifacts(run_id, local_dir, artifact_path)
    click.echo(f"Logged artifact from local dir {local_dir} to artifact_path={artifact_path}", err=True)
