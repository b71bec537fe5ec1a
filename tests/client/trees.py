"""File trees for artifact round trips: nested folders, empty files, many small files, by sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def make_tree(root: Path, many: int = 20) -> dict[str, str]:
    """Write the tree under ``root``; returns relative path -> sha256."""
    files = {
        "a.txt": b"hello\n",
        "empty.bin": b"",
        "sub/b.bin": os.urandom(70_000),
        "sub/deeper/c.json": b'{"x": 1}',
        "sub/deeper/empty2": b"",
        **{f"many/f{i:02d}.txt": f"file {i}\n".encode() for i in range(many)},
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}


def hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }
