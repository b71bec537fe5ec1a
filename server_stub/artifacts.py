"""The artifact proxy's storage: files under one root directory, never anything outside it.

Every path a client names is checked before it touches the disk: no ``..`` segments (also when
percent-encoded), no absolute paths or drive letters, no backslashes, and the resolved path (symlinks
followed) must stay under the root. Uploads stream to a temporary file that is renamed into place.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import stat
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote

from mlflow_client._generated import models as m

from .errors import StubError, invalid, not_found

CHUNK = 1 << 20


def _bad_path(path: str, escapes: bool = False) -> StubError:
    """MLflow's words for a refused path; neither the path nor anything of the server's disk is echoed."""
    return invalid("Invalid path: resolved path is outside the artifact directory" if escapes else "Invalid path")


_temp_names = itertools.count()
_UPLOAD_TEMP = re.compile(r"\.upload-\d+-\d+")


def _create_temp(folder: str) -> tuple[int, str]:
    """A new, empty file in ``folder`` (made if missing), mode 0666 less the umask, open for writing."""
    made = False
    while True:
        tmp = os.path.join(folder, f".upload-{os.getpid()}-{next(_temp_names)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if made:
                raise
            os.makedirs(folder, exist_ok=True)
            made = True


def _has_symlink(root: str, names: list[str]) -> bool:
    """Whether any existing path ``root/names[0]/.../names[i]`` is a symlink."""
    current = root
    for name in names:
        current = os.path.join(current, name)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False  # nothing below a missing component exists, symlinks included
    return False


def check_relative_path(path: str) -> None:
    """Refuse what could leave a folder: ``..`` (also percent-encoded), absolute paths, drives, backslashes."""
    decoded = path
    for _ in range(3):  # catch double-encoded variants such as %252e%252e
        decoded = unquote(decoded)
    parts = decoded.replace("\\", "/").split("/")
    if (
        "\\" in path
        or decoded.startswith("/")
        or (len(decoded) > 1 and decoded[1] == ":")
        or any(p == ".." for p in parts)
        or "\x00" in decoded
    ):
        raise _bad_path(path)


class ArtifactStore:
    def __init__(self, root: str | os.PathLike[str], multipart: bool = False) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._root_str = str(self.root)
        self.multipart = multipart
        # Parts wait outside the root so that listings never show them.
        self._staging_root = Path(tempfile.mkdtemp(prefix="stub-multipart-"))
        self._uploads: dict[str, Path] = {}
        self._lock = threading.Lock()

    def resolve(self, path: str, *, allow_root: bool = False) -> Path:
        """Map a client's relative artifact path to a real path under the root, or refuse."""
        check_relative_path(path)
        clean = "/".join(p for p in path.split("/") if p not in ("", "."))
        if not clean and not allow_root:
            raise _bad_path(path)
        if not clean:
            return self.root
        # Symlinks resolved, the target must still be under the root. The root itself is resolved once, so
        # only the components below it are looked at; without a symlink among them the path is already real
        # (one lstat per existing component, where realpath also walks the root's own components).
        root = self._root_str
        target = os.path.join(root, *clean.split("/"))
        if _has_symlink(root, clean.split("/")):
            target = os.path.realpath(target)
            if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
                raise _bad_path(path, escapes=True)
        return Path(target)

    def listdir(self, path: str | None) -> list[m.ArtifactsFileInfo]:
        target = self.resolve(path or "", allow_root=True)
        if not target.is_dir():
            return []
        out = []
        for entry in sorted(target.iterdir(), key=lambda p: p.name):
            if entry.is_symlink() and self.root not in entry.resolve().parents:
                continue  # never reveal what a link points at outside the root
            if _UPLOAD_TEMP.fullmatch(entry.name):
                continue  # an upload still being written: it appears under its own name when complete
            if entry.is_dir():
                out.append(m.ArtifactsFileInfo(path=entry.name, is_dir=True))
            else:
                # MLflow leaves file_size out for empty files (protobuf's default value), so the stub does.
                size = entry.stat().st_size or None
                out.append(m.ArtifactsFileInfo(path=entry.name, is_dir=False, file_size=size))
        return out

    def list_run(self, run_root: str, path: str | None) -> list[m.FileInfo]:
        """Listing for the tracking API's artifacts/list: paths relative to the run's artifact root."""
        base = run_root.strip("/")
        rel = (path or "").strip("/")
        entries = self.listdir(f"{base}/{rel}" if rel else base) if base else []
        prefix = f"{rel}/" if rel else ""
        return [
            m.FileInfo(path=prefix + e.path if e.path else None, is_dir=e.is_dir, file_size=e.file_size)
            for e in entries
        ]

    def open_for_read(self, path: str) -> tuple[int, Iterator[bytes]]:
        target = self.resolve(path)
        if target.is_dir():
            raise invalid(f"Path {path} is a directory; only files can be downloaded.")
        if not target.is_file():
            raise not_found(f"No such artifact: '{path}'")
        size = target.stat().st_size

        def chunks() -> Iterator[bytes]:
            with open(target, "rb") as f:
                while block := f.read(CHUNK):
                    yield block

        return size, chunks()

    def write(self, path: str, body: Iterable[bytes]) -> int:
        """Stream ``body`` into ``path``; readers never see a half-written file."""
        target = str(self.resolve(path))
        # Plain os calls: a small upload costs open, write, close and rename, where mkstemp, fdopen and
        # Path.mkdir made ten system calls, each a chance for another request's thread to take the GIL.
        fd, tmp = _create_temp(os.path.dirname(target))
        size = 0
        try:
            try:
                for block in body:
                    view = memoryview(block)
                    while view:
                        view = view[os.write(fd, view) :]
                    size += len(block)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException as err:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(err, OSError) and os.path.isdir(target):
                raise invalid(f"Path {path} is a directory.") from None
            raise
        return size

    def delete(self, path: str) -> None:
        target = self.resolve(path)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        # Deleting what is not there succeeds, as in MLflow.

    # -- multipart: parts are PUT to the stub itself, then assembled on complete -----------------

    def create_multipart(
        self, artifact_path: str, req: m.ArtifactsCreateMultipartUpload, base_url: str
    ) -> m.ArtifactsCreateMultipartUploadResponse:
        if not self.multipart:
            raise StubError(
                m.ErrorCode.NOT_IMPLEMENTED, "Multipart upload is not supported for the current artifact repository"
            )
        file_name = Path(req.path or "").name
        if not file_name:
            raise invalid("Missing value for required parameter 'path'.")
        self.resolve(f"{artifact_path}/{file_name}")
        num_parts = req.num_parts or 0
        if not 1 <= num_parts <= 10000:
            raise invalid(f"num_parts must be between 1 and 10000, got {num_parts}.")
        upload_id = uuid.uuid4().hex
        staging = self._staging_root / upload_id
        staging.mkdir(parents=True)
        with self._lock:
            self._uploads[upload_id] = staging
        creds = [
            m.ArtifactsMultipartUploadCredential(
                url=f"{base_url}/_stub/multipart/{upload_id}/{n}", part_number=n, headers={}
            )
            for n in range(1, num_parts + 1)
        ]
        return m.ArtifactsCreateMultipartUploadResponse(upload_id=upload_id, credentials=creds)

    def _staging(self, upload_id: str | None) -> Path:
        if not self.multipart:
            raise StubError(
                m.ErrorCode.NOT_IMPLEMENTED, "Multipart upload is not supported for the current artifact repository"
            )
        with self._lock:
            staging = self._uploads.get(upload_id or "")
        if staging is None:
            raise not_found(f"Multipart upload {upload_id} does not exist.")
        return staging

    def write_part(self, upload_id: str, part_number: int, body: Iterable[bytes]) -> str:
        staging = self._staging(upload_id)
        import hashlib

        digest = hashlib.md5(usedforsecurity=False)
        with open(staging / f"{part_number:05d}", "wb") as f:
            for block in body:
                digest.update(block)
                f.write(block)
        return f'"{digest.hexdigest()}"'

    def complete_multipart(self, artifact_path: str, req: m.ArtifactsCompleteMultipartUpload) -> None:
        staging = self._staging(req.upload_id)
        target = f"{artifact_path}/{Path(req.path or '').name}"
        parts = sorted(req.parts, key=lambda p: p.part_number or 0)
        files = [staging / f"{(p.part_number or 0):05d}" for p in parts]
        missing = [p.part_number for p, f in zip(parts, files, strict=True) if not f.exists()]
        if missing or not files:
            raise invalid(f"Parts {missing} of upload {req.upload_id} were never uploaded.")

        def chunks() -> Iterator[bytes]:
            for part in files:
                with open(part, "rb") as f:
                    while block := f.read(CHUNK):
                        yield block

        self.write(target, chunks())
        self._discard(str(req.upload_id))

    def abort_multipart(self, req: m.ArtifactsAbortMultipartUpload) -> None:
        self._staging(req.upload_id)
        self._discard(str(req.upload_id))

    def _discard(self, upload_id: str) -> None:
        with self._lock:
            staging = self._uploads.pop(upload_id, None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._staging_root, ignore_errors=True)

    def reset(self) -> None:
        with self._lock:
            self._uploads.clear()
        shutil.rmtree(self._staging_root, ignore_errors=True)
        self._staging_root.mkdir()
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
