"""Install the generated R package (``clients/r``) and run its workflow script with ``Rscript``.

``install()`` runs ``R CMD INSTALL`` into ``build/r-lib`` and writes a stamp with the hash of the package
sources and the R version, so an unchanged package is not installed again. ``run_workflow()`` runs
``clients/r-examples/workflow.R`` against a tracking server and returns the JSON summary it prints last.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import last_json_line

__all__ = ["RBindingError", "install", "last_json_line", "run_script", "run_workflow"]

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "clients" / "r"
PACKAGE = "mlflowclient"
LIB_DIR = ROOT / "build" / "r-lib"
STAMP = LIB_DIR / f".{PACKAGE}.stamp"
WORKFLOW = ROOT / "clients" / "r-examples" / "workflow.R"
# Settings that would leak into the workflow from the caller's environment and change what it does.
_CLEARED_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)


class RBindingError(RuntimeError):
    """R is missing, the package did not install, or the workflow failed."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RBindingError(f"{name} is not on PATH: install R (r-base-core) with r-cran-httr and r-cran-jsonlite")
    return path


def source_hash() -> str:
    """Hash of every file of the package and the R version: what decides whether to install again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    version = subprocess.run([_tool("R"), "--version"], capture_output=True, text=True, check=False).stdout
    digest.update(version.splitlines()[0].encode() if version else b"")
    return digest.hexdigest()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One install at a time, across processes (parallel test workers share build/r-lib)."""
    LIB_DIR.mkdir(parents=True, exist_ok=True)
    with (LIB_DIR.parent / ".r-lib.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(force: bool = False) -> Path:
    """Install ``clients/r`` into ``build/r-lib`` unless the stamp says it is already there; return the library."""
    with _locked():
        wanted = source_hash()
        installed = (LIB_DIR / PACKAGE / "DESCRIPTION").is_file()
        if not force and installed and STAMP.is_file() and STAMP.read_text().strip() == wanted:
            return LIB_DIR
        STAMP.unlink(missing_ok=True)
        proc = subprocess.run(
            [_tool("R"), "CMD", "INSTALL", "--no-multiarch", f"--library={LIB_DIR}", str(PACKAGE_DIR)],
            capture_output=True,
            text=True,
            check=False,
            env=_r_env(None),
        )
        if proc.returncode != 0:
            raise RBindingError(
                f"R CMD INSTALL failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        STAMP.write_text(wanted + "\n")
    return LIB_DIR


def _r_env(extra_env: Mapping[str, str] | None, *, clear_mlflow: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    if clear_mlflow:
        for name in _CLEARED_ENV:
            env.pop(name, None)
    libs = [str(LIB_DIR)] + ([env["R_LIBS"]] if env.get("R_LIBS") else [])
    env["R_LIBS"] = os.pathsep.join(libs)
    env.update(extra_env or {})
    return env


def run_script(
    script: Path | str, args: list[str], extra_env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run an R script file (or, given a string that is not a file, R code via ``-e``) with the package installed."""
    lib = install()
    command = [_tool("Rscript"), "--vanilla"]
    command += [str(script)] if isinstance(script, Path) else ["-e", script]
    env = _r_env(extra_env, clear_mlflow=True)
    env["R_LIBS"] = os.pathsep.join([str(lib), *[p for p in env["R_LIBS"].split(os.pathsep) if p != str(lib)]])
    return subprocess.run(command + args, capture_output=True, text=True, check=False, env=env, timeout=timeout)


def run_workflow(tracking_uri: str, experiment_name: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``clients/r-examples/workflow.R`` against ``tracking_uri`` and return its JSON summary."""
    env = {"MLFLOW_TRACKING_URI": tracking_uri, **(extra_env or {})}
    proc = run_script(WORKFLOW, [experiment_name], env)
    if proc.returncode != 0:
        raise RBindingError(
            f"the R workflow failed ({proc.returncode}):\n{proc.stderr[-4000:]}\nstdout:\n{proc.stdout[-2000:]}"
        )
    try:
        return last_json_line(proc.stdout)
    except ValueError as err:
        raise RBindingError(f"the R workflow's summary is not JSON: {err}\nstdout:\n{proc.stdout[-2000:]}") from err
