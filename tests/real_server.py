"""Start a real ``mlflow server`` (from the PyPI ``mlflow`` package) on a free loopback port.

The server is this venv's mlflow unless :func:`use_release` (``pytest --mlflow-release 3.11``) picked one of
the releases in ``tests/mlflow_releases.py``, whose cached venv then provides the ``mlflow`` command.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests import mlflow_releases

STARTUP_TIMEOUT = 120.0
_release_bin: Path | None = None  # set by use_release(); None: this venv's mlflow
_server_version = mlflow_releases.current_mlflow_version()


#: Ports ``free_port`` picks from: below the kernel's ephemeral range, which outgoing connections take
#: their local ports from. A port from that range (what binding to port 0 gives) can be taken by any
#: client's connection between ``free_port`` returning and the server binding it, as happened in CI.
_PICK_FROM = (10000, 32767)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nothing listens on, for a server started next; chosen at random below the ephemeral
    range (so that no outgoing connection takes it meanwhile), else whatever port 0 gives."""
    low, high = _PICK_FROM[0], min(_PICK_FROM[1], _ephemeral_low() - 1)
    rng = random.SystemRandom()
    candidates = [rng.randint(low, high) for _ in range(50)] if high > low else []
    for port in [*candidates, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            picked: int = s.getsockname()[1]
            return picked
    raise OSError("no free loopback port")


def use_release(release: str | None) -> None:
    """Start every later ``real_mlflow_server()`` from ``release``'s cached venv (made now if missing)."""
    global _release_bin, _server_version
    _release_bin = None if release is None else mlflow_releases.server_venv(mlflow_releases.release_key(release))
    _server_version = (
        mlflow_releases.current_mlflow_version()
        if release is None
        else mlflow_releases.pinned_version(mlflow_releases.release_key(release))
    )


def server_version() -> str:
    """The version of the mlflow that ``real_mlflow_server()`` starts (e.g. ``"3.11.1"``)."""
    return _server_version


def server_version_info() -> tuple[int, ...]:
    """:func:`server_version` as numbers, to compare releases: ``server_version_info() < (3, 0)``."""
    return tuple(int(part) for part in _server_version.split(".")[:3])


def _mlflow_cli(bin_dir: Path | None = None) -> list[str]:
    bin_dir = bin_dir if bin_dir is not None else _release_bin
    if bin_dir is not None:
        return [str(bin_dir / "mlflow")]
    exe = Path(sys.executable).with_name("mlflow")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mlflow"]


def mlflow_server_cmd(
    cli: list[str], port: int, backend_store_uri: str, artifacts_destination: str, *extra_args: str
) -> list[str]:
    """``mlflow server`` on 127.0.0.1:``port`` with one worker (tests, bench and ``make compat`` alike)."""
    return [
        *cli,
        "server",
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--backend-store-uri", backend_store_uri),
        *("--artifacts-destination", artifacts_destination),
        *extra_args,
    ]


@contextlib.contextmanager
def real_mlflow_server(
    extra_args: tuple[str, ...] = (),
    *,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
    keep_workdir: bool = False,
    bin_dir: Path | None = None,
) -> Iterator[str]:
    """Yield the URL of a fresh ``mlflow server`` (SQLite backend, artifacts served by the server).

    ``workdir`` (removed afterwards unless ``keep_workdir``, so that a server can be restarted on the same
    data) holds the database, artifacts and log; ``env`` replaces the inherited environment, which by
    default is this process's with ``MLFLOW_TRACKING_URI`` cleared. ``port`` defaults to a free one.
    ``bin_dir`` is the venv whose ``mlflow`` runs (default: the release of :func:`use_release`, else this venv).
    """
    bin_dir = bin_dir if bin_dir is not None else _release_bin
    workdir = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="mlflow-server-"))
    port = port if port is not None else free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = mlflow_server_cmd(
        _mlflow_cli(bin_dir), port, f"sqlite:///{workdir / 'mlflow.db'}", str(workdir / "artifacts"), *extra_args
    )
    env = {**(env if env is not None else {**os.environ, "MLFLOW_TRACKING_URI": ""}), "PYTHONUNBUFFERED": "1"}
    if bin_dir is not None:
        # Another venv's server: nothing of this checkout on its import path, and the commands it starts by
        # name (MLflow 2's gunicorn) from that venv.
        env.pop("PYTHONPATH", None)
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
    # MLflow 3's job runner (GenAI jobs, unused here) makes a folder in /dev/shm per server and never removes it.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    log = open(workdir / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(url, proc, workdir / "server.log")
        yield url
    finally:
        stop_process_group(proc)
        log.close()
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop ``proc`` (started with ``start_new_session=True``) and everything it started, and wait until they are gone.

    MLflow 2's ``mlflow server`` runs gunicorn as a child that outlives a terminated parent, still serving; the
    whole process group gets SIGTERM (SIGKILL after ``timeout``), so a stopped server no longer answers.
    """
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    killed = False
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            if killed:
                raise RuntimeError(f"processes of group {pgid} survive SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + timeout
        time.sleep(0.05)  # polling for the processes to exit, not synchronising on timing
    proc.wait()


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting for their parent do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll /health until the server answers; fail fast if the process dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a readiness probe, not synchronising on timing
    raise RuntimeError(f"mlflow server not ready after {STARTUP_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")
