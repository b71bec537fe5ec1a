"""Artifact stores straight from the client: ours vs mlflow-skinny's repositories, same SDK, same emulator.

Run with ``PYTHONPATH=. python -m bench.stores [--store azure,gcs,sftp,ftp] [--big-mb 200] [--repeat 3]``.
Each store's server is the one its tests use (``tests/stores/<store>_server.py``: Azurite, gcp-storage-emulator,
Debian's sshd, pyftpdlib, all on loopback), started once; every case runs on a fresh, empty artifact root.

Cases, per store: one big file up (``log_artifact``) and down (``download_artifacts``), and a folder of
1000 x 10 KB files up (``log_artifacts``) and down. Both clients run in this process, interleaved, best of
``--repeat``; every download is checked (sha256 of each file). Goals (issue #20): ours >= 1x MLflow's speed on
the big file, >= 2x on the small files.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STORES = ("azure", "gcs", "sftp", "ftp")
SMALL_FILES = 1000
SMALL_SIZE = 10 * 1024
CHUNK = 8 * 1024 * 1024


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def make_inputs(work: Path, big_mb: int) -> tuple[Path, str, Path, dict[str, str]]:
    big = work / "in" / "big.bin"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as f:
        for _ in range(big_mb):
            f.write(os.urandom(1024 * 1024))
    small = work / "in" / "small"
    small.mkdir()
    for i in range(SMALL_FILES):
        (small / f"f{i:04d}.bin").write_bytes(os.urandom(SMALL_SIZE))
    return big, sha256(big), small, tree(small)


class Clients:
    """Build a repository of ours or of MLflow's for an artifact root."""

    @staticmethod
    def ours(root: str) -> Any:
        from mlflow_client.artifacts import get_repository

        return get_repository(root)

    @staticmethod
    def mlflow(root: str) -> Any:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return get_artifact_repository(root)


def _close(repo: Any) -> None:
    close = getattr(repo, "close", None)
    if callable(close) and type(repo).__module__.startswith("mlflow_client"):
        close()


def bench_store(name: str, work: Path, inputs: tuple[Path, str, Path, dict[str, str]], repeat: int) -> list[str]:
    big, big_sha, small, small_tree = inputs
    module = importlib.import_module(f"tests.stores.{name}_server")
    lines: list[str] = []
    with module.running(work / f"{name}-server") as server:
        saved = {k: os.environ.get(k) for k in server.env}
        os.environ.update(server.env)
        try:
            results: dict[tuple[str, str], float] = {}

            def case(kind: str, who: str, run: Callable[[Any, Path], None]) -> None:
                root = server.new_root()
                builder = Clients.ours if who == "ours" else Clients.mlflow
                dst = Path(tempfile.mkdtemp(dir=work))
                repo = builder(root)
                try:
                    if kind.endswith("down"):  # put the files there first, with our client (not timed)
                        seed = Clients.ours(root)
                        try:
                            if kind.startswith("big"):
                                seed.log_artifact(str(big))
                            else:
                                seed.log_artifacts(str(small), "small")
                        finally:
                            _close(seed)
                    start = time.perf_counter()
                    run(repo, dst)
                    took = time.perf_counter() - start
                finally:
                    _close(repo)
                if kind == "big down":
                    assert sha256(dst / "big.bin") == big_sha, f"{who} {name} big download differs"
                elif kind == "small down":
                    assert tree(dst / "small") == small_tree, f"{who} {name} small download differs"
                shutil.rmtree(dst, ignore_errors=True)
                results[kind, who] = min(results.get((kind, who), float("inf")), took)

            runs: dict[str, Callable[[Any, Path], None]] = {
                "big up": lambda repo, dst: repo.log_artifact(str(big)),
                "big down": lambda repo, dst: repo.download_artifacts("big.bin", str(dst)),
                "small up": lambda repo, dst: repo.log_artifacts(str(small), "small"),
                "small down": lambda repo, dst: repo.download_artifacts("small", str(dst)),
            }
            for _ in range(repeat):
                for kind, run in runs.items():
                    for who in ("ours", "mlflow"):
                        case(kind, who, run)
            size_mb = big.stat().st_size / 2**20
            for kind in runs:
                ours, theirs = results[kind, "ours"], results[kind, "mlflow"]
                what = f"{size_mb:.0f} MB" if kind.startswith("big") else f"{SMALL_FILES} x {SMALL_SIZE // 1024} KB"
                lines.append(
                    f"{name:<6} {kind:<11} {what:<14} ours {ours:7.2f} s   mlflow {theirs:7.2f} s   "
                    f"{theirs / ours:5.2f}x"
                )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default=",".join(STORES), help="comma-separated: " + ", ".join(STORES))
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.store.split(",") if s.strip()]
    unknown = sorted(set(stores) - set(STORES))
    if unknown:
        parser.error(f"unknown store(s): {', '.join(unknown)}")
    work = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    try:
        inputs = make_inputs(work, args.big_mb)
        print(f"artifact stores, best of {args.repeat} (ratio = mlflow's time / ours; > 1 means we are faster)")
        for name in stores:
            for line in bench_store(name, work, inputs, args.repeat):
                print(line, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
