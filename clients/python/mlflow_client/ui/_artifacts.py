"""A run's artifacts for the UI: the listing of one folder, size-capped previews, and a file's bytes as chunks.

Every path comes from the query string and goes through ``check_relative`` (the artifact repositories' own
guard) before it reaches a store: ``..``, absolute paths and their percent-encoded forms (``parse_qs`` has
already decoded them) are refused. Downloads are always attachments; only PNG, JPEG, GIF and SVG get an image
type (so an ``<img>`` can show them), and SVG is also sandboxed so that opened alone it runs nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import posixpath
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import MlflowClient
    from ..entities import FileInfo

__all__ = ["PREVIEW_BYTES", "BadPath", "Preview", "check_path", "download", "listing", "preview"]

#: Bytes read from a file for its preview; the rest is only a download away.
PREVIEW_BYTES = 64 * 1024
#: Rows of a CSV preview.
PREVIEW_ROWS = 50
#: Files previewed on one folder's page (the others are listed, with their download links).
PREVIEW_FILES = 20

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
SVG_TYPE = "image/svg+xml"
_TEXT = frozenset({".txt", ".log", ".md", ".py", ".cfg", ".ini", ".toml", ".sh", ".rst", ".html", ".xml"})


class BadPath(ValueError):
    """A path that could leave the run's artifact root."""


@dataclass(frozen=True)
class Preview:
    """What the run page shows for one file: ``kind`` is text, json, yaml, csv, image or none."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    truncated: bool = False


def check_path(path: str) -> str:
    from ..artifacts._common import check_relative
    from ..exceptions import MlflowException

    if "\\" in path or "\x00" in path:
        raise BadPath(f"Refusing artifact path {path!r}")
    try:
        return check_relative(path, "the run's artifacts")
    except MlflowException as err:
        raise BadPath(err.message) from err


def download(client: MlflowClient, run_id: str, path: str) -> tuple[str, dict[str, str], Iterator[bytes]]:
    """(content type, headers, chunks) of one artifact file; a missing file raises before any byte is sent."""
    rel = check_path(path)
    if not rel:
        raise BadPath("Name a file to download")
    chunks = _chunks(client, run_id, rel)
    first = next(chunks, b"")  # opens the file: a missing one fails here, while a 404 can still be sent
    name = posixpath.basename(rel)
    ext = posixpath.splitext(name)[1].lower()
    content_type = IMAGE_TYPES.get(ext) or (SVG_TYPE if ext == ".svg" else "application/octet-stream")
    # printable ASCII only: a name holding CR/LF or quotes must not shape the header
    ascii_name = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in name)
    headers = {"Content-Disposition": f'attachment; filename="{ascii_name}"'}
    if ext == ".svg":
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return content_type, headers, itertools.chain([first], chunks)


def _chunks(client: MlflowClient, run_id: str, rel: str) -> Generator[bytes, None, None]:
    # The run's own repository, opened as its downloads are (streamed, never whole in memory).
    with client._artifact_repo(run_id)._open_remote(rel) as chunks:
        yield from chunks


def listing(client: MlflowClient, run_id: str, path: str) -> list[FileInfo]:
    rel = check_path(path)
    return sorted(client.list_artifacts(run_id, rel or None), key=lambda f: (not f.is_dir, f.path))


def kind_of(name: str) -> str:
    ext = posixpath.splitext(name)[1].lower()
    if ext in IMAGE_TYPES or ext == ".svg":
        return "image"
    if ext == ".json":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext in (".csv", ".tsv"):
        return "csv"
    return "text" if ext in _TEXT or name in ("MLmodel", "requirements.txt", "LICENSE") else "none"


def preview(client: MlflowClient, run_id: str, info: FileInfo) -> Preview:
    kind = kind_of(posixpath.basename(info.path))
    if kind in ("image", "none"):
        return Preview(kind)
    head = bytearray()
    truncated = False
    with contextlib.closing(_chunks(client, run_id, check_path(info.path))) as chunks:  # closed when cut short
        for block in chunks:
            head += block
            if len(head) > PREVIEW_BYTES:
                truncated = True
                break
    data = bytes(head[:PREVIEW_BYTES])
    text = data.decode("utf-8", errors="replace")
    if kind == "json" and not truncated:
        with contextlib.suppress(ValueError):  # not JSON after all: shown as it is
            text = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    if kind == "csv":
        delimiter = "\t" if info.path.lower().endswith(".tsv") else ","
        lines = text.splitlines()
        if truncated and lines:
            lines = lines[:-1]  # the last line was cut
        rows = tuple(
            tuple(r)
            for r in itertools.islice(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter), PREVIEW_ROWS)
        )
        return Preview("csv", rows=rows, truncated=truncated or len(lines) > PREVIEW_ROWS)
    return Preview(kind, text=text, truncated=truncated)
