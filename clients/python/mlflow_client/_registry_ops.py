"""The Model Registry's RPCs as sans-IO operations (``_store_ops``' style), run by both REST stores.

Each function is a generator yielding ``Call``/``Sleep`` steps and returning entities; ``RegistryStore``
runs them with a blocking transport and ``AsyncRegistryStore`` with ``await``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ._creation import Sleep
from ._generated import models as m
from ._generated._runtime import Endpoint
from ._generated.endpoints import ENDPOINTS
from ._store_ops import Op, endpoint_call
from .entities import PagedList
from .entities._registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from .exceptions import MlflowException

__all__ = ["AWAIT_POLL_SECONDS"]

#: Seconds between two looks at a version still PENDING_REGISTRATION (MLflow's interval).
AWAIT_POLL_SECONDS = 1.0

# The first HTTP binding of each registry RPC (get-latest-versions: the POST one, as MLflow's client uses).
_EP: dict[str, Endpoint] = {}
for _endpoint in ENDPOINTS:
    if _endpoint.service == "ModelRegistryService":
        _EP.setdefault(_endpoint.rpc, _endpoint)


def _rm(wire: m.RegisteredModel | None) -> RegisteredModel:
    return RegisteredModel._from_wire(wire or m.RegisteredModel())


def _mv(wire: m.ModelVersion | None) -> ModelVersion:
    return ModelVersion._from_wire(wire or m.ModelVersion())


# -- registered models ----------------------------------------------------------------------------


def create_registered_model(
    name: str, tags: Sequence[RegisteredModelTag], description: str | None, deployment_job_id: str | None
) -> Op[RegisteredModel]:
    request = m.CreateRegisteredModel(
        name=name,
        tags=[t._to_wire() for t in tags],
        description=description,
        deployment_job_id=deployment_job_id,
    )
    response = yield from endpoint_call(_EP["createRegisteredModel"], request, m.CreateRegisteredModelResponse)
    return _rm(response.registered_model)


def get_registered_model(name: str) -> Op[RegisteredModel]:
    request = m.GetRegisteredModel(name=name)
    response = yield from endpoint_call(_EP["getRegisteredModel"], request, m.GetRegisteredModelResponse)
    return _rm(response.registered_model)


def rename_registered_model(name: str, new_name: str) -> Op[RegisteredModel]:
    request = m.RenameRegisteredModel(name=name, new_name=new_name)
    response = yield from endpoint_call(_EP["renameRegisteredModel"], request, m.RenameRegisteredModelResponse)
    return _rm(response.registered_model)


def update_registered_model(name: str, description: str | None, deployment_job_id: str | None) -> Op[RegisteredModel]:
    request = m.UpdateRegisteredModel(name=name, description=description, deployment_job_id=deployment_job_id)
    response = yield from endpoint_call(_EP["updateRegisteredModel"], request, m.UpdateRegisteredModelResponse)
    return _rm(response.registered_model)


def delete_registered_model(name: str) -> Op[None]:
    request = m.DeleteRegisteredModel(name=name)
    yield from endpoint_call(_EP["deleteRegisteredModel"], request, m.DeleteRegisteredModelResponse)


def search_registered_models(
    filter_string: str | None, max_results: int | None, order_by: Sequence[str] | None, page_token: str | None
) -> Op[PagedList[RegisteredModel]]:
    request = m.SearchRegisteredModels(
        filter=filter_string or None,
        max_results=max_results,
        order_by=list(order_by or []),
        page_token=page_token or None,
    )
    response = yield from endpoint_call(_EP["searchRegisteredModels"], request, m.SearchRegisteredModelsResponse)
    return PagedList([_rm(x) for x in response.registered_models], response.next_page_token or None)


def get_latest_versions(name: str, stages: Sequence[str] | None) -> Op[list[ModelVersion]]:
    request = m.GetLatestVersions(name=name, stages=list(stages or []))
    response = yield from endpoint_call(_EP["getLatestVersions"], request, m.GetLatestVersionsResponse)
    return [_mv(x) for x in response.model_versions]


def set_registered_model_tag(name: str, key: str, value: str) -> Op[None]:
    request = m.SetRegisteredModelTag(name=name, key=key, value=value)
    yield from endpoint_call(_EP["setRegisteredModelTag"], request, m.SetRegisteredModelTagResponse)


def delete_registered_model_tag(name: str, key: str) -> Op[None]:
    request = m.DeleteRegisteredModelTag(name=name, key=key)
    yield from endpoint_call(_EP["deleteRegisteredModelTag"], request, m.DeleteRegisteredModelTagResponse)


def set_registered_model_alias(name: str, alias: str, version: str) -> Op[None]:
    request = m.SetRegisteredModelAlias(name=name, alias=alias, version=str(version))
    yield from endpoint_call(_EP["setRegisteredModelAlias"], request, m.SetRegisteredModelAliasResponse)


def delete_registered_model_alias(name: str, alias: str) -> Op[None]:
    request = m.DeleteRegisteredModelAlias(name=name, alias=alias)
    yield from endpoint_call(_EP["deleteRegisteredModelAlias"], request, m.DeleteRegisteredModelAliasResponse)


def get_model_version_by_alias(name: str, alias: str) -> Op[ModelVersion]:
    request = m.GetModelVersionByAlias(name=name, alias=alias)
    response = yield from endpoint_call(_EP["getModelVersionByAlias"], request, m.GetModelVersionByAliasResponse)
    return _mv(response.model_version)


# -- model versions ---------------------------------------------------------------------------------


def create_model_version(
    name: str,
    source: str,
    run_id: str | None,
    tags: Sequence[ModelVersionTag],
    run_link: str | None,
    description: str | None,
    model_id: str | None,
    await_creation_for: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> Op[ModelVersion]:
    """Create the version; then, as MLflow does, wait up to ``await_creation_for`` seconds while the server
    still registers it (PENDING_REGISTRATION), and fail if registration did not end READY."""
    request = m.CreateModelVersion(
        name=name,
        source=source,
        run_id=run_id or None,
        tags=[t._to_wire() for t in tags],
        run_link=run_link or None,
        description=description,
        model_id=model_id or None,
    )
    response = yield from endpoint_call(_EP["createModelVersion"], request, m.CreateModelVersionResponse)
    version = _mv(response.model_version)
    if not await_creation_for or await_creation_for <= 0:
        return version
    deadline = clock() + await_creation_for
    while version.status == "PENDING_REGISTRATION":
        if clock() > deadline:
            raise MlflowException(
                f"Exceeded max wait time for model name: {version.name} version: {version.version} to become "
                f"READY. Status: {version.status} Wait Time: {await_creation_for}",
                error_code="INTERNAL_ERROR",
            )
        yield Sleep(AWAIT_POLL_SECONDS)
        version = yield from get_model_version(version.name, version.version)
    if version.status != "READY":
        raise MlflowException(
            f"Model version creation failed for model name: {version.name} version: {version.version} with "
            f"status: {version.status} and message: {version.status_message}",
            error_code="INTERNAL_ERROR",
        )
    return version


def get_model_version(name: str, version: str) -> Op[ModelVersion]:
    request = m.GetModelVersion(name=name, version=str(version))
    response = yield from endpoint_call(_EP["getModelVersion"], request, m.GetModelVersionResponse)
    return _mv(response.model_version)


def update_model_version(name: str, version: str, description: str | None) -> Op[ModelVersion]:
    request = m.UpdateModelVersion(name=name, version=str(version), description=description)
    response = yield from endpoint_call(_EP["updateModelVersion"], request, m.UpdateModelVersionResponse)
    return _mv(response.model_version)


def transition_model_version_stage(
    name: str, version: str, stage: str, archive_existing_versions: bool
) -> Op[ModelVersion]:
    request = m.TransitionModelVersionStage(
        name=name, version=str(version), stage=stage, archive_existing_versions=archive_existing_versions
    )
    response = yield from endpoint_call(
        _EP["transitionModelVersionStage"], request, m.TransitionModelVersionStageResponse
    )
    return _mv(response.model_version)


def delete_model_version(name: str, version: str) -> Op[None]:
    request = m.DeleteModelVersion(name=name, version=str(version))
    yield from endpoint_call(_EP["deleteModelVersion"], request, m.DeleteModelVersionResponse)


def search_model_versions(
    filter_string: str | None, max_results: int | None, order_by: Sequence[str] | None, page_token: str | None
) -> Op[PagedList[ModelVersion]]:
    request = m.SearchModelVersions(
        filter=filter_string or None,
        max_results=max_results,
        order_by=list(order_by or []),
        page_token=page_token or None,
    )
    response = yield from endpoint_call(_EP["searchModelVersions"], request, m.SearchModelVersionsResponse)
    return PagedList([_mv(x) for x in response.model_versions], response.next_page_token or None)


def get_model_version_download_uri(name: str, version: str) -> Op[str]:
    request = m.GetModelVersionDownloadUri(name=name, version=str(version))
    response = yield from endpoint_call(
        _EP["getModelVersionDownloadUri"], request, m.GetModelVersionDownloadUriResponse
    )
    return response.artifact_uri or ""


def set_model_version_tag(name: str, version: str, key: str, value: str) -> Op[None]:
    request = m.SetModelVersionTag(name=name, version=str(version), key=key, value=value)
    yield from endpoint_call(_EP["setModelVersionTag"], request, m.SetModelVersionTagResponse)


def delete_model_version_tag(name: str, version: str, key: str) -> Op[None]:
    request = m.DeleteModelVersionTag(name=name, version=str(version), key=key)
    yield from endpoint_call(_EP["deleteModelVersionTag"], request, m.DeleteModelVersionTagResponse)
