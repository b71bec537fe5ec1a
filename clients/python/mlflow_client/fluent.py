"""The fluent API: ``start_run``, ``log_metric`` and friends on an active run, like ``mlflow``'s.

State kept here: the active experiment (one per process), and a stack of active runs (nested runs push
onto it) per thread and per asyncio task. Explicit ``MlflowClient`` objects never see this state.

The stack is a ``contextvars.ContextVar`` holding an immutable tuple, tagged with the thread that set it:

- Each asyncio task sees the stack as it was when the task was created (tasks copy their creator's
  context): a child task sees its parent's active run and can log to it or nest under it, but its own
  ``start_run``/``end_run`` only change its own view, never the parent's. Two tasks that each start a
  run from no active run get a run each (MLflow's thread-local stack makes them clash, MLflow #15131).
- A new thread starts with no active run, as in MLflow, which keeps one stack per thread. That holds
  also where a thread runs a copy of another thread's context (``asyncio.to_thread``,
  ``contextvars.copy_context().run`` in a pool): a stack tagged with another thread is not seen.
- A forked child process starts with no active run (as in MLflow) and does not end its parent's runs.

``end_run()`` ends the top run of the caller's view, even one it inherited from a parent task, as MLflow
does for its thread. Every run started here and not ended yet, in any thread or task, is ended at
interpreter exit (MLflow ends only the main thread's top run).
"""

from __future__ import annotations

import atexit
import contextvars
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from . import _context, _tracking_uri
from .entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from .exceptions import MlflowException

if TYPE_CHECKING:
    from types import TracebackType

    import pandas

    from ._delivery import RunOperations
    from .client import MlflowClient

_lock = threading.RLock()
_clients: dict[str, MlflowClient] = {}
_active_experiment_id: str | None = None
_active_experiment_name: str | None = None  # set by name while the server could not be reached (auto offline)
_experiment_names: dict[str, str] = {}  # experiment id -> name, as set_experiment saw them
# The active runs of a thread or task: (token of the thread that set them, runs, innermost last).
_active_runs: contextvars.ContextVar[tuple[object, tuple[ActiveRun, ...]]] = contextvars.ContextVar(
    "mlflow_client_active_runs"
)
_thread = threading.local()  # holds this thread's token
_live_lock = threading.Lock()
_live: dict[int, ActiveRun] = {}  # id(run) -> run, for every run started here and not ended yet


def _client() -> MlflowClient:
    from ._settings import Settings
    from .client import MlflowClient

    uri = _tracking_uri.resolve(None, Settings.from_env())
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = _clients[uri] = MlflowClient(uri)
        return client


def _thread_token() -> object:
    # Not the thread id: ids are reused once a thread ends, and a context can outlive its thread.
    token: object | None = getattr(_thread, "token", None)
    if token is None:
        token = _thread.token = object()
    return token


def _stack() -> tuple[ActiveRun, ...]:
    """The caller's active runs, innermost last: empty unless this thread set them in this context."""
    owner, runs = _active_runs.get((None, ()))
    return runs if owner is _thread_token() else ()


def _set_stack(runs: tuple[ActiveRun, ...]) -> None:
    _active_runs.set((_thread_token(), runs))


def _live_client(run_id: str) -> MlflowClient | None:
    """The client that started ``run_id``, if it is active here or anywhere else in this process."""
    for run in reversed(_stack()):
        if run.info.run_id == run_id and run._client is not None:
            return run._client
    with _live_lock:
        runs = list(_live.values())
    return next((r._client for r in reversed(runs) if r.info.run_id == run_id and r._client is not None), None)


def _after_fork_in_child() -> None:
    global _thread, _live_lock
    _thread = threading.local()  # every stack set before the fork now belongs to another thread
    _live_lock = threading.Lock()  # another thread may have held it at the fork
    _live.clear()  # the parent's runs are the parent's to end


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ActiveRun(Run):
    """The run ``start_run`` returned; as a context manager it ends the run on exit (FAILED if the
    block raised)."""

    def __init__(self, run: Run, client: MlflowClient | None = None) -> None:
        super().__init__(run.info, run.data, run.inputs)
        self._client = client  # the client that started it: logging to the run goes where the run is

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not any(r.info.run_id == self.info.run_id for r in _stack()):
            return  # ended inside the block already: the run now on top is not this block's to end
        if exc_type is None:
            end_run(RunStatus.to_string(RunStatus.FINISHED))
            return
        import contextlib

        from .exceptions import AsyncLoggingError

        # A refused asynchronous operation is logged at WARNING and dead-lettered already; the block's
        # own exception is the one to see.
        with contextlib.suppress(AsyncLoggingError):
            end_run(RunStatus.to_string(RunStatus.FAILED))


# -- tracking URI and experiments -------------------------------------------------------------------


def set_tracking_uri(uri: str | None) -> None:
    """Set the tracking URI for this process (an http(s) URL of a tracking server)."""
    _tracking_uri.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    from ._settings import Settings

    return _tracking_uri.resolve(None, Settings.from_env())


def set_registry_uri(uri: str | None) -> None:
    """Set the model registry URI for this process (clients made without ``registry_uri`` use it)."""
    _tracking_uri.set_registry_uri(uri)


def get_registry_uri() -> str:
    """The registry URI in force: ``set_registry_uri()``, else MLFLOW_REGISTRY_URI, else the tracking URI."""
    from ._registry_methods import resolve_registry_uri
    from ._settings import Settings

    settings = Settings.from_env()
    return resolve_registry_uri(None, _tracking_uri.resolve(None, settings), settings)


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active for runs started after this, creating it by name if it is missing."""
    global _active_experiment_id, _active_experiment_name
    if (experiment_name is None) == (experiment_id is None):
        raise MlflowException(
            "Must specify exactly one of: `experiment_id` or `experiment_name`.", error_code="INVALID_PARAMETER_VALUE"
        )
    client = _client()
    if experiment_name is not None and client._settings.offline == "auto" and client._remote:
        from . import _offline

        chosen = _offline.client_for_new_run(client)
        if chosen is not client:  # no server: the name is kept, and runs go to the offline store's namesake
            experiment = _get_or_create(chosen, experiment_name)
            with _lock:
                _active_experiment_id, _active_experiment_name = None, experiment_name
            return experiment
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        assert experiment_name is not None
        experiment = _get_or_create(client, experiment_name)
    if experiment.lifecycle_stage != "active":
        raise MlflowException(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. You can restore "
            "the experiment, or permanently delete the experiment to create a new one.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    with _lock:
        _active_experiment_id, _active_experiment_name = experiment.experiment_id, None
        _experiment_names[experiment.experiment_id] = experiment.name
    return experiment


def _get_or_create(client: MlflowClient, name: str) -> Experiment:
    found = client.get_experiment_by_name(name)
    return found or client.get_experiment(client.create_experiment(name))


def _experiment_id_for_new_run() -> str:
    from ._settings import Settings

    with _lock:
        if _active_experiment_id is not None:
            return _active_experiment_id
        name = _active_experiment_name
    if name is not None:  # chosen while the server could not be reached, and it answers now
        return set_experiment(experiment_name=name).experiment_id
    settings = Settings.from_env()
    if settings.experiment_id:
        return settings.experiment_id
    if settings.experiment_name:
        return set_experiment(experiment_name=settings.experiment_name).experiment_id
    return "0"


def _offline_experiment_id(offline: MlflowClient, experiment_id: str | None) -> str:
    """The offline store's experiment for a run that would have gone to ``experiment_id`` (or the
    active experiment) online: the one with the same name, so that uploading merges them."""
    from ._settings import Settings

    name = None
    if experiment_id is None:
        with _lock:
            experiment_id, name = _active_experiment_id, _active_experiment_name
        if experiment_id is None and name is None:
            settings = Settings.from_env()
            experiment_id = settings.experiment_id
            name = None if experiment_id else settings.experiment_name
    if name is None:
        name = "Default" if experiment_id in (None, "0") else _experiment_names.get(experiment_id or "")
    if name is None:
        raise MlflowException(
            f"Cannot record the run offline: the tracking server cannot be reached, and the name of experiment "
            f"{experiment_id} is not known. Choose the experiment by name (set_experiment(experiment_name=...) "
            "or MLFLOW_EXPERIMENT_NAME) so that offline runs can go to it.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    return _get_or_create(offline, name).experiment_id


# -- runs -------------------------------------------------------------------------------------------


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id`` (or MLFLOW_RUN_ID), and make it the active run."""
    from ._settings import Settings

    stack = _stack()
    if stack and not nested:
        raise MlflowException(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first end the "
            "current run with mlflow_client.end_run(). To start a nested run, call start_run with nested=True",
            error_code="INVALID_PARAMETER_VALUE",
        )
    client = _client()
    auto = client._settings.offline == "auto" and client._remote
    resume_id = run_id or Settings.from_env().run_id
    if resume_id:
        if auto:
            from . import _offline

            client = _offline.offline_run_client(client, resume_id) or client
        run = client.get_run(resume_id)
        if experiment_id is not None and experiment_id != run.info.experiment_id:
            raise MlflowException(
                f"The run {resume_id} belongs to experiment {run.info.experiment_id}, not {experiment_id}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        if run.info.lifecycle_stage != "active":
            raise MlflowException(
                f"Cannot start run with ID {resume_id} because it is in the deleted state.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        client.update_run(resume_id, status=RunStatus.to_string(RunStatus.RUNNING), name=run_name)
        extra = {k: str(v) for k, v in (tags or {}).items()}
        if description:
            extra[_context.NOTE] = description
        if extra:
            client.log_batch(resume_id, tags=[RunTag(k, v) for k, v in extra.items()])
        active = ActiveRun(client.get_run(resume_id), client)
    else:
        parent = parent_run_id or (stack[-1].info.run_id if nested and stack else None)
        run_tags: dict[str, Any] = {**_context.system_tags(), **(tags or {})}
        if parent:
            run_tags[_context.PARENT_RUN_ID] = parent
        if description:
            run_tags[_context.NOTE] = description
        chosen = client
        if auto:
            from . import _offline

            parent_client = _live_client(parent) if parent else None
            offline_parent = parent_client is not None and parent_client._offline
            chosen = parent_client if offline_parent else _offline.client_for_new_run(client)  # type: ignore[assignment]
        if chosen is client:
            exp_id = experiment_id or _experiment_id_for_new_run()
        else:
            exp_id = _offline_experiment_id(chosen, experiment_id)
        active = ActiveRun(chosen.create_run(exp_id, tags=run_tags, run_name=run_name), chosen)
    with _live_lock:
        _live[id(active)] = active
    _set_stack((*stack, active))  # a new tuple: tasks that copied the old one keep seeing it
    return active


def end_run(status: str = "FINISHED") -> None:
    """End the active run (if any) with ``status``."""
    stack = _stack()
    if not stack:
        return
    _set_stack(stack[:-1])
    _terminate(stack[-1], status)


def _terminate(run: ActiveRun, status: str) -> None:
    with _live_lock:
        _live.pop(id(run), None)
    client = run._client or _client()
    client.set_terminated(run.info.run_id, status)
    offline = sys.modules.get("mlflow_client._offline")
    if offline is not None and client._offline:
        offline.run_ended(client)


def _end_live_runs(status: str = "FINISHED") -> None:
    """End every run started here and not ended yet, in any thread or task, innermost (latest) first."""
    _set_stack(())
    with _live_lock:
        runs = list(reversed(_live.values()))
    ended: set[str] = set()
    for run in runs:
        if run.info.run_id in ended:  # resumed in two places at once: one end is enough
            with _live_lock:
                _live.pop(id(run), None)
            continue
        ended.add(run.info.run_id)
        try:
            _terminate(run, status)
        except Exception:  # interpreter exit: report nothing more than MLflow does
            break


def _end_runs_at_exit() -> None:
    from ._settings import Settings

    delivery = sys.modules.get("mlflow_client._delivery")
    if delivery is not None and _live:
        delivery.begin_exit(Settings.from_env().drain_timeout)
    _end_live_runs()
    offline = sys.modules.get("mlflow_client._offline")
    if offline is not None:  # runs recorded offline while the server was away: one last try to upload
        offline.at_exit(Settings.from_env().drain_timeout)


atexit.register(_end_runs_at_exit)


def _target(run_id: str | None) -> tuple[MlflowClient, str]:
    """The client and run a logging call goes to: ``run_id`` if given, else the active run (started if
    none is), through the client that started it."""
    if run_id is None:
        stack = _stack()
        run = stack[-1] if stack else start_run()
        return (run._client or _client()), run.info.run_id
    return _client_for(run_id), run_id


def _client_for(run_id: str) -> MlflowClient:
    """The client of an active run started here (it may be an offline one), else the tracking URI's."""
    return _live_client(run_id) or _client()


# -- logging to the active run ----------------------------------------------------------------------
# ``synchronous=False`` (or MLFLOW_ENABLE_ASYNC_LOGGING=true) makes a call return at once with a
# ``RunOperations``: the data is in the spool on disk and the background sender delivers it.


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    client, run_id = _target(None)
    return client.log_param(run_id, key, value, synchronous=synchronous)


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    client, run_id = _target(run_id)
    return client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()], synchronous=synchronous)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    client, run_id = _target(run_id)
    return client.log_metric(
        run_id, key, value, timestamp=timestamp, step=step, synchronous=synchronous, model_id=model_id
    )


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    from .client import now_ms

    client, run_id = _target(run_id)
    ts = timestamp if timestamp is not None else now_ms()
    batch = [Metric(k, v, ts, step or 0, model_id=model_id) for k, v in metrics.items()]
    return client.log_batch(run_id, metrics=batch, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    client, run_id = _target(None)
    return client.set_tag(run_id, key, value, synchronous=synchronous)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    client, run_id = _target(None)
    return client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=synchronous)


def flush_async_logging(timeout: float | None = None) -> None:
    """Return once everything this process logged asynchronously so far is on its server (and what the
    spool held from processes that died). Raises ``AsyncLoggingError`` for operations the server refused
    for good since the last flush, and ``DeliveryTimeout`` if ``timeout`` seconds pass first (nothing
    is lost: the data stays in the spool)."""
    delivery = sys.modules.get("mlflow_client._delivery")
    if delivery is not None:
        delivery.flush_all(timeout)


def delete_tag(key: str) -> None:
    client, run_id = _target(None)
    client.delete_tag(run_id, key)


def get_run(run_id: str) -> Run:
    return _client_for(run_id).get_run(run_id)


@overload
def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: Literal["pandas"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> pandas.DataFrame: ...


@overload
def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    *,
    output_format: Literal["list"],
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> list[Run]: ...


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> pandas.DataFrame | list[Run]:
    """``mlflow.search_runs``: runs of ``experiment_ids`` or ``experiment_names`` (else every active experiment
    with ``search_all_experiments``, else the active experiment) as MLflow's DataFrame, or as ``Run``s with
    ``output_format="list"``. The DataFrame needs the ``pandas`` extra."""
    from . import _runs_frame

    result: pandas.DataFrame | list[Run] = _runs_frame.search_runs(
        _client(),
        _experiment_id_for_new_run,
        experiment_ids,
        filter_string,
        run_view_type,
        max_results,
        order_by,
        output_format,
        search_all_experiments,
        experiment_names,
    )
    return result


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


# -- artifacts of the active run ----------------------------------------------------------------------


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Upload a local file (or folder) into the active run's ``artifact_path`` folder."""
    client, run_id = _target(run_id)
    client.log_artifact(run_id, local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Upload the files under ``local_dir`` into the active run's ``artifact_path`` folder."""
    client, run_id = _target(run_id)
    client.log_artifacts(run_id, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Store ``text`` as the active run's artifact file ``artifact_file``."""
    client, run_id = _target(run_id)
    client.log_text(run_id, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Store ``dictionary`` as JSON (or YAML for .yaml/.yml) as the active run's ``artifact_file``."""
    client, run_id = _target(run_id)
    client.log_dict(run_id, dictionary, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The active run's artifact URI, or that of ``artifact_path`` under it (starting a run if none is)."""
    run = active_run() or start_run()  # as in MLflow, asking for it starts a run when none is active
    uri = run.info.artifact_uri or ""
    if not artifact_path:
        return uri
    return uri.rstrip("/") + "/" + artifact_path.lstrip("/")
