"""Experiment and ExperimentTag."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from mlflow_client.entities._base import _Entity, _KeyValue

if TYPE_CHECKING:
    from mlflow_client._generated import models as m


class ExperimentTag(_KeyValue):
    """A key/value tag on an experiment."""

    __slots__ = ()
    _WIRE = "ExperimentTag"


class Experiment(_Entity):
    """A named group of runs. ``tags`` is a dict of tag name -> value."""

    DEFAULT_EXPERIMENT_NAME = "Default"

    __slots__ = (
        "_artifact_location",
        "_creation_time",
        "_effective_trace_archival_retention",
        "_experiment_id",
        "_last_update_time",
        "_lifecycle_stage",
        "_name",
        "_tags",
        "_workspace",
    )
    _PROPERTIES: ClassVar[tuple[str, ...]] = (
        "artifact_location",
        "creation_time",
        "effective_trace_archival_retention",
        "experiment_id",
        "last_update_time",
        "lifecycle_stage",
        "name",
        "tags",
        "workspace",
    )

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        tags: list[ExperimentTag] | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
        workspace: str | None = None,
        trace_location: object | None = None,
        effective_trace_archival_retention: str | None = None,
    ) -> None:
        # trace_location (a Databricks Unity Catalog location) is accepted for signature compatibility only.
        del trace_location
        self._experiment_id = experiment_id
        self._name = name
        self._artifact_location = artifact_location
        self._lifecycle_stage = lifecycle_stage
        self._tags: dict[str, str] = {tag.key: tag.value for tag in tags or ()}
        self._creation_time = creation_time
        self._last_update_time = last_update_time
        self._workspace = workspace
        self._effective_trace_archival_retention = effective_trace_archival_retention

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def artifact_location(self) -> str:
        """Root URI under which the artifacts of the experiment's runs are stored."""
        return self._artifact_location

    @property
    def lifecycle_stage(self) -> str:
        """``"active"`` or ``"deleted"``."""
        return self._lifecycle_stage

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def creation_time(self) -> int | None:
        """Milliseconds since the Unix epoch; ``None`` for experiments older than MLflow 1.29."""
        return self._creation_time

    @property
    def last_update_time(self) -> int | None:
        return self._last_update_time

    @property
    def workspace(self) -> str | None:
        """The workspace the server reported, or ``None`` (MLflow would fill in its configured default)."""
        return self._workspace

    @property
    def effective_trace_archival_retention(self) -> str | None:
        return self._effective_trace_archival_retention

    @effective_trace_archival_retention.setter
    def effective_trace_archival_retention(self, effective_trace_archival_retention: str | None) -> None:
        self._effective_trace_archival_retention = effective_trace_archival_retention

    def _add_tag(self, tag: ExperimentTag) -> None:
        self._tags[tag.key] = tag.value

    def __hash__(self) -> int:
        # MLflow's experiments are hashable; the ID is the part of the value that never changes.
        return hash(self._experiment_id)

    @classmethod
    def _from_wire(cls, wire: m.Experiment) -> Experiment:
        # Zero times come from servers older than MLflow 1.29 and mean "unknown", as in MLflow.
        experiment = cls(
            wire.experiment_id or "",
            wire.name or "",
            wire.artifact_location or "",
            wire.lifecycle_stage or "",
            creation_time=wire.creation_time or None,
            last_update_time=wire.last_update_time or None,
            workspace=wire.workspace,
            effective_trace_archival_retention=wire.effective_trace_archival_retention,
        )
        experiment._tags = {tag.key or "": tag.value or "" for tag in wire.tags}
        return experiment

    def _to_wire(self) -> m.Experiment:
        from mlflow_client._generated import models as m

        return m.Experiment(
            experiment_id=self._experiment_id,
            name=self._name,
            artifact_location=self._artifact_location,
            lifecycle_stage=self._lifecycle_stage,
            last_update_time=self._last_update_time,
            creation_time=self._creation_time,
            tags=[m.ExperimentTag(key=key, value=value) for key, value in self._tags.items()],
            effective_trace_archival_retention=self._effective_trace_archival_retention,
            workspace=self._workspace,
        )
