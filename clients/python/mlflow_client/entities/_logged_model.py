"""LoggedModel (MLflow 3): a model logged in an experiment, with its tags, params, metrics and status."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from mlflow_client.entities._base import _Entity, _KeyValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m
    from mlflow_client.entities._run_data import Metric


def _invalid(message: str) -> Exception:
    from ..exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


class LoggedModelStatus(str, Enum):
    """Whether a logged model's files are uploaded: ``PENDING``, then ``READY`` or ``FAILED``."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def is_finalized(status: Any) -> bool:
        """Whether no further status change will happen (``READY`` or ``FAILED``)."""
        return status in (LoggedModelStatus.READY, LoggedModelStatus.FAILED)

    @classmethod
    def from_int(cls, status_int: int) -> LoggedModelStatus:
        try:
            return _BY_NUMBER[status_int]
        except (KeyError, TypeError):
            raise _invalid(f"Unknown model status: {status_int}") from None

    def to_int(self) -> int:
        return _NUMBERS[self]

    def _to_wire(self) -> str:
        """The name on the wire, e.g. ``"LOGGED_MODEL_READY"``."""
        return _WIRE_NAMES[self]

    @classmethod
    def _from_wire(cls, name: str | None) -> LoggedModelStatus:
        if not name:
            return cls.UNSPECIFIED
        for status, wire in _WIRE_NAMES.items():
            if wire == name:
                return status
        raise _invalid(f"Unknown model status: {name}")


_NUMBERS = {
    LoggedModelStatus.UNSPECIFIED: 0,
    LoggedModelStatus.PENDING: 1,
    LoggedModelStatus.READY: 2,
    LoggedModelStatus.FAILED: 3,
}
_BY_NUMBER = {number: status for status, number in _NUMBERS.items()}
_WIRE_NAMES = {
    LoggedModelStatus.UNSPECIFIED: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}


class LoggedModelTag(_KeyValue):
    """A key/value tag on a logged model."""

    __slots__ = ()
    _WIRE = "LoggedModelTag"


class LoggedModelParameter(_KeyValue):
    """A key/value parameter of a logged model; as in MLflow, equal when the keys are."""

    __slots__ = ()
    _WIRE = "LoggedModelParameter"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return self._key == other._key
        return False

    def __hash__(self) -> int:
        return hash(self._key)


class LoggedModel(_Entity):
    """A model logged to an experiment, addressed as ``models:/<model_id>``."""

    __slots__ = (
        "_artifact_location",
        "_creation_time",
        "_experiment_id",
        "_last_updated_timestamp",
        "_metrics",
        "_model_id",
        "_model_type",
        "_name",
        "_params",
        "_source_run_id",
        "_status",
        "_status_message",
        "_tags",
    )
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "artifact_location",
        "creation_timestamp",
        "experiment_id",
        "last_updated_timestamp",
        "metrics",
        "model_id",
        "model_type",
        "model_uri",
        "name",
        "params",
        "source_run_id",
        "status",
        "status_message",
        "tags",
    )

    def __init__(
        self,
        experiment_id: str,
        model_id: str,
        name: str,
        artifact_location: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        model_type: str | None = None,
        source_run_id: str | None = None,
        status: LoggedModelStatus | int = LoggedModelStatus.READY,
        status_message: str | None = None,
        tags: list[LoggedModelTag] | dict[str, str] | None = None,
        params: list[LoggedModelParameter] | dict[str, str] | None = None,
        metrics: list[Metric] | None = None,
    ) -> None:
        self._experiment_id = experiment_id
        self._model_id = model_id
        self._name = name
        self._artifact_location = artifact_location
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._model_type = model_type
        self._source_run_id = source_run_id
        self._status = status if isinstance(status, LoggedModelStatus) else LoggedModelStatus.from_int(status)
        self._status_message = status_message
        self._tags: dict[str, str] = {t.key: t.value for t in tags} if isinstance(tags, list) else dict(tags or {})
        self._params: dict[str, str] = (
            {p.key: p.value for p in params} if isinstance(params, list) else dict(params or {})
        )
        self._metrics = metrics

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @experiment_id.setter
    def experiment_id(self, new_experiment_id: str) -> None:
        self._experiment_id = new_experiment_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @model_id.setter
    def model_id(self, new_model_id: str) -> None:
        self._model_id = new_model_id

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def artifact_location(self) -> str:
        """Root URI of the model's files."""
        return self._artifact_location

    @artifact_location.setter
    def artifact_location(self, new_artifact_location: str) -> None:
        self._artifact_location = new_artifact_location

    @property
    def creation_timestamp(self) -> int:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def model_type(self) -> str | None:
        return self._model_type

    @model_type.setter
    def model_type(self, new_model_type: str | None) -> None:
        self._model_type = new_model_type

    @property
    def source_run_id(self) -> str | None:
        return self._source_run_id

    @property
    def status(self) -> LoggedModelStatus:
        return self._status

    @status.setter
    def status(self, updated_status: LoggedModelStatus) -> None:
        self._status = updated_status

    @property
    def status_message(self) -> str | None:
        return self._status_message

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def params(self) -> dict[str, str]:
        return self._params

    @property
    def metrics(self) -> list[Metric] | None:
        return self._metrics

    @metrics.setter
    def metrics(self, new_metrics: list[Metric] | None) -> None:
        self._metrics = new_metrics

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``, the URI that loads this model."""
        return f"models:/{self._model_id}"

    def _add_tag(self, tag: LoggedModelTag) -> None:
        self._tags[tag.key] = tag.value

    def __hash__(self) -> int:
        # MLflow's logged models are hashable; the ID never changes.
        return hash(self._model_id)

    def __repr__(self) -> str:
        # MLflow leaves out what can be large (tags, params, metrics) and uses its own format.
        shown = ", ".join(f"{k}={v!r}" for k, v in self if k not in ("tags", "params", "metrics"))
        return f"LoggedModel({shown})"

    def to_dictionary(self) -> dict[str, Any]:
        out = dict(self)
        out["status"] = self._status.to_int()
        del out["model_uri"]  # derived from the ID
        return out

    @classmethod
    def _from_wire(cls, wire: m.LoggedModel) -> LoggedModel:
        from mlflow_client._generated import models as m
        from mlflow_client.entities._run_data import Metric

        info = wire.info or m.LoggedModelInfo()
        data = wire.data or m.LoggedModelData()
        # Unset fields read as protobuf's defaults, as MLflow's from_proto gives them.
        return cls(
            experiment_id=info.experiment_id or "",
            model_id=info.model_id or "",
            name=info.name or "",
            artifact_location=info.artifact_uri or "",
            creation_timestamp=info.creation_timestamp_ms or 0,
            last_updated_timestamp=info.last_updated_timestamp_ms or 0,
            model_type=info.model_type or "",
            source_run_id=info.source_run_id or "",
            status=LoggedModelStatus._from_wire(info.status),
            status_message=info.status_message or "",
            tags={t.key or "": t.value or "" for t in info.tags},
            params={p.key or "": p.value or "" for p in data.params},
            metrics=[Metric._from_wire(x) for x in data.metrics],
        )

    def _to_wire(self) -> m.LoggedModel:
        from mlflow_client._generated import models as m

        return m.LoggedModel(
            info=m.LoggedModelInfo(
                model_id=self._model_id,
                experiment_id=self._experiment_id,
                name=self._name,
                creation_timestamp_ms=self._creation_time,
                last_updated_timestamp_ms=self._last_updated_timestamp,
                artifact_uri=self._artifact_location,
                status=self._status._to_wire(),
                model_type=self._model_type,
                source_run_id=self._source_run_id,
                status_message=self._status_message,
                tags=[m.LoggedModelTag(key=k, value=v) for k, v in self._tags.items()],
            ),
            data=m.LoggedModelData(
                params=[m.LoggedModelParameter(key=k, value=v) for k, v in self._params.items()],
                metrics=[x._to_wire() for x in self._metrics or []],
            ),
        )
