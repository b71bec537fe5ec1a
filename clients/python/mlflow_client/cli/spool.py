"""``mlflow-client spool``: what asynchronous logging keeps on disk, and sending it now.

``status`` lists what is pending per server and run; ``flush`` sends everything pending for every
server the spool holds, with credentials and TLS settings from the usual ``MLFLOW_TRACKING_*``
variables (the spool never holds any).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["spool"]


def _settings() -> Settings:
    from .._settings import Settings

    return Settings.from_env()


@click.group()
def spool() -> None:
    """The spool of asynchronous logging (MLFLOW_CLIENT_SPOOL_DIR).

    \b
    Examples:
      mlflow-client spool status --json
      mlflow-client spool flush --timeout 300
    """


@spool.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status_command(as_json: bool) -> None:
    """List what is pending, per server and run, and the runs recorded offline (local id -> server id).

    \b
    Examples:
      mlflow-client spool status
      mlflow-client spool status --json
    """
    from .._delivery.spool import status
    from .._offline import offline_stores

    folder = _settings().spool_folder
    servers = status(folder)
    stores = [s for s in offline_stores(folder) if s.runs()]
    if as_json:
        body = {
            "spool": folder,
            "servers": [s.as_json() for s in servers],
            "offline": [s.as_json() for s in stores],
        }
        click.echo(json.dumps(body, indent=2))
        return
    if not servers and not stores:
        click.echo(f"Nothing pending in {folder}")
        return
    for store in stores:
        runs = store.runs()
        uploaded = sum(1 for r in runs if r.server_run_id)
        click.echo(f"{store.url}: {len(runs)} runs recorded offline, {uploaded} uploaded  ({store.mlruns})")
        for run in runs:
            where = f"-> {run.server_run_id}" if run.server_run_id else "not uploaded yet"
            click.echo(f"  run {run.run_id} {where}  ({run.experiment}/{run.run_name}, {run.status})")
    for server in servers:
        click.echo(f"{server.url}: {server.pending} operations pending  ({server.folder})")
        for run_id, count in server.runs().most_common():
            click.echo(f"  run {run_id}: {count}")
        for journal in server.journals:
            who = f"pid {journal.pid} on {journal.host}" if journal.pid is not None else "unknown process"
            state = "running, sends them itself" if journal.alive else "ended; sent by the next client or `flush`"
            click.echo(f"  journal of {who}: {journal.pending} ({state})")
        if server.dead_letters:
            click.echo(f"  refused by the server for good: {server.dead_letters}, in {server.folder}/dead-letter.jsonl")


@spool.command("flush")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Give up after this many seconds in all; what is left stays spooled.",
)
def flush_command(timeout: float) -> None:
    """Send everything pending, for every server; exit 0 when nothing is left.

    \b
    Examples:
      mlflow-client spool flush
      mlflow-client spool flush --timeout 300
    """
    from .._delivery import delivery_for
    from .._delivery.spool import server_dirs, status
    from ..exceptions import AsyncLoggingError, MlflowException

    settings = _settings()
    folder = settings.spool_folder
    deadline = time.monotonic() + timeout
    problems: list[str] = []
    for _, url in server_dirs(folder):
        before = next((s for s in status(folder) if s.url == url), None)
        if before is None or before.pending == 0:
            continue
        delivery = delivery_for(url, settings.with_changes(tracking_uri=url))
        try:
            delivery.flush(max(0.0, deadline - time.monotonic()))
        except AsyncLoggingError as err:
            problems.append(f"{url}: {err.message}")
        except MlflowException as err:
            reason = delivery.sender.last_error or err.message
            problems.append(f"{url}: not everything could be sent: {reason}")
        after = next((s for s in status(folder) if s.url == url), None)
        left = after.pending if after is not None else 0
        click.echo(f"{url}: sent {max(0, before.pending - left)} operations, {left} left")
        if after is not None:
            for journal in after.journals:
                if journal.alive and journal.pending:
                    problems.append(
                        f"{url}: {journal.pending} operations belong to the running process {journal.pid} on "
                        f"{journal.host}, which sends them itself"
                    )
    from .._delivery import shutdown_all

    shutdown_all(0.0)  # the wait above was the flush; exit adds none
    if problems:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        raise SystemExit(1)
