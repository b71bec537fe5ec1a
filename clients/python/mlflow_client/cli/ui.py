"""``mlflow-client ui``: the read-only tracking UI, like ``mlflow ui``, over any store the client reads."""

from __future__ import annotations

import click

__all__ = ["ui"]


@click.command("ui")
@click.option(
    "--backend-store-uri",
    metavar="URI",
    help="What to show: an mlruns folder or file: URI, or an http(s) tracking server "
    "(its auth and TLS from the MLFLOW_* variables). Default: MLFLOW_TRACKING_URI, else ./mlruns.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=5000, show_default=True, help="Port (0: any).")
def ui(backend_store_uri: str | None, host: str, port: int) -> None:
    """Serve a read-only UI: experiments, their runs (MLflow filter syntax), a run's data and metric charts.

    Runs until Ctrl-C.

    \b
    Examples:
      mlflow-client ui
      mlflow-client ui --backend-store-uri ./mlruns --port 5001
      mlflow-client ui --backend-store-uri http://tracking:5000
    """
    from ..ui import UIServer

    try:
        server = UIServer(backend_store_uri, host, port)
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    click.echo(f"mlflow-client UI at {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
