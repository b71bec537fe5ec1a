"""Start a real ``mlflow server`` (from the PyPI ``mlflow`` package) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _mlflow_cli() -> list[str]:
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
) -> Iterator[str]:
    """Yield the URL of a fresh ``mlflow server`` (SQLite backend, artifacts served by the server).

    ``workdir`` (removed afterwards unless ``keep_workdir``, so that a server can be restarted on the same
    data) holds the database, artifacts and log; ``env`` replaces the inherited environment, which by
    default is this process's with ``MLFLOW_TRACKING_URI`` cleared. ``port`` defaults to a free one.
    """
    workdir = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="mlflow-server-"))
    port = port if port is not None else free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = mlflow_server_cmd(
        _mlflow_cli(), port, f"sqlite:///{workdir / 'mlflow.db'}", str(workdir / "artifacts"), *extra_args
    )
    env = {**(env if env is not None else {**os.environ, "MLFLOW_TRACKING_URI": ""}), "PYTHONUNBUFFERED": "1"}
    # MLflow 3's job runner (GenAI jobs, unused here) makes a folder in /dev/shm per server and never removes it.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    log = open(workdir / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, proc, workdir / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


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
