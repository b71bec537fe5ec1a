"""Fixtures of the CLI's tests: commands run in-process (click's CliRunner) or as ``python -m mlflow_client``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mlflow_client.cli import cli

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2] / "clients" / "python")
MLFLOW_CLI = str(Path(sys.executable).with_name("mlflow"))

Invoke = Callable[..., Result]


@pytest.fixture(params=["real", "stub"])
def server_url(request: pytest.FixtureRequest) -> str:
    """Each test twice: against a real `mlflow server` and against the stub."""
    fixture = "mlflow_server_url" if request.param == "real" else "stub_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def invoke(server_url: str) -> Invoke:
    """``invoke("runs", "describe", "--run-id", ...)``: the command in-process, on ``server_url``."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env={"MLFLOW_TRACKING_URI": server_url, **(env or {})})

    return run


def cli_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def run_ours(args: Sequence[str], tracking_uri: str) -> subprocess.CompletedProcess[str]:
    """``python -m mlflow_client ARGS`` in a real process, stdout and stderr on pipes."""
    return subprocess.run(
        [sys.executable, "-m", "mlflow_client", *args],
        env=cli_env(tracking_uri),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_mlflow(args: Sequence[str], tracking_uri: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """MLflow's own ``mlflow ARGS``."""
    return subprocess.run(
        [MLFLOW_CLI, *args], env=cli_env(tracking_uri), capture_output=True, text=True, timeout=300, check=check
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
