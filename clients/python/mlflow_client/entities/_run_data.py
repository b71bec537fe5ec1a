"""Metric, Param, RunTag and RunData: what is logged to a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mlflow_client.entities._base import _Entity, _KeyValue

from ..exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m


class Metric(_Entity):
    """One recorded value of a metric."""

    __slots__ = ("_dataset_digest", "_dataset_name", "_key", "_model_id", "_run_id", "_step", "_timestamp", "_value")
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "dataset_digest",
        "dataset_name",
        "key",
        "model_id",
        "run_id",
        "step",
        "timestamp",
        "value",
    )

    def __init__(
        self,
        key: str,
        value: float,
        timestamp: int,
        step: int,
        model_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if (dataset_name is None) != (dataset_digest is None):
            raise InvalidParameterValue("Both dataset_name and dataset_digest must be provided if one is provided")
        self._key = key
        self._value = value
        self._timestamp = timestamp
        self._step = step
        self._model_id = model_id
        self._dataset_name = dataset_name
        self._dataset_digest = dataset_digest
        self._run_id = run_id

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> float:
        return self._value

    @property
    def timestamp(self) -> int:
        """Milliseconds since the Unix epoch."""
        return self._timestamp

    @property
    def step(self) -> int:
        return self._step

    @property
    def model_id(self) -> str | None:
        return self._model_id

    @property
    def dataset_name(self) -> str | None:
        return self._dataset_name

    @property
    def dataset_digest(self) -> str | None:
        return self._dataset_digest

    @property
    def run_id(self) -> str | None:
        return self._run_id

    def __eq__(self, other: object) -> bool:
        # MLflow compares metrics with isinstance, not an exact type match.
        if isinstance(other, type(self)):
            return self._state() == other._state()
        return False

    def __hash__(self) -> int:
        return hash(self._state())

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "key": self._key,
            "value": self._value,
            "timestamp": self._timestamp,
            "step": self._step,
            "model_id": self._model_id,
            "dataset_name": self._dataset_name,
            "dataset_digest": self._dataset_digest,
            "run_id": self._run_id,
        }

    @classmethod
    def from_dictionary(cls, metric_dict: dict[str, Any]) -> Metric:
        missing = [key for key in ("key", "value", "timestamp", "step") if key not in metric_dict]
        if missing:
            raise InvalidParameterValue(f"Missing required keys {missing} in metric dictionary")
        return cls(**metric_dict)

    @classmethod
    def _from_wire(cls, wire: m.Metric) -> Metric:
        # Skips the dataset name/digest check: what a server sends is taken as it is. Hot path
        # (metric histories), hence no __init__ call.
        metric = cls.__new__(cls)
        metric._key = wire.key or ""
        metric._value = 0.0 if wire.value is None else wire.value
        metric._timestamp = wire.timestamp or 0
        metric._step = wire.step or 0
        metric._model_id = wire.model_id or None
        metric._dataset_name = wire.dataset_name or None
        metric._dataset_digest = wire.dataset_digest or None
        metric._run_id = wire.run_id or None
        return metric

    def _to_wire(self) -> m.Metric:
        from mlflow_client._generated import models as m

        return m.Metric(
            key=self._key,
            value=self._value,
            timestamp=self._timestamp,
            step=self._step,
            model_id=self._model_id,
            dataset_name=self._dataset_name,
            dataset_digest=self._dataset_digest,
            run_id=self._run_id,
        )


class Param(_KeyValue):
    """A key/value parameter of a run.

    As in MLflow, two params are equal when their keys are: a run holds one value per key.
    """

    __slots__ = ()
    _WIRE = "Param"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return self._key == other._key
        return False

    def __hash__(self) -> int:
        return hash(self._key)


class RunTag(_KeyValue):
    """A key/value tag on a run."""

    __slots__ = ()
    _WIRE = "RunTag"


class RunData(_Entity):
    """Latest metric values, params and tags of a run, each as a dict keyed by name."""

    __slots__ = ("_metric_objs", "_metrics", "_params", "_tags")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("metrics", "params", "tags")

    def __init__(
        self,
        metrics: list[Metric] | None = None,
        params: list[Param] | None = None,
        tags: list[RunTag] | None = None,
    ) -> None:
        # The Metric objects are kept so that nothing (step, timestamp) is lost on the way back to the wire.
        self._metric_objs: list[Metric] = list(metrics or ())
        self._metrics: dict[str, float] = {metric.key: metric.value for metric in self._metric_objs}
        self._params: dict[str, str] = {param.key: param.value for param in params or ()}
        self._tags: dict[str, str] = {tag.key: tag.value for tag in tags or ()}

    @property
    def metrics(self) -> dict[str, float]:
        """Metric name -> latest value."""
        return self._metrics

    @property
    def params(self) -> dict[str, str]:
        return self._params

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    def _add_metric(self, metric: Metric) -> None:
        self._metrics[metric.key] = metric.value
        self._metric_objs.append(metric)

    def _add_param(self, param: Param) -> None:
        self._params[param.key] = param.value

    def _add_tag(self, tag: RunTag) -> None:
        self._tags[tag.key] = tag.value

    def to_dictionary(self) -> dict[str, Any]:
        return {"metrics": self._metrics, "params": self._params, "tags": self._tags}

    @classmethod
    def _from_wire(cls, wire: m.RunData) -> RunData:
        data = cls()
        data._metric_objs = [Metric._from_wire(metric) for metric in wire.metrics]
        data._metrics = {metric.key: metric.value for metric in data._metric_objs}
        data._params = {param.key or "": param.value or "" for param in wire.params}
        data._tags = {tag.key or "": tag.value or "" for tag in wire.tags}
        return data

    def _to_wire(self) -> m.RunData:
        from mlflow_client._generated import models as m

        return m.RunData(
            metrics=[metric._to_wire() for metric in self._metric_objs],
            params=[m.Param(key=key, value=value) for key, value in self._params.items()],
            tags=[m.RunTag(key=key, value=value) for key, value in self._tags.items()],
        )
