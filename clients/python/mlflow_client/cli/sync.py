"""``mlflow-client sync SRC DST``: copy experiments and runs between two stores (``mlflow_client.sync``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .._offline import OfflineStore

__all__ = ["sync_command"]


@click.command("sync")
@click.argument("src", required=False)
@click.argument("dst", required=False)
@click.option("--experiment", "experiments", multiple=True, metavar="NAME", help="Only this experiment (repeatable).")
@click.option("--run-id", "run_ids", multiple=True, metavar="ID", help="Only this run (repeatable).")
@click.option("--dry-run", is_flag=True, help="Say what would be copied; copy nothing.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Runs copied at once.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Upload the runs recorded offline (MLFLOW_CLIENT_OFFLINE) to their servers; takes no SRC/DST.",
)
def sync_command(
    src: str | None,
    dst: str | None,
    experiments: tuple[str, ...],
    run_ids: tuple[str, ...],
    dry_run: bool,
    workers: int,
    offline: bool,
) -> None:
    """Copy experiments and runs from SRC to DST: tracking URIs (http(s):// servers, local folders, file: URIs).

    Running it again copies only what is new: each copy records its source run and whether it is complete.
    Each run copied prints its source and destination ids. Exit status 0 when every run was copied or
    already up to date, 1 otherwise.

    \b
    Examples:
      mlflow-client sync ./mlruns http://tracking:5000
      mlflow-client sync http://old:5000 http://new:5000 --experiment churn --dry-run
      mlflow-client sync http://tracking:5000 ./backup
      mlflow-client sync --offline
    """
    if offline:
        if src or dst:
            raise click.UsageError("--offline takes no SRC or DST: each offline store goes to its own server")
        jobs = _offline_jobs()
        if not jobs:
            click.echo("No offline runs to upload.")
            return
    elif not (src and dst):
        raise click.UsageError("SRC and DST are both needed (or --offline)")
    else:
        jobs = [(src, dst, None)]
    ok = True
    for job_src, job_dst, store in jobs:
        ok = _one(job_src, job_dst, experiments, run_ids, dry_run, workers, store) and ok
    if not ok:
        raise SystemExit(1)


def _offline_jobs() -> list[tuple[str, str, OfflineStore | None]]:
    """(offline mlruns, server URI, store) per offline store. The server URI is MLFLOW_TRACKING_URI when it
    names the same server (it may carry credentials, which the store never records), else the store's."""
    from .._delivery.spool import public_url
    from .._offline import offline_stores
    from .._settings import Settings

    settings = Settings.from_env()
    current = settings.tracking_uri or ""
    jobs: list[tuple[str, str, OfflineStore | None]] = []
    for store in offline_stores(settings.spool_folder):
        if not store.runs():
            continue
        uri = current if current.lower().startswith("http") and public_url(current) == store.url else store.url
        jobs.append((store.mlruns, uri, store))
    return jobs


def _one(
    src: str,
    dst: str,
    experiments: tuple[str, ...],
    run_ids: tuple[str, ...],
    dry_run: bool,
    workers: int,
    store: OfflineStore | None,
) -> bool:
    from ..sync import RunOutcome, SyncError, sync

    bar: Any = None
    lines: list[str] = []

    def progress(outcome: RunOutcome, done: int, total: int) -> None:
        nonlocal bar
        if outcome.action == "failed":
            click.echo(f"error: run {outcome.src_run_id} ({outcome.experiment}): {outcome.error}", err=True)
        elif outcome.action in ("copied", "updated"):
            lines.append(f"{outcome.action} run {outcome.src_run_id} -> {outcome.dst_run_id} ({outcome.experiment})")
        elif outcome.action == "would copy":
            lines.append(f"would copy run {outcome.src_run_id} ({outcome.experiment})")
        if not sys.stdout.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Syncing runs")
            bar.__enter__()
        bar.update(1)

    if store is not None:
        click.echo(f"Offline runs of {store.url} ({store.root}):")
    try:
        if store is not None and not dry_run:
            # Through the store, which records the mapping that `spool status` shows.
            report = store.upload(dst, experiments=experiments, run_ids=run_ids, on_run=progress, workers=workers)
            if report is None:
                click.echo(f"error: another process is uploading {store.root} right now", err=True)
                return False
        else:
            report = sync(
                src, dst, experiments=experiments, run_ids=run_ids, dry_run=dry_run, on_run=progress, workers=workers
            )
    except SyncError as err:
        click.echo(f"error: {err.message}", err=True)
        return False
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for line in lines:
        click.echo(line)
    click.echo(report.summary())
    return bool(report.ok)
