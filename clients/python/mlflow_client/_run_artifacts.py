"""A run's artifacts as MLflow 3 sees them: the run's own files, plus those of its logged models.

In MLflow 3, ``mlflow.<flavor>.log_model(name="model")`` stores the files under the logged model's own
location, not the run's; ``list_artifacts(run_id, "model")`` and ``download_artifacts(run_id, "model")``
still find them. As MLflow's ``RunsArtifactRepository`` does: the first segment of a non-empty path may name
a logged model whose ``source_run_id`` is the run (found by ``logged-models/search`` in the run's
experiment), and the rest of the path is looked up in that model's files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .artifacts import ArtifactRepository
    from .client import MlflowClient
    from .entities import FileInfo

logger = logging.getLogger("mlflow_client")


def _has_logged_models(client: MlflowClient) -> bool:
    from ._rest_store import RestStore

    return isinstance(client._store, RestStore)  # the local store keeps no logged models


def logged_model_repo(client: MlflowClient, run_id: str, name: str) -> ArtifactRepository | None:
    """The repository of the run's logged model called ``name``, or ``None``."""
    if not _has_logged_models(client) or getattr(client, "_no_logged_models", False):
        return None
    from .exceptions import EndpointNotFound, FeatureNotImplemented

    experiment_id = client.get_run(run_id).info.experiment_id
    token: str | None = None
    while True:
        try:
            page = client.search_logged_models([experiment_id], filter_string=f"name = '{name}'", page_token=token)
        except (EndpointNotFound, FeatureNotImplemented):
            # A server before MLflow 3 (404) or one without logged models (501): the run's own files are all.
            client._no_logged_models = True
            return None
        for model in page:
            if model.source_run_id == run_id:
                return client._repository_for(model.artifact_location)
        token = page.token
        if not token:
            return None


def _split(path: str | None) -> tuple[str, str] | None:
    rel = "/".join(p for p in (path or "").split("/") if p not in ("", "."))
    if not rel:
        return None
    name, _, rest = rel.partition("/")
    return name, rest


def list_model_artifacts(client: MlflowClient, run_id: str, path: str | None) -> list[FileInfo]:
    """The entries of the run's logged model under ``path`` (its first segment names the model)."""
    from .entities import FileInfo

    split = _split(path)
    if split is None:
        return []
    name, rest = split
    repo = logged_model_repo(client, run_id, name)
    if repo is None:
        return []
    return [FileInfo(f"{name}/{f.path}", f.is_dir, f.file_size) for f in repo.list_artifacts(rest or None)]


def download_run_path(
    client: MlflowClient, run_id: str, parent: str, name: str, dst_path: str | os.PathLike[str] | None
) -> str:
    """Download ``name`` of the run's folder ``parent`` into ``dst/<name>`` (``name=""``: the folder's contents
    into ``dst``), as MLflow's repository of ``runs:/<run_id>/<parent>`` does; and, if a logged model of the run
    is named by the first segment of ``<parent>/<name>``, that model's files under ``dst/<model name>``.
    Returns the run's download if it found anything, else the model's."""
    from .exceptions import MlflowException, ResourceNotFound

    dst = tempfile.mkdtemp(prefix="mlflow-artifacts-") if dst_path is None else os.fspath(dst_path)
    run_out: str | None = None
    repo = client._artifact_repo(run_id)  # an unknown run is the error to report, as MLflow reports it
    try:
        if parent:
            repo = client._repository_for(repo.artifact_uri.rstrip("/") + "/" + parent)
        if name or repo.list_artifacts(None):
            run_out = repo.download_artifacts(name, dst)
    except MlflowException:
        logger.debug("mlflow_client: no run artifacts at %s/%s of run %s", parent, name, run_id, exc_info=True)
    model_out: str | None = None
    split = _split("/".join(p for p in (parent, name) if p))
    if split is not None:
        model_name, rest = split
        try:
            model_repo = logged_model_repo(client, run_id, model_name)
            if model_repo is not None:
                folder = os.path.join(dst, model_name)
                os.makedirs(folder, exist_ok=True)
                model_out = model_repo.download_artifacts(rest, folder)
                if os.path.isdir(model_out) and "MLmodel" in os.listdir(model_out):
                    # As MLflow's models:/ download of the logged model writes it (no registry name).
                    from .artifacts._uris import write_registered_model_meta

                    write_registered_model_meta(model_out, None, None)
        except MlflowException:
            logger.debug("mlflow_client: no logged model for %s/%s of run %s", parent, name, run_id, exc_info=True)
    out = run_out or model_out
    if out is None:
        path = "/".join(p for p in (parent, name) if p)
        raise ResourceNotFound(
            f"Failed to download artifacts from path {path!r}, please ensure that the path is correct."
        )
    return out
