"""MLflow's tracking entities, with the names, constructors, properties and reprs of ``mlflow.entities``.

Code written against ``mlflow.entities`` runs unchanged against these. They convert to and from the
generated wire Structs with ``_from_wire``/``_to_wire``; importing this package does not load those.
"""

from mlflow_client.entities._dataset import Dataset, DatasetInput, InputTag
from mlflow_client.entities._enums import LifecycleStage, RunStatus, ViewType
from mlflow_client.entities._experiment import Experiment, ExperimentTag
from mlflow_client.entities._file_info import FileInfo
from mlflow_client.entities._paged_list import PagedList
from mlflow_client.entities._run import LoggedModelInput, LoggedModelOutput, Run, RunInfo, RunInputs, RunOutputs
from mlflow_client.entities._run_data import Metric, Param, RunData, RunTag

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModelInput",
    "LoggedModelOutput",
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
