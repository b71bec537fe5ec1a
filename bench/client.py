"""Our MlflowClient vs the official one (mlflow-skinny's MlflowClient) against the same stub server.

Run with ``make bench`` or ``python -m bench.client``. Each case runs both clients in this one process
(the stub in a subprocess, so its CPU does not count against the client), prints both times and the
ratio theirs/ours (>1 means we are faster). Targets: import <= 50 ms over bare Python, log_metric
<= 0.6x MLflow's latency, metric history of 100k points >= 20x faster end to end, and (issue #16) the
client's CPU per small request <= 2x a bare ``http.client`` keep-alive loop posting the same JSON, the
floor of any Python client (CPU time of this process, so the stub's work does not count).
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
def stub_process(*args: str) -> Iterator[str]:
    """The stub in a subprocess (``args``: more of its command line, e.g. faults); yields its URL."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", *args], stdout=subprocess.PIPE, text=True, env=env
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


class RawHttp:
    """The floor: bare ``http.client`` on one keep-alive connection, JSON by hand, no retries, no entities."""

    def __init__(self, url: str) -> None:
        import http.client
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self._conn.request(method, path, body, headers)
        answer = self._conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{method} {path} -> {answer.status}: {data[:200]!r}")
        return data

    def close(self) -> None:
        self._conn.close()


def cpu_and_wall(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float]:
    """The best of ``repeat`` runs: (CPU seconds of this process, wall seconds)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


def _history_rows(ours: Any, theirs: Any, raw: RawHttp, run_id: str) -> list[tuple[str, float, float]]:
    """End to end, then where the time goes: the server's answer (shared by both clients) and each client's
    own work on the same bytes (parse + entities, the way its RestStore does it)."""
    rows = [
        (
            f"get_metric_history {HISTORY_POINTS:,} points (ms)",
            timed(lambda: ours.get_metric_history(run_id, "h")) * 1000,
            timed(lambda: theirs.get_metric_history(run_id, "h")) * 1000,
        )
    ]
    path = f"/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=h"
    answer = raw.request("GET", path)
    t_answer = timed(lambda: raw.request("GET", path))
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
    import json

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

        raw = RawHttp(url)
        raw_run = ours.create_run(exp_id).info.run_id

        def raw_log() -> None:
            for i in range(LOG_METRIC_CALLS):
                body = {"run_id": raw_run, "key": "m", "value": float(i), "timestamp": 1, "step": i}
                raw.request("POST", "/api/2.0/mlflow/runs/log-metric", json.dumps(body).encode())

        (cpu_ours, t_ours), (cpu_theirs, t_theirs), (cpu_raw, t_raw) = (
            cpu_and_wall(our_log),
            cpu_and_wall(their_log),
            cpu_and_wall(raw_log),
        )
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
    per_call = 1e6 / LOG_METRIC_CALLS  # seconds per run -> microseconds per call
    print(
        f"log_metric CPU per request: ours {cpu_ours * per_call:.0f} us, bare http.client {cpu_raw * per_call:.0f} us, "
        f"mlflow {cpu_theirs * per_call:.0f} us; ours/bare = {cpu_ours / cpu_raw:.2f}x (target <= 2x), "
        f"mlflow/ours = {cpu_theirs / cpu_ours:.1f}x"
    )
    print(
        f"log_metric wall per call: ours {t_ours * per_call / 1000:.3f} ms, bare {t_raw * per_call / 1000:.3f} ms; "
        f"ours/mlflow = {t_ours / t_theirs:.2f}x (target <= 0.6x)"
    )
    print("targets: import <= 50 ms; get_metric_history >= 20x")


if __name__ == "__main__":
    main()
