"""Dataset, InputTag and DatasetInput: datasets a run used, described by reference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mlflow_client.entities._base import _Entity, _KeyValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m


class Dataset(_Entity):
    """Description of a dataset (name, digest, source); its content stays wherever it lives."""

    __slots__ = ("_digest", "_name", "_profile", "_schema", "_source", "_source_type")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("digest", "name", "profile", "schema", "source", "source_type")

    def __init__(
        self,
        name: str,
        digest: str,
        source_type: str,
        source: str,
        schema: str | None = None,
        profile: str | None = None,
    ) -> None:
        self._name = name
        self._digest = digest
        self._source_type = source_type
        self._source = source
        self._schema = schema
        self._profile = profile

    @property
    def name(self) -> str:
        return self._name

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source_type(self) -> str:
        return self._source_type

    @property
    def source(self) -> str:
        """Where the data came from, as JSON understood for ``source_type``."""
        return self._source

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def profile(self) -> str | None:
        return self._profile

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "digest": self._digest,
            "source_type": self._source_type,
            "source": self._source,
            "schema": self._schema,
            "profile": self._profile,
        }

    @classmethod
    def _from_wire(cls, wire: m.Dataset | None) -> Dataset:
        if wire is None:
            return cls("", "", "", "")
        return cls(
            wire.name or "",
            wire.digest or "",
            wire.source_type or "",
            wire.source or "",
            wire.schema,
            wire.profile,
        )

    def _to_wire(self) -> m.Dataset:
        from mlflow_client._generated import models as m

        return m.Dataset(
            name=self._name,
            digest=self._digest,
            source_type=self._source_type,
            source=self._source,
            schema=self._schema,
            profile=self._profile,
        )


class InputTag(_KeyValue):
    """A key/value tag on a dataset input, e.g. ``mlflow.data.context`` = ``training``."""

    __slots__ = ()
    _WIRE = "InputTag"


class DatasetInput(_Entity):
    """A dataset used by a run, with tags describing the use."""

    __slots__ = ("_dataset", "_tags")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("dataset", "tags")

    def __init__(self, dataset: Dataset, tags: list[InputTag] | None = None) -> None:
        self._dataset = dataset
        self._tags: list[InputTag] = tags or []

    @property
    def tags(self) -> list[InputTag]:
        return self._tags

    @property
    def dataset(self) -> Dataset:
        return self._dataset

    def _add_tag(self, tag: InputTag) -> None:
        self._tags.append(tag)

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "dataset": self._dataset.to_dictionary(),
            "tags": {tag.key: tag.value for tag in self._tags},
        }

    @classmethod
    def _from_wire(cls, wire: m.DatasetInput) -> DatasetInput:
        return cls(Dataset._from_wire(wire.dataset), [InputTag._from_wire(tag) for tag in wire.tags])

    def _to_wire(self) -> m.DatasetInput:
        from mlflow_client._generated import models as m

        return m.DatasetInput(tags=[tag._to_wire() for tag in self._tags], dataset=self._dataset._to_wire())
