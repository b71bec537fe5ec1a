"""``AsyncMlflowClient`` against the stub (with faults), a local FileStore, S3 on moto and a real
``mlflow server``: the same results and exceptions as ``MlflowClient``, cancellation that leaves nothing
half done, bounded concurrency, and an event loop that never waits on the network or the disk."""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mlflow_client import AsyncMlflowClient, MlflowClient
from mlflow_client.entities import Experiment, Metric, PagedList, Param, Run, RunTag, ViewType
from mlflow_client.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceNotFound

from server_stub import StubServer
from server_stub.faults import FaultRule
from tests.client.test_s3 import bucket, moto_url, s3, s3_env  # noqa: F401  (fixtures)

T = TypeVar("T")


def run(fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await fn()

    return asyncio.run(main())


def fast(url: str, **settings: Any) -> AsyncMlflowClient:
    """A client with a short backoff, so that retries take milliseconds here."""
    return AsyncMlflowClient(url, backoff_factor=0.01, backoff_jitter=0, **settings)


# -- the same surface as MlflowClient -----------------------------------------------------------------


def test_every_public_method_of_mlflow_client_is_a_coroutine_here_with_the_same_parameters() -> None:
    # The client's own methods and its mixins' (the registry's and logged models').
    sync_methods = {
        n: f
        for cls in reversed(MlflowClient.__mro__[:-1])
        for n, f in vars(cls).items()
        if not n.startswith("_") and callable(f)
    }
    sync_methods.pop("close")
    for name, method in sync_methods.items():
        ours = getattr(AsyncMlflowClient, name, None)
        assert ours is not None, name
        if name.startswith("iter_"):
            assert inspect.isasyncgenfunction(ours), name
        else:
            assert inspect.iscoroutinefunction(ours), name
        assert list(inspect.signature(ours).parameters) == list(inspect.signature(method).parameters), name


def test_experiments_runs_logging_and_search_round_trip(stub_url: str) -> None:
    async def go() -> dict[str, Any]:
        async with AsyncMlflowClient(stub_url) as client:
            exp_id = await client.create_experiment("async-round-trip", tags={"team": "ml"})
            run = await client.create_run(exp_id, tags={"mlflow.user": "ann"}, run_name="first")
            rid = run.info.run_id
            await client.log_metric(rid, "loss", 0.5, step=1)
            await client.log_metric(rid, "loss", 0.25, step=2)
            assert await client.log_param(rid, "lr", 0.01) == 0.01
            await client.set_tag(rid, "stage", "dev")
            metrics = [Metric("m", float(i), 1000 + i, i) for i in range(2500)]  # 3 requests
            await client.log_batch(rid, metrics, [Param("p", "v")], [RunTag("t", "x")])
            await client.set_terminated(rid)
            other = await client.create_run(exp_id)
            await client.delete_run(other.info.run_id)
            return {
                "experiment": await client.get_experiment(exp_id),
                "by_name": await client.get_experiment_by_name("async-round-trip"),
                "missing": await client.get_experiment_by_name("no-such-experiment"),
                "run": await client.get_run(rid),
                "history": await client.get_metric_history(rid, "m"),
                "page": await client.search_runs([exp_id], "metrics.loss < 1"),
                "all": [
                    r.info.run_id async for r in client.iter_runs([exp_id], run_view_type=ViewType.ALL, page_size=1)
                ],
                "experiments": await client.search_experiments(filter_string="name = 'async-round-trip'"),
            }

    got = run(go)
    run_ = got["run"]
    assert isinstance(run_, Run) and run_.info.status == "FINISHED" and run_.info.run_name == "first"
    assert run_.data.metrics == {"loss": 0.25, "m": 2499.0}
    assert run_.data.params == {"lr": "0.01", "p": "v"} and run_.data.tags["stage"] == "dev"
    assert run_.info.user_id == "ann"
    assert [m.value for m in got["history"]] == [float(i) for i in range(2500)]
    assert isinstance(got["experiment"], Experiment) and got["experiment"].tags["team"] == "ml"
    assert got["by_name"].experiment_id == got["experiment"].experiment_id and got["missing"] is None
    assert isinstance(got["page"], PagedList) and [r.info.run_id for r in got["page"]] == [run_.info.run_id]
    assert len(got["all"]) == 2 and run_.info.run_id in got["all"]
    assert [e.name for e in got["experiments"]] == ["async-round-trip"]
    # The sync client sees exactly the same.
    with MlflowClient(stub_url) as sync:
        assert sync.get_run(run_.info.run_id) == run_


def test_the_same_exceptions_as_the_sync_client(stub_url: str) -> None:
    async def missing_run() -> None:
        async with AsyncMlflowClient(stub_url) as client:
            await client.get_run("0" * 32)

    with pytest.raises(ResourceNotFound) as info:
        run(missing_run)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST" and info.value.http_status == 404

    async def twice() -> None:
        async with AsyncMlflowClient(stub_url) as client:
            await client.create_experiment("async-twice")
            await client.create_experiment("async-twice")

    with pytest.raises(ResourceAlreadyExists):
        run(twice)

    async def bad_key() -> None:
        async with AsyncMlflowClient(stub_url) as client:
            await client.log_metric("0" * 32, "bad key!", 1.0)

    with pytest.raises(InvalidParameterValue, match="bad key!"):
        run(bad_key)


# -- faults -----------------------------------------------------------------------------------------


def test_transient_server_errors_are_retried(stub: StubServer) -> None:
    async def go() -> Run:
        async with fast(stub.url) as client:
            rid = (await client.create_run("0")).info.run_id
            stub.faults.configure([FaultRule(kind="503", rpc="logMetric", count=2)])
            await client.log_metric(rid, "x", 1.0)
            return await client.get_run(rid)

    assert run(go).data.metrics == {"x": 1.0}
    assert stub.httpd.requests["logMetric"] == 3


@pytest.mark.parametrize("kind", ["drop", "500"])
def test_a_lost_run_create_makes_exactly_one_run(stub: StubServer, kind: str) -> None:
    async def go() -> tuple[Run, list[str]]:
        async with fast(stub.url) as client:
            exp = await client.create_experiment("async-one-run")
            stub.faults.configure([FaultRule(kind=kind, rpc="createRun", count=1)])
            created = await client.create_run(exp, run_name="r")
            ids = [r.info.run_id async for r in client.iter_runs([exp], run_view_type=ViewType.ALL)]
            return created, ids

    created, ids = run(go)
    assert ids == [created.info.run_id]


# -- cancellation and concurrency ------------------------------------------------------------------


def test_a_cancelled_batch_still_logs_every_request_and_aclose_waits_for_it(stub: StubServer) -> None:
    # Each of the three requests of this batch takes 200 ms; the caller is cancelled during the first.
    stub.faults.configure([FaultRule(kind="latency", rpc="logBatch", count=3, latency_ms=200)])
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(2500)]

    async def go() -> str:
        client = AsyncMlflowClient(stub.url)
        rid = (await client.create_run("0")).info.run_id
        task = asyncio.create_task(client.log_batch(rid, metrics))
        while stub.httpd.requests["logBatch"] == 0:  # until the first request has reached the server
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stub.httpd.requests["logBatch"] == 1  # the caller returned; the rest goes on
        await client.aclose()
        return rid

    rid = run(go)
    assert stub.httpd.requests["logBatch"] == 3
    with MlflowClient(stub.url) as sync:
        assert len(sync.get_metric_history(rid, "m")) == 2500


def test_a_cancelled_read_is_simply_cancelled(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="latency", rpc="getRun", count=1, latency_ms=2000)])

    async def go() -> float:
        async with AsyncMlflowClient(stub.url) as client:
            rid = (await client.create_run("0")).info.run_id
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get_run(rid), 0.1)
            assert not client._running  # nothing left behind
            return time.monotonic() - started

    assert run(go) < 1.5  # not held up by the 2 s answer


def test_max_concurrency_bounds_the_clients_requests(stub: StubServer) -> None:
    stub.faults.configure([FaultRule(kind="latency", rpc="getRun", count=6, latency_ms=200)])

    async def go() -> float:
        async with AsyncMlflowClient(stub.url, max_concurrency=2) as client:
            rid = (await client.create_run("0")).info.run_id
            started = time.monotonic()
            runs = await asyncio.gather(*(client.get_run(rid) for _ in range(6)))
            assert {r.info.run_id for r in runs} == {rid}
            return time.monotonic() - started

    assert run(go) >= 0.55  # 6 answers of 200 ms, 2 at a time: 3 rounds at least


def _loop_lag_while(work: Callable[[], Awaitable[object]]) -> float:
    """The longest the event loop was kept from a 5 ms ticker while ``work`` ran, in seconds.

    The objects the test session made so far are frozen first (``gc.freeze``), so that a full collection
    of them is not counted: late in a whole-suite run this test once saw a 282 ms pause that it never shows
    alone, and the collector walking a long session's heap is the likely pause (the interpreter's, not a
    blocking call of the client's)."""

    async def go() -> float:
        worst = 0.0
        done = False

        async def ticker() -> None:
            nonlocal worst
            while not done:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, time.perf_counter() - before - 0.005)

        tick = asyncio.create_task(ticker())
        try:
            await work()
        finally:
            done = True
            await tick
        return worst

    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(go())
    finally:
        gc.unfreeze()


async def _log_20_runs(client: AsyncMlflowClient, experiment_id: str) -> list[str]:
    async def one(i: int) -> str:
        rid = (await client.create_run(experiment_id, run_name=f"r{i}")).info.run_id
        for step in range(5):
            await client.log_metric(rid, "loss", 1.0 / (step + 1), step=step)
        await client.log_batch(rid, [Metric("acc", 0.5, 1, 0)], [Param("i", str(i))], [RunTag("t", "x")])
        await client.set_terminated(rid)
        return rid

    return list(await asyncio.gather(*(one(i) for i in range(20))))


def test_logging_20_runs_concurrently_never_blocks_the_event_loop(stub: StubServer) -> None:
    # Some answers take 300 ms: a call that waited for one on the loop would show as a 300 ms lag.
    stub.faults.configure([FaultRule(kind="latency", rpc="logMetric", count=20, latency_ms=300)])
    ids: list[str] = []

    async def work() -> None:
        async with AsyncMlflowClient(stub.url) as client:
            exp = await client.create_experiment("async-lag")
            ids.extend(await _log_20_runs(client, exp))

    lag = _loop_lag_while(work)
    assert lag < 0.15, f"the event loop was blocked for {lag * 1000:.0f} ms"
    with MlflowClient(stub.url) as sync:
        runs = [sync.get_run(rid) for rid in ids]
    assert len(set(ids)) == 20 and all(r.info.status == "FINISHED" and r.data.params["i"] for r in runs)


def test_the_local_file_store_works_through_threads(tmp_path: Path) -> None:
    ids: list[str] = []
    store = str(tmp_path / "mlruns")

    async def work() -> None:
        async with AsyncMlflowClient(store) as client:
            exp = await client.create_experiment("local")
            ids.extend(await _log_20_runs(client, exp))
            assert len([r async for r in client.iter_runs([exp], page_size=7)]) == 20

    lag = _loop_lag_while(work)
    assert lag < 0.15, f"the event loop was blocked for {lag * 1000:.0f} ms"
    with MlflowClient(store) as sync:
        experiment = sync.get_experiment_by_name("local")
        assert experiment is not None
        assert sorted(r.info.run_id for r in sync.search_runs([experiment.experiment_id])) == sorted(ids)


def test_asynchronous_logging_goes_through_the_spool(stub: StubServer) -> None:
    async def go() -> str:
        async with AsyncMlflowClient(stub.url) as client:
            rid = (await client.create_run("0")).info.run_id
            operations = await client.log_metric(rid, "spooled", 3.0, synchronous=False)
            assert operations is not None
            await asyncio.to_thread(operations.wait)
            await client.set_terminated(rid)
            return rid

    rid = run(go)
    with MlflowClient(stub.url) as sync:
        got = sync.get_run(rid)
    assert got.data.metrics == {"spooled": 3.0} and got.info.status == "FINISHED"


# -- artifacts ----------------------------------------------------------------------------------------


def test_artifacts_through_the_proxy(stub_url: str, tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.json").write_text("{}")
    (tmp_path / "down").mkdir()

    async def go() -> tuple[list[str], str]:
        async with AsyncMlflowClient(stub_url) as client:
            rid = (await client.create_run("0")).info.run_id
            await client.log_artifact(rid, tmp_path / "model.txt")
            await client.log_artifacts(rid, tmp_path / "dir", "folder")
            await client.log_text(rid, "hello", "notes/readme.txt")
            await client.log_dict(rid, {"a": 1}, "config.json")
            listed = sorted(f.path for f in await client.list_artifacts(rid))
            local = await client.download_artifacts(rid, "notes/readme.txt", tmp_path / "down")
            return listed, Path(local).read_text()

    listed, text = run(go)
    assert listed == ["config.json", "folder", "model.txt", "notes"] and text == "hello"


def test_artifacts_to_s3(stub: StubServer, s3: Any, bucket: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "model.bin").write_bytes(b"\x00\x01" * 1000)

    async def go() -> list[tuple[str, int | None]]:
        async with AsyncMlflowClient(stub.url) as client:
            exp = await client.create_experiment("async-s3", artifact_location=f"s3://{bucket}/exp")
            rid = (await client.create_run(exp)).info.run_id
            await client.log_artifact(rid, tmp_path / "model.bin", "models")
            return await client.list_artifact_files(rid)

    assert run(go) == [("models/model.bin", 2000)]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("exp/") and keys[0].endswith("/artifacts/models/model.bin")


# -- a real MLflow server ------------------------------------------------------------------------------


def test_against_a_real_mlflow_server(mlflow_server_url: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("real")

    async def go() -> tuple[Run, list[Metric], list[str]]:
        async with AsyncMlflowClient(mlflow_server_url) as client:
            exp = await client.create_experiment(f"async-real-{time.time_ns()}")
            runs = await asyncio.gather(*(client.create_run(exp, run_name=f"r{i}") for i in range(5)))
            rid = runs[0].info.run_id
            await asyncio.gather(*(client.log_metric(rid, "loss", 1.0 / (s + 1), step=s) for s in range(10)))
            await client.log_batch(rid, params=[Param("lr", "0.1")], tags=[RunTag("k", "v")])
            await client.log_artifact(rid, tmp_path / "f.txt")
            await client.set_terminated(rid)
            names = sorted([r.info.run_name or "" async for r in client.iter_runs([exp], page_size=2)])
            return await client.get_run(rid), await client.get_metric_history(rid, "loss"), names

    got, history, names = run(go)
    assert got.info.status == "FINISHED" and got.data.params == {"lr": "0.1"} and got.data.tags["k"] == "v"
    assert sorted(m.step for m in history) == list(range(10))
    assert names == [f"r{i}" for i in range(5)]
