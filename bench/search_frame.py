"""``mlflow_client.search_runs`` vs ``mlflow.search_runs`` into a DataFrame, on the same server (issue #18).

Run with ``python -m bench.search_frame`` (``--real-runs N`` also times both on a real ``mlflow server``
holding N runs; 0 skips it). 10,000 runs of 5 metrics, 5 params and 5 tags go into the stub (in a
subprocess, so its CPU does not count against the client) through our client; then each side makes the
frame of all of them, best of 3, and the frames are checked equal. Target: >= 5x faster than MLflow.
Also printed: the server's answer alone (the bytes of the same pages), the floor of any client.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.client import RawHttp, stub_process, timed

RUNS = 10_000
KEYS = 5
T0 = 1_700_000_000_000


def populate(url: str, runs: int) -> str:
    """An experiment of ``runs`` runs, each with KEYS metrics, params and tags (some keys missing in some runs)."""
    from concurrent.futures import ThreadPoolExecutor

    from mlflow_client import MlflowClient
    from mlflow_client.entities import Metric, Param

    with MlflowClient(url) as client:
        exp = client.create_experiment(f"bench-frame-{time.time_ns()}")

        def one(i: int) -> None:
            tags = {f"tag_{k}": f"t{i % 7}-{k}" for k in range(KEYS)}
            run = client.create_run(exp, start_time=T0 + i, tags=tags, run_name=f"run-{i}")
            shift = i % 3  # two runs in three lack a metric/param the others have: NaN and None in the frame
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(f"metric_{k + shift}", i * 0.001 + k, T0, 0) for k in range(KEYS)],
                params=[Param(f"param_{k + shift}", str(i * k)) for k in range(KEYS)],
            )

        with ThreadPoolExecutor(4) as pool:  # the stub answers in threads; create-run is a safe create
            list(pool.map(one, range(runs)))
    return exp


def compare(url: str, exp: str, runs: int) -> tuple[float, float, float]:
    """(ours, theirs, the bare answers) in seconds, best of 3, after checking both frames are equal."""
    import mlflow
    import mlflow_client
    import pandas as pd

    mlflow.set_tracking_uri(url)
    mlflow_client.set_tracking_uri(url)
    try:

        def ours() -> Any:
            return mlflow_client.search_runs(experiment_ids=[exp])

        def theirs() -> Any:
            return mlflow.search_runs(experiment_ids=[exp])

        mine, other = ours(), theirs()
        assert len(mine) == runs, len(mine)
        pd.testing.assert_frame_equal(mine, other, check_dtype=True)
        return timed(ours), timed(theirs), timed(_answers(url, exp))
    finally:
        mlflow.set_tracking_uri("")
        mlflow_client.set_tracking_uri(None)


def _answers(url: str, exp: str) -> Callable[[], None]:
    """Fetch the same pages as the clients do (10,000 runs a page): the bytes, parsed only for a next token."""
    import json

    raw = RawHttp(url)

    def fetch() -> None:
        token = None
        while True:
            body: dict[str, Any] = {"experiment_ids": [exp], "max_results": 10_000, "run_view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            answer = raw.request("POST", "/api/2.0/mlflow/runs/search", json.dumps(body).encode())
            if b'"next_page_token"' not in answer:  # the last page: the bytes are all we wanted
                return
            token = json.loads(answer)["next_page_token"]

    return fetch


def client_side(url: str, exp: str) -> tuple[float, float]:
    """Each client's own work on the same answer bytes (best of 3): ours decodes them into columns and the
    frame; MLflow parses them into protobuf and ``Run`` entities, and ``mlflow.search_runs`` builds its frame
    from those (its ``MlflowClient`` swapped for one that answers from the bytes)."""
    import json

    import mlflow
    import mlflow.tracking.fluent as their_fluent
    from mlflow.entities import Run
    from mlflow.protos.service_pb2 import SearchRuns
    from mlflow.store.entities.paged_list import PagedList
    from mlflow.utils.proto_json_utils import parse_dict
    from mlflow_client import _runs_frame
    from mlflow_client._generated._runtime import decode

    body = {"experiment_ids": [exp], "max_results": 10_000, "run_view_type": "ACTIVE_ONLY"}
    answer = RawHttp(url).request("POST", "/api/2.0/mlflow/runs/search", json.dumps(body).encode())
    assert b"next_page_token" not in answer  # one page: what follows is all of it

    def ours() -> Any:
        columns = _runs_frame.Columns()
        columns.add_page(decode(answer, _runs_frame._Page).runs)
        return columns.frame()

    class FromBytes:
        def search_runs(self, *args: Any) -> Any:
            message = SearchRuns.Response()
            parse_dict(json.loads(answer), message)  # type: ignore[no-untyped-call]
            return PagedList([Run.from_proto(r) for r in message.runs], None)

    namespace = vars(their_fluent)  # search_runs looks MlflowClient up there at each call
    real_client = namespace["MlflowClient"]
    namespace["MlflowClient"] = FromBytes
    try:
        return timed(ours), timed(lambda: mlflow.search_runs(experiment_ids=[exp]))
    finally:
        namespace["MlflowClient"] = real_client


def report(where: str, runs: int, ours: float, theirs: float, answers: float) -> float:
    ratio = theirs / ours
    print(
        f"{where}: search_runs -> DataFrame of {runs:,} runs: ours {ours * 1000:.0f} ms, "
        f"mlflow {theirs * 1000:.0f} ms, mlflow/ours = {ratio:.1f}x; the server's answers alone {answers * 1000:.0f} ms"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--real-runs", type=int, default=0, help="also on a real `mlflow server` with N runs")
    args = parser.parse_args()
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {KEYS} metrics, params and tags per run")
    with stub_process() as url:
        start = time.perf_counter()
        exp = populate(url, args.runs)
        print(f"stub: {args.runs:,} runs created in {time.perf_counter() - start:.1f} s")
        ratio = report("stub", args.runs, *compare(url, exp, args.runs))
        if args.runs <= 10_000:
            ours, theirs = client_side(url, exp)
            print(
                f"stub: client side only (decode + frame of the same bytes): ours {ours * 1000:.0f} ms, "
                f"mlflow {theirs * 1000:.0f} ms, mlflow/ours = {theirs / ours:.1f}x"
            )
    if args.real_runs:
        from tests.real_server import real_mlflow_server

        with real_mlflow_server() as url:
            start = time.perf_counter()
            exp = populate(url, args.real_runs)
            print(f"mlflow server: {args.real_runs:,} runs created in {time.perf_counter() - start:.1f} s")
            report("mlflow server (its SQL store dominates)", args.real_runs, *compare(url, exp, args.real_runs))
    print(f"target: >= 5x on the stub end to end ({'met' if ratio >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
