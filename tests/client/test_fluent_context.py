"""The fluent API's active runs per asyncio task and per thread, and runs left open ended at exit.

Against the local file store; tasks and threads are interleaved with events and barriers, never sleeps.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow_client
import pytest
from mlflow_client import ActiveRun, MlflowClient, fluent
from mlflow_client.exceptions import MlflowException

PARENT = "mlflow.parentRunId"


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    uri = str(tmp_path / "mlruns")
    mlflow_client.set_tracking_uri(uri)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    monkeypatch.setattr(fluent, "_active_experiment_name", None)
    with MlflowClient(uri) as client:
        yield client
    fluent._end_live_runs()  # what a failed test left open, in any thread or task
    mlflow_client.set_tracking_uri(None)


def _status(client: MlflowClient, run: ActiveRun) -> str:
    return client.get_run(run.info.run_id).info.status


def test_concurrent_tasks_each_log_to_their_own_run(tracking: MlflowClient) -> None:
    both_started = {name: asyncio.Event() for name in ("a", "b")}

    async def train(name: str, other: str) -> ActiveRun:
        with mlflow_client.start_run(run_name=name) as run:
            both_started[name].set()
            await both_started[other].wait()  # the other task's run is active now too
            assert mlflow_client.active_run() is run
            mlflow_client.log_param("task", name)
            mlflow_client.log_metric("loss", 1.0 if name == "a" else 2.0)
            mlflow_client.set_tag("owner", name)
        assert mlflow_client.active_run() is None
        return run

    async def main() -> tuple[ActiveRun, ActiveRun]:
        return await asyncio.gather(train("a", "b"), train("b", "a"))

    run_a, run_b = asyncio.run(main())
    assert run_a.info.run_id != run_b.info.run_id
    for run, name, loss in ((run_a, "a", 1.0), (run_b, "b", 2.0)):
        got = tracking.get_run(run.info.run_id)
        assert got.info.status == "FINISHED"
        assert got.data.params == {"task": name} and got.data.metrics == {"loss": loss}
        assert got.data.tags["owner"] == name and PARENT not in got.data.tags
    assert mlflow_client.active_run() is None


def test_nested_runs_per_task(tracking: MlflowClient) -> None:
    parents_started = {name: asyncio.Event() for name in ("a", "b")}
    children_started = {name: asyncio.Event() for name in ("a", "b")}

    async def train(name: str, other: str) -> tuple[ActiveRun, ActiveRun]:
        with mlflow_client.start_run() as parent:
            parents_started[name].set()
            await parents_started[other].wait()
            with pytest.raises(MlflowException, match="already active"):
                mlflow_client.start_run()
            with mlflow_client.start_run(nested=True) as child:
                children_started[name].set()
                await children_started[other].wait()
                assert mlflow_client.active_run() is child
                mlflow_client.log_metric("depth", 2.0)
            assert mlflow_client.active_run() is parent
            mlflow_client.log_metric("depth", 1.0)
        return parent, child

    async def main() -> list[tuple[ActiveRun, ActiveRun]]:
        return list(await asyncio.gather(train("a", "b"), train("b", "a")))

    pairs = asyncio.run(main())
    assert len({run.info.run_id for pair in pairs for run in pair}) == 4
    for parent, child in pairs:
        got_child, got_parent = tracking.get_run(child.info.run_id), tracking.get_run(parent.info.run_id)
        assert got_child.data.tags[PARENT] == parent.info.run_id and got_child.data.metrics == {"depth": 2.0}
        assert got_parent.data.metrics == {"depth": 1.0}
        assert got_child.info.status == got_parent.info.status == "FINISHED"


def test_child_task_sees_parent_run_but_cannot_change_parents_stack(tracking: MlflowClient) -> None:
    async def child(parent: ActiveRun) -> tuple[ActiveRun, ActiveRun]:
        assert mlflow_client.active_run() is parent
        mlflow_client.log_metric("from_child", 1.0)  # to the parent's run
        with pytest.raises(MlflowException, match="already active"):
            mlflow_client.start_run()
        with mlflow_client.start_run(nested=True) as nested:
            assert mlflow_client.active_run() is nested
        left_open = mlflow_client.start_run(nested=True)  # the child's own view only
        assert mlflow_client.active_run() is left_open
        return nested, left_open

    async def main() -> tuple[ActiveRun, ActiveRun, ActiveRun]:
        with mlflow_client.start_run() as parent:
            nested, left_open = await asyncio.create_task(child(parent))
            assert mlflow_client.active_run() is parent
            assert _status(tracking, left_open) == "RUNNING"
        return parent, nested, left_open

    parent, nested, left_open = asyncio.run(main())
    assert tracking.get_run(parent.info.run_id).data.metrics == {"from_child": 1.0}
    for run in (nested, left_open):
        assert tracking.get_run(run.info.run_id).data.tags[PARENT] == parent.info.run_id
    assert _status(tracking, parent) == _status(tracking, nested) == "FINISHED"
    assert _status(tracking, left_open) == "RUNNING"  # until the exit hook
    fluent._end_live_runs()
    assert _status(tracking, left_open) == "FINISHED"


def test_child_task_sees_the_parents_runs_as_they_were_at_its_creation(tracking: MlflowClient) -> None:
    seen: list[ActiveRun | None] = []

    async def child(go: asyncio.Event) -> None:
        await go.wait()
        seen.append(mlflow_client.active_run())
        mlflow_client.end_run()  # nothing active in its view: a no-op

    async def main() -> ActiveRun:
        go = asyncio.Event()
        task = asyncio.create_task(child(go))
        with mlflow_client.start_run() as run:  # after the child task was created
            go.set()
            await task
            assert mlflow_client.active_run() is run
        return run

    run = asyncio.run(main())
    assert seen == [None] and _status(tracking, run) == "FINISHED"


def test_thread_started_during_a_run_sees_no_active_run(tracking: MlflowClient) -> None:
    seen: dict[str, ActiveRun | None] = {}

    def look(where: str) -> None:
        seen[where] = mlflow_client.active_run()

    def start_own() -> ActiveRun:
        with mlflow_client.start_run() as own:  # not "already active"
            assert mlflow_client.active_run() is own
        return own

    async def to_thread() -> None:
        await asyncio.to_thread(look, "asyncio.to_thread")  # copies the caller's context

    with mlflow_client.start_run() as run:
        thread = threading.Thread(target=look, args=("thread",))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(look, "pool").result()
            pool.submit(contextvars.copy_context().run, look, "copied context").result()
            own = pool.submit(start_own).result()
        asyncio.run(to_thread())
        assert mlflow_client.active_run() is run
    assert seen == dict.fromkeys(("thread", "pool", "copied context", "asyncio.to_thread"))
    assert own.info.run_id != run.info.run_id and PARENT not in tracking.get_run(own.info.run_id).data.tags
    assert _status(tracking, own) == _status(tracking, run) == "FINISHED"


def test_threads_each_have_their_own_run(tracking: MlflowClient) -> None:
    all_started = threading.Barrier(4)

    def train(i: int) -> ActiveRun:
        with mlflow_client.start_run() as run:
            all_started.wait()
            mlflow_client.log_metric("worker", float(i))
            assert mlflow_client.active_run() is run
        return run

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(train, range(4)))
    assert len({run.info.run_id for run in runs}) == 4
    for i, run in enumerate(runs):
        got = tracking.get_run(run.info.run_id)
        assert got.info.status == "FINISHED" and got.data.metrics == {"worker": float(i)}
    assert not fluent._live


def test_block_exit_ends_only_its_own_run(tracking: MlflowClient) -> None:
    with mlflow_client.start_run() as outer:
        with mlflow_client.start_run(nested=True) as inner:
            mlflow_client.end_run()  # ends inner: leaving the block must not end outer too
        assert mlflow_client.active_run() is outer
        assert _status(tracking, inner) == "FINISHED" and _status(tracking, outer) == "RUNNING"
    assert _status(tracking, outer) == "FINISHED"


def test_exit_hook_ends_runs_left_open_in_other_threads_and_tasks(tracking: MlflowClient) -> None:
    left: list[ActiveRun] = []
    thread = threading.Thread(target=lambda: left.append(mlflow_client.start_run()))
    thread.start()
    thread.join()

    async def task() -> None:
        left.append(mlflow_client.start_run())

    asyncio.run(task())
    left.append(mlflow_client.start_run())
    left.append(mlflow_client.start_run(nested=True))
    assert all(_status(tracking, run) == "RUNNING" for run in left)
    fluent._end_live_runs()
    assert [_status(tracking, run) for run in left] == ["FINISHED"] * 4
    assert mlflow_client.active_run() is None and not fluent._live


def test_interpreter_exit_ends_runs_of_every_thread_and_task(tmp_path: Path) -> None:
    uri = str(tmp_path / "mlruns")
    script = tmp_path / "script.py"
    script.write_text(
        "import asyncio, threading\n"
        "import mlflow_client\n"
        "ids = []\n"
        "t = threading.Thread(target=lambda: ids.append(mlflow_client.start_run().info.run_id))\n"
        "t.start(); t.join()\n"
        "async def task():\n"
        "    ids.append(mlflow_client.start_run().info.run_id)\n"
        "asyncio.run(task())\n"
        "ids.append(mlflow_client.start_run().info.run_id)\n"
        "ids.append(mlflow_client.start_run(nested=True).info.run_id)\n"
        "print(' '.join(ids))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": os.getcwd()}
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        env.pop(var, None)
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
    run_ids = out.stdout.split()
    assert len(set(run_ids)) == 4
    with MlflowClient(uri) as client:
        assert [client.get_run(run_id).info.status for run_id in run_ids] == ["FINISHED"] * 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_starts_without_runs_and_leaves_the_parents_alone(tracking: MlflowClient) -> None:
    with mlflow_client.start_run() as run:
        pid = os.fork()
        if pid == 0:  # the child: its exit hook must not end the parent's run
            code = 1
            try:
                if mlflow_client.active_run() is None and not fluent._live:
                    fluent._end_live_runs()
                    code = 0
            finally:
                os._exit(code)
        _, wait_status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(wait_status) == 0
        assert mlflow_client.active_run() is run and _status(tracking, run) == "RUNNING"
    assert _status(tracking, run) == "FINISHED"
