"""ViewType, RunStatus and LifecycleStage: MLflow's integer "enums" and their string forms.

On the wire enums travel as their names ("ACTIVE_ONLY", "RUNNING"); in MLflow's Python API they are ints,
except a run's status, which ``RunInfo`` keeps as the name.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: MlflowClient's defaults load this module

if TYPE_CHECKING:
    from typing import ClassVar

    from ..exceptions import InvalidParameterValue


def _invalid(message: str) -> InvalidParameterValue:
    """The error to raise; exceptions load only when one is."""
    from ..exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


class ViewType:
    """Which lifecycle stages a search covers."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _VIEW_TO_STRING: ClassVar[dict[int, str]] = {1: "active_only", 2: "deleted_only", 3: "all"}
    _STRING_TO_VIEW: ClassVar[dict[str, int]] = {text: view for view, text in _VIEW_TO_STRING.items()}
    _VIEW_TO_WIRE: ClassVar[dict[int, str]] = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
    _WIRE_TO_VIEW: ClassVar[dict[str, int]] = {name: view for view, name in _VIEW_TO_WIRE.items()}

    @classmethod
    def from_string(cls, view_str: str) -> int:
        """The view type for "active_only", "deleted_only" or "all" (lower case, as MLflow expects)."""
        try:
            return cls._STRING_TO_VIEW[view_str]
        except (KeyError, TypeError):
            raise _invalid(
                f"Could not get valid view type corresponding to string {view_str}. "
                f"Valid view types are {list(cls._STRING_TO_VIEW)}"
            ) from None

    @classmethod
    def to_string(cls, view_type: int) -> str:
        try:
            return cls._VIEW_TO_STRING[view_type]
        except (KeyError, TypeError):
            raise _invalid(
                f"Could not get valid view type corresponding to {view_type}. "
                f"Valid view types are {list(cls._VIEW_TO_STRING)}"
            ) from None

    # MLflow's proto enum values are these same ints, so the proto conversions need no protobuf.
    @classmethod
    def to_proto(cls, view_type: int) -> int:
        if view_type not in cls._VIEW_TO_STRING:
            raise _invalid(f"Unexpected view_type: {view_type}")
        return view_type

    @classmethod
    def from_proto(cls, proto_view_type: int) -> int:
        if proto_view_type not in cls._VIEW_TO_STRING:
            raise _invalid(f"Unexpected proto_view_type: {proto_view_type}")
        return proto_view_type

    @classmethod
    def _to_wire(cls, view_type: int) -> str:
        """The name sent on the wire, e.g. ``"ACTIVE_ONLY"``."""
        try:
            return cls._VIEW_TO_WIRE[view_type]
        except (KeyError, TypeError):
            raise _invalid(f"Unexpected view_type: {view_type}") from None

    @classmethod
    def _from_wire(cls, name: str) -> int:
        try:
            return cls._WIRE_TO_VIEW[name]
        except (KeyError, TypeError):
            raise _invalid(f"Unexpected view type {name!r}; expected one of {list(cls._WIRE_TO_VIEW)}") from None


class RunStatus:
    """Execution state of a run. ``RunInfo.status`` holds the name (``"RUNNING"``), these are the numbers."""

    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5

    _STRING_TO_STATUS: ClassVar[dict[str, int]] = {
        "RUNNING": 1,
        "SCHEDULED": 2,
        "FINISHED": 3,
        "FAILED": 4,
        "KILLED": 5,
    }
    _STATUS_TO_STRING: ClassVar[dict[int, str]] = {status: name for name, status in _STRING_TO_STATUS.items()}
    _TERMINATED_STATUSES: ClassVar[frozenset[int]] = frozenset({3, 4, 5})

    @staticmethod
    def from_string(status_str: str) -> int:
        try:
            return RunStatus._STRING_TO_STATUS[status_str]
        except (KeyError, TypeError):
            raise _invalid(
                f"Could not get run status corresponding to string {status_str}. "
                f"Valid run status strings: {list(RunStatus._STRING_TO_STATUS)}"
            ) from None

    @staticmethod
    def to_string(status: int) -> str:
        try:
            return RunStatus._STATUS_TO_STRING[status]
        except (KeyError, TypeError):
            raise _invalid(
                f"Could not get string corresponding to run status {status}. "
                f"Valid run statuses: {list(RunStatus._STATUS_TO_STRING)}"
            ) from None

    @staticmethod
    def is_terminated(status: int) -> bool:
        return status in RunStatus._TERMINATED_STATUSES

    @staticmethod
    def all_status() -> list[int]:
        return list(RunStatus._STATUS_TO_STRING)


class LifecycleStage:
    """Whether an experiment or run is soft-deleted."""

    ACTIVE = "active"
    DELETED = "deleted"
    _VALID_STAGES: ClassVar[frozenset[str]] = frozenset({ACTIVE, DELETED})

    @classmethod
    def view_type_to_stages(cls, view_type: int = ViewType.ALL) -> list[str]:
        stages = []
        if view_type in (ViewType.ACTIVE_ONLY, ViewType.ALL):
            stages.append(cls.ACTIVE)
        if view_type in (ViewType.DELETED_ONLY, ViewType.ALL):
            stages.append(cls.DELETED)
        return stages

    @classmethod
    def is_valid(cls, lifecycle_stage: str) -> bool:
        return lifecycle_stage in cls._VALID_STAGES

    @classmethod
    def matches_view_type(cls, view_type: int, lifecycle_stage: str) -> bool:
        if not cls.is_valid(lifecycle_stage):
            raise _invalid(f"Invalid lifecycle stage '{lifecycle_stage}'")
        if view_type == ViewType.ALL:
            return True
        if view_type == ViewType.ACTIVE_ONLY:
            return lifecycle_stage == cls.ACTIVE
        if view_type == ViewType.DELETED_ONLY:
            return lifecycle_stage == cls.DELETED
        raise _invalid(f"Invalid view type '{view_type}'")
