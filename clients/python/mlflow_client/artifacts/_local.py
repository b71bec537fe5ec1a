"""``file:`` URIs and plain paths: the artifact root is a local (or NFS-mounted) folder."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from ..entities import FileInfo
from ..exceptions import MlflowException
from . import ArtifactRepository
from ._common import Progress, check_relative, iter_file, local_target, write_atomically


def local_root(artifact_uri: str) -> str:
    """The folder a ``file:`` URI or a plain path names."""
    if artifact_uri.lower().startswith("file:"):
        parts = urlsplit(artifact_uri)
        if parts.netloc not in ("", "localhost"):
            raise MlflowException(f"file: URIs with a host ({artifact_uri}) are not supported")
        return os.path.abspath(unquote(parts.path))
    return os.path.abspath(artifact_uri)


class LocalArtifactRepository(ArtifactRepository):
    """Copies files in and out of a local folder, keeping folders (empty ones included)."""

    def __init__(self, artifact_uri: str, **options: Any) -> None:
        super().__init__(artifact_uri, **options)
        self.root = local_root(artifact_uri)

    def _local(self, rel: str | None) -> str:
        return local_target(self.root, check_relative(rel or "", self.artifact_uri), self.artifact_uri)

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        target = os.path.join(self._local(artifact_path), os.path.basename(local_file))

        def fill(out: Any) -> None:
            for block in iter_file(local_file, progress=progress):
                out.write(block)

        write_atomically(target, fill, f"Failed to log artifact {local_file} to {self.artifact_uri}")
        shutil.copymode(local_file, target)

    def _before_log_dir(self, local_dir: str, artifact_path: str) -> None:
        base = self._local(artifact_path)
        for folder, dirs, _names in os.walk(local_dir):
            rel = os.path.relpath(folder, local_dir)
            for name in dirs:
                os.makedirs(os.path.join(base, rel, name), exist_ok=True)
        os.makedirs(base, exist_ok=True)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.artifact_uri)
        folder = self._local(rel)
        if not os.path.isdir(folder):
            return []
        infos = []
        with os.scandir(folder) as entries:
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    infos.append(FileInfo(child, True, None))
                else:
                    infos.append(FileInfo(child, False, entry.stat().st_size))
        return sorted(infos, key=lambda f: f.path)

    @contextlib.contextmanager
    def _open_remote(self, remote_path: str) -> Iterator[Iterator[bytes]]:
        source = self._local(remote_path)
        if not os.path.isfile(source):
            raise MlflowException(
                f"Artifact {remote_path} does not exist in {self.artifact_uri}", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        yield iter_file(source)
