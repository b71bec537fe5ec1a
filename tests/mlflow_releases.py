"""The servers we test against, each in its own venv under .cache/compat, created on first use and reused.

The pins live here and nowhere else: the interop tests (``pytest --mlflow-release 3.11``), ``make compat`` and
its conformance matrix all build their venvs through :func:`server_venv`. Each venv is rebuilt when its pins
change (a stamp file holds them). Besides ``mlflow`` itself, a venv pins what is known to break that release
when left to float; ``pip freeze`` of every venv is kept beside it (``freeze.txt``) to say what was tested.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# MLFLOW_CLIENT_COMPAT_CACHE moves the venvs out of the clone (e.g. to keep them across CI's fresh clones).
CACHE = Path(os.environ.get("MLFLOW_CLIENT_COMPAT_CACHE") or ROOT / ".cache" / "compat")

# The MLflow releases our client's interop tests run against, besides this venv's own mlflow (constraints.txt).
# Each also gets what our tests need on the server side: the basic-auth app (mlflow[auth]) and the SDKs of the
# s3://, wasbs://, gs:// and sftp:// artifact roots, at the versions constraints.txt pins (paramiko < 4 there,
# for pysftp).
_SERVER_SDKS = (
    "boto3",
    "botocore",
    "s3transfer",
    "azure-storage-blob",
    "google-cloud-storage",
    "pysftp",
    "paramiko",
)


def _constraints() -> dict[str, str]:
    """constraints.txt's ``name==version`` lines, by name."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


SERVER_EXTRAS = tuple(f"{name}=={_constraints()[name]}" for name in _SERVER_SDKS)
RELEASES: dict[str, tuple[str, ...]] = {
    # 2.22 predates SQLAlchemy 2.1's pool changes; 2.0.58 is the last 2.0 release.
    "2.22": ("mlflow[auth]==2.22.5", "sqlalchemy==2.0.58", *SERVER_EXTRAS),
    "3.11": ("mlflow[auth]==3.11.1", *SERVER_EXTRAS),
    "3.18": ("mlflow[auth]==3.18.0", *SERVER_EXTRAS),
}
# Requirements a release declares that the package index does not have, left out of its venv (with the reason):
# its own requirements are installed without them. mlflow-tracing is a subset of mlflow-skinny's files.
UNAVAILABLE: dict[str, tuple[str, ...]] = {
    "mlflow-3.18": ("mlflow-tracing",),  # mlflow 3.18.0 needs mlflow-tracing==3.18.0, not published (3.17.2 is)
}
# Other servers of the conformance matrix.
THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "fasttrackml": ("fasttrackml==0.6.0",),
    # mlflow-go-backend 0.2.2 swaps in a Go tracking store under MLflow's own server (the newest it was
    # released with is the 2.x line).
    "mlflow-go": ("mlflow-go-backend==0.2.2", "mlflow==2.22.5", "sqlalchemy==2.0.58"),
}
ALL: dict[str, tuple[str, ...]] = {**{f"mlflow-{k}": v for k, v in RELEASES.items()}, **THIRD_PARTY}


def current_mlflow_version() -> str:
    """The mlflow of the venv running this code (the default server of the tests)."""
    return importlib.metadata.version("mlflow")


def pinned_version(name: str, package: str = "mlflow") -> str:
    """The exact version ``name``'s venv pins for ``package``."""
    for pin in ALL[name]:
        pkg, _, version = pin.partition("==")
        if pkg.split("[")[0] == package:
            return version
    raise KeyError(f"{name} pins no {package}")


def release_key(release: str) -> str:
    """``2.22`` or ``mlflow-2.22`` -> the venv name; an unknown release is an error naming the known ones."""
    name = release if release.startswith("mlflow-") else f"mlflow-{release}"
    if name not in ALL:
        raise ValueError(f"unknown MLflow release {release!r}; known: {', '.join(RELEASES)}")
    return name


def server_venv(name: str) -> Path:
    """The ``bin`` folder of ``name``'s venv (a key of :data:`ALL`), made on first use and when its pins change."""
    pins = ALL[name]
    path = CACHE / name
    stamp = path / ".pins"
    wanted = "\n".join(pins) + "\n"
    if stamp.exists() and stamp.read_text() == wanted and (path / "bin" / "python").exists():
        return path / "bin"
    print(f"compat: creating {path} ({' '.join(pins)})", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    if name in UNAVAILABLE:
        top, rest = pins[0], pins[1:]
        subprocess.run([*pip, "install", "--no-deps", top.replace("[auth]", "")], check=True)
        needs = subprocess.run(
            [str(path / "bin" / "python"), "-c", _REQUIREMENTS, top, *UNAVAILABLE[name]],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        subprocess.run([*pip, "install", *[n for n in needs if n], *rest], check=True)
    else:
        subprocess.run([*pip, "install", *pins], check=True)
    freeze = subprocess.run([*pip, "freeze"], check=True, capture_output=True, text=True).stdout
    (path / "freeze.txt").write_text(freeze)
    stamp.write_text(wanted)
    return path / "bin"


# Run in the new venv: the requirements of the installed ``pkg[extras]`` (argv[1]) for this platform, less the
# distributions named in argv[2:], one a line.
_REQUIREMENTS = """
import importlib.metadata, sys
from pip._vendor.packaging.requirements import Requirement
top = Requirement(sys.argv[1])
left_out = {n.lower() for n in sys.argv[2:]}
for line in importlib.metadata.requires(top.name) or []:
    req = Requirement(line)
    if req.name.lower() in left_out:
        continue
    if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in [""] + sorted(top.extras)):
        print(str(req).split(";")[0].strip())
"""
