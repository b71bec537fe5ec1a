"""Experiments: create, get, get-by-name, update, delete, restore, experiment tags."""

from __future__ import annotations

from conformance_tests._api import Api, unique

NO_SUCH_EXPERIMENT = "987654321"


def test_create_experiment_returns_string_id(api: Api) -> None:
    data = api.ok("POST", "experiments/create", {"name": unique()})
    assert isinstance(data.get("experiment_id"), str), data
    assert data["experiment_id"], data


def test_create_experiment_requires_name(api: Api) -> None:
    api.error("POST", "experiments/create", {}, status=400, code="INVALID_PARAMETER_VALUE")


def test_create_experiment_with_taken_name_is_resource_already_exists_400(api: Api) -> None:
    name = unique()
    api.create_experiment(name)
    api.error("POST", "experiments/create", {"name": name}, status=400, code="RESOURCE_ALREADY_EXISTS")


def test_get_experiment_returns_name_and_active_stage(api: Api) -> None:
    name = unique()
    exp_id = api.create_experiment(name)
    exp = api.ok("GET", "experiments/get", params={"experiment_id": exp_id})["experiment"]
    assert exp["experiment_id"] == exp_id
    assert exp["name"] == name
    assert exp["lifecycle_stage"] == "active"


def test_get_unknown_experiment_is_404(api: Api) -> None:
    api.error(
        "GET",
        "experiments/get",
        params={"experiment_id": NO_SUCH_EXPERIMENT},
        status=404,
        code="RESOURCE_DOES_NOT_EXIST",
    )


def test_get_experiment_requires_experiment_id(api: Api) -> None:
    api.error("GET", "experiments/get", params={"bogus": "1"}, status=400, code="INVALID_PARAMETER_VALUE")


def test_get_experiment_by_name_finds_it(api: Api) -> None:
    name = unique()
    exp_id = api.create_experiment(name)
    exp = api.ok("GET", "experiments/get-by-name", params={"experiment_name": name})["experiment"]
    assert exp["experiment_id"] == exp_id


def test_get_experiment_by_unknown_name_is_404(api: Api) -> None:
    api.error(
        "GET",
        "experiments/get-by-name",
        params={"experiment_name": unique()},
        status=404,
        code="RESOURCE_DOES_NOT_EXIST",
    )


def test_update_experiment_renames_it(api: Api, experiment_id: str) -> None:
    new_name = unique("renamed")
    api.ok("POST", "experiments/update", {"experiment_id": experiment_id, "new_name": new_name})
    exp = api.ok("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]
    assert exp["name"] == new_name


def test_delete_experiment_marks_it_deleted(api: Api, experiment_id: str) -> None:
    api.ok("POST", "experiments/delete", {"experiment_id": experiment_id})
    exp = api.ok("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]
    assert exp["lifecycle_stage"] == "deleted"


def test_delete_unknown_experiment_is_404(api: Api) -> None:
    api.error(
        "POST", "experiments/delete", {"experiment_id": NO_SUCH_EXPERIMENT}, status=404, code="RESOURCE_DOES_NOT_EXIST"
    )


def test_restore_experiment_makes_it_active(api: Api, experiment_id: str) -> None:
    api.ok("POST", "experiments/delete", {"experiment_id": experiment_id})
    api.ok("POST", "experiments/restore", {"experiment_id": experiment_id})
    exp = api.ok("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]
    assert exp["lifecycle_stage"] == "active"


def test_delete_experiment_deletes_its_runs(api: Api, experiment_id: str, run_id: str) -> None:
    api.ok("POST", "experiments/delete", {"experiment_id": experiment_id})
    assert api.get_run(run_id)["info"]["lifecycle_stage"] == "deleted"


def test_restore_experiment_restores_its_runs(api: Api, experiment_id: str, run_id: str) -> None:
    api.ok("POST", "experiments/delete", {"experiment_id": experiment_id})
    api.ok("POST", "experiments/restore", {"experiment_id": experiment_id})
    assert api.get_run(run_id)["info"]["lifecycle_stage"] == "active"


def test_set_experiment_tag_is_returned_by_get(api: Api, experiment_id: str) -> None:
    api.ok("POST", "experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "team", "value": "a"})
    api.ok("POST", "experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "team", "value": "b"})
    exp = api.ok("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]
    assert {t["key"]: t["value"] for t in exp.get("tags", [])}.get("team") == "b"


def test_delete_experiment_tag_removes_it(api: Api, experiment_id: str) -> None:
    api.ok("POST", "experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "team", "value": "a"})
    api.ok("POST", "experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": "team"})
    exp = api.ok("GET", "experiments/get", params={"experiment_id": experiment_id})["experiment"]
    assert "team" not in {t["key"] for t in exp.get("tags", [])}
