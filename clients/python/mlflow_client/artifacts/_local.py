"""``file:`` URIs and plain paths: the artifact root is a local (or NFS-mounted) folder."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ..entities import FileInfo
from ..exceptions import MlflowException
from . import ArtifactRepository
from ._common import (
    CHUNK_SIZE,
    Progress,
    check_relative,
    copy_in_kernel,
    iter_file,
    local_target,
    write_atomically,
)


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
        return local_target(self.root, check_relative(rel or "", self.display_uri), self.display_uri)

    def _log_file(self, local_file: str, artifact_path: str | None, progress: Progress) -> None:
        target = os.path.join(self._local(artifact_path), os.path.basename(local_file))

        write_atomically(
            target,
            functools.partial(_copy, local_file, progress=progress),
            f"Failed to log artifact {local_file} to {self.display_uri}",
        )
        shutil.copymode(local_file, target)

    def _before_log_dir(self, local_dir: str, artifact_path: str) -> None:
        base = self._local(artifact_path)
        for folder, dirs, _names in os.walk(local_dir):
            rel = os.path.relpath(folder, local_dir)
            for name in dirs:
                os.makedirs(os.path.join(base, rel, name), exist_ok=True)
        os.makedirs(base, exist_ok=True)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = check_relative(path or "", self.display_uri)
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
        yield iter_file(self._existing(remote_path))

    def _download_one(self, remote_path: str, target: str, progress: Progress) -> None:
        source = self._existing(remote_path)
        write_atomically(
            target,
            functools.partial(_copy, source, progress=progress),
            f"Failed to download artifact {remote_path} from {self.display_uri}",
        )

    def _existing(self, remote_path: str) -> str:
        source = self._local(remote_path)
        if not os.path.isfile(source):
            raise MlflowException(
                f"Artifact {remote_path} does not exist in {self.display_uri}", error_code="RESOURCE_DOES_NOT_EXIST"
            )
        return source


def _copy(source: str, out: BinaryIO, *, progress: Progress) -> None:
    """A local file into ``out``: in the kernel where it can (like ``cp``), else through 1 MiB reads."""
    with open(source, "rb") as src:
        if not copy_in_kernel(src, out, progress):
            while block := src.read(CHUNK_SIZE):
                out.write(block)
                progress.add(len(block))
