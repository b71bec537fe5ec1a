"""FileInfo: one entry of an artifact listing."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from mlflow_client.entities._base import _Entity

if TYPE_CHECKING:
    from mlflow_client._generated import models as m


class FileInfo(_Entity):
    """A file or directory under a run's artifact root; ``file_size`` is ``None`` for directories."""

    __slots__ = ("_bytes", "_is_dir", "_path")
    _PROPERTIES: ClassVar[tuple[str, ...]] = ("file_size", "is_dir", "path")

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        self._path = path
        self._is_dir = is_dir
        self._bytes = file_size

    @property
    def path(self) -> str:
        return self._path

    @property
    def is_dir(self) -> bool:
        return self._is_dir

    @property
    def file_size(self) -> int | None:
        return self._bytes

    @classmethod
    def _from_wire(cls, wire: m.FileInfo | m.ArtifactsFileInfo) -> FileInfo:
        # An absent size stays None (as MLflow's artifact repositories report directories),
        # not the 0 that protobuf parsing would give.
        return cls(wire.path or "", bool(wire.is_dir), wire.file_size)

    def _to_wire(self) -> m.FileInfo:
        from mlflow_client._generated import models as m

        return m.FileInfo(path=self._path, is_dir=self._is_dir, file_size=self._bytes)
