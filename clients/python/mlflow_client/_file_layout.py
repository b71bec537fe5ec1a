"""Files of the ``mlruns`` layout, written so that several processes can share one run.

Files are replaced by renaming a finished temporary file (kept in a scratch folder that MLflow does not
list, so a crash leaves nothing a reader would take for data); a file that must be written once (a param)
is created with a hard link so only one value can win; metric lines are appended with ``O_APPEND``, whole
lines per ``write``, so no value is lost, and a reader ignores a last line without its newline (a write
still in progress).
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .entities import Metric
from .exceptions import InvalidParameterValue


def key_path(folder: Path, key: str) -> Path:
    """``folder/key`` for a key that may hold "/" (a subfolder), refusing anything that escapes ``folder``."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
        raise InvalidParameterValue(f"Invalid key {key!r}: it cannot be used as a file name")
    return folder.joinpath(*parts)


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def temp_name(folder: Path, name: str) -> Path:
    return folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


@contextlib.contextmanager
def _staged(path: Path, text: str, scratch: Path) -> Iterator[Path]:
    """A finished temporary file in ``scratch`` holding ``text``, removed afterwards (``path``'s folder made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(scratch, path.name)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, text: str, scratch: Path) -> None:
    """Replace ``path`` with ``text`` in one rename; the temporary file lives in ``scratch``."""
    with _staged(path, text, scratch) as tmp:
        os.replace(tmp, path)


def create_once(path: Path, text: str, scratch: Path) -> bool:
    """Create ``path`` holding ``text`` unless it exists (then ``False``), with no window where it is partial."""
    with _staged(path, text, scratch) as tmp:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system: fall back to exclusive creation
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return True


def append_lines(path: Path, data: bytes) -> None:
    """Append whole lines with O_APPEND: concurrent appenders never overwrite or split each other's lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a writer died mid-line: keep our lines whole, away from its fragment
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def metric_line(metric: Metric) -> str:
    value = repr(float(metric.value))  # "nan", "inf", "-inf" as MLflow writes them (str of a float)
    line = f"{metric.timestamp} {value} {metric.step}"
    if metric.dataset_name is not None and metric.dataset_digest is not None:
        line += f" {metric.dataset_name} {metric.dataset_digest}"
    return line + "\n"


def parse_metric_lines(key: str, text: str, run_id: str) -> Iterator[Metric]:
    lines = text.split("\n")
    for line in lines[:-1]:  # the last piece has no newline yet: a write in progress, or empty
        parts = line.strip().split(" ")
        if len(parts) not in (2, 3, 5):
            continue  # a damaged line; MLflow would refuse the whole run, we skip it
        dataset = (parts[3], parts[4]) if len(parts) == 5 else (None, None)
        yield Metric(
            key,
            float(parts[1]),
            int(parts[0]),
            int(parts[2]) if len(parts) >= 3 else 0,
            dataset_name=dataset[0],
            dataset_digest=dataset[1],
            run_id=run_id,
        )


def latest_metric_line(key: str, text: str, run_id: str) -> Metric | None:
    """The latest point of a metric file, ranked as MLflow does (by step, timestamp, value; NaN lowest),
    without making a Metric per line: search reads every metric file of every run for this."""
    best: list[str] | None = None
    best_rank: tuple[int, int, float] | None = None
    for line in text.split("\n")[:-1]:
        parts = line.strip().split(" ")
        if len(parts) not in (2, 3, 5):
            continue
        value = float(parts[1])
        rank = (int(parts[2]) if len(parts) >= 3 else 0, int(parts[0]), -math.inf if math.isnan(value) else value)
        if best_rank is None or rank > best_rank:
            best, best_rank = parts, rank
    if best is None:
        return None
    return next(parse_metric_lines(key, " ".join(best) + "\n", run_id))


def walk_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(key, path) of every file under ``folder``, keys with "/" for subfolders; temporary files skipped."""
    for base, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                continue
            path = Path(base, name)
            yield path.relative_to(folder).as_posix(), path
