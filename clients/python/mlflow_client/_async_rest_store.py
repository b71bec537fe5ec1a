"""The tracking store for asyncio: ``RestStore``'s methods as coroutines, over ``AsyncHttpTransport``.

The operations are ``_store_ops``'s, the same generators the sync store runs; ``run_async`` drives one
with ``await`` instead of blocking calls. ``ThreadedStore`` gives a blocking store (the local
FileStore) the same coroutine methods by running each call in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import _store_ops as ops
from ._creation import Sleep

if TYPE_CHECKING:
    from ._async_transport import AsyncHttpTransport
    from .entities import (
        DatasetInput,
        Experiment,
        ExperimentTag,
        FileInfo,
        Metric,
        PagedList,
        Param,
        Run,
        RunInfo,
        RunTag,
    )

__all__ = ["AsyncRestStore", "ThreadedStore", "run_async"]

T = TypeVar("T")


async def run_async(
    op: ops.Op[T], transport: AsyncHttpTransport, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> T:
    """Drive ``op`` with an async transport: its result, or the exception it lets out (see ``ops.run``)."""
    try:
        step = next(op)
        while True:
            if isinstance(step, Sleep):
                await sleep(step.seconds)
                step = op.send(None)
                continue
            try:
                data = await transport.request(
                    step.method,
                    step.path,
                    params=step.params,
                    content=step.content,
                    headers=step.headers,
                    idempotent=step.idempotent,
                )
            except Exception as err:  # handed to the operation, outside this handler (no chained context)
                failure: Exception | None = err
            else:
                failure = None
            step = op.send(data) if failure is None else op.throw(failure)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        op.close()


class AsyncRestStore:
    """One coroutine per tracking RPC, entities in and out; the same signatures as ``RestStore``'s."""

    def __init__(self, transport: AsyncHttpTransport) -> None:
        self.transport = transport

    def _budget(self) -> ops.Budget:
        return ops.Budget(self.transport.retry_policy, self.transport.clock)

    async def _run(self, op: ops.Op[T]) -> T:
        return await run_async(op, self.transport, self.transport.sleep)

    async def run_op(self, op: ops.Op[T]) -> T:
        """Run any sans-IO operation (the registry's and logged models' too) over this store's transport."""
        return await self._run(op)

    async def aclose(self) -> None:
        await self.transport.aclose()

    # -- experiments ----------------------------------------------------------------------------

    async def create_experiment(self, name: str, artifact_location: str | None, tags: Sequence[ExperimentTag]) -> str:
        return await self._run(ops.create_experiment(name, artifact_location, tags, self._budget()))

    async def get_experiment(self, experiment_id: str) -> Experiment:
        return await self._run(ops.get_experiment(experiment_id))

    async def get_experiment_by_name(self, name: str) -> Experiment:
        return await self._run(ops.get_experiment_by_name(name))

    async def search_experiments(
        self,
        view_type: int | str | None,
        max_results: int,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Experiment]:
        return await self._run(ops.search_experiments(view_type, max_results, filter_string, order_by, page_token))

    async def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        await self._run(ops.rename_experiment(experiment_id, new_name))

    async def delete_experiment(self, experiment_id: str) -> None:
        await self._run(ops.delete_experiment(experiment_id))

    async def restore_experiment(self, experiment_id: str) -> None:
        await self._run(ops.restore_experiment(experiment_id))

    async def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        await self._run(ops.set_experiment_tag(experiment_id, key, value))

    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        await self._run(ops.delete_experiment_tag(experiment_id, key))

    # -- runs -----------------------------------------------------------------------------------

    async def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[RunTag], run_name: str | None
    ) -> Run:
        return await self._run(ops.create_run(experiment_id, user_id, start_time, tags, run_name, self._budget()))

    async def get_run(self, run_id: str) -> Run:
        return await self._run(ops.get_run(run_id))

    async def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> RunInfo:
        return await self._run(ops.update_run(run_id, status, end_time, run_name))

    async def delete_run(self, run_id: str) -> None:
        await self._run(ops.delete_run(run_id))

    async def restore_run(self, run_id: str) -> None:
        await self._run(ops.restore_run(run_id))

    async def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int | str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Run]:
        op = ops.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
        return await self._run(op)

    async def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        await self._run(ops.log_batch(run_id, metrics, params, tags))

    async def log_metric(self, run_id: str, metric: Metric) -> None:
        await self._run(ops.log_metric(run_id, metric))

    async def log_param(self, run_id: str, param: Param) -> None:
        await self._run(ops.log_param(run_id, param))

    async def set_tag(self, run_id: str, tag: RunTag) -> None:
        await self._run(ops.set_tag(run_id, tag))

    async def delete_tag(self, run_id: str, key: str) -> None:
        await self._run(ops.delete_tag(run_id, key))

    async def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str]) -> None:
        await self._run(ops.log_inputs(run_id, datasets, models))

    async def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return await self._run(ops.get_metric_history(run_id, key))

    async def iter_metric_history(self, run_id: str, key: str) -> AsyncIterator[Metric]:
        token: str | None = None
        while True:
            metrics, token = await self._run(ops.metric_history_page(run_id, key, token))
            for metric in metrics:
                yield metric
            if not token:
                return

    async def list_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        return await self._run(ops.list_artifacts(run_id, path))


class ThreadedStore:
    """A blocking store's methods as coroutines: each call runs in a worker thread (``asyncio.to_thread``),
    so a local FileStore's disk IO never blocks the event loop."""

    def __init__(self, store: Any) -> None:
        self._store = store

    @property
    def store(self) -> Any:
        return self._store

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._store, name)
        if not callable(method):
            raise AttributeError(name)

        @functools.wraps(method)
        async def in_thread(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return in_thread

    async def aclose(self) -> None:
        return None
