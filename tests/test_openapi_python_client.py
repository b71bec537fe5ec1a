"""Third parties generate clients from spec/openapi.yaml: openapi-python-client (pinned) must produce a
client that works against a real `mlflow server`."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conformance_tests._schema import SPEC

pytestmark = pytest.mark.mlflow_server


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("opc")
    config = out / "config.yaml"
    config.write_text("project_name_override: mlflow_rest\npackage_name_override: mlflow_rest\npost_hooks: []\n")
    exe = Path(sys.executable).with_name("openapi-python-client")
    proc = subprocess.run(
        [
            str(exe),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(out / "mlflow_rest"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Warning" not in proc.stdout, proc.stdout  # every path and schema was understood
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("mlflow_rest")
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "mlflow_rest" or n.startswith("mlflow_rest.")]:
            del sys.modules[name]


def test_generated_client_creates_and_reads_back_an_experiment(
    generated_client: ModuleType, mlflow_server_url: str
) -> None:
    api = importlib.import_module("mlflow_rest.api.experiments")
    models: Any = importlib.import_module("mlflow_rest.models")
    create = importlib.import_module(f"{api.__name__}.create_experiment")
    get = importlib.import_module(f"{api.__name__}.get_experiment")
    search_get = importlib.import_module(f"{api.__name__}.search_experiments_get")
    client = generated_client.Client(base_url=mlflow_server_url)
    name = f"opc-{uuid.uuid4().hex[:8]}"

    created = create.sync(client=client, body=models.CreateExperiment(name=name))
    assert isinstance(created, models.CreateExperimentResponse) and created.experiment_id

    got = get.sync(client=client, experiment_id=created.experiment_id)
    assert isinstance(got, models.GetExperimentResponse)
    assert got.experiment.name == name and got.experiment.lifecycle_stage == "active"

    listed = search_get.sync(client=client, max_results=1000, view_type=models.ViewType.ACTIVE_ONLY)
    assert name in {e.name for e in listed.experiments}

    missing = get.sync_detailed(client=client, experiment_id="424242424")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorResponse)
    assert missing.parsed.error_code == "RESOURCE_DOES_NOT_EXIST"
