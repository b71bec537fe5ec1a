"""``mlflow-client sync`` vs mlflow-export-import (export + import), copying one local store to a server.

Run with ``make bench`` or ``python -m bench.sync [--runs 100] [--points 10000]``. The source is a local
``mlruns`` folder (MLflow's file-store layout, written by our client): ``--runs`` runs of ``--points``
metric points each (two keys), 5 params, 3 tags and one small artifact. Each case copies it into a fresh
destination, run as its own process, timed from spawn to exit:

- ours: ``python -m mlflow_client sync SRC URL``;
- theirs: ``export-experiment`` from the folder, then ``import-experiment`` into the server, from
  mlflow-export-import 1.2.0 in its own venv (``build/bench-exim``, made on first use; it pulls in the full
  ``mlflow``, pinned to 2.22.2: see ``EXIM_PINS``).

Destinations: the stub (``python -m server_stub``, in-memory) and a real ``mlflow server`` (SQLite, one
worker). Each destination is warmed up first (every kind of request once, untimed), and each case then
checks that it holds every run and point. Ratios are theirs/ours
(>1: we are faster). Target (issue #15): >= 5x faster than export + import.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.stub_server import Server, start_mlflow, start_stub

ROOT = Path(__file__).resolve().parents[1]
EXIM_VENV = ROOT / "build" / "bench-exim"
# tabulate: 1.2.0 imports it without declaring it. mlflow 2.22.2: with MLflow 3 the import lists a run's
# artifacts through logged-models/search, which the stub does not serve yet (issue #17).
EXIM_PINS = ["mlflow-export-import==1.2.0", "tabulate==0.9.0", "mlflow==2.22.2"]
EXPERIMENT = "bench-sync"
T0 = 1_700_000_000_000
EXPORT_S: list[float] = []  # the export part of each "theirs" case


def _exim() -> Path:
    """The venv with mlflow-export-import, made once."""
    bin_dir = EXIM_VENV / "bin"
    if not (bin_dir / "import-experiment").exists():
        subprocess.run([sys.executable, "-m", "venv", str(EXIM_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *EXIM_PINS], check=True)
    return bin_dir


def write_source(folder: str, runs: int, points: int) -> None:
    from mlflow_client import MlflowClient
    from mlflow_client.entities import Metric, Param, RunTag

    client = MlflowClient(folder)
    exp = client.create_experiment(EXPERIMENT)
    per_key = points // 2
    for i in range(runs):
        run = client.create_run(exp, start_time=T0 + i, run_name=f"run-{i}", tags={"mlflow.user": "bench"})
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            params=[Param(f"p{j}", str(j * i)) for j in range(5)],
            tags=[RunTag(f"t{j}", f"v{j}") for j in range(3)],
        )
        for key in ("loss", "acc"):
            series = [Metric(key, 1.0 / (s + 1), T0 + s, s) for s in range(per_key)]
            client.log_batch(run_id, metrics=series)  # split into requests of 1000 by the client
        client.log_text(run_id, f"run {i}\n" * 100, "notes/summary.txt")
        client.set_terminated(run_id, "FINISHED", T0 + 10_000_000)


def _timed(cmds: list[list[str]], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def ours(src: str, url: str, workdir: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": ""}
    return _timed([[sys.executable, "-m", "mlflow_client", "sync", src, url]], env, workdir)


def theirs(src: str, url: str, workdir: str) -> float:
    bin_dir = _exim()
    out = tempfile.mkdtemp(prefix="exim-", dir=workdir)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    base["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 reads a file store only when told to
    export = [str(bin_dir / "export-experiment"), "--experiment", EXPERIMENT, "--output-dir", out]
    imp = [
        str(bin_dir / "import-experiment"),
        *("--experiment-name", EXPERIMENT, "--input-dir", out, "--use-src-user-id", "true"),
    ]
    EXPORT_S.append(_timed([export], {**base, "MLFLOW_TRACKING_URI": Path(src).as_uri()}, workdir))
    return EXPORT_S[-1] + _timed([imp], {**base, "MLFLOW_TRACKING_URI": url}, workdir)


def warm_up(url: str) -> None:
    """Every kind of request once, untimed: a fresh ``mlflow server`` imports and compiles lazily, and its
    first requests take up to a second each."""
    from mlflow_client import MlflowClient
    from mlflow_client.entities import Metric

    client = MlflowClient(url)
    run = client.create_run(client.create_experiment("warm-up"), run_name="warm-up")
    client.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, T0 + s, s) for s in range(1000)])
    client.log_text(run.info.run_id, "x", "x.txt")
    client.set_tag(run.info.run_id, "t", "v")
    client.search_runs([run.info.experiment_id], "tags.t = 'v'")
    client.get_metric_history(run.info.run_id, "m")
    client.set_terminated(run.info.run_id)


def check(url: str, runs: int, points: int) -> None:
    """Every run and point arrived (whoever copied them)."""
    from mlflow_client import MlflowClient

    client = MlflowClient(url)
    exp = client.get_experiment_by_name(EXPERIMENT)
    assert exp is not None, "no experiment"
    copied = list(client.iter_runs([exp.experiment_id]))
    assert len(copied) == runs, f"{len(copied)} runs of {runs}"
    sample = copied[len(copied) // 2].info.run_id
    total = sum(len(client.get_metric_history(sample, key)) for key in ("loss", "acc"))
    assert total == points // 2 * 2, f"{total} points of {points}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=10_000, help="metric points per run")
    parser.add_argument("--no-mlflow", action="store_true", help="only the stub")
    args = parser.parse_args()
    # As tests/real_server.py starts it: MLflow 3's job runner (GenAI jobs, unused) would compete for the CPUs.
    os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    _exim()
    workdir = tempfile.mkdtemp(prefix="bench-sync-")
    rows: list[tuple[str, float, float, float]] = []
    try:
        src = os.path.join(workdir, "mlruns")
        write_source(src, args.runs, args.points)
        starters = [("stub", start_stub)] + ([] if args.no_mlflow else [("mlflow server", start_mlflow)])
        with httpx.Client(timeout=2.0, trust_env=False) as poller:
            for label, start in starters:
                times = []
                for copier in (ours, theirs):
                    with contextlib.ExitStack() as stack:
                        server: Server = start(Path(workdir), poller, stack)
                        warm_up(server.url)
                        times.append(copier(src, server.url, workdir))
                        check(server.url, args.runs, args.points)
                rows.append((f"{args.runs} runs x {args.points} points -> {label}", times[0], times[1], EXPORT_S[-1]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; sync vs mlflow-export-import 1.2.0 (seconds)")
    print(f"{'case':<48}{'ours':>10}{'exim':>10}{'exim/ours':>11}   (exim's export alone, import alone)")
    for name, a, b, export in rows:
        print(f"{name:<48}{a:>10.1f}{b:>10.1f}{b / a:>10.1f}x   ({export:.1f} s, {b - export:.1f} s)")


if __name__ == "__main__":
    main()
