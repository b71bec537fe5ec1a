"""MLflow 3's logged-model RPCs and ``runs/outputs``; the state and its rules are in ``logged_model_store``,
search in ``logged_model_search``. Also what follows other RPCs: metrics logged with a ``model_id`` become
the model's, and runs show their outputs."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from mlflow_client._generated import models as m

from .errors import StubError, invalid, not_found
from .handlers import Store, handles
from .logged_model_search import page_offset, page_token, predicates, sort_rows
from .logged_model_store import _BAD_NAME_CHARS, ACTIVE, SEARCH_DEFAULT, logged_models
from .sql_store import generate_run_name

if TYPE_CHECKING:
    from .app import RequestHandler, StubHTTPServer


# -- handlers ---------------------------------------------------------------------------------------


def _blank_keys(*entries: list[m.LoggedModelParameter] | list[m.LoggedModelTag]) -> None:
    """MLflow stores params and tags of logged models unchecked; a missing key or value is an empty one."""
    for items in entries:
        for x in items:
            x.key, x.value = x.key or "", x.value or ""


@handles("createLoggedModel")
def create_logged_model(store: Store, req: m.CreateLoggedModel) -> m.CreateLoggedModelResponse:
    name = req.name
    if name is not None and (not name or any(c in name for c in _BAD_NAME_CHARS)):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string and cannot contain the "
            f"following characters: {_BAD_NAME_CHARS}"
        )
    experiment = store.get_experiment(str(req.experiment_id))
    if experiment.lifecycle_stage != ACTIVE:
        raise invalid(
            f"The experiment {req.experiment_id} must be in the 'active' state. "
            f"Current state is {experiment.lifecycle_stage}."
        )
    _blank_keys(req.params, req.tags)
    model = logged_models(store).create(
        experiment, name or generate_run_name(), req.model_type, req.source_run_id, req.params, req.tags
    )
    return m.CreateLoggedModelResponse(model=model)


@handles("getLoggedModel")
def get_logged_model(store: Store, req: m.GetLoggedModel) -> m.GetLoggedModelResponse:
    return m.GetLoggedModelResponse(model=logged_models(store).get(str(req.model_id)))


@handles("finalizeLoggedModel")
def finalize_logged_model(store: Store, req: m.FinalizeLoggedModel) -> m.FinalizeLoggedModelResponse:
    return m.FinalizeLoggedModelResponse(model=logged_models(store).finalize(str(req.model_id), str(req.status)))


@handles("deleteLoggedModel")
def delete_logged_model(store: Store, req: m.DeleteLoggedModel) -> m.DeleteLoggedModelResponse:
    logged_models(store).delete(str(req.model_id))
    return m.DeleteLoggedModelResponse()


@handles("setLoggedModelTags")
def set_logged_model_tags(store: Store, req: m.SetLoggedModelTags) -> m.SetLoggedModelTagsResponse:
    _blank_keys(req.tags)
    logged_models(store).set_tags(str(req.model_id), req.tags)
    return m.SetLoggedModelTagsResponse()


@handles("deleteLoggedModelTag")
def delete_logged_model_tag(store: Store, req: m.DeleteLoggedModelTag) -> m.DeleteLoggedModelTagResponse:
    logged_models(store).delete_tag(str(req.model_id), str(req.tag_key))
    return m.DeleteLoggedModelTagResponse()


@handles("logLoggedModelParams")
def log_logged_model_params(store: Store, req: m.LogLoggedModelParamsRequest) -> m.LogLoggedModelParamsRequestResponse:
    _blank_keys(req.params)
    logged_models(store).log_params(str(req.model_id), req.params)
    return m.LogLoggedModelParamsRequestResponse()


@handles("searchLoggedModels")
def search_logged_models(store: Store, req: m.SearchLoggedModels) -> m.SearchLoggedModelsResponse:
    if not req.experiment_ids:
        raise invalid(
            "Missing value for required parameter 'experiment_ids'. "
            "See the API docs for more information about request parameters."
        )
    for e in req.experiment_ids:
        if not e.isdigit():
            raise invalid(f"Invalid experiment ID '{e}'. Experiment ID must be a valid integer.")
    lms = logged_models(store)
    offset = page_offset(req)
    preds = predicates(lms, req.filter, req.datasets)
    rows = [r for r in lms.rows(req.experiment_ids) if all(p(r) for p in preds)]
    rows = sort_rows(lms, rows, req.order_by)
    max_results = req.max_results or SEARCH_DEFAULT
    window = rows[offset : offset + max_results + 1]
    token = page_token(req, offset + max_results) if len(window) > max_results else None
    return m.SearchLoggedModelsResponse(models=[lms.model(r) for r in window[:max_results]], next_page_token=token)


@handles("logOutputs")
def log_outputs(store: Store, req: m.LogOutputs) -> m.LogOutputsResponse:
    run_id = str(req.run_id)
    if not req.models:
        raise invalid(
            "Missing value for required parameter 'models'. "
            "See the API docs for more information about request parameters."
        )
    run = store.get_run(run_id)
    stage = run.info.lifecycle_stage if run.info else ACTIVE
    if stage != ACTIVE:
        raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")
    logged_models(store).log_outputs(run_id, req.models)
    return m.LogOutputsResponse()


# -- what needs the server (artifacts) or follows other RPCs ---------------------------------------


def _artifact_files(server: StubHTTPServer, uri: str, path: str) -> list[m.FileInfo]:
    if uri.lower().startswith("file:"):
        from mlflow_client.artifacts._local import LocalArtifactRepository
        from mlflow_client.exceptions import MlflowException

        try:
            return [f._to_wire() for f in LocalArtifactRepository(uri).list_artifacts(path or None)]
        except MlflowException as err:
            raise invalid(err.message) from None
    root = _proxy_root(uri)
    if path:
        server.artifacts.resolve(f"{root}/{path}")
    return server.artifacts.list_run(root, path)


def _proxy_root(uri: str) -> str:
    if not uri.startswith("mlflow-artifacts:"):
        raise invalid(f"The stub only serves artifacts it stores itself, not {uri}")
    return uri[len("mlflow-artifacts:") :].lstrip("/")


def list_logged_model_artifacts(server: StubHTTPServer, req: msgspec.Struct) -> m.ListLoggedModelArtifactsResponse:
    assert isinstance(req, m.ListLoggedModelArtifacts)
    model = logged_models(server.store).get(str(req.model_id))
    uri = str(model.info.artifact_uri if model.info else "")
    files = _artifact_files(server, uri, (req.artifact_directory_path or "").strip("/"))
    return m.ListLoggedModelArtifactsResponse(root_uri=uri, files=files)


SERVER_HANDLERS: dict[str, Callable[[StubHTTPServer, msgspec.Struct], msgspec.Struct]] = {
    "listLoggedModelArtifacts": list_logged_model_artifacts,
}


def serve_model_file(handler: RequestHandler, request: msgspec.Struct) -> None:
    """``GET /ajax-api/2.0/mlflow/logged-models/<id>/artifacts/files?artifact_file_path=...``: one file of a
    logged model, the route MLflow 3's client downloads models with."""
    assert isinstance(request, m.ArtifactsGetLoggedModelArtifact)
    file_path = request.artifact_file_path
    if not file_path:
        raise StubError(m.ErrorCode.BAD_REQUEST, 'Request must include the "artifact_file_path" query parameter.')
    handler.server.artifacts.resolve(file_path)  # refuse traversal first, as MLflow does
    model = logged_models(handler.server.store).get(str(request.model_id))
    uri = str(model.info.artifact_uri if model.info else "")
    content_type = mimetypes.guess_type(file_path)[0] or "text/plain"
    if uri.lower().startswith("file:"):
        from mlflow_client.artifacts._local import local_root

        root = Path(local_root(uri)).resolve()
        target = (root / file_path).resolve()
        if root not in target.parents or not target.is_file():
            raise not_found(f"No such artifact: '{file_path}'")
        handler._send(200, target.read_bytes(), content_type)
        return
    size, chunks = handler.server.artifacts.open_for_read(f"{_proxy_root(uri)}/{file_path}")
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    if handler.command != "HEAD":
        for block in chunks:
            handler.wfile.write(block)


# RPCs whose model_id MLflow reads from the body only (the URL's is ignored).
_BODY_MODEL_ID = {"logLoggedModelParams", "finalizeLoggedModel"}


def path_arguments(rpc: str, data: dict[str, Any], path_args: dict[str, str]) -> None:
    """Put the URL's path arguments into a request's fields (decoded JSON or query), as MLflow does."""
    from urllib.parse import unquote

    for key, value in path_args.items():
        if rpc in _BODY_MODEL_ID and key == "model_id":
            continue  # MLflow takes the body's model_id here, whatever the URL says
        data[key] = unquote(value)


def after(store: Store, rpc: str, request: msgspec.Struct, response: msgspec.Struct | bytes) -> None:
    """What other RPCs add to logged models and runs: model metrics, and the outputs runs show."""
    if rpc == "logMetric" and isinstance(request, m.LogMetric) and request.model_id:
        metric = m.Metric(
            key=request.key,
            value=request.value,
            timestamp=request.timestamp,
            step=request.step,
            model_id=request.model_id,
            dataset_name=request.dataset_name,
            dataset_digest=request.dataset_digest,
        )
        logged_models(store).log_metrics(str(request.run_id or request.run_uuid), [metric])
    elif rpc == "logBatch" and isinstance(request, m.LogBatch):
        logged_models(store).log_metrics(str(request.run_id), request.metrics)
    elif isinstance(response, m.GetRunResponse) and response.run is not None:
        _with_outputs(store, [response.run])
    elif isinstance(response, m.SearchRunsResponse):
        _with_outputs(store, response.runs)


def _with_outputs(store: Store, runs: list[m.Run]) -> None:
    lms = logged_models(store)
    for run in runs:
        # Every backend answers "outputs": {} for a run without any, as MLflow's SQL store does.
        outputs = lms.outputs(str(run.info.run_id)) if run.info is not None else []
        run.outputs = m.RunOutputs(model_outputs=outputs)
