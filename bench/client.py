"""Our MlflowClient vs the official one (mlflow-skinny's MlflowClient) against the same stub server.

Run with ``make bench`` or ``python -m bench.client``. Each case runs both clients in this one process
(the stub in a subprocess, so its CPU does not count against the client), prints both times and the
ratio theirs/ours (>1 means we are faster). Targets from the issue: import <= 50 ms over bare Python,
log_metric <= 0.6x MLflow's latency and <= 1.15x a raw httpx POST loop, metric history of 100k points
>= 20x faster end to end.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOG_METRIC_CALLS = 300
HISTORY_POINTS = 100_000
SEARCH_RUNS = 1000


@contextmanager
def stub_process() -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timed(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def import_ms(module: str, runs: int = 11) -> float:
    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = statistics.median(once("pass") for _ in range(runs))
    return (statistics.median(once(f"import {module}") for _ in range(runs)) - base) * 1000


def _history_rows(ours: Any, theirs: Any, raw: Any, run_id: str) -> list[tuple[str, float, float]]:
    """End to end, then where the time goes: the server's answer (shared by both clients) and each client's
    own work on the same bytes (parse + entities, the way its RestStore does it)."""
    rows = [
        (
            f"get_metric_history {HISTORY_POINTS:,} points (ms)",
            timed(lambda: ours.get_metric_history(run_id, "h")) * 1000,
            timed(lambda: theirs.get_metric_history(run_id, "h")) * 1000,
        )
    ]
    params = {"run_id": run_id, "metric_key": "h"}
    answer = raw.get("/api/2.0/mlflow/metrics/get-history", params=params).content
    t_answer = timed(lambda: raw.get("/api/2.0/mlflow/metrics/get-history", params=params).content)
    print(f"get_metric_history: the server's answer alone ({len(answer) / 1e6:.1f} MB): {t_answer * 1000:.1f} ms")
    rows.append(
        (
            "  client side only: parse + entities (ms)",
            timed(lambda: _our_history(answer)) * 1000,
            timed(lambda: _their_history(answer)) * 1000,
        )
    )
    return rows


def _our_history(answer: bytes) -> list[Any]:
    from mlflow_client._generated._runtime import decode
    from mlflow_client.entities._run_data import HistoryPage

    return decode(answer, HistoryPage).metrics


def _their_history(answer: bytes) -> list[Any]:
    import json

    from mlflow.entities import Metric
    from mlflow.protos.service_pb2 import GetMetricHistory
    from mlflow.utils.proto_json_utils import parse_dict

    message = GetMetricHistory.Response()
    parse_dict(json.loads(answer), message)  # type: ignore[no-untyped-call]
    return [Metric.from_proto(metric) for metric in message.metrics]


def main() -> None:
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    import httpx
    from mlflow import MlflowClient as Theirs
    from mlflow.entities import Metric as TheirMetric
    from mlflow_client import MlflowClient as Ours
    from mlflow_client.entities import Metric as OurMetric

    rows: list[tuple[str, float, float]] = []
    with stub_process() as url:
        ours, theirs = Ours(url), Theirs(tracking_uri=url)
        exp_id = ours.create_experiment("bench")
        our_run = ours.create_run(exp_id).info.run_id
        their_run = theirs.create_run(exp_id).info.run_id

        def our_log() -> None:
            for i in range(LOG_METRIC_CALLS):
                ours.log_metric(our_run, "m", float(i), step=i)

        def their_log() -> None:
            for i in range(LOG_METRIC_CALLS):
                theirs.log_metric(their_run, "m", float(i), step=i)

        raw = httpx.Client(base_url=url)
        raw_run = ours.create_run(exp_id).info.run_id

        def raw_log() -> None:
            for i in range(LOG_METRIC_CALLS):
                body = {"run_id": raw_run, "key": "m", "value": float(i), "timestamp": 1, "step": i}
                raw.post("/api/2.0/mlflow/runs/log-metric", json=body).raise_for_status()

        t_ours, t_theirs, t_raw = timed(our_log), timed(their_log), timed(raw_log)
        rows.append(
            (
                f"log_metric x{LOG_METRIC_CALLS} (per call, ms)",
                t_ours / LOG_METRIC_CALLS * 1000,
                t_theirs / LOG_METRIC_CALLS * 1000,
            )
        )

        ts = int(time.time() * 1000)
        our_batch = [OurMetric("b", float(i), ts, i) for i in range(1000)]
        their_batch = [TheirMetric("b", float(i), ts, i) for i in range(1000)]
        rows.append(
            (
                "log_batch 1000 metrics (ms)",
                timed(lambda: ours.log_batch(our_run, metrics=our_batch)) * 1000,
                timed(lambda: theirs.log_batch(their_run, metrics=their_batch)) * 1000,
            )
        )

        hist_run = ours.create_run(exp_id).info.run_id
        for start in range(0, HISTORY_POINTS, 1000):
            ours.log_batch(hist_run, metrics=[OurMetric("h", float(i), ts + i, i) for i in range(start, start + 1000)])
        assert len(ours.get_metric_history(hist_run, "h")) == HISTORY_POINTS
        assert len(theirs.get_metric_history(hist_run, "h")) == HISTORY_POINTS
        rows += _history_rows(ours, theirs, raw, hist_run)

        search_exp = ours.create_experiment("bench-search")
        for _ in range(SEARCH_RUNS):
            ours.create_run(search_exp)
        assert len(ours.search_runs([search_exp], max_results=SEARCH_RUNS)) == SEARCH_RUNS
        rows.append(
            (
                f"search_runs returning {SEARCH_RUNS} runs (ms)",
                timed(lambda: ours.search_runs([search_exp], max_results=SEARCH_RUNS)) * 1000,
                timed(lambda: theirs.search_runs([search_exp], max_results=SEARCH_RUNS)) * 1000,
            )
        )
        ours.close()
        raw.close()

    imp_ours, imp_theirs = import_ms("mlflow_client"), import_ms("mlflow")
    rows.insert(0, ("import (ms over bare python)", imp_ours, imp_theirs))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; stub server in a subprocess")
    print(f"{'case':<44}{'ours':>11}{'mlflow':>11}{'mlflow/ours':>13}")
    for name, a, b in rows:
        print(f"{name:<44}{a:>11.2f}{b:>11.2f}{b / a:>12.1f}x")
    per_call_ours = t_ours / LOG_METRIC_CALLS * 1000
    print(
        f"log_metric vs raw httpx POST loop: {per_call_ours:.3f} ms vs {t_raw / LOG_METRIC_CALLS * 1000:.3f} ms "
        f"= {t_ours / t_raw:.2f}x (target <= 1.15x); vs mlflow: {t_ours / t_theirs:.2f}x (target <= 0.6x)"
    )
    print("targets: import <= 50 ms; get_metric_history >= 20x")


if __name__ == "__main__":
    main()
