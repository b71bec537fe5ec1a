"""Generated REST layer (msgspec) vs protobuf's json_format, which the official client uses.

Run with ``make bench`` (or ``python -m bench.generated_layer``). Prints times and ratios; targets:
decode >= 20x, encode >= 20x, ``import mlflow_client._generated.endpoints`` <= 15 ms of its own.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HISTORY_POINTS = 100_000
BATCH_METRICS = 1000


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def history_payload() -> bytes:
    metrics = [
        {"key": "loss", "value": 1.0 / (i + 1), "timestamp": 1_700_000_000_000 + i, "step": i}
        for i in range(HISTORY_POINTS)
    ]
    return json.dumps({"metrics": metrics}).encode()


def import_time_ms(module: str, runs: int = 15, baseline: str = "pass") -> float:
    """Median wall time of importing ``module`` in a fresh interpreter, minus running ``baseline``."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = statistics.median(run(baseline) for _ in range(runs))
    full = statistics.median(run(f"import {module}") for _ in range(runs))
    return (full - base) * 1000


def main() -> None:
    from google.protobuf import json_format
    from mlflow.protos import service_pb2
    from mlflow_client._generated import models as m
    from mlflow_client._generated._runtime import decode, encode

    payload = history_payload()
    ours_decode = best_of(lambda: decode(payload, m.GetMetricHistoryResponse), 5)
    pb_decode = best_of(lambda: json_format.Parse(payload, service_pb2.GetMetricHistory.Response()), 3)
    assert len(decode(payload, m.GetMetricHistoryResponse).metrics) == HISTORY_POINTS

    ts = 1_700_000_000_000
    ours_batch = m.LogBatch(
        run_id="r" * 32,
        metrics=[m.Metric(key=f"m{i % 10}", value=i * 0.5, timestamp=ts + i, step=i) for i in range(BATCH_METRICS)],
    )
    pb_batch = service_pb2.LogBatch(run_id="r" * 32)
    for i in range(BATCH_METRICS):
        pb_batch.metrics.add(key=f"m{i % 10}", value=i * 0.5, timestamp=ts + i, step=i)
    ours_encode = best_of(lambda: encode(ours_batch), 50)
    pb_encode = best_of(lambda: json_format.MessageToJson(pb_batch, preserving_proto_field_name=True), 10)
    assert json.loads(encode(ours_batch))["metrics"][7]["step"] == 7

    gen_import = import_time_ms("mlflow_client._generated.endpoints")
    gen_own = import_time_ms("mlflow_client._generated.endpoints", baseline="import msgspec")
    pb_import = import_time_ms("mlflow.protos.service_pb2")

    rows = [
        (f"decode get-history, {HISTORY_POINTS:,} metrics", ours_decode, pb_decode),
        (f"encode log-batch, {BATCH_METRICS:,} metrics", ours_encode, pb_encode),
    ]
    print(f"{'case':<40}{'ours':>12}{'json_format':>14}{'speed-up':>10}")
    for name, ours, theirs in rows:
        print(f"{name:<40}{ours * 1000:>10.2f}ms{theirs * 1000:>12.2f}ms{theirs / ours:>9.1f}x")
    label = "import (ours: _generated.endpoints)"
    print(f"{label:<40}{gen_import:>10.1f}ms{pb_import:>12.1f}ms{pb_import / gen_import:>9.1f}x")
    print(f"{'  of which our own (beyond msgspec)':<40}{gen_own:>10.1f}ms")
    print("targets: decode >= 20x, encode >= 20x, our own import <= 15 ms")


if __name__ == "__main__":
    main()
