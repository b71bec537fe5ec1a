"""Metric, Param, RunTag and RunData: what is logged to a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from mlflow_client.entities._base import _Entity, _KeyValue

from ..exceptions import InvalidParameterValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m


class Metric(msgspec.Struct, _Entity, frozen=True):
    """One recorded value of a metric.

    A frozen msgspec Struct, so that a metric history decodes from JSON straight into Metric objects
    in C (``_HistoryPage``); its fields are read-only attributes like MLflow's properties.
    """

    key: str
    value: float
    timestamp: int  # milliseconds since the Unix epoch
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None

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

    def __post_init__(self) -> None:
        if (self.dataset_name is None) != (self.dataset_digest is None):
            raise InvalidParameterValue("Both dataset_name and dataset_digest must be provided if one is provided")

    def __eq__(self, other: object) -> bool:
        # MLflow compares metrics with isinstance, not an exact type match.
        if isinstance(other, Metric):
            return self._state() == other._state()
        return False

    def __hash__(self) -> int:
        return hash(self._state())

    __repr__ = _Entity.__repr__

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "timestamp": self.timestamp,
            "step": self.step,
            "model_id": self.model_id,
            "dataset_name": self.dataset_name,
            "dataset_digest": self.dataset_digest,
            "run_id": self.run_id,
        }

    @classmethod
    def from_dictionary(cls, metric_dict: dict[str, Any]) -> Metric:
        missing = [key for key in ("key", "value", "timestamp", "step") if key not in metric_dict]
        if missing:
            raise InvalidParameterValue(f"Missing required keys {missing} in metric dictionary")
        return cls(**metric_dict)

    @classmethod
    def _from_wire(cls, wire: m.Metric) -> Metric:
        # What a server sends is taken as it is: unset fields take protobuf's defaults, and a lone
        # dataset name or digest is kept rather than refused.
        metric = cls(
            wire.key or "",
            0.0 if wire.value is None else wire.value,
            wire.timestamp or 0,
            wire.step or 0,
            model_id=wire.model_id or None,
            run_id=wire.run_id or None,
        )
        if wire.dataset_name or wire.dataset_digest:
            msgspec.structs.force_setattr(metric, "dataset_name", wire.dataset_name or None)
            msgspec.structs.force_setattr(metric, "dataset_digest", wire.dataset_digest or None)
        return metric

    def _to_wire(self) -> m.Metric:
        from mlflow_client._generated import models as m

        return m.Metric(
            key=self.key,
            value=self.value,
            timestamp=self.timestamp,
            step=self.step,
            model_id=self.model_id,
            dataset_name=self.dataset_name,
            dataset_digest=self.dataset_digest,
            run_id=self.run_id,
        )


class HistoryPage(msgspec.Struct):
    """A GetMetricHistory answer decoded straight into Metric entities (the generated type holds wire structs)."""

    metrics: list[Metric] = msgspec.field(default_factory=list)
    next_page_token: str | None = None


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
