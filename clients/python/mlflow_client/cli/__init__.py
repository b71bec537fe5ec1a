"""``mlflow-client``, also ``python -m mlflow_client``: the command line (click, imported only here).

One module per command group; each group is mounted on ``cli`` below. Errors print one line and exit
non-zero; ``--json`` gives scripts what a terminal gets as text.
"""

from __future__ import annotations

import click

from .. import __version__
from .spool import spool
from .sync import sync_command

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlflow-client")
def cli() -> None:
    """mlflow-client: a light client of MLflow tracking servers.

    \b
    Examples:
      mlflow-client sync ./mlruns http://tracking:5000
      mlflow-client spool status
      mlflow-client spool flush --timeout 120
    """


cli.add_command(spool)
cli.add_command(sync_command)


def main() -> None:
    cli(prog_name="mlflow-client")
