"""Importing the client loads only what building it needs: entity classes, msgspec, the HTTP stack, settings
and validation load on first use (issue #16: a script's start-up should not pay for them)."""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2] / "clients" / "python")

# Neither third-party nor the heavier parts of the standard library and of ours; any one of them here is a
# module-level import that should have been moved into the function that needs it.
LAZY = (
    "msgspec",
    "httpx",
    "urllib3",
    "tenacity",
    "click",
    "typing_extensions",
    "typing",
    "pathlib",
    "re",
    "json",
    "dataclasses",
    "threading",
    "numbers",
    "mlflow_client._generated",
    "mlflow_client._generated.models",
    "mlflow_client.entities._run_data",
    "mlflow_client.entities._run",
    "mlflow_client.exceptions",
    "mlflow_client._settings",
    "mlflow_client._validation",
    "mlflow_client._tracking_uri",
    "mlflow_client._transport",
    "mlflow_client._rest_store",
    "mlflow_client._delivery",
    "mlflow_client.fluent",
)


def _loaded_by(statement: str) -> set[str]:
    """Modules that ``statement`` adds to a bare interpreter's (``-S``: no site hooks, such as the editable
    install's finder, which imports pathlib and re before any code of ours runs)."""
    path = [PACKAGE_ROOT, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = (
        f"import sys; sys.path[:0] = {path!r}; before = set(sys.modules)\n"
        f"{statement}\n"
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    return set(ast.literal_eval(out.stdout.strip()))


@pytest.mark.parametrize(
    "statement",
    ["from mlflow_client import MlflowClient", "import mlflow_client", "import mlflow_client.client"],
)
def test_importing_the_client_loads_nothing_it_makes_lazy(statement: str) -> None:
    loaded = _loaded_by(statement)
    assert "mlflow_client" in loaded  # the probe does import it, from this checkout
    assert loaded.isdisjoint(LAZY), sorted(loaded & set(LAZY))


def test_importing_the_package_loads_only_the_package() -> None:
    assert {m for m in _loaded_by("import mlflow_client") if m.startswith("mlflow_client")} == {"mlflow_client"}


def test_entity_classes_load_on_first_use() -> None:
    loaded = _loaded_by("from mlflow_client.entities import ViewType")
    assert "msgspec" not in loaded and "mlflow_client.entities._run_data" not in loaded
    assert {"msgspec", "mlflow_client.entities._run_data"} <= _loaded_by("from mlflow_client.entities import Metric")


def test_the_lazy_names_are_the_public_ones() -> None:
    from mlflow_client import entities

    assert sorted(entities._LAZY) == sorted(entities.__all__)
    for name in entities.__all__:
        value = getattr(entities, name)
        assert value.__name__ == name and value.__module__.startswith("mlflow_client.entities."), name
    with pytest.raises(AttributeError, match="NoSuchEntity"):
        entities.NoSuchEntity  # noqa: B018


def test_the_async_client_loads_httpx_only_when_one_is_built() -> None:
    loaded = _loaded_by("from mlflow_client import AsyncMlflowClient")
    assert loaded.isdisjoint({"httpx", "urllib3", "msgspec", "mlflow_client._generated.models"}), loaded
    assert "httpx" in _loaded_by("from mlflow_client import AsyncMlflowClient; AsyncMlflowClient('http://127.0.0.1:1')")


STORE_SDKS = {"boto3", "botocore", "azure", "azure.storage.blob", "google.cloud.storage", "paramiko", "ftplib"}


def test_artifact_store_sdks_load_only_for_their_store() -> None:
    assert _loaded_by("import mlflow_client.artifacts; from mlflow_client import MlflowClient").isdisjoint(STORE_SDKS)
    # A repository is built without its SDK: it is imported by the first request.
    for uri in ("s3://b/x", "wasbs://c@a.blob.core.windows.net/x", "gs://b/x", "sftp://h/x", "ftp://h/x"):
        statement = f"from mlflow_client.artifacts import get_repository; get_repository({uri!r}).close()"
        assert _loaded_by(statement).isdisjoint(STORE_SDKS), uri
