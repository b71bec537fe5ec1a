"""The tracking store that talks to a server: one method per tracking RPC, entities in and out.

It only translates between entities and the generated REST layer; validation, defaults and batching
live in the client, retries and errors in the transport. The translation itself lives in ``_store_ops``
(sans-IO operations shared with ``AsyncRestStore``); this class runs each over a blocking transport.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from . import _store_ops as ops
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

if TYPE_CHECKING:
    from ._generated._runtime import Transport

T = TypeVar("T")


def budget_of(transport: object) -> ops.Budget:
    """A safe create's retry budget: the transport's policy and clock (defaults for a bare transport)."""
    from ._http_core import RetryPolicy

    policy = getattr(transport, "retry_policy", None) or RetryPolicy()
    return ops.Budget(policy, getattr(transport, "clock", time.monotonic))


class RestStore:
    """Tracking RPCs over a transport to one server."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _run(self, op: ops.Op[T]) -> T:
        return ops.run(op, self.transport, getattr(self.transport, "sleep", time.sleep))

    def run_op(self, op: ops.Op[T]) -> T:
        """Run any sans-IO operation (the registry's and logged models' too) over this store's transport."""
        return self._run(op)

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None, tags: Sequence[ExperimentTag]) -> str:
        return self._run(ops.create_experiment(name, artifact_location, tags, budget_of(self.transport)))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._run(ops.get_experiment(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment:
        return self._run(ops.get_experiment_by_name(name))

    def search_experiments(
        self,
        view_type: int | str | None,
        max_results: int,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Experiment]:
        return self._run(ops.search_experiments(view_type, max_results, filter_string, order_by, page_token))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._run(ops.rename_experiment(experiment_id, new_name))

    def delete_experiment(self, experiment_id: str) -> None:
        self._run(ops.delete_experiment(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._run(ops.restore_experiment(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._run(ops.set_experiment_tag(experiment_id, key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._run(ops.delete_experiment_tag(experiment_id, key))

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[RunTag], run_name: str | None
    ) -> Run:
        op = ops.create_run(experiment_id, user_id, start_time, tags, run_name, budget_of(self.transport))
        return self._run(op)

    def get_run(self, run_id: str) -> Run:
        return self._run(ops.get_run(run_id))

    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> RunInfo:
        return self._run(ops.update_run(run_id, status, end_time, run_name))

    def delete_run(self, run_id: str) -> None:
        self._run(ops.delete_run(run_id))

    def restore_run(self, run_id: str) -> None:
        self._run(ops.restore_run(run_id))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int | str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Run]:
        op = ops.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
        return self._run(op)

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        self._run(ops.log_batch(run_id, metrics, params, tags))

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self._run(ops.log_metric(run_id, metric))

    def log_param(self, run_id: str, param: Param) -> None:
        self._run(ops.log_param(run_id, param))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self._run(ops.set_tag(run_id, tag))

    def delete_tag(self, run_id: str, key: str) -> None:
        self._run(ops.delete_tag(run_id, key))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str]) -> None:
        self._run(ops.log_inputs(run_id, datasets, models))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._run(ops.get_metric_history(run_id, key))

    def iter_metric_history(self, run_id: str, key: str) -> Iterator[Metric]:
        """Every recorded value, fetching pages as the iteration goes (MLflow answers in one go)."""
        token: str | None = None
        while True:
            metrics, token = self._run(ops.metric_history_page(run_id, key, token))
            yield from metrics
            if not token:
                return

    def list_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        return self._run(ops.list_artifacts(run_id, path))
