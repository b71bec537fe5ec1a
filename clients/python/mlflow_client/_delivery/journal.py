"""The spool on disk: one append-only journal per process and server, read back by the sender.

Layout, under the spool folder (``MLFLOW_CLIENT_SPOOL_DIR``; folders 0700, files 0600)::

    <server>/server.json                 {"url": ...}: the server, without credentials
    <server>/dead-letter.jsonl           operations the server refused for good, one JSON object a line
    <server>/<writer>/lock               locked (flock) while the process writing this journal lives
    <server>/<writer>/owner.json         {"pid", "host", "started"}: who writes it
    <server>/<writer>/<first seq>.jsonl  segments: one record a line (see ``records``), numbered from 1
    <server>/<writer>/marks              "s N": records up to N may have been sent; "a N": records up
                                         to N are settled (delivered or dead-lettered)

A call's record is written with one ``write`` before the call returns, so a killed process loses
nothing: the data is in the page cache. ``fdatasync`` runs at flush, at end of run and every
``MLFLOW_CLIENT_SPOOL_FSYNC_SECONDS``, which bounds what a machine crash can lose. Segments whose
records are all settled are deleted; a journal whose records are all settled is deleted whole. A
journal whose lock is free belongs to a process that died: the next sender for its server claims the
lock and replays it from its "a" mark, checking records past it up to the "s" mark for what already
landed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import msgspec

from ..exceptions import ConfigurationError, SpoolFull

__all__ = ["SEGMENT_BYTES", "JournalReader", "JournalWriter", "ensure_private_dir", "try_lock", "write_private"]

logger = logging.getLogger("mlflow_client")

#: A segment is closed and a new one started past this size; settled segments are deleted whole.
SEGMENT_BYTES = 8 * 2**20
_MARKS_COMPACT_BYTES = 256 * 2**10
_READ_BYTES = 2**20
_SEG_SUFFIX = ".jsonl"

_decode = msgspec.json.Decoder().decode


# -- files and folders ------------------------------------------------------------------------------


def ensure_private_dir(path: str) -> None:
    """Create ``path`` and missing parents as 0700 folders; refuse one that another user owns."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    if hasattr(os, "getuid"):
        st = os.stat(path)
        if st.st_uid != os.getuid():
            raise ConfigurationError(
                f"the spool folder {path} belongs to another user (uid {st.st_uid}); set MLFLOW_CLIENT_SPOOL_DIR "
                "to a folder of your own"
            )
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)


def write_private(path: str, data: bytes) -> None:
    """Write a small file atomically (temporary file, then rename), mode 0600."""
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _open_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def try_lock(path: str) -> int | None:
    """Open ``path`` and take an exclusive lock without waiting: the fd, or ``None`` if someone holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:  # its folder was just removed by whoever finished it
        return None
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return fd


def _segment_name(first_seq: int) -> str:
    return f"{first_seq:012d}{_SEG_SUFFIX}"


def list_segments(folder: str) -> list[int]:
    """First sequence numbers of the segments in a journal folder, in order."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(_SEG_SUFFIX)]) for n in names if n.endswith(_SEG_SUFFIX) and n[:-6].isdigit())


def read_marks(folder: str) -> tuple[int, int]:
    """(settled up to, maybe sent up to) from a journal's marks file; a torn last line is ignored."""
    settled = sent = 0
    try:
        with open(os.path.join(folder, "marks"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0, 0
    for line in data.split(b"\n"):
        parts = line.split(b" ")
        if len(parts) != 2 or not parts[1].isdigit():
            continue
        if parts[0] == b"a":
            settled = max(settled, int(parts[1]))
        elif parts[0] == b"s":
            sent = max(sent, int(parts[1]))
    return settled, max(sent, settled)


# -- writing ------------------------------------------------------------------------------------------


class JournalWriter:
    """This process's journal for one server: ``append`` gives each record the next sequence number.

    Thread-safe. ``max_bytes`` caps the undelivered bytes this journal holds: past it, ``append``
    raises ``SpoolFull`` rather than drop anything. Disk errors raise too, and a torn write is cut
    back so that the journal stays whole.
    """

    def __init__(self, folder: str, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        # Settled records are deleted a segment at a time; small segments under a small cap keep what
        # the cap counts close to what is undelivered.
        self._segment_bytes = min(SEGMENT_BYTES, max(4096, max_bytes // 8))
        self._lock = threading.Lock()
        # Made under a hidden name and renamed once locked, so that no one claims it in between.
        staging = os.path.join(os.path.dirname(folder), "." + os.path.basename(folder))
        os.mkdir(staging, 0o700)
        lock_fd = try_lock(os.path.join(staging, "lock"))
        if lock_fd is None:  # pragma: no cover - nobody else looks at a hidden folder
            raise RuntimeError(f"cannot lock the new journal {folder}")
        self._lock_fd = lock_fd
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        write_private(os.path.join(staging, "owner.json"), json.dumps(owner).encode())
        self._fd = _open_append(os.path.join(staging, _segment_name(1)))
        os.rename(staging, folder)
        self.last_seq = 0
        self.segments: list[int] = []  # first seq of each segment not yet deleted
        self._sizes: dict[int, int] = {}
        self.pending_bytes = 0  # bytes of segments not yet deleted
        self._seg_size = 0
        self._unsynced: list[int] = []  # fds of closed segments waiting for fdatasync
        self.dirty = False
        self.closed = False
        self._open_segment(1, self._fd)

    def _open_segment(self, first_seq: int, fd: int | None = None) -> None:
        self._fd = fd if fd is not None else _open_append(os.path.join(self.folder, _segment_name(first_seq)))
        self.segments.append(first_seq)
        self._sizes[first_seq] = 0
        self._seg_size = 0

    def append(self, body: bytes) -> int:
        """Write one record (``body`` is its encoded fields, ``[kind, run_id, ...]``); its sequence number."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the spool journal is closed")
            seq = self.last_seq + 1
            line = b"[%d," % seq + body[1:] + b"\n"
            size = len(line)
            if self.pending_bytes + size > self.max_bytes:
                raise SpoolFull(
                    f"the spool holds {self.pending_bytes / 2**20:.1f} MiB of undelivered data for this process, "
                    f"its cap (MLFLOW_CLIENT_SPOOL_MAX_MB); nothing more is accepted until the server takes "
                    f"some. Spool: {self.folder}"
                )
            if self._seg_size >= self._segment_bytes:
                self._unsynced.append(self._fd)
                self._open_segment(seq)
            self._write(line)
            self.last_seq = seq
            self._seg_size += size
            self._sizes[self.segments[-1]] += size
            self.pending_bytes += size
            self.dirty = True
            return seq

    def _write(self, line: bytes) -> None:
        written = 0
        try:
            while written < len(line):
                written += os.write(self._fd, line[written:])
        except OSError as err:
            if written:  # cut the torn line off, so the next record starts on a line of its own
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._seg_size)
            raise SpoolFull(f"cannot write to the spool at {self.folder}: {err}") from err

    def sync(self) -> None:
        """``fdatasync`` what was written so far (and close the segments closed since the last sync)."""
        with self._lock:
            if self.closed:
                return
            fds, self._unsynced = self._unsynced, []
            fd, dirty = self._fd, self.dirty
            self.dirty = False
        try:
            for old in fds:
                _fdatasync(old)
                os.close(old)
            if dirty:
                _fdatasync(fd)
        except OSError as err:  # the data is written (page cache); only the crash guarantee is weaker
            logger.error("mlflow_client: cannot fsync the spool journal %s: %s", self.folder, err)

    def first_segment(self) -> int:
        with self._lock:
            return self.segments[0]

    def segments_after(self, first_seq: int) -> int | None:
        """The first seq of the segment after the one starting at ``first_seq``, if there is one yet."""
        with self._lock:
            for s in self.segments:
                if s > first_seq:
                    return s
            return None

    def forget_segment(self, first_seq: int) -> None:
        """Account for a segment the reader deleted."""
        with self._lock:
            if first_seq in self._sizes:
                self.pending_bytes -= self._sizes.pop(first_seq)
                self.segments.remove(first_seq)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            fds = [*self._unsynced, self._fd]
        for fd in fds:
            with contextlib.suppress(OSError):
                _fdatasync(fd)
            os.close(fd)
        os.close(self._lock_fd)

    def abandon(self) -> None:
        """Close the fds without syncing or locking (a forked child letting go of its parent's journal)."""
        self.closed = True
        for fd in (*self._unsynced, self._fd, self._lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _fdatasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


# -- reading ------------------------------------------------------------------------------------------


class JournalReader:
    """Reads one journal's records past its "a" mark, and keeps the marks as the sender settles them.

    The live journal of this process is read as it grows (``writer`` given); a dead process's journal
    (``lock_fd`` held by us) is read to its end. Only the sender's thread uses a reader.
    """

    def __init__(self, folder: str, *, writer: JournalWriter | None = None, lock_fd: int | None = None) -> None:
        self.folder = folder
        self.writer = writer
        self.lock_fd = lock_fd
        self.settled_upto, self.sent_upto = read_marks(folder)
        self._segments = [writer.first_segment()] if writer is not None else list_segments(folder)
        self._seg_index = 0
        self._fd: int | None = None
        self._tail = b""
        self._lines: deque[bytes] = deque()  # complete lines read from disk, not yet parsed
        self.last_read_seq = self.settled_upto
        self._eof = False  # a dead journal's last segment is read to its end
        self._marks_fd = _open_append(os.path.join(folder, "marks"))
        self._marks_size = os.fstat(self._marks_fd).st_size
        self.corrupt_lines = 0

    @property
    def live(self) -> bool:
        return self.writer is not None

    def maybe_sent(self, seq: int) -> bool:
        """Whether a record may have reached the server before this process read it (a crashed sender)."""
        return seq <= self.sent_upto

    def read(self, max_records: int) -> list[list[Any]]:
        """Up to ``max_records`` more records past the "a" mark, in order."""
        out: list[list[Any]] = []
        while len(out) < max_records:
            if not self._lines:
                if not self._read_lines():
                    break
                continue
            record = self._parse(self._lines.popleft())
            if record is not None and record[0] > self.last_read_seq:
                self.last_read_seq = record[0]
                out.append(record)
        return out

    def _read_lines(self) -> bool:
        """Read the next chunk of complete lines into ``_lines``; ``False`` at the end for now."""
        while True:
            if self._fd is None and not self._open_next():
                return False
            assert self._fd is not None
            data = os.read(self._fd, _READ_BYTES)
            if not data:
                if not self._later_segment():
                    if self.writer is None:  # a dead journal, read to its end
                        self._tail = b""  # a torn last line: that call never returned, so it was never logged
                        self._eof = True
                    return False
                # The writer has moved on, so this segment is complete now; but lines written to it after
                # our last read and before the move may still be unread: read it to its real end first.
                data = os.read(self._fd, _READ_BYTES)
                if not data:
                    self._next_segment()
                    continue
            lines = (self._tail + data).split(b"\n")
            self._tail = lines.pop()
            if lines:
                self._lines.extend(lines)
                return True

    def _parse(self, line: bytes) -> list[Any] | None:
        if not line:
            return None
        try:
            record = _decode(line)
        except msgspec.DecodeError:
            record = None
        if not isinstance(record, list) or len(record) < 3 or not isinstance(record[0], int):
            self.corrupt_lines += 1
            logger.error("mlflow_client: skipping an unreadable line in the spool journal %s", self.folder)
            return None
        return record

    def _open_next(self) -> bool:
        if self._seg_index >= len(self._segments):
            return False
        path = os.path.join(self.folder, _segment_name(self._segments[self._seg_index]))
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._seg_index += 1
            return self._open_next()
        return True

    def _later_segment(self) -> bool:
        """Whether a segment follows the current one (for the live journal: whether the writer made one)."""
        if self._seg_index + 1 < len(self._segments):
            return True
        if self.writer is None:
            return False
        following = self.writer.segments_after(self._segments[self._seg_index])
        if following is None:
            return False
        self._segments.append(following)
        return True

    def _next_segment(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        if self._tail:
            self.corrupt_lines += 1
            logger.error("mlflow_client: a segment of the spool journal %s ends in a torn line", self.folder)
        self._tail = b""
        self._seg_index += 1

    @property
    def exhausted(self) -> bool:
        """A dead journal whose every record has been read."""
        return self._eof and not self._lines

    def has_more(self) -> bool:
        """Whether the live writer wrote past what was read (always ``False`` for a dead journal)."""
        return self.writer is not None and self.writer.last_seq > self.last_read_seq

    # -- marks --------------------------------------------------------------------------------------

    def mark_sent(self, seq: int) -> None:
        if seq > self.sent_upto:
            self.sent_upto = seq
            self._mark(b"s %d\n" % seq)

    def mark_settled(self, seq: int) -> None:
        """Records up to ``seq`` are settled: note it, then delete the segments it covers."""
        if seq <= self.settled_upto:
            return
        self.settled_upto = seq
        self._mark(b"a %d\n" % seq)
        self._delete_settled_segments()

    def _mark(self, line: bytes) -> None:
        os.write(self._marks_fd, line)
        self._marks_size += len(line)
        if self._marks_size > _MARKS_COMPACT_BYTES:
            data = b"a %d\ns %d\n" % (self.settled_upto, self.sent_upto)
            write_private(os.path.join(self.folder, "marks"), data)
            os.close(self._marks_fd)
            self._marks_fd = _open_append(os.path.join(self.folder, "marks"))
            self._marks_size = len(data)

    def _delete_settled_segments(self) -> None:
        # A segment's last record is the one before the next segment's first.
        while self._seg_index > 0 and self._segments[1] - 1 <= self.settled_upto:
            first = self._segments.pop(0)
            self._seg_index -= 1
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.folder, _segment_name(first)))
            if self.writer is not None:
                self.writer.forget_segment(first)

    def finished(self) -> bool:
        """A dead journal whose every record is settled."""
        return self.exhausted and self.settled_upto >= self.last_read_seq

    def remove(self) -> None:
        """Delete the journal folder (everything in it is settled) and let go of its lock."""
        self.close()
        for name in os.listdir(self.folder) if os.path.isdir(self.folder) else ():
            if name != "lock":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.folder, name))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.folder, "lock"))
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def close(self) -> None:
        for fd in (self._fd, self._marks_fd):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = None
        self._marks_fd = -1

    def abandon(self) -> None:
        self.close()
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = None


def iter_pending(folder: str) -> Iterator[list[Any]]:
    """Every record of a journal past its "a" mark (for ``spool status``); torn lines are skipped."""
    settled, _ = read_marks(folder)
    for first in list_segments(folder):
        try:
            with open(os.path.join(folder, _segment_name(first)), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                record = _decode(line)
            except msgspec.DecodeError:
                continue
            if isinstance(record, list) and len(record) >= 3 and isinstance(record[0], int) and record[0] > settled:
                yield record
