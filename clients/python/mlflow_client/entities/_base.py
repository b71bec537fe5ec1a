"""What every entity shares: MLflow's iteration, repr and ``from_dictionary``, and equality by value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

_E = TypeVar("_E", bound="_Entity")


class _Entity:  # noqa: PLW1641 - unhashable on purpose, see __eq__
    """Base of the entity classes, the counterpart of MLflow's ``_MlflowObject``.

    Subclasses list their public properties in ``_PROPERTIES``, sorted, because MLflow iterates,
    prints and builds from dictionaries in that order; declaring them beats introspecting the class
    on every ``repr``.
    """

    __slots__ = ()
    _PROPERTIES: ClassVar[tuple[str, ...]] = ()

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        # `dict(run.info)` is common in user code, so iteration yields (property, value) like MLflow.
        for name in self._PROPERTIES:
            yield name, getattr(self, name)

    @classmethod
    def _properties(cls) -> list[str]:
        return list(cls._PROPERTIES)

    @classmethod
    def from_dictionary(cls: type[_E], the_dict: dict[str, Any]) -> _E:
        """Build an entity from a dictionary of its properties; other keys are ignored."""
        known = {key: value for key, value in the_dict.items() if key in cls._PROPERTIES}
        return cls(**known)

    def _state(self) -> tuple[Any, ...]:
        # Equality compares the public properties, which is what MLflow's comparison of `__dict__` amounts to.
        return tuple(getattr(self, name) for name in self._PROPERTIES)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, _Entity)
            return self._state() == other._state()
        return False

    # Defining __eq__ leaves __hash__ None, so entities that MLflow leaves unhashable stay so; the
    # hashable ones (Metric, Param, Run, Experiment) define __hash__ themselves.

    def __repr__(self) -> str:
        # pprint only for the text of plain values, as MLflow does; imported here to keep imports cheap.
        import pprint

        parts = [
            f"{name}={value!r}" if isinstance(value, _Entity) else f"{name}={pprint.pformat(value)}"
            for name, value in self
        ]
        return f"<{type(self).__name__}: {', '.join(parts)}>"


_KV = TypeVar("_KV", bound="_KeyValue")


class _KeyValue(_Entity):
    """A key/value pair (param, run tag, experiment tag, input tag); ``_WIRE`` names its wire message."""

    __slots__ = ("_key", "_value")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("key", "value")
    _WIRE: ClassVar[str]

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value

    @classmethod
    def _from_wire(cls: type[_KV], wire: Any) -> _KV:
        return cls(wire.key or "", wire.value or "")

    def _to_wire(self) -> Any:
        from mlflow_client._generated import models

        return getattr(models, self._WIRE)(key=self._key, value=self._value)
