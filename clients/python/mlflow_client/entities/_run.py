"""RunInfo, RunInputs, RunOutputs and Run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mlflow_client.entities._base import _Entity
from mlflow_client.entities._dataset import DatasetInput
from mlflow_client.entities._run_data import RunData

from ..exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m

# Run attributes MLflow's search syntax accepts as `attributes.<name>`; all of them are also orderable.
_SEARCHABLE_ATTRIBUTES = ("artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id")


class RunInfo(_Entity):
    """Identity, status and timing of a run. ``status`` is a name such as ``"RUNNING"``."""

    __slots__ = (
        "_artifact_uri",
        "_end_time",
        "_experiment_id",
        "_lifecycle_stage",
        "_run_id",
        "_run_name",
        "_start_time",
        "_status",
        "_user_id",
    )
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "artifact_uri",
        "end_time",
        "experiment_id",
        "lifecycle_stage",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
    )

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
        artifact_uri: str | None = None,
        run_name: str | None = None,
    ) -> None:
        for name, given in (
            ("experiment_id", experiment_id),
            ("user_id", user_id),
            ("status", status),
            ("start_time", start_time),
        ):
            if given is None:
                raise InvalidParameterValue(f"{name} cannot be None")
        self._run_id = run_id
        self._experiment_id = experiment_id
        self._user_id = user_id
        self._status = status
        self._start_time = start_time
        self._end_time = end_time
        self._lifecycle_stage = lifecycle_stage
        self._artifact_uri = artifact_uri
        self._run_name = run_name

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def run_uuid(self) -> str:
        """Same as ``run_id``; MLflow 2 had it, MLflow 3 dropped it. Not part of iteration or repr."""
        return self._run_id

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @property
    def run_name(self) -> str | None:
        return self._run_name

    @property
    def user_id(self) -> str:
        return self._user_id

    @property
    def status(self) -> str:
        """A :class:`RunStatus` name such as ``"RUNNING"``; names unknown to this client are kept as sent."""
        return self._status

    @property
    def start_time(self) -> int:
        """Milliseconds since the Unix epoch."""
        return self._start_time

    @property
    def end_time(self) -> int | None:
        """Milliseconds since the Unix epoch; ``None`` while the run has not ended."""
        return self._end_time

    @property
    def artifact_uri(self) -> str | None:
        return self._artifact_uri

    @property
    def lifecycle_stage(self) -> str:
        """``"active"`` or ``"deleted"``."""
        return self._lifecycle_stage

    @classmethod
    def get_searchable_attributes(cls) -> list[str]:
        return list(_SEARCHABLE_ATTRIBUTES)

    @classmethod
    def get_orderable_attributes(cls) -> list[str]:
        return list(_SEARCHABLE_ATTRIBUTES)

    @classmethod
    def _from_wire(cls, wire: m.RunInfo | None) -> RunInfo:
        # Absent fields get the values MLflow's protobuf parsing gives them, so both clients agree.
        if wire is None:
            return cls("", "", "", "RUNNING", 0, None, "", "", "")
        return cls(
            run_id=wire.run_id or wire.run_uuid or "",
            experiment_id=wire.experiment_id or "",
            user_id=wire.user_id or "",
            status=wire.status or "RUNNING",
            start_time=wire.start_time or 0,
            end_time=wire.end_time or None,
            lifecycle_stage=wire.lifecycle_stage or "",
            artifact_uri=wire.artifact_uri or "",
            run_name=wire.run_name or "",
        )

    def _to_wire(self) -> m.RunInfo:
        from mlflow_client._generated import models as m

        return m.RunInfo(
            run_id=self._run_id,
            run_uuid=self._run_id,
            run_name=self._run_name,
            experiment_id=self._experiment_id,
            user_id=self._user_id,
            status=self._status,
            start_time=self._start_time,
            end_time=self._end_time,
            artifact_uri=self._artifact_uri,
            lifecycle_stage=self._lifecycle_stage,
        )


class LoggedModelInput(_Entity):
    """A logged model a run used."""

    __slots__ = ("_model_id",)
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("model_id",)

    def __init__(self, model_id: str) -> None:
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @classmethod
    def _from_wire(cls, wire: m.ModelInput) -> LoggedModelInput:
        return cls(wire.model_id or "")

    def _to_wire(self) -> m.ModelInput:
        from mlflow_client._generated import models as m

        return m.ModelInput(model_id=self._model_id)


class LoggedModelOutput(_Entity):
    """A logged model a run produced, at a training step."""

    __slots__ = ("_model_id", "_step")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("model_id", "step")

    def __init__(self, model_id: str, step: int) -> None:
        self._model_id = model_id
        self._step = step

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def step(self) -> int:
        return self._step

    def to_dictionary(self) -> dict[str, str | int]:
        return {"model_id": self._model_id, "step": self._step}

    @classmethod
    def _from_wire(cls, wire: m.ModelOutput) -> LoggedModelOutput:
        return cls(wire.model_id or "", wire.step or 0)

    def _to_wire(self) -> m.ModelOutput:
        from mlflow_client._generated import models as m

        return m.ModelOutput(model_id=self._model_id, step=self._step)


class RunInputs(_Entity):
    """Datasets and logged models a run used."""

    __slots__ = ("_dataset_inputs", "_model_inputs")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("dataset_inputs", "model_inputs")

    def __init__(self, dataset_inputs: list[DatasetInput], model_inputs: list[LoggedModelInput] | None = None) -> None:
        self._dataset_inputs = dataset_inputs
        self._model_inputs: list[LoggedModelInput] = model_inputs or []

    @property
    def dataset_inputs(self) -> list[DatasetInput]:
        return self._dataset_inputs

    @property
    def model_inputs(self) -> list[LoggedModelInput]:
        return self._model_inputs

    def to_dictionary(self) -> dict[str, Any]:
        # MLflow leaves the model inputs as objects here; so do we.
        return {
            "model_inputs": self._model_inputs,
            "dataset_inputs": [dataset_input.to_dictionary() for dataset_input in self._dataset_inputs],
        }

    @classmethod
    def _from_wire(cls, wire: m.RunInputs | None) -> RunInputs:
        if wire is None:
            return cls([], [])
        return cls(
            [DatasetInput._from_wire(dataset_input) for dataset_input in wire.dataset_inputs],
            [LoggedModelInput._from_wire(model_input) for model_input in wire.model_inputs],
        )

    def _to_wire(self) -> m.RunInputs:
        from mlflow_client._generated import models as m

        return m.RunInputs(
            dataset_inputs=[dataset_input._to_wire() for dataset_input in self._dataset_inputs],
            model_inputs=[model_input._to_wire() for model_input in self._model_inputs],
        )


class RunOutputs(_Entity):
    """Logged models a run produced."""

    __slots__ = ("_model_outputs",)
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("model_outputs",)

    def __init__(self, model_outputs: list[LoggedModelOutput]) -> None:
        self._model_outputs = model_outputs

    @property
    def model_outputs(self) -> list[LoggedModelOutput]:
        return self._model_outputs

    def to_dictionary(self) -> dict[Any, Any]:
        return {"model_outputs": [model_output.to_dictionary() for model_output in self._model_outputs]}

    @classmethod
    def _from_wire(cls, wire: m.RunOutputs | None) -> RunOutputs:
        if wire is None:
            return cls([])
        return cls([LoggedModelOutput._from_wire(model_output) for model_output in wire.model_outputs])

    def _to_wire(self) -> m.RunOutputs:
        from mlflow_client._generated import models as m

        return m.RunOutputs(model_outputs=[model_output._to_wire() for model_output in self._model_outputs])


class Run(_Entity):
    """A run: its info, the data logged to it, and its inputs and outputs."""

    __slots__ = ("_data", "_info", "_inputs", "_outputs")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("data", "info", "inputs", "outputs")

    def __init__(
        self,
        run_info: RunInfo,
        run_data: RunData,
        run_inputs: RunInputs | None = None,
        run_outputs: RunOutputs | None = None,
    ) -> None:
        if run_info is None:
            raise InvalidParameterValue("run_info cannot be None")
        self._info = run_info
        self._data = run_data
        self._inputs = run_inputs
        self._outputs = run_outputs

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def data(self) -> RunData:
        return self._data

    @property
    def inputs(self) -> RunInputs | None:
        return self._inputs

    @property
    def outputs(self) -> RunOutputs | None:
        return self._outputs

    def __hash__(self) -> int:
        # MLflow's runs are hashable; the run ID is the part of the value that never changes.
        return hash(self._info.run_id)

    def to_dictionary(self) -> dict[Any, Any]:
        result: dict[str, Any] = {"info": dict(self._info)}
        if self._data:
            result["data"] = self._data.to_dictionary()
        if self._inputs:
            result["inputs"] = self._inputs.to_dictionary()
        if self._outputs:
            result["outputs"] = self._outputs.to_dictionary()
        return result

    @classmethod
    def _from_wire(cls, wire: m.Run) -> Run:
        # Like MLflow's client, always give inputs and outputs, empty when the server sent none.
        return cls(
            RunInfo._from_wire(wire.info),
            RunData._from_wire(wire.data) if wire.data is not None else RunData(),
            RunInputs._from_wire(wire.inputs),
            RunOutputs._from_wire(wire.outputs),
        )

    def _to_wire(self) -> m.Run:
        from mlflow_client._generated import models as m

        return m.Run(
            info=self._info._to_wire(),
            data=self._data._to_wire() if self._data is not None else None,
            inputs=self._inputs._to_wire() if self._inputs is not None else None,
            outputs=self._outputs._to_wire() if self._outputs is not None else None,
        )
