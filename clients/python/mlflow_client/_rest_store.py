"""The tracking store that talks to a server: one method per tracking RPC, entities in and out.

It only translates between entities and the generated REST layer; validation, defaults and batching
live in the client, retries and errors in the transport.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import msgspec

from ._generated import endpoints as ep
from ._generated import models as m
from ._generated._runtime import decode, query_params
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
    ViewType,
)
from .entities._run_data import HistoryPage
from .exceptions import ResourceAlreadyExists, ResourceNotFound

if TYPE_CHECKING:
    from ._generated._runtime import Transport

_HISTORY = next(e for e in ep.ENDPOINTS if e.rpc == "getMetricHistory")
logger = logging.getLogger("mlflow_client")
T = TypeVar("T")


def _view(view_type: int | str | None) -> str | None:
    if view_type is None:
        return None
    return view_type.upper() if isinstance(view_type, str) else ViewType._to_wire(view_type)


class RestStore:
    """Tracking RPCs over a transport to one server."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # -- experiments ----------------------------------------------------------------------------

    def _create_once(
        self, create: Callable[[], T], find: Callable[[], T | None], what: str, settle: Callable[[T], T] | None = None
    ) -> T:
        """``create`` exactly once, with the transport's retry budget (see ``_creation``)."""
        from ._creation import create_once
        from ._transport import RetryPolicy

        policy = getattr(self.transport, "retry_policy", None) or RetryPolicy()
        return create_once(
            create,
            find,
            what=what,
            settle=settle,
            max_retries=policy.max_retries,
            delay=policy.delay,
            max_time=policy.max_retry_time,
            sleep=getattr(self.transport, "sleep", time.sleep),
            clock=getattr(self.transport, "clock", time.monotonic),
        )

    def create_experiment(self, name: str, artifact_location: str | None, tags: Sequence[ExperimentTag]) -> str:
        from ._creation import CREATION_ID_TAG, new_creation_id

        creation_id = new_creation_id()
        request = m.CreateExperiment(
            name=name,
            artifact_location=artifact_location,
            tags=[
                *(m.ExperimentTag(key=t.key, value=t.value) for t in tags),
                m.ExperimentTag(key=CREATION_ID_TAG, value=creation_id),
            ],
        )

        def create() -> str:
            return str(ep.create_experiment(self.transport, request).experiment_id)

        def find() -> str | None:
            try:
                experiment = self.get_experiment_by_name(name)
            except ResourceNotFound:
                return None
            if experiment.tags.get(CREATION_ID_TAG) == creation_id:
                return experiment.experiment_id
            raise ResourceAlreadyExists(f"Experiment '{name}' already exists.")  # someone else's

        return self._create_once(create, find, f"experiments/create {name!r}")

    def get_experiment(self, experiment_id: str) -> Experiment:
        response = ep.get_experiment(self.transport, m.GetExperiment(experiment_id=str(experiment_id)))
        assert response.experiment is not None
        return Experiment._from_wire(response.experiment)

    def get_experiment_by_name(self, name: str) -> Experiment:
        response = ep.get_experiment_by_name(self.transport, m.GetExperimentByName(experiment_name=name))
        assert response.experiment is not None
        return Experiment._from_wire(response.experiment)

    def search_experiments(
        self,
        view_type: int | str | None,
        max_results: int,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Experiment]:
        request = m.SearchExperiments(
            max_results=max_results,
            filter=filter_string or None,
            order_by=list(order_by or []),
            view_type=_view(view_type),
            page_token=page_token or None,
        )
        response = ep.search_experiments(self.transport, request)
        return PagedList([Experiment._from_wire(e) for e in response.experiments], response.next_page_token or None)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        ep.update_experiment(self.transport, m.UpdateExperiment(experiment_id=str(experiment_id), new_name=new_name))

    def delete_experiment(self, experiment_id: str) -> None:
        ep.delete_experiment(self.transport, m.DeleteExperiment(experiment_id=str(experiment_id)))

    def restore_experiment(self, experiment_id: str) -> None:
        ep.restore_experiment(self.transport, m.RestoreExperiment(experiment_id=str(experiment_id)))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        request = m.SetExperimentTag(experiment_id=str(experiment_id), key=key, value=value)
        ep.set_experiment_tag(self.transport, request)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        ep.delete_experiment_tag(self.transport, m.DeleteExperimentTag(experiment_id=str(experiment_id), key=key))

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self, experiment_id: str, user_id: str, start_time: int, tags: Sequence[RunTag], run_name: str | None
    ) -> Run:
        from ._creation import CREATION_ID_TAG, new_creation_id

        creation_id = new_creation_id()
        request = m.CreateRun(
            experiment_id=str(experiment_id),
            user_id=user_id,
            start_time=start_time,
            tags=[*(t._to_wire() for t in tags), m.RunTag(key=CREATION_ID_TAG, value=creation_id)],
            run_name=run_name or None,
        )

        def create() -> Run:
            response = ep.create_run(self.transport, request)
            assert response.run is not None
            return Run._from_wire(response.run)

        def created() -> list[Run]:
            found = self.search_runs(
                [experiment_id], f"tags.`{CREATION_ID_TAG}` = '{creation_id}'", "ACTIVE_ONLY", 10, None, None
            )
            return sorted(found, key=lambda r: r.info.run_id)

        def find() -> Run | None:
            runs = created()
            return settle(runs[0]) if runs else None

        def settle(run: Run) -> Run:
            # An earlier attempt may have landed late, beside this one: keep one, delete the copies.
            for copy in created():
                if copy.info.run_id != run.info.run_id:
                    logger.warning(
                        "mlflow_client: runs/create was applied twice (a lost answer); deleting the copy %s of %s",
                        copy.info.run_id,
                        run.info.run_id,
                    )
                    self.delete_run(copy.info.run_id)
            return run

        return self._create_once(create, find, f"runs/create in experiment {experiment_id}", settle)

    def get_run(self, run_id: str) -> Run:
        response = ep.get_run(self.transport, m.GetRun(run_id=run_id))
        assert response.run is not None
        return Run._from_wire(response.run)

    def update_run(self, run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> RunInfo:
        request = m.UpdateRun(run_id=run_id, status=status, end_time=end_time, run_name=run_name or None)
        info = ep.update_run(self.transport, request).run_info
        assert info is not None
        return RunInfo._from_wire(info)

    def delete_run(self, run_id: str) -> None:
        ep.delete_run(self.transport, m.DeleteRun(run_id=run_id))

    def restore_run(self, run_id: str) -> None:
        ep.restore_run(self.transport, m.RestoreRun(run_id=run_id))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: int | str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> PagedList[Run]:
        request = m.SearchRuns(
            experiment_ids=[str(e) for e in experiment_ids],
            filter=filter_string or None,
            run_view_type=_view(run_view_type),
            max_results=max_results,
            order_by=list(order_by or []),
            page_token=page_token or None,
        )
        response = ep.search_runs(self.transport, request)
        return PagedList([Run._from_wire(r) for r in response.runs], response.next_page_token or None)

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        request = m.LogBatch(
            run_id=run_id,
            metrics=[x._to_wire() for x in metrics],
            params=[p._to_wire() for p in params],
            tags=[t._to_wire() for t in tags],
        )
        ep.log_batch(self.transport, request)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        request = m.LogMetric(
            run_id=run_id,
            key=metric.key,
            value=metric.value,
            timestamp=metric.timestamp,
            step=metric.step,
            model_id=metric.model_id,
            dataset_name=metric.dataset_name,
            dataset_digest=metric.dataset_digest,
        )
        ep.log_metric(self.transport, request)

    def log_param(self, run_id: str, param: Param) -> None:
        ep.log_param(self.transport, m.LogParam(run_id=run_id, key=param.key, value=param.value))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        ep.set_tag(self.transport, m.SetTag(run_id=run_id, key=tag.key, value=tag.value))

    def delete_tag(self, run_id: str, key: str) -> None:
        ep.delete_tag(self.transport, m.DeleteTag(run_id=run_id, key=key))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str]) -> None:
        request = m.LogInputs(
            run_id=run_id,
            datasets=[d._to_wire() for d in datasets],
            models=[m.ModelInput(model_id=model_id) for model_id in models],
        )
        ep.log_inputs(self.transport, request)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return list(self.iter_metric_history(run_id, key))

    def iter_metric_history(self, run_id: str, key: str) -> Iterator[Metric]:
        """Every recorded value, following page tokens if the server pages (MLflow answers in one go)."""
        token: str | None = None
        while True:
            request = m.GetMetricHistory(run_id=run_id, metric_key=key, page_token=token)
            data = self.transport.request(_HISTORY.method, _HISTORY.path, params=query_params(request))
            try:
                # Hot path: 100k points decode straight into Metric entities, in C.
                page = decode(data, HistoryPage)
                metrics, token = page.metrics, page.next_page_token
            except msgspec.ValidationError:
                # A point the entity refuses (a missing key, a lone dataset name): read it leniently.
                wire = decode(data, m.GetMetricHistoryResponse)
                metrics, token = [Metric._from_wire(x) for x in wire.metrics], wire.next_page_token
            yield from metrics
            if not token:
                return

    def list_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        response = ep.list_artifacts(self.transport, m.ListArtifacts(run_id=run_id, path=path or None))
        return [FileInfo._from_wire(f) for f in response.files]
