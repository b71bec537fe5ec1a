"""The generator: deterministic, drift-detecting, and its OpenAPI complete and valid."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

import codegen.__main__ as cli
from codegen.model import ROOT, load
from conformance_tests._schema import SPEC

# The RPCs the spec must cover (method, path), as real MLflow servers serve them.
TRACKING = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"
EXPECTED = {
    ("POST", f"{TRACKING}/experiments/create"),
    ("GET", f"{TRACKING}/experiments/get"),
    ("GET", f"{TRACKING}/experiments/get-by-name"),
    ("POST", f"{TRACKING}/experiments/search"),
    ("GET", f"{TRACKING}/experiments/search"),
    ("POST", f"{TRACKING}/experiments/update"),
    ("POST", f"{TRACKING}/experiments/delete"),
    ("POST", f"{TRACKING}/experiments/restore"),
    ("POST", f"{TRACKING}/experiments/set-experiment-tag"),
    ("POST", f"{TRACKING}/experiments/delete-experiment-tag"),
    ("POST", f"{TRACKING}/runs/create"),
    ("GET", f"{TRACKING}/runs/get"),
    ("POST", f"{TRACKING}/runs/update"),
    ("POST", f"{TRACKING}/runs/delete"),
    ("POST", f"{TRACKING}/runs/restore"),
    ("POST", f"{TRACKING}/runs/search"),
    ("POST", f"{TRACKING}/runs/log-metric"),
    ("POST", f"{TRACKING}/runs/log-parameter"),
    ("POST", f"{TRACKING}/runs/set-tag"),
    ("POST", f"{TRACKING}/runs/delete-tag"),
    ("POST", f"{TRACKING}/runs/log-batch"),
    ("POST", f"{TRACKING}/runs/log-inputs"),
    ("POST", f"{TRACKING}/runs/log-model"),
    ("GET", f"{TRACKING}/metrics/get-history"),
    ("GET", f"{TRACKING}/metrics/get-history-bulk-interval"),
    ("GET", f"{TRACKING}/artifacts/list"),
    ("POST", f"{TRACKING}/runs/outputs"),
    ("POST", f"{TRACKING}/logged-models"),
    ("GET", f"{TRACKING}/logged-models/{{model_id}}"),
    ("PATCH", f"{TRACKING}/logged-models/{{model_id}}"),
    ("DELETE", f"{TRACKING}/logged-models/{{model_id}}"),
    ("POST", f"{TRACKING}/logged-models/search"),
    ("PATCH", f"{TRACKING}/logged-models/{{model_id}}/tags"),
    ("DELETE", f"{TRACKING}/logged-models/{{model_id}}/tags/{{tag_key}}"),
    ("POST", f"{TRACKING}/logged-models/{{model_id}}/params"),
    ("GET", f"{TRACKING}/logged-models/{{model_id}}/artifacts/directories"),
    ("POST", f"{TRACKING}/registered-models/create"),
    ("POST", f"{TRACKING}/registered-models/rename"),
    ("PATCH", f"{TRACKING}/registered-models/update"),
    ("DELETE", f"{TRACKING}/registered-models/delete"),
    ("GET", f"{TRACKING}/registered-models/get"),
    ("GET", f"{TRACKING}/registered-models/search"),
    ("POST", f"{TRACKING}/registered-models/get-latest-versions"),
    ("GET", f"{TRACKING}/registered-models/get-latest-versions"),
    ("POST", f"{TRACKING}/registered-models/set-tag"),
    ("DELETE", f"{TRACKING}/registered-models/delete-tag"),
    ("POST", f"{TRACKING}/registered-models/alias"),
    ("DELETE", f"{TRACKING}/registered-models/alias"),
    ("GET", f"{TRACKING}/registered-models/alias"),
    ("POST", f"{TRACKING}/model-versions/create"),
    ("PATCH", f"{TRACKING}/model-versions/update"),
    ("DELETE", f"{TRACKING}/model-versions/delete"),
    ("GET", f"{TRACKING}/model-versions/get"),
    ("GET", f"{TRACKING}/model-versions/search"),
    ("GET", f"{TRACKING}/model-versions/get-download-uri"),
    ("POST", f"{TRACKING}/model-versions/transition-stage"),
    ("POST", f"{TRACKING}/model-versions/set-tag"),
    ("DELETE", f"{TRACKING}/model-versions/delete-tag"),
    ("GET", f"{ARTIFACTS}/artifacts/{{artifact_path}}"),
    ("PUT", f"{ARTIFACTS}/artifacts/{{artifact_path}}"),
    ("GET", f"{ARTIFACTS}/artifacts"),
    ("DELETE", f"{ARTIFACTS}/artifacts/{{artifact_path}}"),
    ("POST", f"{ARTIFACTS}/mpu/create/{{artifact_path}}"),
    ("POST", f"{ARTIFACTS}/mpu/complete/{{artifact_path}}"),
    ("POST", f"{ARTIFACTS}/mpu/abort/{{artifact_path}}"),
    # MLflow 3 serves a logged model's files under its UI prefix only.
    ("GET", "/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files"),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def test_generated_files_match_spec() -> None:
    assert cli.main(["--check"]) == 0


def test_check_reports_drift_in_a_generated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for rel in cli.outputs():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert cli.main(["--check"]) == 0
    models = tmp_path / "clients/python/mlflow_client/_generated/models.py"
    models.write_text(models.read_text().replace("run_id: str | None = None", "run_id: str", 1))
    assert cli.main(["--check"]) == 1
    models.unlink()
    assert cli.main(["--check"]) == 1
    assert cli.main([]) == 0  # regenerating repairs it
    assert cli.main(["--check"]) == 0
    # A file nobody generates, in any folder an emitter owns (Python layer, Java and R bindings), is drift.
    for leftover in (
        models.parent / "leftover.py",
        tmp_path / "clients/java/src/main/java/org/mlflowclient/runtime/Leftover.java",
        tmp_path / "clients/r/R/leftover.R",
    ):
        leftover.write_text("# not generated\n")
        assert cli.main(["--check"]) == 1
        assert cli.main([]) == 0  # regenerating removes it
        assert not leftover.exists()


def test_output_is_deterministic() -> None:
    assert cli.outputs() == cli.outputs()


def test_openapi_is_valid(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_every_rpc_is_covered(doc: dict[str, Any]) -> None:
    found = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert found == EXPECTED


def test_get_request_fields_are_query_parameters(doc: dict[str, Any]) -> None:
    op = doc["paths"][f"{TRACKING}/metrics/get-history-bulk-interval"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert "requestBody" not in op
    assert params["run_ids"]["in"] == "query" and params["run_ids"]["schema"]["type"] == "array"
    assert params["run_ids"]["required"] is True and params["run_ids"]["schema"]["maxItems"] == 100
    assert params["max_results"]["schema"]["maximum"] == 2500
    history = {p["name"]: p for p in doc["paths"][f"{TRACKING}/metrics/get-history"]["get"]["parameters"]}
    assert history["max_results"]["schema"]["x-client-default"] == 25000
    assert "default" not in history["max_results"]["schema"]  # a client's choice, not the server's assumption


def test_limits_and_required_fields_are_surfaced(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    batch = schemas["LogBatch"]
    assert batch["properties"]["metrics"]["maxItems"] == 1000
    assert batch["properties"]["params"]["maxItems"] == 100
    assert batch["x-max-total-items"] == 1000
    assert schemas["Metric"]["properties"]["key"]["maxLength"] == 250
    assert schemas["SetExperimentTag"]["properties"]["value"]["maxLength"] == 20000
    assert schemas["LogParam"]["properties"]["value"]["x-truncated-after"] == 6000
    assert set(schemas["LogMetric"]["required"]) >= {"run_id", "key", "value", "timestamp"}
    assert schemas["SearchRuns"]["properties"]["max_results"]["maximum"] == 50000
    assert schemas["RunStatus"]["enum"] == ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
    assert schemas["ErrorCode"]["x-http-status"]["RESOURCE_ALREADY_EXISTS"] == 400
    error = schemas["ErrorResponse"]["properties"]
    assert set(error) == {"error_code", "message"}


def test_every_message_field_and_rpc_is_documented() -> None:
    api = load()
    undocumented = [m.full_name for m in api.messages.values() if not m.doc and not m.map_entry]
    undocumented += [
        f"{m.full_name}.{f.name}" for m in api.messages.values() for f in m.fields if not f.doc and not m.map_entry
    ]
    undocumented += [f"{e.full_name}.{v.name}" for e in api.enums.values() for v in e.values if not v.doc]
    undocumented += [r.name for r in api.rpcs if not r.doc]
    assert undocumented == []


def test_field_numbers_and_names_match_mlflow() -> None:
    """Our hand-written protos agree with the descriptors shipped in the `mlflow` package."""
    from mlflow.protos import mlflow_artifacts_pb2 as artifacts_pb2
    from mlflow.protos import model_registry_pb2, service_pb2

    api = load()
    theirs = {}
    for module in (service_pb2, artifacts_pb2, model_registry_pb2):
        pool = module.DESCRIPTOR.pool
        for full_name in api.messages:
            try:
                desc = pool.FindMessageTypeByName(full_name)
            except KeyError:
                continue
            theirs[full_name] = {(f.name, f.number, f.type) for f in desc.fields}
    # Every message of ours exists in MLflow under the same name (the error body is plain JSON there, and
    # the logged-model file route is a Flask route with query arguments, no message).
    assert sorted(set(api.messages) - set(theirs)) == [
        "mlflow.ErrorResponse",
        "mlflow.artifacts.GetLoggedModelArtifact",
        "mlflow.artifacts.GetLoggedModelArtifact.Response",
    ]
    type_numbers = {"double": 1, "int64": 3, "int32": 5, "bool": 8, "string": 9, "message": 11, "enum": 14}
    for full_name, fields in theirs.items():
        ours = {(f.name, f.number, type_numbers[f.kind]) for f in api.messages[full_name].fields}
        assert ours == fields, full_name


def test_enums_match_mlflow() -> None:
    """Enum values and numbers as MLflow has them; our ErrorCode is the part of MLflow's a client meets."""
    from mlflow.protos import databricks_pb2, model_registry_pb2, service_pb2

    api = load()
    pool = service_pb2.DESCRIPTOR.pool
    assert model_registry_pb2.DESCRIPTOR.pool is pool
    for full_name, enum in api.enums.items():
        ours = {(v.name, v.number) for v in enum.values}
        if full_name == "mlflow.ErrorCode":
            assert ours <= {(v.name, v.number) for v in databricks_pb2.ErrorCode.DESCRIPTOR.values}
            continue
        theirs = {(v.name, v.number) for v in pool.FindEnumTypeByName(full_name).values}
        assert ours == theirs, full_name
    assert len(api.enums) >= 7


def test_rpcs_and_http_bindings_match_mlflow() -> None:
    """Each RPC of ours is one of MLflow's, with the same request type and the same methods + paths.
    (MLflow declares more, e.g. traces and prompts, that the spec does not cover.)"""
    from mlflow.protos import databricks_pb2, model_registry_pb2, service_pb2

    api = load()
    services = {
        "MlflowService": service_pb2.DESCRIPTOR.services_by_name["MlflowService"],
        "ModelRegistryService": model_registry_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"],
    }
    for rpc in api.rpcs:
        if rpc.service not in services:
            continue  # the artifacts service's bindings are Flask routes in MLflow, not proto options
        methods = {m.name.lower(): m for m in services[rpc.service].methods}
        theirs = methods[rpc.name.lower()]  # MLflow spells one "LogLoggedModelParams"
        assert theirs.input_type.full_name == rpc.request, rpc.name
        endpoints = theirs.GetOptions().Extensions[databricks_pb2.rpc].endpoints
        expected = {(e.method, "/api/2.0" + e.path) for e in endpoints}
        assert {(b.method, b.path) for b in rpc.bindings} == expected, rpc.name
