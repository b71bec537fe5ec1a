"""``mlflow-client``, also ``python -m mlflow_client``: the command line (click, imported only here).

One module per command group; each group is mounted on ``cli`` below. Errors print one line and exit
non-zero (``--debug`` shows the traceback); ``--json`` gives scripts what a terminal gets as a table.
"""

from __future__ import annotations

import click

from .. import __version__
from ._common import ClientGroup
from .artifacts import artifacts
from .experiments import experiments
from .runs import runs
from .spool import spool
from .sync import sync_command
from .ui import ui

__all__ = ["cli", "main"]


@click.group(cls=ClientGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlflow-client")
@click.option("--debug", is_flag=True, help="On an error, print the traceback instead of one line.")
def cli(debug: bool) -> None:
    """mlflow-client: a light client of MLflow tracking servers.

    The tracking URI, credentials and TLS settings come from the usual MLFLOW_* variables
    (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN, ...).

    \b
    Examples:
      mlflow-client experiments search
      mlflow-client runs describe --run-id 0f4e...
      mlflow-client artifacts download -u runs:/0f4e.../model -d ./model
      mlflow-client --debug runs list --experiment-id 3
      mlflow-client sync ./mlruns http://tracking:5000
      mlflow-client spool status
      mlflow-client spool flush --timeout 120
      mlflow-client ui --backend-store-uri ./mlruns
    """


cli.add_command(artifacts)
cli.add_command(experiments)
cli.add_command(runs)
cli.add_command(spool)
cli.add_command(sync_command)
cli.add_command(ui)


def main() -> None:
    cli(prog_name="mlflow-client")
