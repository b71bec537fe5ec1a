"""MLflow 3's logged-model RPCs (and ``runs/outputs``) as sans-IO operations, in ``_store_ops``' style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._generated import models as m
from ._generated._runtime import Endpoint
from ._generated.endpoints import ENDPOINTS
from ._store_ops import Op, endpoint_call
from .entities import FileInfo, LoggedModelOutput, PagedList
from .entities._logged_model import LoggedModel, LoggedModelParameter, LoggedModelStatus, LoggedModelTag

#: Params sent with ``logged-models`` create, and per ``.../params`` request after it (MLflow's batch sizes).
PARAMS_PER_REQUEST = 100

_RPCS = {
    "createLoggedModel",
    "finalizeLoggedModel",
    "getLoggedModel",
    "deleteLoggedModel",
    "searchLoggedModels",
    "setLoggedModelTags",
    "deleteLoggedModelTag",
    "listLoggedModelArtifacts",
    "logLoggedModelParams",
    "logOutputs",
}
_EP: dict[str, Endpoint] = {}
for _endpoint in ENDPOINTS:
    if _endpoint.service == "MlflowService" and _endpoint.rpc in _RPCS:
        _EP.setdefault(_endpoint.rpc, _endpoint)


def _model(wire: m.LoggedModel | None) -> LoggedModel:
    return LoggedModel._from_wire(wire or m.LoggedModel())


def create_logged_model(
    experiment_id: str,
    name: str | None,
    source_run_id: str | None,
    tags: Sequence[LoggedModelTag],
    params: Sequence[LoggedModelParameter],
    model_type: str | None,
) -> Op[LoggedModel]:
    first, rest = list(params[:PARAMS_PER_REQUEST]), list(params[PARAMS_PER_REQUEST:])
    request = m.CreateLoggedModel(
        experiment_id=str(experiment_id),
        name=name,
        model_type=model_type,
        source_run_id=source_run_id,
        params=[p._to_wire() for p in first],
        tags=[t._to_wire() for t in tags],
    )
    response = yield from endpoint_call(_EP["createLoggedModel"], request, m.CreateLoggedModelResponse)
    model = _model(response.model)
    if rest:
        yield from log_logged_model_params(model.model_id, rest)
        model = yield from get_logged_model(model.model_id)
    return model


def get_logged_model(model_id: str) -> Op[LoggedModel]:
    response = yield from endpoint_call(
        _EP["getLoggedModel"], m.GetLoggedModel(model_id=model_id), m.GetLoggedModelResponse, {"model_id": model_id}
    )
    return _model(response.model)


def delete_logged_model(model_id: str) -> Op[None]:
    yield from endpoint_call(
        _EP["deleteLoggedModel"],
        m.DeleteLoggedModel(model_id=model_id),
        m.DeleteLoggedModelResponse,
        {"model_id": model_id},
    )


def finalize_logged_model(model_id: str, status: LoggedModelStatus) -> Op[LoggedModel]:
    request = m.FinalizeLoggedModel(model_id=model_id, status=status._to_wire())
    response = yield from endpoint_call(
        _EP["finalizeLoggedModel"], request, m.FinalizeLoggedModelResponse, {"model_id": model_id}
    )
    return _model(response.model)


def search_logged_models(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    datasets: Sequence[dict[str, Any]] | None,
    max_results: int | None,
    order_by: Sequence[dict[str, Any]] | None,
    page_token: str | None,
) -> Op[PagedList[LoggedModel]]:
    request = m.SearchLoggedModels(
        experiment_ids=[str(e) for e in experiment_ids],
        filter=filter_string or None,
        datasets=[
            m.SearchLoggedModelsDataset(dataset_name=d["dataset_name"], dataset_digest=d.get("dataset_digest"))
            for d in datasets or []
        ],
        max_results=max_results,
        order_by=[
            m.SearchLoggedModelsOrderBy(
                field_name=o["field_name"],
                ascending=o.get("ascending", True),
                dataset_name=o.get("dataset_name"),
                dataset_digest=o.get("dataset_digest"),
            )
            for o in order_by or []
        ],
        page_token=page_token or None,
    )
    response = yield from endpoint_call(_EP["searchLoggedModels"], request, m.SearchLoggedModelsResponse)
    return PagedList([_model(x) for x in response.models], response.next_page_token or None)


def set_logged_model_tags(model_id: str, tags: Sequence[LoggedModelTag]) -> Op[None]:
    request = m.SetLoggedModelTags(model_id=model_id, tags=[t._to_wire() for t in tags])
    yield from endpoint_call(_EP["setLoggedModelTags"], request, m.SetLoggedModelTagsResponse, {"model_id": model_id})


def delete_logged_model_tag(model_id: str, key: str) -> Op[None]:
    yield from endpoint_call(
        _EP["deleteLoggedModelTag"],
        m.DeleteLoggedModelTag(model_id=model_id, tag_key=key),
        m.DeleteLoggedModelTagResponse,
        {"model_id": model_id, "tag_key": key},
    )


def log_logged_model_params(model_id: str, params: Sequence[LoggedModelParameter]) -> Op[None]:
    for i in range(0, len(params), PARAMS_PER_REQUEST):
        request = m.LogLoggedModelParamsRequest(
            model_id=model_id, params=[p._to_wire() for p in params[i : i + PARAMS_PER_REQUEST]]
        )
        yield from endpoint_call(
            _EP["logLoggedModelParams"], request, m.LogLoggedModelParamsRequestResponse, {"model_id": model_id}
        )


def log_outputs(run_id: str, models: Sequence[LoggedModelOutput]) -> Op[None]:
    request = m.LogOutputs(run_id=run_id, models=[x._to_wire() for x in models])
    yield from endpoint_call(_EP["logOutputs"], request, m.LogOutputsResponse)


def list_logged_model_artifacts(
    model_id: str, path: str | None, page_token: str | None
) -> Op[tuple[list[FileInfo], str | None]]:
    request = m.ListLoggedModelArtifacts(
        model_id=model_id, artifact_directory_path=path or None, page_token=page_token or None
    )
    response = yield from endpoint_call(
        _EP["listLoggedModelArtifacts"], request, m.ListLoggedModelArtifactsResponse, {"model_id": model_id}
    )
    return [FileInfo._from_wire(f) for f in response.files], response.next_page_token or None
