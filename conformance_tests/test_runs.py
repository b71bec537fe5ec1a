"""Runs: create, get, update, delete, restore, the lifecycle rules, log-inputs, log-model, artifacts/list."""

from __future__ import annotations

import json

import pytest

from conformance_tests._api import Api, tag_map

NO_SUCH_RUN = "f" * 32
START = 1_700_000_000_000


def test_create_run_returns_run_info(api: Api, experiment_id: str) -> None:
    data = api.ok("POST", "runs/create", {"experiment_id": experiment_id, "start_time": START})
    info = data["run"]["info"]
    assert isinstance(info.get("run_id"), str) and info["run_id"], info
    assert info["experiment_id"] == experiment_id
    assert info["status"] == "RUNNING"
    assert info["lifecycle_stage"] == "active"
    assert info["start_time"] == START


def test_create_run_accepts_int64_as_string(api: Api, experiment_id: str) -> None:
    run_id = api.create_run(experiment_id, start_time=str(START))
    assert api.get_run(run_id)["info"]["start_time"] == START


def test_create_run_with_run_name_sets_run_name_tag(api: Api, experiment_id: str) -> None:
    run_id = api.create_run(experiment_id, run_name="my-run", tags=[{"key": "k", "value": "v"}])
    run = api.get_run(run_id)
    assert run["info"]["run_name"] == "my-run"
    assert tag_map(run) == {"k": "v", "mlflow.runName": "my-run"}


def test_get_run_returns_created_run(api: Api, experiment_id: str, run_id: str) -> None:
    run = api.get_run(run_id)
    assert run["info"]["run_id"] == run_id
    assert run["info"]["experiment_id"] == experiment_id


def test_get_unknown_run_is_404(api: Api) -> None:
    api.error("GET", "runs/get", params={"run_id": NO_SUCH_RUN}, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_get_run_requires_run_id(api: Api) -> None:
    api.error("GET", "runs/get", params={"bogus": "1"}, status=400, code="INVALID_PARAMETER_VALUE")


def test_update_run_sets_status_and_end_time(api: Api, run_id: str) -> None:
    data = api.ok("POST", "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": START + 5})
    assert data["run_info"]["status"] == "FINISHED"
    info = api.get_run(run_id)["info"]
    assert (info["status"], info["end_time"]) == ("FINISHED", START + 5)


def test_update_unknown_run_is_404(api: Api) -> None:
    api.error(
        "POST", "runs/update", {"run_id": NO_SUCH_RUN, "status": "FAILED"}, status=404, code="RESOURCE_DOES_NOT_EXIST"
    )


def test_delete_run_marks_it_deleted(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/delete", {"run_id": run_id})
    assert api.get_run(run_id)["info"]["lifecycle_stage"] == "deleted"


def test_delete_unknown_run_is_404(api: Api) -> None:
    api.error("POST", "runs/delete", {"run_id": NO_SUCH_RUN}, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_restore_run_makes_it_active(api: Api, run_id: str) -> None:
    api.ok("POST", "runs/delete", {"run_id": run_id})
    api.ok("POST", "runs/restore", {"run_id": run_id})
    assert api.get_run(run_id)["info"]["lifecycle_stage"] == "active"


@pytest.mark.parametrize(
    ("rpc", "fields"),
    [
        ("runs/log-metric", {"key": "m", "value": 1.0, "timestamp": 1}),
        ("runs/log-parameter", {"key": "p", "value": "v"}),
        ("runs/set-tag", {"key": "t", "value": "v"}),
        ("runs/log-batch", {"metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]}),
        ("runs/update", {"status": "FINISHED"}),
    ],
)
def test_deleted_run_rejects_writes(api: Api, run_id: str, rpc: str, fields: dict[str, object]) -> None:
    api.ok("POST", "runs/delete", {"run_id": run_id})
    api.error("POST", rpc, {"run_id": run_id, **fields}, status=400, code="INVALID_PARAMETER_VALUE")


@pytest.mark.capability("log-inputs")
def test_log_inputs_records_dataset(api: Api, run_id: str) -> None:
    dataset = {"name": "ds", "digest": "abc123", "source_type": "local", "source": '{"uri": "x"}'}
    tags = [{"key": "mlflow.data.context", "value": "training"}]
    api.ok("POST", "runs/log-inputs", {"run_id": run_id, "datasets": [{"tags": tags, "dataset": dataset}]})
    inputs = api.get_run(run_id)["inputs"]["dataset_inputs"]
    assert [(i["dataset"]["name"], i["dataset"]["digest"]) for i in inputs] == [("ds", "abc123")]


@pytest.mark.capability("log-inputs")
def test_log_inputs_unknown_run_is_404(api: Api) -> None:
    api.error(
        "POST", "runs/log-inputs", {"run_id": NO_SUCH_RUN, "datasets": []}, status=404, code="RESOURCE_DOES_NOT_EXIST"
    )


def test_log_model_is_accepted(api: Api, run_id: str) -> None:
    model = {
        "artifact_path": "model",
        "flavors": {"python_function": {}},
        "utc_time_created": "2024-01-01",
        "run_id": run_id,
    }
    api.ok("POST", "runs/log-model", {"run_id": run_id, "model_json": json.dumps(model)})


def test_list_run_artifacts_of_new_run_is_empty(api: Api, run_id: str) -> None:
    data = api.ok("GET", "artifacts/list", params={"run_id": run_id})
    assert not data.get("files"), data


def test_list_run_artifacts_of_unknown_run_is_404(api: Api) -> None:
    api.error("GET", "artifacts/list", params={"run_id": NO_SUCH_RUN}, status=404, code="RESOURCE_DOES_NOT_EXIST")
