"""``MlflowClient``: the tracking methods of ``mlflow.MlflowClient``, same names, arguments and results.

The client checks arguments the way MLflow does before anything goes on the wire, applies MLflow's
defaults (timestamps, statuses, batch splitting) and hands the work to a tracking store chosen by the
tracking URI. Settings, HTTP and error mapping live in their own modules.
"""

from __future__ import annotations

import operator
import os
import time

from . import config
from ._logged_model_methods import LoggedModelMethods
from ._registry_methods import RegistryMethods
from .entities._enums import RunStatus, ViewType

# Importing the client loads no more than it needs to be built: entities (msgspec), validation (re, json) and
# the stores load on first use, in the functions below. TYPE_CHECKING as typing has it, without importing typing.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from types import TracebackType
    from typing import Any

    from ._delivery import RunOperations
    from ._delivery.delivery import Delivery
    from ._file_store import FileStore
    from ._rest_store import RestStore
    from ._settings import Settings
    from .artifacts import ArtifactRepository
    from .entities import Experiment, ExperimentTag, FileInfo, Metric, PagedList, Param, Run, RunTag
    from .entities._coerce import DatasetInputLike, KeyValueLike, MetricLike

SEARCH_MAX_RESULTS_DEFAULT = 1000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
_PAGE_SIZE = 1000


def now_ms() -> int:
    return int(time.time() * 1000)


_GOOD_KEYS: set[str] = set()  # keys already checked: a training loop logs the same few keys again and again


def _check_key(key: str, field: str = "key") -> None:
    if key in _GOOD_KEYS:
        return
    from ._validation import key_problem

    problem = key_problem(key, field)
    if problem:
        from .exceptions import InvalidParameterValue

        raise InvalidParameterValue(problem)
    if len(_GOOD_KEYS) > 10_000:
        _GOOD_KEYS.clear()
    _GOOD_KEYS.add(key)


def _check_int(value: Any, name: str) -> int:
    """An integer argument (numpy integers too), or an error naming the argument."""
    try:
        return operator.index(value)
    except TypeError:
        from .exceptions import InvalidParameterValue

        raise InvalidParameterValue(f"{name} must be an integer, got {value!r} ({type(value).__name__})") from None


def _check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        from .exceptions import InvalidParameterValue

        raise InvalidParameterValue(f"run_id must be a non-empty string, got {run_id!r}")
    return run_id


def _check_metric_value(key: str, value: Any) -> float:
    if type(value) is float or type(value) is int:  # the usual case, without importing numbers
        return float(value)
    import numbers

    # bool is a Number in Python but not a metric value; numpy scalars are Numbers and welcome.
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        from .exceptions import InvalidParameterValue

        raise InvalidParameterValue(
            f"Got invalid value {value!r} for metric '{key}' (type {type(value).__name__}). "
            "Please specify value as a valid double (64-bit floating point)"
        )
    return float(value)  # type: ignore[arg-type]


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _experiment_tags(name: str, tags: dict[str, Any] | None) -> list[ExperimentTag]:
    """``create_experiment``'s checks: a name, valid tag keys; the tags as entities."""
    if not name:
        from .exceptions import InvalidParameterValue

        raise InvalidParameterValue("Invalid experiment name: ''. Experiment name cannot be empty.")
    from .entities._experiment import ExperimentTag

    experiment_tags = [ExperimentTag(k, _stringify(v)) for k, v in (tags or {}).items()]
    for t in experiment_tags:
        _check_key(t.key)
    return experiment_tags


def _run_tags(tags: dict[str, Any] | None) -> tuple[list[RunTag], str]:
    """``create_run``'s tags as entities (keys checked) and the user id they name, as MLflow reads it."""
    from .entities._run_data import RunTag

    given = dict(tags or {})
    run_tags = [RunTag(k, _stringify(v)) for k, v in given.items()]
    for t in run_tags:
        _check_key(t.key)
    return run_tags, _stringify(given.get("mlflow.user", "unknown"))


def _checked_point(key: str, value: Any, timestamp: int | None, step: int | None) -> tuple[float, int, int]:
    """``log_metric``'s checks and defaults: (value, timestamp, step)."""
    _check_key(key, "name")
    return (
        _check_metric_value(key, value),
        now_ms() if timestamp is None else _check_int(timestamp, "timestamp"),
        0 if step is None else _check_int(step, "step"),
    )


def _checked_batch(
    metrics: Sequence[MetricLike], params: Sequence[KeyValueLike], tags: Sequence[KeyValueLike]
) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """``log_batch``'s items as our entities (``mlflow.entities`` ones too), keys and values checked."""
    from .entities._coerce import as_metric, as_param, as_run_tag

    ms, ps, ts = [as_metric(x) for x in metrics], [as_param(p) for p in params], [as_run_tag(t) for t in tags]
    for x in ms:
        _check_key(x.key, "name")
        _check_metric_value(x.key, x.value)
    for p in ps:
        _check_key(p.key)
    for t in ts:
        _check_key(t.key)
    return ms, ps, ts


def resolve_store(tracking_uri: str, settings: Settings) -> RestStore | FileStore:
    """The store for a tracking URI: a server for http(s) (its offline store with MLFLOW_CLIENT_OFFLINE=true),
    the workspace a ``databricks[://PROFILE]`` URI names, ``./mlruns``-style folders for paths and ``file:``
    URIs, a clear error for everything else."""
    from ._tracking_uri import DEFAULT_LOCAL_URI
    from .exceptions import MlflowException

    scheme = tracking_uri.split(":", 1)[0].lower() if "://" in tracking_uri else ""
    if scheme in ("http", "https"):
        if settings.offline == "true":  # the server's offline store, and no network at all
            from ._file_store import FileStore
            from ._offline import store_for

            return FileStore(store_for(settings, tracking_uri).mlruns)
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
    from ._databricks import is_databricks_uri

    if is_databricks_uri(tracking_uri):
        if settings.offline == "true":  # kept under the URI itself: the credentials are looked up at upload
            from ._file_store import FileStore
            from ._offline import store_for

            return FileStore(store_for(settings, tracking_uri).mlruns)
        from ._databricks import resolve_databricks

        return resolve_store(*resolve_databricks(tracking_uri, settings))
    if tracking_uri.lower().startswith("databricks"):  # databricks-uc and the like name a model registry
        raise MlflowException(
            f"Tracking URI {tracking_uri!r} is not a tracking URI mlflow-client supports: use `databricks`, "
            "`databricks://<profile>` or the workspace's https:// URL.",
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


class MlflowClient(RegistryMethods, LoggedModelMethods):
    """A client of an MLflow tracking server, a drop-in for ``mlflow.MlflowClient``'s tracking, Model Registry
    and logged-model methods (the latter two in ``_registry_methods`` and ``_logged_model_methods``).

    ``tracking_uri`` defaults to the one set with ``mlflow_client.set_tracking_uri()``, then to
    ``MLFLOW_TRACKING_URI``. ``registry_uri`` defaults to ``MLFLOW_REGISTRY_URI``, then to the tracking URI.
    Use it as a context manager, or call ``close()``, to release connections.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None, **settings: Any) -> None:
        from . import _tracking_uri
        from ._databricks import is_databricks_uri, resolve_databricks
        from ._settings import Settings

        self._settings = Settings.from_env(**settings)
        self._tracking_uri = _tracking_uri.resolve(tracking_uri, self._settings)
        from ._registry_methods import resolve_registry_uri

        self._registry_uri = resolve_registry_uri(registry_uri, self._tracking_uri, self._settings)
        self._artifact_repos: dict[str, ArtifactRepository] = {}
        self._no_logged_models = False  # set once the server says it has none (before MLflow 3)
        databricks = is_databricks_uri(self._tracking_uri)
        self._remote = databricks or self._tracking_uri.lower().startswith(("http://", "https://"))
        self._delivery_cache: tuple[int, Delivery] | None = None
        self._offline = self._remote and self._settings.offline == "true"
        self._remote = self._remote and not self._offline
        # Where requests go: the tracking URI, or the workspace URL (and its credentials) of a Databricks one.
        self._server_url = self._tracking_uri
        if databricks and self._remote:
            self._server_url, self._settings = resolve_databricks(self._tracking_uri, self._settings)
        self._store = resolve_store(self._server_url, self._settings)
        if self._remote:
            from ._delivery import replay_if_pending

            replay_if_pending(self._server_url, self._settings)

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    def close(self) -> None:
        for repo in self._artifact_repos.values():
            repo.close()
        self._artifact_repos.clear()
        self._close_registry()
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
        from ._delivery.spool import public_url

        if self._offline:
            return f"MlflowClient(tracking_uri={public_url(self._tracking_uri)!r}, offline=True)"
        uri = public_url(self._tracking_uri) if self._remote else self._tracking_uri
        return f"MlflowClient(tracking_uri={uri!r})"

    # -- asynchronous logging -----------------------------------------------------------------------

    def _asynchronous(self, synchronous: bool | None) -> bool:
        if synchronous is not None:
            return not synchronous
        chosen = config.async_logging_enabled()
        return self._settings.async_logging if chosen is None else chosen

    def _delivery(self) -> Delivery:
        """This process's background delivery to the client's server (shared by every client of it)."""
        from . import _delivery

        cached = self._delivery_cache
        if cached is not None and cached[0] == _delivery.generation and not cached[1].closed:
            return cached[1]
        delivery = _delivery.delivery_for(self._server_url, self._settings)
        self._delivery_cache = (_delivery.generation, delivery)
        return delivery

    def _spool(self, body: bytes) -> RunOperations:
        from ._delivery import RunOperations

        delivery = self._delivery()
        return RunOperations([(delivery, delivery.submit(body))])

    @staticmethod
    def _done() -> RunOperations:
        """What an asynchronous call to a local store returns: it is on disk already."""
        from ._delivery import RunOperations

        return RunOperations()

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        return self._store.create_experiment(name, artifact_location, _experiment_tags(name, tags))

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
        run_tags, user_id = _run_tags(tags)
        return self._store.create_run(experiment_id, user_id, start_time or now_ms(), run_tags, run_name)

    def _create_run_as(
        self, experiment_id: str, user_id: str, start_time: int, tags: dict[str, str], run_name: str | None
    ) -> Run:
        """A run with exactly these user, start time and tags (for ``sync``: nothing derived, nothing added)."""
        from .entities._run_data import RunTag

        run_tags = [RunTag(k, v) for k, v in tags.items()]
        for t in run_tags:
            _check_key(t.key)
        return self._store.create_run(experiment_id, user_id, start_time, run_tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is None and name is None:
            return
        if status is not None:
            RunStatus.from_string(status)  # refuses unknown statuses before the wire
        self._store.update_run(run_id, status, None, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End the run. If this process logs asynchronously to its server, the run's pending data goes
        first and the status after it, through the spool: this waits for both, at most
        MLFLOW_CLIENT_DRAIN_TIMEOUT seconds (after that they stay spooled and are sent in the background),
        then raises ``AsyncLoggingError`` if the server refused any of the run's asynchronous data."""
        status = status or RunStatus.to_string(RunStatus.FINISHED)
        RunStatus.from_string(status)
        end_time = end_time or now_ms()
        if self._remote:
            from ._delivery import existing_delivery, exit_time_left
            from ._delivery.records import encode_terminate

            delivery = existing_delivery(self._server_url, self._settings)
            if delivery is not None:
                seq = delivery.submit(encode_terminate(_check_run_id(run_id), status, end_time))
                delivery.end_of_run(run_id, seq, exit_time_left(self._settings.drain_timeout))
                return
        self._store.update_run(run_id, status, end_time, None)

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
    ) -> RunOperations | None:
        """Log a metric value. ``synchronous=False`` (or MLFLOW_ENABLE_ASYNC_LOGGING) returns at once with a
        ``RunOperations``: the value is in the spool on disk and a background sender delivers it."""
        value, timestamp, step = _checked_point(key, value, timestamp, step)
        if self._asynchronous(synchronous) and self._remote:
            from ._delivery.records import encode_metric

            body = encode_metric(
                _check_run_id(run_id), key, value, timestamp, step, model_id, dataset_name, dataset_digest
            )
            return self._spool(body)
        from .entities._run_data import Metric

        metric = Metric(
            key,
            value,
            timestamp,
            step,
            model_id=model_id,
            dataset_name=dataset_name,
            dataset_digest=dataset_digest,
        )
        self._store.log_metric(run_id, metric)
        return self._done() if self._asynchronous(synchronous) else None

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param; returns ``value``, or a ``RunOperations`` when asynchronous."""
        from .entities._run_data import Param

        _check_key(key)
        text = _stringify(value)
        if self._asynchronous(synchronous):
            if not self._remote:
                self._store.log_param(run_id, Param(key, text))
                return self._done()
            from ._delivery.records import encode_param

            return self._spool(encode_param(_check_run_id(run_id), key, text))
        self._store.log_param(run_id, Param(key, text))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
        _check_key(key)
        text = _stringify(value)
        if self._asynchronous(synchronous) and self._remote:
            from ._delivery.records import encode_tag

            return self._spool(encode_tag(_check_run_id(run_id), key, text))
        from .entities._run_data import RunTag

        self._store.set_tag(run_id, RunTag(key, text))
        return self._done() if self._asynchronous(synchronous) else None

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricLike] = (),
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log everything, split into requests within the server's limits (1000 metrics, 100 params,
        100 tags, 1000 entities per request). Each request is all-or-nothing on the server.
        Asynchronous: spooled now, coalesced with other calls' data by the background sender."""
        ms, ps, ts = _checked_batch(metrics, params, tags)
        if not (ms or ps or ts):
            return None  # nothing to log sends nothing, as in MLflow
        asynchronous = self._asynchronous(synchronous)
        if asynchronous and self._remote:
            return self._spool_batch(_check_run_id(run_id), ms, ps, ts)
        for batch in _batches(ms, ps, ts):
            self._store.log_batch(run_id, *batch)
        return self._done() if asynchronous else None

    def _spool_batch(
        self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]
    ) -> RunOperations | None:
        from ._delivery import RunOperations
        from ._delivery.records import encode_batch

        delivery = self._delivery()
        operations = []
        for m_chunk, p_chunk, t_chunk in _batches(metrics, params, tags):
            rows = [
                (
                    x.key,
                    float(x.value),
                    now_ms() if x.timestamp is None else _check_int(x.timestamp, "timestamp"),
                    0 if x.step is None else _check_int(x.step, "step"),
                    x.model_id,
                    x.dataset_name,
                    x.dataset_digest,
                )
                for x in m_chunk
            ]
            body = encode_batch(
                run_id,
                rows,
                [(p.key, _stringify(p.value)) for p in p_chunk],
                [(t.key, _stringify(t.value)) for t in t_chunk],
            )
            operations.append((delivery, delivery.submit(body)))
        return RunOperations(operations) if operations else None

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInputLike] | None = None,
        models: Sequence[Any] | None = None,
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        from .entities._coerce import as_dataset_input

        inputs = [as_dataset_input(d) for d in datasets or []]
        model_ids = [str(getattr(x, "model_id", x)) for x in (models or [])]
        if self._asynchronous(synchronous) and self._remote:
            import msgspec

            from ._delivery.records import encode_inputs

            wire = [msgspec.to_builtins(d._to_wire()) for d in inputs]
            return self._spool(encode_inputs(_check_run_id(run_id), wire, model_ids))
        self._store.log_inputs(run_id, inputs, model_ids)
        return self._done() if self._asynchronous(synchronous) else None

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(run_id, key)

    def list_artifact_files(self, run_id: str, path: str | None = None) -> list[tuple[str, int | None]]:
        """Every artifact file of the run under ``path``, recursively, as (path, size) pairs (an addition)."""
        return self._artifact_repo(run_id).list_files(path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The entries under ``path``; as in MLflow 3, with those of the run's logged model that the first
        segment of ``path`` names (``mlflow.<flavor>.log_model(name=...)`` stores a model's files there)."""
        local = self._local_artifact_repo(run_id)
        # A run folder reachable from here needs no request to the server.
        files = local.list_artifacts(path) if local is not None else self._store.list_artifacts(run_id, path)
        if path:
            from ._run_artifacts import list_model_artifacts

            files += list_model_artifacts(self, run_id, path)
        return files

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
                from .exceptions import MlflowException

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
                from .exceptions import MlflowException

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
            from .exceptions import InvalidParameterValue

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
        folder) and return its local path. Paths that would land outside ``dst_path`` are refused. As in
        MLflow 3, the files of the run's logged model named by the first segment of ``path`` come too."""
        if not path:
            return self._artifact_repo(run_id).download_artifacts(path, dst_path)
        from ._run_artifacts import download_run_path

        return download_run_path(self, run_id, "", path, dst_path)

    def _repository_for(self, artifact_uri: str) -> ArtifactRepository:
        """The repository of any artifact URI (a logged model's, a model version's), cached by URI;
        ``mlflow-artifacts:`` ones go through this client's server."""
        from .artifacts import get_repository

        key = "uri:" + artifact_uri
        repo = self._artifact_repos.get(key)
        if repo is None:
            from ._transport import HttpTransport

            transport = self._store.transport
            http = transport if isinstance(transport, HttpTransport) else None
            repo = self._artifact_repos[key] = get_repository(artifact_uri, transport=http, settings=self._settings)
        return repo


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
