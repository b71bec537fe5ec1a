"""``AsyncMlflowClient``: ``MlflowClient``'s methods as coroutines, for services on asyncio.

Same names, arguments, results (entities, ``PagedList``) and exceptions as ``MlflowClient``; the
arguments are checked by the same functions of ``client``, before anything goes on the wire.

- Tracking calls to a server go through ``AsyncRestStore`` on ``httpx.AsyncClient``: the same request
  building, retries and error mapping as the sync client (``_store_ops``, ``_http_core``), awaited.
- What is blocking by nature runs in worker threads (``asyncio.to_thread``), never on the event loop:
  the local FileStore, artifact transfers (local, proxy, S3 and the other stores' SDKs), and
  asynchronous logging to the spool (``synchronous=False``), which is the sync client's.
- A call that changes something runs to its end once started, even if the caller is cancelled: the
  caller gets ``CancelledError`` at once, the requests of, say, a split ``log_batch`` or a safe
  ``create_run`` still all go out, and ``aclose()`` waits for them. Reads are simply cancelled.
- ``max_concurrency`` bounds the requests in flight (default ``DEFAULT_MAX_CONCURRENCY``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._async_registry_methods import AsyncRegistryMethods
from ._logged_model_methods import AsyncLoggedModelMethods
from .client import (
    _PAGE_SIZE,
    SEARCH_MAX_RESULTS_DEFAULT,
    MlflowClient,
    _batches,
    _check_key,
    _checked_batch,
    _checked_point,
    _experiment_tags,
    _run_tags,
    _stringify,
    now_ms,
)
from .entities._enums import RunStatus, ViewType

if TYPE_CHECKING:
    from types import TracebackType

    from ._delivery import RunOperations
    from .entities import Experiment, FileInfo, Metric, PagedList, Param, Run, RunTag
    from .entities._coerce import DatasetInputLike, KeyValueLike, MetricLike

__all__ = ["AsyncMlflowClient"]

T = TypeVar("T")


class AsyncMlflowClient(AsyncRegistryMethods, AsyncLoggedModelMethods):
    """A client of an MLflow tracking server for asyncio: ``async with AsyncMlflowClient(uri) as client``.

    ``tracking_uri`` and the settings keywords are ``MlflowClient``'s; ``max_concurrency`` bounds the
    requests in flight at once. Call ``aclose()`` (or use ``async with``) to release connections.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        *,
        max_concurrency: int | None = None,
        **settings: Any,
    ) -> None:
        from . import _tracking_uri
        from ._async_rest_store import AsyncRestStore, ThreadedStore
        from ._databricks import is_databricks_uri, resolve_databricks
        from ._settings import Settings
        from .client import resolve_store

        self._settings_kw = settings
        self._settings = Settings.from_env(**settings)
        self._tracking_uri = _tracking_uri.resolve(tracking_uri, self._settings)
        from ._registry_methods import resolve_registry_uri

        self._registry_uri = resolve_registry_uri(registry_uri, self._tracking_uri, self._settings)
        self._registry_uri_given = registry_uri
        databricks = is_databricks_uri(self._tracking_uri)
        remote = databricks or self._tracking_uri.lower().startswith(("http://", "https://"))
        self._offline = remote and self._settings.offline == "true"
        self._remote = remote and not self._offline
        self._server_url, server_settings = self._tracking_uri, self._settings
        if databricks and self._remote:
            self._server_url, server_settings = resolve_databricks(self._tracking_uri, self._settings)
        self._store: AsyncRestStore | ThreadedStore
        if self._remote:
            from ._async_transport import AsyncHttpTransport
            from ._delivery import replay_if_pending

            transport = AsyncHttpTransport(self._server_url, server_settings, max_concurrency=max_concurrency)
            self._store = AsyncRestStore(transport)
            replay_if_pending(self._server_url, server_settings)
        else:
            self._store = ThreadedStore(resolve_store(self._server_url, server_settings))
        self._delivery_settings = server_settings
        self._sync: MlflowClient | None = None
        self._sync_lock = threading.Lock()
        self._running: set[asyncio.Future[Any]] = set()

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    def __repr__(self) -> str:
        from ._delivery.spool import public_url

        if self._offline:
            return f"AsyncMlflowClient(tracking_uri={public_url(self._tracking_uri)!r}, offline=True)"
        uri = public_url(self._tracking_uri) if self._remote else self._tracking_uri
        return f"AsyncMlflowClient(tracking_uri={uri!r})"

    async def aclose(self) -> None:
        """Wait for the calls still running (cancelled callers' ones too), then release connections."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        await self._close_registry()
        await self._store.aclose()
        sync, self._sync = self._sync, None
        if sync is not None:
            await asyncio.to_thread(sync.close)

    async def __aenter__(self) -> AsyncMlflowClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- plumbing -------------------------------------------------------------------------------

    def _sync_client(self) -> MlflowClient:
        """The blocking client of the same URI and settings, for what runs in worker threads."""
        with self._sync_lock:
            if self._sync is None:
                self._sync = MlflowClient(self._tracking_uri, self._registry_uri_given, **self._settings_kw)
            return self._sync

    async def _in_thread(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``MlflowClient.<name>(*args, **kwargs)`` in a worker thread."""

        def call() -> Any:
            return getattr(self._sync_client(), name)(*args, **kwargs)

        return await asyncio.to_thread(call)

    async def _to_the_end(self, work: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
        """Run ``work`` to its end whatever happens to the caller: a cancelled caller returns at once, the
        work goes on in a task that ``aclose()`` waits for."""
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(_forget(self._running))
        return await asyncio.shield(task)

    def _asynchronous(self, synchronous: bool | None) -> bool:
        from . import config

        if synchronous is not None:
            return not synchronous
        chosen = config.async_logging_enabled()
        return self._settings.async_logging if chosen is None else chosen

    # -- experiments ----------------------------------------------------------------------------

    async def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        work = self._store.create_experiment(name, artifact_location, _experiment_tags(name, tags))
        return await self._to_the_end(work)

    async def get_experiment(self, experiment_id: str) -> Experiment:
        return await self._store.get_experiment(experiment_id)

    async def get_experiment_by_name(self, name: str) -> Experiment | None:
        from .exceptions import ResourceNotFound

        try:
            return await self._store.get_experiment_by_name(name)
        except ResourceNotFound:
            return None

    async def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return await self._store.search_experiments(
            view_type, max_results or SEARCH_MAX_RESULTS_DEFAULT, filter_string, order_by, page_token
        )

    async def iter_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_size: int = _PAGE_SIZE,
    ) -> AsyncIterator[Experiment]:
        """Every matching experiment, fetching pages as the iteration goes."""
        token: str | None = None
        while True:
            page = await self._store.search_experiments(view_type, page_size, filter_string, order_by, token)
            for experiment in page:
                yield experiment
            token = page.token
            if not token:
                return

    async def list_experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        return [e async for e in self.iter_experiments(view_type)]

    async def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        await self._to_the_end(self._store.rename_experiment(experiment_id, new_name))

    async def delete_experiment(self, experiment_id: str) -> None:
        await self._to_the_end(self._store.delete_experiment(experiment_id))

    async def restore_experiment(self, experiment_id: str) -> None:
        await self._to_the_end(self._store.restore_experiment(experiment_id))

    async def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        _check_key(key)
        await self._to_the_end(self._store.set_experiment_tag(experiment_id, key, _stringify(value)))

    async def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        await self._to_the_end(self._store.delete_experiment_tag(experiment_id, key))

    # -- runs -----------------------------------------------------------------------------------

    async def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        run_tags, user_id = _run_tags(tags)
        work = self._store.create_run(experiment_id, user_id, start_time or now_ms(), run_tags, run_name)
        return await self._to_the_end(work)

    async def get_run(self, run_id: str) -> Run:
        return await self._store.get_run(run_id)

    async def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is None and name is None:
            return
        if status is not None:
            RunStatus.from_string(status)
        await self._to_the_end(self._store.update_run(run_id, status, None, name))

    async def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End the run; as ``MlflowClient.set_terminated`` (data this process spooled for the run goes first)."""
        status = status or RunStatus.to_string(RunStatus.FINISHED)
        RunStatus.from_string(status)
        end_time = end_time or now_ms()
        if self._remote:
            from ._delivery import existing_delivery

            if existing_delivery(self._server_url, self._delivery_settings) is not None:
                await self._to_the_end(self._in_thread("set_terminated", run_id, status, end_time))
                return
        await self._to_the_end(self._store.update_run(run_id, status, end_time, None))

    async def delete_run(self, run_id: str) -> None:
        await self._to_the_end(self._store.delete_run(run_id))

    async def restore_run(self, run_id: str) -> None:
        await self._to_the_end(self._store.restore_run(run_id))

    async def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return await self._store.search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )

    async def iter_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        order_by: list[str] | None = None,
        page_size: int = _PAGE_SIZE,
    ) -> AsyncIterator[Run]:
        """Every matching run, fetching pages as the iteration goes: ``async for run in client.iter_runs(...)``."""
        token: str | None = None
        while True:
            page = await self.search_runs(experiment_ids, filter_string, run_view_type, page_size, order_by, token)
            for run in page:
                yield run
            token = page.token
            if not token:
                return

    # -- logging --------------------------------------------------------------------------------

    async def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        """Log a metric value; ``synchronous=False`` spools it (in a worker thread) and returns a
        ``RunOperations``, as ``MlflowClient.log_metric`` does."""
        value, timestamp, step = _checked_point(key, value, timestamp, step)
        if self._asynchronous(synchronous):
            return await self._to_the_end(
                self._in_thread(
                    "log_metric",
                    run_id,
                    key,
                    value,
                    timestamp,
                    step,
                    synchronous=False,
                    dataset_name=dataset_name,
                    dataset_digest=dataset_digest,
                    model_id=model_id,
                )
            )
        from .entities._run_data import Metric

        metric = Metric(
            key, value, timestamp, step, model_id=model_id, dataset_name=dataset_name, dataset_digest=dataset_digest
        )
        await self._to_the_end(self._store.log_metric(run_id, metric))
        return None

    async def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param; returns ``value``, or a ``RunOperations`` when asynchronous."""
        _check_key(key)
        text = _stringify(value)
        if self._asynchronous(synchronous):
            return await self._to_the_end(self._in_thread("log_param", run_id, key, value, synchronous=False))
        from .entities._run_data import Param

        await self._to_the_end(self._store.log_param(run_id, Param(key, text)))
        return value

    async def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
        _check_key(key)
        text = _stringify(value)
        if self._asynchronous(synchronous):
            return await self._to_the_end(self._in_thread("set_tag", run_id, key, value, synchronous=False))
        from .entities._run_data import RunTag

        await self._to_the_end(self._store.set_tag(run_id, RunTag(key, text)))
        return None

    async def delete_tag(self, run_id: str, key: str) -> None:
        await self._to_the_end(self._store.delete_tag(run_id, key))

    async def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricLike] = (),
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log everything, split into requests within the server's limits, as ``MlflowClient.log_batch``.
        The requests go out one after the other; a cancelled caller does not stop them half way."""
        ms, ps, ts = _checked_batch(metrics, params, tags)
        if not (ms or ps or ts):
            return None
        if self._asynchronous(synchronous):
            work = self._in_thread("log_batch", run_id, ms, ps, ts, synchronous=False)
            return await self._to_the_end(work)
        await self._to_the_end(self._log_batches(run_id, ms, ps, ts))
        return None

    async def _log_batches(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        for batch in _batches(metrics, params, tags):
            await self._store.log_batch(run_id, *batch)

    async def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInputLike] | None = None,
        models: Sequence[Any] | None = None,
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        if self._asynchronous(synchronous):
            work = self._in_thread("log_inputs", run_id, datasets, models, synchronous=False)
            return await self._to_the_end(work)
        from .entities._coerce import as_dataset_input

        model_ids = [str(getattr(x, "model_id", x)) for x in (models or [])]
        inputs = [as_dataset_input(d) for d in datasets or []]
        await self._to_the_end(self._store.log_inputs(run_id, inputs, model_ids))
        return None

    async def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return await self._store.get_metric_history(run_id, key)

    # -- artifacts (the stores' clients are blocking: worker threads) ----------------------------

    async def list_artifact_files(self, run_id: str, path: str | None = None) -> list[tuple[str, int | None]]:
        result: list[tuple[str, int | None]] = await self._in_thread("list_artifact_files", run_id, path)
        return result

    async def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        result: list[FileInfo] = await self._in_thread("list_artifacts", run_id, path)
        return result

    async def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        await self._to_the_end(self._in_thread("log_artifact", run_id, local_path, artifact_path))

    async def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        await self._to_the_end(self._in_thread("log_artifacts", run_id, local_dir, artifact_path))

    async def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        await self._to_the_end(self._in_thread("log_text", run_id, text, artifact_file))

    async def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        await self._to_the_end(self._in_thread("log_dict", run_id, dictionary, artifact_file))

    async def download_artifacts(self, run_id: str, path: str, dst_path: str | os.PathLike[str] | None = None) -> str:
        result: str = await self._in_thread("download_artifacts", run_id, path, dst_path)
        return result


def _forget(running: set[asyncio.Future[Any]]) -> Any:
    def done(task: asyncio.Future[Any]) -> None:
        running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a cancelled caller's error is not "never retrieved"

    return done
