"""Our local FileStore vs MLflow's own file store (``./mlruns``), same machine, one run.

Run with ``python -m bench.file_store``. Cases: 10,000 metrics with log_metric, 10,000 with log_batch,
and search_runs over 1,000 local runs. Prints both times and theirs/ours (target >= 2x for each).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

METRICS = 10_000
RUNS = 1_000


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def workload(client: Any, metric_cls: Any, root: Path) -> dict[str, float]:
    exp_id = client.create_experiment("bench")
    run_id = client.create_run(exp_id).info.run_id
    ts = int(time.time() * 1000)

    def log_each() -> None:
        for i in range(METRICS):
            client.log_metric(run_id, "m", float(i), timestamp=ts + i, step=i)

    batch_run = client.create_run(exp_id).info.run_id

    def log_batches() -> None:
        for start in range(0, METRICS, 1000):
            metrics = [metric_cls("b", float(i), ts + i, i) for i in range(start, start + 1000)]
            client.log_batch(batch_run, metrics=metrics)

    out = {"log_metric": timed(log_each), "log_batch": timed(log_batches)}
    assert len(client.get_metric_history(run_id, "m")) == METRICS
    assert len(client.get_metric_history(batch_run, "b")) == METRICS
    search_exp = client.create_experiment("bench-search")
    for i in range(RUNS):
        r = client.create_run(search_exp, start_time=ts + i)
        client.log_metric(r.info.run_id, "score", float(i % 100), timestamp=ts, step=0)

    def search() -> None:
        found = client.search_runs(
            [search_exp], "metrics.score >= 50", max_results=RUNS, order_by=["metrics.score DESC"]
        )
        assert len(found) == RUNS // 2

    out["search_runs"] = min(timed(search) for _ in range(3))
    return out


def main() -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow import MlflowClient as Theirs
    from mlflow.entities import Metric as TheirMetric
    from mlflow_client import MlflowClient as Ours
    from mlflow_client.entities import Metric as OurMetric

    with tempfile.TemporaryDirectory() as tmp:
        ours_root, theirs_root = Path(tmp) / "ours", Path(tmp) / "theirs"
        with Ours(str(ours_root)) as ours:
            our_times = workload(ours, OurMetric, ours_root)
        their_times = workload(Theirs(tracking_uri=str(theirs_root)), TheirMetric, theirs_root)

    print(f"{'case':<46}{'ours':>10}{'mlflow':>10}{'mlflow/ours':>13}")
    labels = {
        "log_metric": f"log_metric x{METRICS:,} (s)",
        "log_batch": f"log_batch {METRICS:,} metrics in 1000s (s)",
        "search_runs": f"search_runs over {RUNS:,} runs (s)",
    }
    for key, label in labels.items():
        print(f"{label:<46}{our_times[key]:>10.3f}{their_times[key]:>10.3f}{their_times[key] / our_times[key]:>12.1f}x")
    print("target: >= 2x for each")


if __name__ == "__main__":
    main()
