"""Start-up cost: importing the client, and a fresh process that logs one metric, ours vs mlflow-skinny's.

Run with ``make bench`` or ``python -m bench.startup [--runs N]``. Every figure is net of a bare Python
start-up (``python -c pass``) and a median over fresh processes, so that it is what a short script (a cron
job, a CI step, a hyperparameter-sweep worker) pays before doing anything. Printed, with ratios theirs/ours:

1. import time of ``from mlflow_client import MlflowClient``, ``import mlflow_client`` and ``from mlflow import
   MlflowClient``; target (issue #16): mlflow's >= 35x ours;
2. cold start: a process that creates a client for a real ``mlflow server`` and logs one metric to an existing
   run, synchronously, for both clients, and a bare ``http.client`` + ``json`` POST as the floor; target >= 8x.
   Every value is read back from the server afterwards, so a process that exited before its metric was
   delivered would fail the bench rather than flatter it.

Python writes bytecode caches here (a bench process drops ``PYTHONDONTWRITEBYTECODE``) and one warm-up run
precedes each case: an installed package is compiled once, so compiling our sources on every run would
measure the checkout rather than the client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from bench.client import import_ms

# Each cold-start script gets the server URL, a run ID and a step (so that every process logs its own point).
OURS = """\
import sys
import mlflow_client
mlflow_client.MlflowClient(sys.argv[1]).log_metric(sys.argv[2], "m", 1.0, step=int(sys.argv[3]), synchronous=True)
"""
THEIRS = """\
import sys
import mlflow
mlflow.MlflowClient(sys.argv[1]).log_metric(sys.argv[2], "m", 1.0, step=int(sys.argv[3]), synchronous=True)
"""
FLOOR = """\
import http.client, json, sys, time, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
body = {"run_id": sys.argv[2], "key": "m", "value": 1.0, "timestamp": int(time.time() * 1000), "step": int(sys.argv[3])}
conn = http.client.HTTPConnection(url.hostname, url.port)
conn.request("POST", "/api/2.0/mlflow/runs/log-metric", json.dumps(body), {"Content-Type": "application/json"})
answer = conn.getresponse()
assert answer.status == 200, answer.read()
"""

IMPORT_TARGET = 35.0
COLD_START_TARGET = 8.0


def _cold_env() -> dict[str, str]:
    """The inherited environment without anything that would make either client log asynchronously."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {**env, "PYTHONPATH": os.getcwd()}


def cold_start_ms(code: str, url: str, run_id: str, runs: int, base_s: float, steps: list[int]) -> float:
    """Median wall time of ``runs`` fresh processes running ``code``, net of ``base_s``; one warm-up first.
    Appends the step each process logged to ``steps``, to be checked against the server."""
    env = _cold_env()

    def once() -> float:
        step = len(steps)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, url, run_id, str(step)], check=True, env=env)
        elapsed = time.perf_counter() - start
        steps.append(step)
        return elapsed

    once()
    return (statistics.median(once() for _ in range(runs)) - base_s) * 1000


def _bare_s(runs: int) -> tuple[float, float]:
    """Median and interquartile range of ``python -c pass``: the noise any net figure here carries."""

    def once() -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=_cold_env())
        return time.perf_counter() - start

    times = [once() for _ in range(max(runs, 4))]
    quartiles = statistics.quantiles(times, n=4)
    return statistics.median(times), quartiles[2] - quartiles[0]


def _imports(runs: int) -> list[tuple[str, float]]:
    for module in ("mlflow_client.client", "mlflow"):  # warm-up: bytecode caches, the OS's file cache
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    # `import mlflow_client.client` is what `from mlflow_client import MlflowClient` loads (PEP 562), and
    # `import mlflow` already loads mlflow's MlflowClient.
    return [
        ("from mlflow_client import MlflowClient", import_ms("mlflow_client.client", runs)),
        ("import mlflow_client", import_ms("mlflow_client", runs)),
        ("from mlflow import MlflowClient", import_ms("mlflow", runs)),
    ]


def _cold_starts(runs: int) -> tuple[float, float, float, tuple[float, float]]:
    from mlflow_client import MlflowClient

    from tests.real_server import real_mlflow_server

    with real_mlflow_server() as url, MlflowClient(url) as client:
        experiment_id = client.create_experiment("bench-startup")
        run_ids = [client.create_run(experiment_id).info.run_id for _ in range(3)]
        bare = _bare_s(2 * runs)
        results = []
        for code, run_id in zip((OURS, THEIRS, FLOOR), run_ids, strict=True):
            steps: list[int] = []
            results.append(cold_start_ms(code, url, run_id, runs, bare[0], steps))
            logged = sorted(m.step for m in client.get_metric_history(run_id, "m"))
            assert logged == steps, f"run {run_id}: the server has steps {logged}, the processes logged {steps}"
    return results[0], results[1], results[2], bare


def _ratio_line(name: str, ours: float, theirs: float, target: float) -> str:
    ratio = theirs / ours if ours > 0 else float("inf")
    verdict = "ok" if ratio >= target else "MISSED"
    return f"{name}: mlflow/ours = {ratio:.1f}x (target >= {target:.0f}x: {verdict})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start-up cost, ours vs mlflow-skinny's.")
    parser.add_argument("--runs", type=int, default=11, help="processes per import case (cold start: 7)")
    args = parser.parse_args(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    cold_runs = max(3, args.runs * 7 // 11)

    imports = _imports(args.runs)
    ours_cold, theirs_cold, floor_cold, (bare_s, bare_iqr_s) = _cold_starts(cold_runs)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; ms net of `python -c pass`, medians")
    print(f"bare python start-up: {bare_s * 1000:.1f} ms (interquartile range {bare_iqr_s * 1000:.1f} ms: the noise)")
    print(f"import ({args.runs} processes each)")
    for name, ms in imports:
        print(f"  {name:<44}{ms:>9.1f} ms")
    ours_import, theirs_import = imports[0][1], imports[2][1]
    print("  " + _ratio_line("from ... import MlflowClient", ours_import, theirs_import, IMPORT_TARGET))
    print(f"cold start: a fresh process creates a client and logs one metric, synchronously ({cold_runs} each)")
    rows = [
        ("mlflow_client.MlflowClient(uri).log_metric", ours_cold),
        ("mlflow.MlflowClient(uri).log_metric", theirs_cold),
        ("http.client + json POST (floor)", floor_cold),
    ]
    for name, ms in rows:
        print(f"  {name:<44}{ms:>9.1f} ms")
    print("  " + _ratio_line("cold start", ours_cold, theirs_cold, COLD_START_TARGET))
    print(f"  ours over the floor: {ours_cold - floor_cold:.1f} ms")


if __name__ == "__main__":
    main()
