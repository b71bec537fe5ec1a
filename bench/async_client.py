"""AsyncMlflowClient: 200 concurrent ``get_run`` calls against the sync client's 200 sequential ones.

Run with ``make bench`` or ``python -m bench.async_client``. The servers run in subprocesses:

- the stub on loopback, answering in well under a millisecond: the client's own cost per request, where
  async (httpx, ~0.75 ms of CPU per request here) cannot beat the sync client (urllib3, ~0.35 ms);
- the stub with 20 ms added to every answer: a server across a network, where waiting dominates;
- a real ``mlflow server`` with one worker (as in the tests), ~11 ms of server CPU per ``get-run`` here:
  one worker serves one request at a time, so concurrency hides only the client's and the network's share;
- the same with 4 workers (MLflow's default). Measured here, such a server answers every request ~40 ms
  late to any client on a keep-alive connection (ours, mlflow-skinny's and httpx's alike: ~53 ms per
  sequential ``get-run`` against ~11 ms with one worker), so this row flatters concurrency: read it as a
  server that is slow for reasons other than CPU.

Printed: wall time of 200 ``get_run`` calls, sync sequential and async with ``asyncio.gather`` (bounded by
``max_concurrency``), the ratio sync/async (> 1: the async client is faster), and the event loop's worst
lag meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from mlflow_client._async_transport import DEFAULT_MAX_CONCURRENCY

CALLS = 200


def _sync_calls(url: str, run_id: str) -> float:
    from mlflow_client import MlflowClient

    with MlflowClient(url) as client:
        client.get_run(run_id)  # warm: connection open, modules loaded
        started = time.perf_counter()
        for _ in range(CALLS):
            client.get_run(run_id)
        return time.perf_counter() - started


def _async_calls(url: str, run_id: str, concurrency: int) -> tuple[float, float]:
    from mlflow_client import AsyncMlflowClient

    async def go() -> tuple[float, float]:
        worst = 0.0
        done = False

        async def ticker() -> None:
            nonlocal worst
            while not done:
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - before - 0.001)

        async with AsyncMlflowClient(url, max_concurrency=concurrency) as client:
            await client.get_run(run_id)
            tick = asyncio.create_task(ticker())
            started = time.perf_counter()
            runs = await asyncio.gather(*(client.get_run(run_id) for _ in range(CALLS)))
            elapsed = time.perf_counter() - started
            done = True
            await tick
        assert len(runs) == CALLS and all(r.info.run_id == run_id for r in runs)
        return elapsed, worst

    return asyncio.run(go())


def _case(name: str, url: str, prepare: Callable[[str], str], concurrency: int) -> tuple[str, float, float, float]:
    run_id = prepare(url)
    t_sync = _sync_calls(url, run_id)
    t_async, lag = _async_calls(url, run_id, concurrency)
    return name, t_sync, t_async, lag


def _prepare(url: str) -> str:
    from mlflow_client import MlflowClient
    from mlflow_client.entities import Metric, Param

    with MlflowClient(url) as client:
        exp = client.create_experiment(f"bench-async-{time.time_ns()}")
        run_id = client.create_run(exp).info.run_id
        client.log_batch(
            run_id, [Metric(f"m{i}", float(i), 1, 0) for i in range(20)], [Param(f"p{i}", "v") for i in range(20)]
        )
        return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY, help="the client's max_concurrency")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    from bench.client import stub_process
    from tests.real_server import real_mlflow_server

    rows: list[Any] = []
    with stub_process() as url:
        rows.append(_case("stub, loopback", url, _prepare, args.concurrency))
    with stub_process("--fault", "kind=latency,rpc=getRun,latency_ms=20") as url:
        rows.append(_case("stub, +20 ms/answer", url, _prepare, args.concurrency))
    with real_mlflow_server() as url:
        rows.append(_case("mlflow server, 1 wkr", url, _prepare, args.concurrency))
    with real_mlflow_server(("--workers", "4")) as url:
        rows.append(_case("mlflow server, 4 wkrs", url, _prepare, args.concurrency))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {CALLS} get_run calls, servers in subprocesses")
    print(f"{'server':<22}{'sync seq (ms)':>15}{'async (ms)':>12}{'sync/async':>12}{'loop lag (ms)':>15}")
    for name, t_sync, t_async, lag in rows:
        print(f"{name:<22}{t_sync * 1000:>15.0f}{t_async * 1000:>12.0f}{t_sync / t_async:>11.1f}x{lag * 1000:>15.1f}")
    print(f"async: AsyncMlflowClient(max_concurrency={args.concurrency}) with asyncio.gather")


if __name__ == "__main__":
    main()
