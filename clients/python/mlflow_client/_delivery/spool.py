"""The spool folder as a whole: one folder per server, journals of live and dead processes in it.

Used by the sender (to claim the journals of processes that died) and by ``mlflow-client spool``
(to list and send what is pending). A journal is *claimable* when its lock is free: the process that
wrote it is gone (killed, crashed, or exited while the server was unreachable).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .journal import ensure_private_dir, iter_pending, list_segments, try_lock, write_private

__all__ = [
    "JournalStatus",
    "ServerStatus",
    "claim_dead_journals",
    "public_url",
    "server_dirs",
    "server_folder",
    "server_folder_path",
    "status",
]

DEAD_LETTER = "dead-letter.jsonl"


def public_url(uri: str) -> str:
    """The server's URL without credentials, query or fragment: what the spool may write down."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def server_folder_path(spool_dir: str, uri: str) -> str:
    """``<spool>/<host>_<port>-<hash of the URL without credentials>``."""
    url = public_url(uri)
    parts = urlsplit(url)
    label = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{parts.hostname or 'server'}_{parts.port or parts.scheme}")
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return os.path.join(spool_dir, f"{label}-{digest}")


def server_folder(spool_dir: str, uri: str) -> str:
    """The server's folder (``server_folder_path``), created (0700) with its ``server.json``."""
    url = public_url(uri)
    folder = server_folder_path(spool_dir, uri)
    ensure_private_dir(spool_dir)
    if not os.path.isdir(folder):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    meta = os.path.join(folder, "server.json")
    if not os.path.exists(meta):
        write_private(meta, json.dumps({"url": url}).encode())
    return folder


def server_dirs(spool_dir: str) -> list[tuple[str, str]]:
    """(folder, server URL) of every server the spool holds anything for."""
    out = []
    try:
        names = sorted(os.listdir(spool_dir))
    except FileNotFoundError:
        return []
    for name in names:
        folder = os.path.join(spool_dir, name)
        try:
            with open(os.path.join(folder, "server.json"), "rb") as f:
                url = json.loads(f.read())["url"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out.append((folder, str(url)))
    return out


def journal_dirs(server_dir: str) -> list[str]:
    try:
        names = sorted(os.listdir(server_dir))
    except FileNotFoundError:
        return []
    # A hidden folder is a journal being made (see JournalWriter).
    return [
        os.path.join(server_dir, n)
        for n in names
        if not n.startswith(".") and os.path.isdir(os.path.join(server_dir, n))
    ]


def has_journals(server_dir: str) -> bool:
    """Cheap: whether the server's folder holds any journal folder at all."""
    try:
        with os.scandir(server_dir) as entries:
            return any(e.is_dir() and not e.name.startswith(".") for e in entries)
    except FileNotFoundError:
        return False


def claim_dead_journals(server_dir: str, skip: set[str]) -> list[tuple[str, int]]:
    """Lock the journals of dead processes: (folder, lock fd) of each one with something in it.

    Empty ones (everything settled, the process died before deleting it) are removed on the way.
    ``skip`` lists folders not to touch (ours, and those already claimed).
    """
    claimed = []
    for folder in journal_dirs(server_dir):
        if folder in skip:
            continue
        fd = try_lock(os.path.join(folder, "lock"))
        if fd is None:
            continue
        if list_segments(folder):
            claimed.append((folder, fd))
            continue
        for name in os.listdir(folder):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
        with contextlib.suppress(OSError):
            os.rmdir(folder)
        os.close(fd)
    return claimed


# -- status -------------------------------------------------------------------------------------------


@dataclass
class JournalStatus:
    folder: str
    pid: int | None
    host: str | None
    alive: bool  # its process holds the lock
    pending: int  # records not yet settled
    runs: Counter[str] = field(default_factory=Counter)


@dataclass
class ServerStatus:
    url: str
    folder: str
    journals: list[JournalStatus]
    dead_letters: int

    @property
    def pending(self) -> int:
        return sum(j.pending for j in self.journals)

    def runs(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for j in self.journals:
            total.update(j.runs)
        return total

    def as_json(self) -> dict[str, Any]:
        return {
            "server": self.url,
            "folder": self.folder,
            "pending": self.pending,
            "dead_letters": self.dead_letters,
            "runs": dict(self.runs()),
            "journals": [
                {"folder": j.folder, "pid": j.pid, "host": j.host, "alive": j.alive, "pending": j.pending}
                for j in self.journals
            ],
        }


def _owner(folder: str) -> tuple[int | None, str | None]:
    try:
        with open(os.path.join(folder, "owner.json"), "rb") as f:
            owner = json.loads(f.read())
        return int(owner.get("pid")), str(owner.get("host"))
    except (OSError, ValueError, TypeError):
        return None, None


def _count_lines(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(2**20), b""))
    except FileNotFoundError:
        return 0


def status(spool_dir: str) -> list[ServerStatus]:
    """What the spool holds, per server and journal, with the pending records per run."""
    out = []
    for server_dir, url in server_dirs(spool_dir):
        journals = []
        for folder in journal_dirs(server_dir):
            fd = try_lock(os.path.join(folder, "lock"))
            alive = fd is None
            try:
                runs: Counter[str] = Counter()
                pending = 0
                for record in iter_pending(folder):
                    pending += 1
                    runs[str(record[2])] += 1
            finally:
                if fd is not None:
                    os.close(fd)
            if pending == 0:
                continue
            pid, host = _owner(folder)
            journals.append(JournalStatus(folder, pid, host, alive, pending, runs))
        dead = _count_lines(os.path.join(server_dir, DEAD_LETTER))
        if journals or dead:
            out.append(ServerStatus(url, server_dir, journals, dead))
    return out


def dead_letter_line(url: str, item: dict[str, Any], error: Any) -> bytes:
    """One line of the dead-letter file: the operation, the server's answer, when."""
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "server": url,
        **item,
        "error_code": getattr(error, "error_code", None),
        "http_status": getattr(error, "http_status", None),
        "message": str(getattr(error, "message", error)),
    }
    return (json.dumps(entry, default=str) + "\n").encode()
