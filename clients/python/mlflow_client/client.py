"""``MlflowClient``: the tracking methods of ``mlflow.MlflowClient``, same names, arguments and results.

The client checks arguments the way MLflow does before anything goes on the wire, applies MLflow's
defaults (timestamps, statuses, batch splitting) and hands the work to a tracking store chosen by the
tracking URI. Settings, HTTP and error mapping live in their own modules.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._tracking_uri import DEFAULT_LOCAL_URI
from ._validation import key_problem
from .entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from .exceptions import InvalidParameterValue, MlflowException

if TYPE_CHECKING:
    from types import TracebackType

    from ._file_store import FileStore
    from ._rest_store import RestStore
    from ._settings import Settings
    from .artifacts import ArtifactRepository

SEARCH_MAX_RESULTS_DEFAULT = 1000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
_PAGE_SIZE = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def _check_key(key: str, field: str = "key") -> None:
    problem = key_problem(key, field)
    if problem:
        raise InvalidParameterValue(problem)


def _check_metric_value(key: str, value: Any) -> float:
    # bool is a Number in Python but not a metric value; numpy scalars are Numbers and welcome.
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise InvalidParameterValue(
            f"Got invalid value {value!r} for metric '{key}' (type {type(value).__name__}). "
            "Please specify value as a valid double (64-bit floating point)"
        )
    return float(value)  # type: ignore[arg-type]


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def resolve_store(tracking_uri: str, settings: Settings) -> RestStore | FileStore:
    """The store for a tracking URI: a server for http(s), ``./mlruns``-style folders for paths and
    ``file:`` URIs, a clear error for everything else."""
    scheme = tracking_uri.split(":", 1)[0].lower() if "://" in tracking_uri else ""
    if scheme in ("http", "https"):
        from ._rest_store import RestStore
        from ._transport import HttpTransport

        return RestStore(HttpTransport(tracking_uri, settings))
    if scheme in ("sqlite", "postgresql", "mysql", "mssql") or tracking_uri.startswith(("sqlite:", "postgresql")):
        raise MlflowException(
            f"Tracking URI {tracking_uri.split('://', maxsplit=1)[0]}://... names a database. mlflow-client talks to a "
            "tracking server instead: run `mlflow server --backend-store-uri <that URI>` and set "
            "MLFLOW_TRACKING_URI=http://<host>:<port>.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if scheme.startswith("databricks") or tracking_uri.startswith("databricks"):
        raise MlflowException(
            "Databricks tracking URIs are not supported by mlflow-client yet; use the workspace's "
            "https:// URL with MLFLOW_TRACKING_TOKEN.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    local = _local_path(tracking_uri or DEFAULT_LOCAL_URI)
    if local is None:
        raise MlflowException(
            f"Tracking URI {tracking_uri!r} is not supported by mlflow-client: use an http(s):// server URL, "
            "a local folder or a file: URI.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    from ._file_store import FileStore

    return FileStore(local)


def _local_path(uri: str) -> str | None:
    """The folder a plain path or ``file:`` URI names, ``None`` for any other scheme."""
    if uri.lower().startswith("file:"):
        from .artifacts._local import local_root

        return local_root(uri)
    scheme = uri.split(":", 1)[0]
    if ":" in uri and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return None  # some other scheme (a one-letter one is a Windows drive)
    return uri


class MlflowClient:
    """A client of an MLflow tracking server, a drop-in for ``mlflow.MlflowClient``'s tracking methods.

    ``tracking_uri`` defaults to the one set with ``mlflow_client.set_tracking_uri()``, then to
    ``MLFLOW_TRACKING_URI``. Use it as a context manager, or call ``close()``, to release connections.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None, **settings: Any) -> None:
        from . import _tracking_uri
        from ._settings import Settings

        self._settings = Settings.from_env(**settings)
        self._tracking_uri = _tracking_uri.resolve(tracking_uri, self._settings)
        self._registry_uri = registry_uri
        self._store = resolve_store(self._tracking_uri, self._settings)
        self._artifact_repos: dict[str, ArtifactRepository] = {}

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    def close(self) -> None:
        for repo in self._artifact_repos.values():
            repo.close()
        self._artifact_repos.clear()
        close = getattr(self._store.transport, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> MlflowClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MlflowClient(tracking_uri={self._tracking_uri!r})"

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        if not name:
            raise InvalidParameterValue("Invalid experiment name: ''. Experiment name cannot be empty.")
        experiment_tags = [ExperimentTag(k, _stringify(v)) for k, v in (tags or {}).items()]
        for t in experiment_tags:
            _check_key(t.key)
        return self._store.create_experiment(name, artifact_location, experiment_tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        from .exceptions import ResourceNotFound

        try:
            return self._store.get_experiment_by_name(name)
        except ResourceNotFound:
            return None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self._store.search_experiments(
            view_type, max_results or SEARCH_MAX_RESULTS_DEFAULT, filter_string, order_by, page_token
        )

    def iter_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_size: int = _PAGE_SIZE,
    ) -> Iterator[Experiment]:
        """Every matching experiment, fetching pages as the iteration goes."""
        token: str | None = None
        while True:
            page = self._store.search_experiments(view_type, page_size, filter_string, order_by, token)
            yield from page
            token = page.token
            if not token:
                return

    def list_experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """All experiments across pages (as MLflow's guide uses it; MLflow 2 removed it from its client)."""
        return list(self.iter_experiments(view_type))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        _check_key(key)
        self._store.set_experiment_tag(experiment_id, key, _stringify(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(experiment_id, key)

    # -- runs -----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tags = dict(tags or {})
        run_tags = [RunTag(k, _stringify(v)) for k, v in tags.items()]
        for t in run_tags:
            _check_key(t.key)
        user_id = _stringify(tags.get("mlflow.user", "unknown"))
        return self._store.create_run(experiment_id, user_id, start_time or now_ms(), run_tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is None and name is None:
            return
        if status is not None:
            RunStatus.from_string(status)  # refuses unknown statuses before the wire
        self._store.update_run(run_id, status, None, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        status = status or RunStatus.to_string(RunStatus.FINISHED)
        RunStatus.from_string(status)
        self._store.update_run(run_id, status, end_time or now_ms(), None)

    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(run_id)

    def search_runs(
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
        return self._store.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, page_token)

    def iter_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        order_by: list[str] | None = None,
        page_size: int = _PAGE_SIZE,
    ) -> Iterator[Run]:
        """Every matching run, fetching pages as the iteration goes."""
        token: str | None = None
        while True:
            page = self.search_runs(experiment_ids, filter_string, run_view_type, page_size, order_by, token)
            yield from page
            token = page.token
            if not token:
                return

    # -- logging --------------------------------------------------------------------------------

    def log_metric(
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
    ) -> None:
        _check_key(key, "name")
        metric = Metric(
            key,
            _check_metric_value(key, value),
            timestamp if timestamp is not None else now_ms(),
            step or 0,
            model_id=model_id,
            dataset_name=dataset_name,
            dataset_digest=dataset_digest,
        )
        self._store.log_metric(run_id, metric)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        _check_key(key)
        self._store.log_param(run_id, Param(key, _stringify(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        _check_key(key)
        self._store.set_tag(run_id, RunTag(key, _stringify(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log everything, split into requests within the server's limits (1000 metrics, 100 params,
        100 tags, 1000 entities per request). Each request is all-or-nothing on the server."""
        for x in metrics:
            _check_key(x.key, "name")
            _check_metric_value(x.key, x.value)
        for p in params:
            _check_key(p.key)
        for t in tags:
            _check_key(t.key)
        for batch in _batches(list(metrics), list(params), list(tags)):
            self._store.log_batch(run_id, *batch)

    def log_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] | None = None, models: Sequence[Any] | None = None
    ) -> None:
        model_ids = [getattr(x, "model_id", x) for x in (models or [])]
        self._store.log_inputs(run_id, list(datasets or []), [str(x) for x in model_ids])

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(run_id, key)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        local = self._local_artifact_repo(run_id)
        if local is not None:  # the run's folder is reachable from here: no need to ask the server
            return local.list_artifacts(path)
        return self._store.list_artifacts(run_id, path)

    # -- artifacts ------------------------------------------------------------------------------

    def _artifact_repo(self, run_id: str) -> ArtifactRepository:
        """The repository of the run's artifact URI, cached per run (runs never change their URI)."""
        from .artifacts import get_repository

        repos = self._artifact_repos
        repo = repos.get(run_id)
        if repo is None:
            from ._transport import HttpTransport

            uri = self.get_run(run_id).info.artifact_uri
            if not uri:
                raise MlflowException(f"Run {run_id} has no artifact URI", error_code="INVALID_STATE")
            transport = self._store.transport
            http = transport if isinstance(transport, HttpTransport) else None
            repo = repos[run_id] = get_repository(uri, transport=http, settings=self._settings)
        return repo

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload a local file (or a folder's files) into the run's ``artifact_path`` folder."""
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            self._artifact_repo(run_id).log_artifacts(local_path, "/".join(p for p in (artifact_path, name) if p))
        else:
            self._artifact_repo(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the files under ``local_dir`` (relative paths kept) into the run's ``artifact_path``."""
        self._artifact_repo(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store ``text`` as the artifact file ``artifact_file`` (a path such as ``"dir/notes.txt"``), UTF-8."""
        self._log_file_with(run_id, artifact_file, lambda f: f.write(text))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Store ``dictionary`` as JSON, or as YAML when ``artifact_file`` ends in .yaml/.yml (needs PyYAML)."""
        if artifact_file.lower().endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError as err:
                raise MlflowException(
                    f"log_dict({artifact_file!r}) writes YAML, which needs PyYAML: pip install pyyaml "
                    "(or use a .json file name)"
                ) from err
            self._log_file_with(
                run_id, artifact_file, lambda f: yaml.safe_dump(dictionary, f, indent=2, default_flow_style=False)
            )
        else:
            import json

            self._log_file_with(run_id, artifact_file, lambda f: json.dump(dictionary, f, indent=2))

    def _log_file_with(self, run_id: str, artifact_file: str, write: Callable[[Any], object]) -> None:
        import posixpath
        import tempfile

        folder, name = posixpath.split(artifact_file)
        if not name:
            raise InvalidParameterValue(f"artifact_file must name a file, got {artifact_file!r}")
        with tempfile.TemporaryDirectory(prefix="mlflow-client-") as tmp:
            local = os.path.join(tmp, name)
            with open(local, "w", encoding="utf-8") as f:
                write(f)
            self._artifact_repo(run_id).log_artifact(local, folder or None)

    def _local_artifact_repo(self, run_id: str) -> ArtifactRepository | None:
        """The run's repository if it is a local folder that exists here, else ``None``."""
        from .artifacts._local import LocalArtifactRepository

        repo = self._artifact_repo(run_id)
        return repo if isinstance(repo, LocalArtifactRepository) and os.path.isdir(repo.root) else None

    def download_artifacts(self, run_id: str, path: str, dst_path: str | os.PathLike[str] | None = None) -> str:
        """Download the run's artifact file or folder ``path`` into ``dst_path`` (default: a new temporary
        folder) and return its local path. Paths that would land outside ``dst_path`` are refused."""
        return self._artifact_repo(run_id).download_artifacts(path, dst_path)


def _batches(
    metrics: list[Metric], params: list[Param], tags: list[RunTag]
) -> Iterator[tuple[list[Metric], list[Param], list[RunTag]]]:
    """Params and tags in chunks of 100, metrics filling each request up to 1000 entities."""
    m_i = p_i = t_i = 0
    while True:
        p = params[p_i : p_i + MAX_PARAMS_TAGS_PER_BATCH]
        t = tags[t_i : t_i + MAX_PARAMS_TAGS_PER_BATCH]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(p) - len(t))
        x = metrics[m_i : m_i + room]
        if not (p or t or x):
            return  # nothing to log sends nothing, as in MLflow
        yield x, p, t
        m_i, p_i, t_i = m_i + len(x), p_i + len(p), t_i + len(t)
