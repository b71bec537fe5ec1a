"""Entities from look-alikes: code written for ``mlflow`` passes ``mlflow.entities`` objects (or any object
with the same attributes) to ``log_batch`` and ``log_inputs``; these turn them into ours.

Our own entities pass through untouched, so the common case costs a type check per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ._dataset import Dataset, DatasetInput, InputTag
from ._run_data import Metric, Param, RunTag

__all__ = ["DatasetInputLike", "KeyValueLike", "MetricLike", "as_dataset_input", "as_metric", "as_param", "as_run_tag"]


class MetricLike(Protocol):
    """What ``log_batch`` reads of a metric (ours, ``mlflow.entities.Metric``, or a look-alike)."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...


class KeyValueLike(Protocol):
    """What ``log_batch`` reads of a param or a tag."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


class DatasetInputLike(Protocol):
    """What ``log_inputs`` reads of a dataset input (its ``dataset`` and ``tags``)."""

    @property
    def dataset(self) -> Any: ...
    @property
    def tags(self) -> Sequence[Any]: ...


def _attr(obj: Any, name: str, what: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        from ..exceptions import InvalidParameterValue

        raise InvalidParameterValue(
            f"{what} must be a {what} entity or have its attributes; {type(obj).__name__} has no {name!r}"
        ) from None


def as_metric(x: Any) -> Metric:
    if type(x) is Metric:
        return x
    return Metric(
        _attr(x, "key", "Metric"),
        _attr(x, "value", "Metric"),
        _attr(x, "timestamp", "Metric"),
        _attr(x, "step", "Metric"),
        model_id=getattr(x, "model_id", None),
        dataset_name=getattr(x, "dataset_name", None),
        dataset_digest=getattr(x, "dataset_digest", None),
    )


def as_param(x: Any) -> Param:
    if type(x) is Param:
        return x
    return Param(_attr(x, "key", "Param"), _attr(x, "value", "Param"))


def as_run_tag(x: Any) -> RunTag:
    if type(x) is RunTag:
        return x
    return RunTag(_attr(x, "key", "RunTag"), _attr(x, "value", "RunTag"))


def as_dataset_input(x: Any) -> DatasetInput:
    if type(x) is DatasetInput:
        return x
    d = _attr(x, "dataset", "DatasetInput")
    dataset = (
        d
        if type(d) is Dataset
        else Dataset(
            _attr(d, "name", "Dataset"),
            _attr(d, "digest", "Dataset"),
            _attr(d, "source_type", "Dataset"),
            _attr(d, "source", "Dataset"),
            getattr(d, "schema", None),
            getattr(d, "profile", None),
        )
    )
    tags = [
        t if type(t) is InputTag else InputTag(_attr(t, "key", "InputTag"), _attr(t, "value", "InputTag"))
        for t in (getattr(x, "tags", None) or [])
    ]
    return DatasetInput(dataset, tags)
