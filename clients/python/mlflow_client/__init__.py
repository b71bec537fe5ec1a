"""mlflow-client: a light, fast client for the MLflow Tracking REST API.

Tracking code written against ``mlflow`` works after rewriting the imports to ``mlflow_client``:
``mlflow_client.MlflowClient``, ``mlflow_client.entities``, ``mlflow_client.exceptions`` and the fluent
functions (``start_run``, ``log_metric``, ...) on this package. Importing it is cheap: the HTTP stack
and the generated models load on first use.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which costs more than the rest of this file

__version__ = "0.1.0"

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY = {
    "AsyncMlflowClient": "async_client",
    "MlflowClient": "client",
    "MlflowException": "exceptions",
    "ActiveRun": "fluent",
    "active_run": "fluent",
    "create_experiment": "fluent",
    "delete_tag": "fluent",
    "end_run": "fluent",
    "flush_async_logging": "fluent",
    "RunOperations": "_delivery.operations",
    "get_experiment": "fluent",
    "get_experiment_by_name": "fluent",
    "get_run": "fluent",
    "get_registry_uri": "fluent",
    "get_tracking_uri": "fluent",
    "log_artifact": "fluent",
    "log_artifacts": "fluent",
    "log_text": "fluent",
    "log_dict": "fluent",
    "get_artifact_uri": "fluent",
    "log_metric": "fluent",
    "log_metrics": "fluent",
    "log_param": "fluent",
    "log_params": "fluent",
    "search_runs": "fluent",
    "set_experiment": "fluent",
    "set_tag": "fluent",
    "set_tags": "fluent",
    "set_registry_uri": "fluent",
    "set_tracking_uri": "fluent",
    "start_run": "fluent",
}
_SUBMODULES = ("entities", "exceptions", "client", "async_client", "config", "fluent")

__all__ = [
    "ActiveRun",
    "AsyncMlflowClient",
    "MlflowClient",
    "MlflowException",
    "RunOperations",
    "__version__",
    "active_run",
    "async_client",
    "client",
    "config",
    "create_experiment",
    "delete_tag",
    "end_run",
    "entities",
    "exceptions",
    "fluent",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

if TYPE_CHECKING:
    from typing import Any

    from . import async_client, client, config, entities, exceptions, fluent
    from ._delivery.operations import RunOperations
    from .async_client import AsyncMlflowClient
    from .client import MlflowClient
    from .exceptions import MlflowException
    from .fluent import (
        ActiveRun,
        active_run,
        create_experiment,
        delete_tag,
        end_run,
        flush_async_logging,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_registry_uri,
        get_run,
        get_tracking_uri,
        log_artifact,
        log_artifacts,
        log_dict,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        search_runs,
        set_experiment,
        set_registry_uri,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
