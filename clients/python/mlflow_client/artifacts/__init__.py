"""Artifact repositories: one interface (log a file, log a folder, list, download), chosen by URI scheme.

``get_repository(artifact_uri, transport=...)`` picks the implementation: ``file:`` and plain paths copy
to and from a local (or NFS) folder; ``mlflow-artifacts:`` and ``http(s)://`` go through the tracking
server's artifact proxy with the same transport as tracking calls; ``s3://`` goes straight to the bucket
with boto3 (the ``s3`` extra); ``wasbs://`` (Azure Blob), ``gs://``, ``sftp://`` and ``ftp://`` go straight
to their stores too (see ``STORES``). HDFS, DBFS and Unity Catalog fail with an error saying so and how to get
round it (``UNSUPPORTED_SCHEMES``).

Every repository streams (no file is held whole in memory), moves the files of a folder on a bounded
thread pool, refuses any remote path that would land outside the download folder, and writes each
download to a temporary file renamed into place only once complete.
"""

from __future__ import annotations

import abc
import functools
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..entities import FileInfo
from ..exceptions import MlflowException
from ._common import (
    DEFAULT_MAX_WORKERS,
    Progress,
    check_relative,
    join_remote,
    local_target,
    redact_uri,
    run_all,
    write_atomically,
)

if TYPE_CHECKING:
    from .._settings import Settings
    from .._transport import HttpTransport

__all__ = ["ArtifactRepository", "download_artifacts", "get_repository"]

#: Scheme -> (module under mlflow_client.artifacts, class): imported only when a URI of that scheme is used.
STORES: dict[str, tuple[str, str]] = {
    "": ("_local", "LocalArtifactRepository"),
    "file": ("_local", "LocalArtifactRepository"),
    "mlflow-artifacts": ("_proxy", "ProxyArtifactRepository"),
    "http": ("_proxy", "ProxyArtifactRepository"),
    "https": ("_proxy", "ProxyArtifactRepository"),
    "s3": ("_s3", "S3ArtifactRepository"),
    "s3a": ("_s3", "S3ArtifactRepository"),
    "wasbs": ("_azure", "AzureBlobArtifactRepository"),
    "wasb": ("_azure", "AzureBlobArtifactRepository"),
    "abfss": ("_azure", "AzureBlobArtifactRepository"),
    "gs": ("_gcs", "GCSArtifactRepository"),
    "sftp": ("_sftp", "SFTPArtifactRepository"),
    "ftp": ("_ftp", "FTPArtifactRepository"),
}
#: Stores of MLflow's guide that the client cannot reach itself: why, and the way round.
UNSUPPORTED_SCHEMES: dict[str, str] = {
    "hdfs": "HDFS is not supported by mlflow-client: there is no HDFS here to test a client against",
    "viewfs": "HDFS (viewfs) is not supported by mlflow-client: there is no HDFS here to test a client against",
    "dbfs": "Databricks' DBFS is not supported by mlflow-client",
    "uc": "Databricks' Unity Catalog volumes are not supported by mlflow-client",
}
_WAY_ROUND = (
    "log artifacts through a tracking server that serves them (`mlflow server --serve-artifacts "
    "--artifacts-destination <this URI>`, giving mlflow-artifacts: URIs), whose own MLflow reaches this store"
)
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


class ArtifactRepository(abc.ABC):
    """The files under one artifact root (a run's ``artifact_uri``).

    Subclasses implement ``list_artifacts``, ``_log_file`` (upload one file) and ``_open_remote`` (the
    bytes of one remote file as chunks); folders, concurrency, safety and progress are handled here.
    """

    def __init__(self, artifact_uri: str, *, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.artifact_uri = artifact_uri
        #: The URI as messages, logs and repr show it: without a password, key or token.
        self.display_uri = redact_uri(artifact_uri)
        self.max_workers = max_workers

    # -- to implement ---------------------------------------------------------------------------

    @abc.abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The entries directly under ``path`` (the root when ``None``); a file's path lists nothing."""

    @abc.abstractmethod
    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        """Upload ``local_file`` as ``<artifact_path>/<its name>``, streaming it."""

    @abc.abstractmethod
    def _open_remote(self, remote_path: str) -> AbstractContextManager[Iterator[bytes]]:
        """The bytes of the remote file ``remote_path`` as chunks."""

    # -- the interface --------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional: most stores hold nothing
        """Release what the repository holds (connections it opened itself)."""

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload one local file into the folder ``artifact_path`` (the root when ``None``)."""
        local = os.fspath(local_file)
        if not os.path.isfile(local):
            raise MlflowException(f"{local} is not a file; cannot log it to {self.display_uri}")
        remote = check_relative(artifact_path or "", self.display_uri) or None
        progress = Progress(f"Uploading {os.path.basename(local)}", os.path.getsize(local))
        try:
            self._log_file(local, remote, progress)
        finally:
            progress.close()

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the files under ``local_dir``, keeping their relative paths, under ``artifact_path``."""
        local = os.fspath(local_dir)
        if not os.path.isdir(local):
            raise MlflowException(f"{local} is not a directory; cannot log it to {self.display_uri}")
        remote_root = check_relative(artifact_path or "", self.display_uri)
        jobs: list[tuple[str, str | None]] = []
        for folder, _dirs, names in os.walk(local):
            rel = os.path.relpath(folder, local)
            remote = join_remote(remote_root, "" if rel == "." else rel.replace(os.sep, "/"))
            jobs += [(os.path.join(folder, name), remote or None) for name in sorted(names)]
        self._before_log_dir(local, remote_root)
        progress = Progress(f"Uploading {os.path.basename(os.path.abspath(local))}", _total_size(jobs))
        try:
            run_all([functools.partial(self._log_file, f, r, progress) for f, r in jobs], self.max_workers)
        finally:
            progress.close()

    def list_files(self, path: str | None = None) -> list[tuple[str, int | None]]:
        """Every file under ``path`` (the root when ``None``), recursively: (relative path, size)."""
        files, _ = self._walk(check_relative(path or "", self.display_uri))
        return sorted(files or [])

    def download_artifacts(self, artifact_path: str, dst_path: str | os.PathLike[str] | None = None) -> str:
        """Download a file or a folder (recursively) into ``dst_path`` and return its local path.

        ``dst_path`` defaults to a new temporary folder. Every remote path is checked before anything is
        written: one that would land outside ``dst_path`` is refused with an ``MlflowException``.
        """
        dst = tempfile.mkdtemp(prefix="mlflow-artifacts-") if dst_path is None else os.fspath(dst_path)
        if not os.path.isdir(dst):
            raise MlflowException(f"The destination {dst} of an artifact download is not an existing directory")
        store = self.display_uri
        rel = check_relative(artifact_path or "", store)
        files, dirs = self._walk(rel)
        if files is None:  # a file, or nothing at all: the download will tell
            files, dirs = [(rel, None)], []
        targets = [(path, local_target(dst, path, store)) for path, _ in files]
        folders = [local_target(dst, path, store) for path in dirs]
        result = local_target(dst, rel, store)
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
        progress = Progress(f"Downloading {rel or store}", sum(size or 0 for _, size in files))
        try:
            run_all(
                [functools.partial(self._download_one, path, target, progress) for path, target in targets],
                self.max_workers,
            )
        finally:
            progress.close()
        return result

    # -- shared internals -----------------------------------------------------------------------

    def _before_log_dir(self, local_dir: str, artifact_path: str) -> None:  # noqa: B027 - optional hook
        """Hook for stores that keep empty folders."""

    def _walk(self, rel: str) -> tuple[list[tuple[str, int | None]] | None, list[str]]:
        """Files (path, size) and folders under ``rel``; ``(None, [])`` if ``rel`` is not a listable folder."""
        store = self.display_uri
        entries = self._list_or_explain(rel)
        if rel and not entries:
            return None, []
        files: list[tuple[str, int | None]] = []
        dirs: list[str] = []
        todo = [(rel, entries)]
        while todo:
            parent, listing = todo.pop()
            for info in listing:
                path = check_relative(info.path, store)
                if (parent and not path.startswith(parent + "/")) or path == parent:
                    raise MlflowException(
                        f"Refusing artifact path {info.path!r} from {store}: it is not inside the listed folder "
                        f"{parent!r}",
                        error_code="INVALID_PARAMETER_VALUE",
                    )
                if info.is_dir:
                    dirs.append(path)
                    todo.append((path, self._list_or_explain(path)))
                else:
                    files.append((path, info.file_size))
        return files, dirs

    def _list_or_explain(self, rel: str) -> list[FileInfo]:
        try:
            return self.list_artifacts(rel or None)
        except MlflowException as err:
            raise type(err)(
                f"Failed to list artifacts at {rel or '/'} in {self.display_uri}: {err.message}",
                error_code=err.error_code,
                http_status=err.http_status,
            ) from err

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        def fill(out: Any) -> None:
            with self._open_remote(remote_path) as chunks:
                for block in chunks:
                    out.write(block)
                    progress.add(len(block))

        write_atomically(target, fill, f"Failed to download artifact {remote_path} from {self.display_uri}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_uri!r})"


def _total_size(jobs: list[tuple[str, str | None]]) -> int:
    return sum(os.path.getsize(f) for f, _ in jobs)


def uri_scheme(artifact_uri: str) -> str:
    """The URI's scheme in lower case; ``""`` for a plain (POSIX or Windows) path."""
    if _WINDOWS_PATH.match(artifact_uri):
        return ""
    return urlsplit(artifact_uri).scheme.lower()


def get_repository(
    artifact_uri: str,
    *,
    transport: HttpTransport | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> ArtifactRepository:
    """The repository for ``artifact_uri``, by scheme.

    ``transport`` is the tracking server's transport: ``mlflow-artifacts:`` URIs without a host go
    through it, and so do ``http(s)`` URIs on the same server. ``options`` go to the repository (e.g.
    ``max_workers``, and for the proxy ``multipart_threshold`` and ``part_size``).
    """
    scheme = uri_scheme(artifact_uri)
    store = STORES.get(scheme)
    if store is not None:
        import importlib

        module, name = store
        cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        if module == "_proxy":
            return cls(artifact_uri, transport=transport, settings=settings, **options)  # type: ignore[no-any-return]
        if module == "_local":
            return cls(artifact_uri, **options)  # type: ignore[no-any-return]
        return cls(artifact_uri, settings=settings, **options)  # type: ignore[no-any-return]
    shown = redact_uri(artifact_uri)
    if scheme in UNSUPPORTED_SCHEMES:
        raise MlflowException(
            f"{UNSUPPORTED_SCHEMES[scheme]} ({shown}); {_WAY_ROUND}", error_code="INVALID_PARAMETER_VALUE"
        )
    if scheme in ("runs", "models"):
        raise MlflowException(
            f"{shown} is a {scheme}:/ URI, not a store's: resolve it first (mlflow_client.artifacts.download_artifacts "
            "does)",
            error_code="INVALID_PARAMETER_VALUE",
        )
    raise MlflowException(f"Unknown artifact store scheme {scheme!r} in {shown}", error_code="INVALID_PARAMETER_VALUE")


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Download an artifact file or folder and return its local path: ``mlflow.artifacts.download_artifacts``.

    ``artifact_uri`` may be ``runs:/<run_id>/<path>``, ``models:/<name>/<version>[/<path>]``,
    ``models:/<name>@<alias>``, ``models:/<name>/<stage>`` (or ``/latest``), ``models:/<model_id>``, or a
    store's own URI (``mlflow-artifacts:/...``, ``s3://...``, ``file:...``, a path). Or give ``run_id`` (and
    ``artifact_path`` within the run). Exactly one of ``artifact_uri`` and ``run_id``. ``dst_path`` is
    created if missing; unset, a new temporary folder. Files are streamed, and none appears under its final
    name before it is complete.
    """
    if (run_id, artifact_uri).count(None) != 1:
        from ..exceptions import InvalidParameterValue

        raise InvalidParameterValue("Exactly one of `run_id` or `artifact_uri` must be specified")
    if artifact_uri is not None and artifact_path is not None:
        from ..exceptions import InvalidParameterValue

        raise InvalidParameterValue("`artifact_path` cannot be specified if `artifact_uri` is specified")
    if dst_path is not None:
        os.makedirs(dst_path, exist_ok=True)
    from ._uris import download, split_root

    if artifact_uri is not None and uri_scheme(os.fspath(artifact_uri)) not in ("runs", "models", "mlflow-artifacts"):
        # A store's own URI needs no tracking server (nor a usable tracking URI).
        from .._settings import Settings

        root, name = split_root(os.fspath(artifact_uri))
        repo = get_repository(root, settings=Settings.from_env())
        try:
            return repo.download_artifacts(name, dst_path)
        except MlflowException as err:
            if not os.fspath(artifact_uri).startswith("m-"):
                raise
            raise _with_model_id_hint(err, os.fspath(artifact_uri)) from err
        finally:
            repo.close()
    from ..client import MlflowClient

    with MlflowClient(tracking_uri, registry_uri) as client:
        if artifact_uri is not None:
            try:
                return download(client, os.fspath(artifact_uri), dst_path)
            except MlflowException as err:
                if not os.fspath(artifact_uri).startswith("m-"):
                    raise
                raise _with_model_id_hint(err, os.fspath(artifact_uri)) from err
        assert run_id is not None
        return client.download_artifacts(run_id, artifact_path or "", dst_path)


def _with_model_id_hint(err: MlflowException, uri: str) -> MlflowException:
    """MLflow's hint when a bare logged-model ID (``m-...``) is given as a URI."""
    return type(err)(
        f"Invalid uri `{uri}` is passed. Maybe you meant 'models:/{uri}'?",
        error_code=err.error_code,
        http_status=err.http_status,
    )
