"""The distribution ships every package of the SDK and the stub, and nothing heavy in the core."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _toml_list(key: str) -> list[str]:
    """A top-level list of strings from pyproject.toml (tomllib is 3.11+; the project supports 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(rf"^{key} = (\[.*?\])", text, re.S | re.M)
    assert match, key
    value: list[str] = ast.literal_eval(re.sub(r"#.*", "", match.group(1)))
    return value


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(_toml_list("packages"))
    on_disk = {
        ".".join(init.parent.relative_to(base).parts)
        for base in (ROOT / "clients/python", ROOT)
        for top in ("mlflow_client", "server_stub")
        for init in (base / top).rglob("__init__.py")
        if (base / top).is_dir()
    }
    assert on_disk == listed


def test_core_dependencies_stay_few() -> None:
    deps = _toml_list("dependencies")
    assert sorted(d.split(">")[0].split("=")[0] for d in deps) == ["click", "msgspec", "urllib3"]


def _loaded_after(imports: str) -> list[str]:
    heavy = ("httpx", "urllib3", "msgspec", "click", "mlflow_client._generated.models")
    code = f"import sys, {imports}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def test_import_is_light() -> None:
    assert _loaded_after("mlflow_client, mlflow_client.exceptions") == []
    # Entity classes load on first use; Metric needs msgspec (a Struct, so that histories decode straight into
    # it), never the HTTP stack. What `from mlflow_client import MlflowClient` loads: tests/client/test_import_cost.py.
    assert _loaded_after("mlflow_client.entities") == []
    assert _loaded_after("mlflow_client.entities; from mlflow_client.entities import Metric") == ["msgspec"]


def test_readme_lists_every_environment_variable() -> None:
    from mlflow_client._settings import env_var_table

    assert env_var_table() in (ROOT / "README.md").read_text()


def test_package_exports_the_fluent_api_lazily() -> None:
    import mlflow_client
    from mlflow_client import fluent

    for name in mlflow_client.__all__:
        assert getattr(mlflow_client, name) is not None, name
    public_fluent = {n for n in vars(fluent) if not n.startswith("_") and callable(getattr(fluent, n))}
    exported = {n for n in public_fluent if getattr(fluent, n).__module__ == fluent.__name__}
    assert exported <= set(mlflow_client.__all__), exported - set(mlflow_client.__all__)


def test_wheel_ships_the_ui_static_files(tmp_path: Path) -> None:
    """The UI's pages need uPlot and our script at run time, with no CDN and no Node: they are package data."""
    import shutil
    import zipfile

    # Built from a copy: setuptools leaves build/ beside the sources, and a stale build/ leaks into wheels.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("clients/python", "server_stub"):
        shutil.copytree(ROOT / part, src / part, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlflow_client-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    static = "mlflow_client/ui/static/"
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE", "VENDORED.md", "ui.js", "ui.css"):
        assert static + name in names, name
    assert {"mlflow_client/ui/__init__.py", "mlflow_client/ui/_server.py", "mlflow_client/ui/_pages.py"} <= names
    assert "server_stub/ui.py" in names
