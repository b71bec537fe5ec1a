"""MLflow's tracking entities, with the names, constructors, properties and reprs of ``mlflow.entities``.

Code written against ``mlflow.entities`` runs unchanged against these. They convert to and from the
generated wire Structs with ``_from_wire``/``_to_wire``; importing this package does not load those.
The Model Registry's entities are in ``mlflow_client.entities.model_registry``, as in MLflow.
Each class loads on first access (PEP 562): ``Metric`` is a msgspec Struct, and a script that only
builds a client should not pay for msgspec before its first request.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy and ruff treat both alike)

# name -> submodule that defines it
_LAZY = {
    "Dataset": "_dataset",
    "DatasetInput": "_dataset",
    "InputTag": "_dataset",
    "LifecycleStage": "_enums",
    "RunStatus": "_enums",
    "ViewType": "_enums",
    "Experiment": "_experiment",
    "ExperimentTag": "_experiment",
    "FileInfo": "_file_info",
    "PagedList": "_paged_list",
    "LoggedModel": "_logged_model",
    "LoggedModelParameter": "_logged_model",
    "LoggedModelStatus": "_logged_model",
    "LoggedModelTag": "_logged_model",
    "LoggedModelInput": "_run",
    "LoggedModelOutput": "_run",
    "Run": "_run",
    "RunInfo": "_run",
    "RunInputs": "_run",
    "RunOutputs": "_run",
    "Metric": "_run_data",
    "Param": "_run_data",
    "RunData": "_run_data",
    "RunTag": "_run_data",
}

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]

if TYPE_CHECKING:
    from mlflow_client.entities._dataset import Dataset, DatasetInput, InputTag
    from mlflow_client.entities._enums import LifecycleStage, RunStatus, ViewType
    from mlflow_client.entities._experiment import Experiment, ExperimentTag
    from mlflow_client.entities._file_info import FileInfo
    from mlflow_client.entities._logged_model import (
        LoggedModel,
        LoggedModelParameter,
        LoggedModelStatus,
        LoggedModelTag,
    )
    from mlflow_client.entities._paged_list import PagedList
    from mlflow_client.entities._run import (
        LoggedModelInput,
        LoggedModelOutput,
        Run,
        RunInfo,
        RunInputs,
        RunOutputs,
    )
    from mlflow_client.entities._run_data import Metric, Param, RunData, RunTag


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later accesses are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
