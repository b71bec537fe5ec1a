"""The tracking RPCs as sans-IO operations, shared by the sync and the async REST stores.

An operation is a generator. It yields what it needs done, one step at a time:

- a ``Call`` (one HTTP request, built from the generated endpoint table), and gets back the body of its
  2xx answer, or has the transport's exception thrown in (``gen.throw``), so a ``try`` around a
  ``yield`` sees it as a blocking call would;
- a ``Sleep`` (a wait before a look-up in ``_creation.create_once_steps``), and gets back ``None``.

It returns the entities. ``run`` drives one with a blocking transport (``RestStore``); the async store
drives the same generators with ``await`` (``_async_rest_store.run_async``). Everything between the
entities and the bytes (request messages, paths, decoding, safe creates, paging) is here, once; nothing
here does IO or sleeps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import msgspec

from ._creation import CREATION_ID_TAG, Sleep, create_once_steps, new_creation_id
from ._generated import models as m
from ._generated._runtime import decode, encode, fill_path, query_params, with_client_defaults
from ._generated.endpoints import ENDPOINTS
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
    from ._generated._runtime import Endpoint, QueryParams, Transport
    from ._http_core import RetryPolicy

__all__ = ["Call", "Op", "Sleep", "run"]

logger = logging.getLogger("mlflow_client")
T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

# The first HTTP binding of each tracking RPC, as the generated ``endpoints`` functions use them.
_EP: dict[str, Endpoint] = {}
for _endpoint in ENDPOINTS:
    if _endpoint.service == "MlflowService":
        _EP.setdefault(_endpoint.rpc, _endpoint)


@dataclass(frozen=True, slots=True)
class Call:
    """A step of an operation: send this request (the arguments of ``Transport.request``)."""

    method: str
    path: str
    params: QueryParams | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    idempotent: bool = True


#: An operation returning ``T``: yields ``Call``/``Sleep`` steps, is sent answers' bytes (or ``None``).
Op: TypeAlias = Generator[Call | Sleep, Any, T]


@dataclass(frozen=True, slots=True)
class Budget:
    """How long a safe create may go on retrying: the transport's policy and clock."""

    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic


def run(op: Op[T], transport: Transport, sleep: Callable[[float], object] = time.sleep) -> T:
    """Drive ``op`` with a blocking transport: its result, or the exception it lets out."""
    try:
        step = next(op)
        while True:
            if isinstance(step, Sleep):
                sleep(step.seconds)
                step = op.send(None)
                continue
            try:
                data = transport.request(
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


def rpc(name: str, request: msgspec.Struct, response: type[S]) -> Op[S]:
    """One JSON RPC of the tracking service, as ``_generated._runtime.call`` sends it."""
    return (yield from endpoint_call(_EP[name], request, response))


def endpoint_call(
    endpoint: Endpoint, request: msgspec.Struct, response: type[S], path_args: dict[str, str] | None = None
) -> Op[S]:
    """One JSON RPC at ``endpoint`` (any service), its path parameters filled from ``path_args``.

    Only GET carries the fields as query parameters (those not already in the path). A DELETE carries
    them as a JSON body, as MLflow's own client sends it: MLflow's server reads the body of every
    method but GET, so a DELETE with query parameters only would reach it with no fields at all.
    """
    path = fill_path(endpoint, path_args or {})
    request = with_client_defaults(endpoint, request)
    if endpoint.method == "GET":
        params = [(k, v) for k, v in query_params(request) if k not in endpoint.path_params]
        data = yield Call(endpoint.method, path, params=params or None)
    else:
        data = yield Call(
            endpoint.method,
            path,
            content=encode(request),
            headers={"Content-Type": "application/json"},
            idempotent=endpoint.retry_safe,
        )
    return decode(data, response)


def _view(view_type: int | str | None) -> str | None:
    if view_type is None:
        return None
    return view_type.upper() if isinstance(view_type, str) else ViewType._to_wire(view_type)


def _create_once(
    create: Callable[[], Op[T]],
    find: Callable[[], Op[T | None]],
    what: str,
    budget: Budget,
    settle: Callable[[T], Op[T]] | None = None,
) -> Op[T]:
    policy = budget.policy
    return create_once_steps(
        create,
        find,
        what=what,
        settle=settle,
        max_retries=policy.max_retries,
        delay=policy.delay,
        max_time=policy.max_retry_time,
        clock=budget.clock,
    )


# -- experiments --------------------------------------------------------------------------------------


def create_experiment(
    name: str, artifact_location: str | None, tags: Sequence[ExperimentTag], budget: Budget
) -> Op[str]:
    creation_id = new_creation_id()
    request = m.CreateExperiment(
        name=name,
        artifact_location=artifact_location,
        tags=[
            *(m.ExperimentTag(key=t.key, value=t.value) for t in tags),
            m.ExperimentTag(key=CREATION_ID_TAG, value=creation_id),
        ],
    )

    def create() -> Op[str]:
        response = yield from rpc("createExperiment", request, m.CreateExperimentResponse)
        return str(response.experiment_id)

    def find() -> Op[str | None]:
        try:
            experiment = yield from get_experiment_by_name(name)
        except ResourceNotFound:
            return None
        if experiment.tags.get(CREATION_ID_TAG) == creation_id:
            return experiment.experiment_id
        raise ResourceAlreadyExists(f"Experiment '{name}' already exists.")  # someone else's

    return _create_once(create, find, f"experiments/create {name!r}", budget)


def get_experiment(experiment_id: str) -> Op[Experiment]:
    response = yield from rpc(
        "getExperiment", m.GetExperiment(experiment_id=str(experiment_id)), m.GetExperimentResponse
    )
    assert response.experiment is not None
    return Experiment._from_wire(response.experiment)


def get_experiment_by_name(name: str) -> Op[Experiment]:
    response = yield from rpc(
        "getExperimentByName", m.GetExperimentByName(experiment_name=name), m.GetExperimentByNameResponse
    )
    assert response.experiment is not None
    return Experiment._from_wire(response.experiment)


def search_experiments(
    view_type: int | str | None,
    max_results: int,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[Experiment]]:
    request = m.SearchExperiments(
        max_results=max_results,
        filter=filter_string or None,
        order_by=list(order_by or []),
        view_type=_view(view_type),
        page_token=page_token or None,
    )
    response = yield from rpc("searchExperiments", request, m.SearchExperimentsResponse)
    return PagedList([Experiment._from_wire(e) for e in response.experiments], response.next_page_token or None)


def rename_experiment(experiment_id: str, new_name: str) -> Op[None]:
    request = m.UpdateExperiment(experiment_id=str(experiment_id), new_name=new_name)
    yield from rpc("updateExperiment", request, m.UpdateExperimentResponse)


def delete_experiment(experiment_id: str) -> Op[None]:
    yield from rpc("deleteExperiment", m.DeleteExperiment(experiment_id=str(experiment_id)), m.DeleteExperimentResponse)


def restore_experiment(experiment_id: str) -> Op[None]:
    request = m.RestoreExperiment(experiment_id=str(experiment_id))
    yield from rpc("restoreExperiment", request, m.RestoreExperimentResponse)


def set_experiment_tag(experiment_id: str, key: str, value: str) -> Op[None]:
    request = m.SetExperimentTag(experiment_id=str(experiment_id), key=key, value=value)
    yield from rpc("setExperimentTag", request, m.SetExperimentTagResponse)


def delete_experiment_tag(experiment_id: str, key: str) -> Op[None]:
    request = m.DeleteExperimentTag(experiment_id=str(experiment_id), key=key)
    yield from rpc("deleteExperimentTag", request, m.DeleteExperimentTagResponse)


# -- runs ---------------------------------------------------------------------------------------------


def create_run(
    experiment_id: str,
    user_id: str,
    start_time: int,
    tags: Sequence[RunTag],
    run_name: str | None,
    budget: Budget,
) -> Op[Run]:
    creation_id = new_creation_id()
    request = m.CreateRun(
        experiment_id=str(experiment_id),
        user_id=user_id,
        start_time=start_time,
        tags=[*(t._to_wire() for t in tags), m.RunTag(key=CREATION_ID_TAG, value=creation_id)],
        run_name=run_name or None,
    )

    def create() -> Op[Run]:
        response = yield from rpc("createRun", request, m.CreateRunResponse)
        assert response.run is not None
        return Run._from_wire(response.run)

    def created() -> Op[list[Run]]:
        found = yield from search_runs(
            [experiment_id], f"tags.`{CREATION_ID_TAG}` = '{creation_id}'", "ACTIVE_ONLY", 10, None, None
        )
        return sorted(found, key=lambda r: r.info.run_id)

    def find() -> Op[Run | None]:
        runs = yield from created()
        return (yield from settle(runs[0])) if runs else None

    def settle(run: Run) -> Op[Run]:
        # An earlier attempt may have landed late, beside this one: keep one, delete the copies.
        for copy in (yield from created()):
            if copy.info.run_id != run.info.run_id:
                logger.warning(
                    "mlflow_client: runs/create was applied twice (a lost answer); deleting the copy %s of %s",
                    copy.info.run_id,
                    run.info.run_id,
                )
                yield from delete_run(copy.info.run_id)
        return run

    return _create_once(create, find, f"runs/create in experiment {experiment_id}", budget, settle)


def get_run(run_id: str) -> Op[Run]:
    response = yield from rpc("getRun", m.GetRun(run_id=run_id), m.GetRunResponse)
    assert response.run is not None
    return Run._from_wire(response.run)


def update_run(run_id: str, status: str | None, end_time: int | None, run_name: str | None) -> Op[RunInfo]:
    request = m.UpdateRun(run_id=run_id, status=status, end_time=end_time, run_name=run_name or None)
    info = (yield from rpc("updateRun", request, m.UpdateRunResponse)).run_info
    assert info is not None
    return RunInfo._from_wire(info)


def delete_run(run_id: str) -> Op[None]:
    yield from rpc("deleteRun", m.DeleteRun(run_id=run_id), m.DeleteRunResponse)


def restore_run(run_id: str) -> Op[None]:
    yield from rpc("restoreRun", m.RestoreRun(run_id=run_id), m.RestoreRunResponse)


def search_runs_request(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> m.SearchRuns:
    """The search-runs request, as both the entity search and the DataFrame search (``_runs_frame``) send it."""
    return m.SearchRuns(
        experiment_ids=[str(e) for e in experiment_ids],
        filter=filter_string or None,
        run_view_type=_view(run_view_type),
        max_results=max_results,
        order_by=list(order_by or []),
        page_token=page_token or None,
    )


def search_runs(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    run_view_type: int | str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[Run]]:
    request = search_runs_request(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)
    response = yield from rpc("searchRuns", request, m.SearchRunsResponse)
    return PagedList([Run._from_wire(r) for r in response.runs], response.next_page_token or None)


def log_batch(run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> Op[None]:
    request = m.LogBatch(
        run_id=run_id,
        metrics=[x._to_wire() for x in metrics],
        params=[p._to_wire() for p in params],
        tags=[t._to_wire() for t in tags],
    )
    yield from rpc("logBatch", request, m.LogBatchResponse)


def log_metric(run_id: str, metric: Metric) -> Op[None]:
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
    yield from rpc("logMetric", request, m.LogMetricResponse)


def log_param(run_id: str, param: Param) -> Op[None]:
    yield from rpc("logParam", m.LogParam(run_id=run_id, key=param.key, value=param.value), m.LogParamResponse)


def set_tag(run_id: str, tag: RunTag) -> Op[None]:
    yield from rpc("setTag", m.SetTag(run_id=run_id, key=tag.key, value=tag.value), m.SetTagResponse)


def delete_tag(run_id: str, key: str) -> Op[None]:
    yield from rpc("deleteTag", m.DeleteTag(run_id=run_id, key=key), m.DeleteTagResponse)


def log_inputs(run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str]) -> Op[None]:
    request = m.LogInputs(
        run_id=run_id,
        datasets=[d._to_wire() for d in datasets],
        models=[m.ModelInput(model_id=model_id) for model_id in models],
    )
    yield from rpc("logInputs", request, m.LogInputsResponse)


def metric_history_page(
    run_id: str, key: str, page_token: str | None, max_results: int | None = None
) -> Op[tuple[list[Metric], str | None]]:
    """One page of a metric's history and the next page's token. Unset, ``max_results`` is the spec's client
    default (25000, as MLflow's client asks): MLflow 3.11 reads a missing one as 0 and refuses its own token."""
    endpoint = _EP["getMetricHistory"]
    request = m.GetMetricHistory(run_id=run_id, metric_key=key, page_token=page_token, max_results=max_results)
    request = with_client_defaults(endpoint, request)
    data = yield Call(endpoint.method, endpoint.path, params=query_params(request))
    try:
        # Hot path: 100k points decode straight into Metric entities, in C.
        page = decode(data, HistoryPage)
        return page.metrics, page.next_page_token or None
    except msgspec.ValidationError:
        # A point the entity refuses (a missing key, a lone dataset name): read it leniently.
        wire = decode(data, m.GetMetricHistoryResponse)
        return [Metric._from_wire(x) for x in wire.metrics], wire.next_page_token or None


def get_metric_history(run_id: str, key: str) -> Op[list[Metric]]:
    """Every recorded value, following page tokens if the server pages."""
    out: list[Metric] = []
    token: str | None = None
    while True:
        metrics, token = yield from metric_history_page(run_id, key, token)
        out += metrics
        if not token:
            return out


def list_artifacts(run_id: str, path: str | None) -> Op[list[FileInfo]]:
    response = yield from rpc(
        "listArtifacts", m.ListArtifacts(run_id=run_id, path=path or None), m.ListArtifactsResponse
    )
    return [FileInfo._from_wire(f) for f in response.files]
