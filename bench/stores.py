"""Artifact stores straight from the client: ours vs mlflow-skinny's repositories, same SDK, same emulator.

Run with ``PYTHONPATH=. python -m bench.stores [--store azure,gcs,sftp,ftp] [--big-mb 200] [--repeat 3]
[--rtt-ms 0,10]``. Each store's server is the one its tests use (``tests/stores/<store>_server.py``: Azurite,
gcp-storage-emulator, Debian's sshd, pyftpdlib, all on loopback), started once; every case runs on a fresh,
empty artifact root. ``--rtt-ms`` lists the round trips to measure at: 0 is the emulator straight on loopback,
more puts ``bench/relay.py`` between the clients and the emulator, which holds every piece of data half the
round trip in each direction, as a store that far away would (FTP's data connections go straight to the
server: only its commands and replies are held).

Cases, per store: one big file up (``log_artifact``) and down (``download_artifacts``), and a folder of
1000 x 10 KB files up (``log_artifacts``) and down. Both clients run in this process, interleaved (who goes
first alternates), best of ``--repeat``; every download is checked (sha256 of each file). Goals (issue #20):
ours >= 1x MLflow's speed on the big file, >= 2x on the small files.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.relay import relaying

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


def _seed(root: str, what: Path) -> None:
    repo = Clients.ours(root)
    try:
        if what.is_file():
            repo.log_artifact(str(what))
        else:
            repo.log_artifacts(str(what), "small")
    finally:
        _close(repo)


def forget(name: str, server: Any, root: str) -> None:
    """Delete what a case stored (not timed): an emulator holding every earlier case's objects answers
    slower as they pile up (Azurite's index, the GCS emulator's memory), which a real store does not."""
    if name == "azure":
        with server.service() as service:
            service.delete_container(urlsplit(root).netloc.split("@")[0])
    elif name == "gcs":
        httpx.get(f"{server.url}/wipe", timeout=60).raise_for_status()  # every bucket: each case makes its own
    elif name == "sftp":
        shutil.rmtree(server.path_of(root), ignore_errors=True)
    elif name == "ftp":
        shutil.rmtree(server.local(urlsplit(root).path), ignore_errors=True)


def server_port(server: Any) -> int:
    port = getattr(server, "port", None)
    return int(port) if port is not None else int(urlsplit(server.url).port or 0)


@contextlib.contextmanager
def far_away(server: Any, rtt_ms: float) -> Iterator[Callable[[str], str]]:
    """A function that rewrites the server's URIs and variables to reach it through a relay ``rtt_ms`` away
    (the identity when ``rtt_ms`` is 0)."""
    if not rtt_ms:
        yield lambda text: text
        return
    port = server_port(server)
    with relaying(port, rtt_ms / 2) as relay_port:
        known_hosts = getattr(server, "known_hosts", None)
        if known_hosts is not None:  # sshd's host key, under the name the clients look up for the relay's port
            with open(known_hosts, "a") as f:
                f.write(f"[127.0.0.1]:{relay_port} {server.host_public_key}\n")
        yield lambda text: text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{relay_port}")


def bench_store(
    name: str, work: Path, inputs: tuple[Path, str, Path, dict[str, str]], repeat: int, rtt_ms: float
) -> list[str]:
    big, big_sha, small, small_tree = inputs
    module = importlib.import_module(f"tests.stores.{name}_server")
    lines: list[str] = []
    with module.running(work / f"{name}-server") as server, far_away(server, rtt_ms) as via:
        env = {k: via(v) for k, v in server.env.items()}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            results: dict[tuple[str, str], float] = {}

            def case(kind: str, who: str, run: Callable[[Any, Path], None]) -> None:
                direct = server.new_root()
                root = via(direct)
                builder = Clients.ours if who == "ours" else Clients.mlflow
                dst = Path(tempfile.mkdtemp(dir=work))
                repo = builder(root)
                try:
                    if kind.endswith("down"):  # put the files there first, with our client (not timed)
                        _seed(direct, big if kind.startswith("big") else small)
                    os.sync()  # the last case's file writes land on the disk now, not in this case's time
                    start = time.perf_counter()
                    run(repo, dst)
                    took = time.perf_counter() - start
                finally:
                    _close(repo)
                    forget(name, server, direct)
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
            for i in range(repeat):
                for kind, run in runs.items():
                    # Who goes first alternates: the first of a pair can pay for the other (the page cache,
                    # the emulator's memory growing), and best-of then sees each client in both places.
                    for who in ("ours", "mlflow") if i % 2 == 0 else ("mlflow", "ours"):
                        case(kind, who, run)
            size_mb = big.stat().st_size / 2**20
            for kind in runs:
                ours, theirs = results[kind, "ours"], results[kind, "mlflow"]
                what = f"{size_mb:.0f} MB" if kind.startswith("big") else f"{SMALL_FILES} x {SMALL_SIZE // 1024} KB"
                lines.append(
                    f"{name:<6} {rtt_ms:4g} ms  {kind:<11} {what:<14} ours {ours:7.2f} s   mlflow {theirs:7.2f} s   "
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
    parser.add_argument("--rtt-ms", default="0", help="comma-separated round trips to the store, in ms")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.store.split(",") if s.strip()]
    unknown = sorted(set(stores) - set(STORES))
    if unknown:
        parser.error(f"unknown store(s): {', '.join(unknown)}")
    try:
        rtts = [float(r) for r in args.rtt_ms.split(",") if r.strip()]
    except ValueError:
        parser.error(f"--rtt-ms takes numbers separated by commas, got {args.rtt_ms!r}")
    if any(r < 0 for r in rtts):
        parser.error("--rtt-ms: round trips cannot be negative")
    work = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    try:
        inputs = make_inputs(work, args.big_mb)
        print(f"artifact stores, best of {args.repeat} (ratio = mlflow's time / ours; > 1 means we are faster)")
        for name in stores:
            for rtt in rtts:
                for line in bench_store(name, work, inputs, args.repeat, rtt):
                    print(line, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
