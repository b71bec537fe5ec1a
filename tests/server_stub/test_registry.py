"""The stub's Model Registry over HTTP, on every backend: versions, aliases, stages, tags, search, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def error(r: httpx.Response, status: int, code: str) -> str:
    assert (r.status_code, r.json()["error_code"]) == (status, code), r.text
    message: str = r.json()["message"]
    return message


def new_model(c: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    model: dict[str, Any] = ok(c.post("/registered-models/create", json={"name": name, **fields}))["registered_model"]
    return model


def new_version(c: httpx.Client, name: str, source: str = "s3://bucket/model", **fields: Any) -> dict[str, Any]:
    body = {"name": name, "source": source, **fields}
    version: dict[str, Any] = ok(c.post("/model-versions/create", json=body))["model_version"]
    return version


def get_model(c: httpx.Client, name: str) -> dict[str, Any]:
    model: dict[str, Any] = ok(c.get("/registered-models/get", params={"name": name}))["registered_model"]
    return model


def test_create_get_and_duplicate(backend_client: httpx.Client) -> None:
    c = backend_client
    made = new_model(c, "m1", tags=[{"key": "team", "value": "core"}], description="first")
    assert (
        made["name"] == "m1" and made["description"] == "first" and made["tags"] == [{"key": "team", "value": "core"}]
    )
    assert made["creation_timestamp"] == made["last_updated_timestamp"] > 0
    assert get_model(c, "m1") == made
    msg = error(c.post("/registered-models/create", json={"name": "m1"}), 400, "RESOURCE_ALREADY_EXISTS")
    assert msg == "Registered Model (name=m1) already exists."
    assert error(c.get("/registered-models/get", params={"name": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST") == (
        "Registered Model with name=nope not found"
    )
    assert "Missing value for required parameter 'name'" in error(
        c.post("/registered-models/create", json={}), 400, "INVALID_PARAMETER_VALUE"
    )
    error(c.post("/registered-models/create", json={"name": "a/b"}), 400, "INVALID_PARAMETER_VALUE")


def test_versions_count_per_model_and_are_never_reused(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "a")
    new_model(c, "b")
    assert [new_version(c, "a")["version"] for _ in range(3)] == ["1", "2", "3"]
    assert new_version(c, "b")["version"] == "1"
    ok(c.request("DELETE", "/model-versions/delete", json={"name": "a", "version": "3"}))
    error(c.get("/model-versions/get", params={"name": "a", "version": "3"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert new_version(c, "a")["version"] == "4"
    got = ok(c.get("/model-versions/get", params={"name": "a", "version": "1"}))["model_version"]
    assert (got["current_stage"], got["status"], got["description"], got["run_id"]) == ("None", "READY", "", "")
    msg = error(c.get("/model-versions/get", params={"name": "a", "version": "x"}), 400, "INVALID_PARAMETER_VALUE")
    assert msg == "Parameter 'version' must be an integer, got 'x'."
    error(c.post("/model-versions/create", json={"name": "zz", "source": "s3://b/m"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_aliases_move_and_disappear_with_their_version(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "m")
    new_version(c, "m")
    new_version(c, "m")
    ok(c.post("/registered-models/alias", json={"name": "m", "alias": "champion", "version": "1"}))
    by_alias = ok(c.get("/registered-models/alias", params={"name": "m", "alias": "champion"}))["model_version"]
    assert (by_alias["version"], by_alias["aliases"]) == ("1", ["champion"])
    ok(c.post("/registered-models/alias", json={"name": "m", "alias": "champion", "version": "2"}))
    assert get_model(c, "m")["aliases"] == [{"alias": "champion", "version": "2"}]
    assert "aliases" not in ok(c.get("/model-versions/get", params={"name": "m", "version": "1"}))["model_version"]
    latest = ok(c.get("/registered-models/alias", params={"name": "m", "alias": "latest"}))["model_version"]
    assert latest["version"] == "2"
    ok(c.request("DELETE", "/model-versions/delete", json={"name": "m", "version": "2"}))
    assert "aliases" not in get_model(c, "m")
    msg = error(
        c.get("/registered-models/alias", params={"name": "m", "alias": "champion"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert msg == "Registered model alias champion not found."
    for alias in ("latest", "v3", "bad alias"):
        body = {"name": "m", "alias": alias, "version": "1"}
        error(c.post("/registered-models/alias", json=body), 400, "INVALID_PARAMETER_VALUE")
    error(
        c.post("/registered-models/alias", json={"name": "m", "alias": "x", "version": "9"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    ok(c.post("/registered-models/alias", json={"name": "m", "alias": "a1", "version": "1"}))
    ok(c.request("DELETE", "/registered-models/alias", json={"name": "m", "alias": "a1"}))
    ok(c.request("DELETE", "/registered-models/alias", json={"name": "m", "alias": "a1"}))  # absent: still 200
    assert "aliases" not in get_model(c, "m")


def test_stages_archive_existing_versions_and_latest_per_stage(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "s")
    for _ in range(3):
        new_version(c, "s")

    def move(version: str, stage: str, archive: bool | None = None) -> httpx.Response:
        body: dict[str, Any] = {"name": "s", "version": version, "stage": stage}
        if archive is not None:
            body["archive_existing_versions"] = archive
        return c.post("/model-versions/transition-stage", json=body)

    assert ok(move("1", "production", False))["model_version"]["current_stage"] == "Production"
    assert ok(move("2", "Production", True))["model_version"]["current_stage"] == "Production"
    assert ok(c.get("/model-versions/get", params={"name": "s", "version": "1"}))["model_version"]["current_stage"] == (
        "Archived"
    )
    ok(move("3", "Staging"))  # archive_existing_versions may be left out
    latest = ok(c.post("/registered-models/get-latest-versions", json={"name": "s"}))["model_versions"]
    assert [(v["version"], v["current_stage"]) for v in latest] == [
        ("1", "Archived"),
        ("2", "Production"),
        ("3", "Staging"),
    ]
    only = ok(c.post("/registered-models/get-latest-versions", json={"name": "s", "stages": ["production"]}))
    assert [v["version"] for v in only["model_versions"]] == ["2"]
    error(move("3", "bogus"), 400, "INVALID_PARAMETER_VALUE")
    error(move("3", "Archived", True), 500, "INTERNAL_ERROR")  # as MLflow answers it
    error(
        c.post("/registered-models/get-latest-versions", json={"name": "s", "stages": ["x"]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_rename_moves_versions_and_delete_removes_them(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "old", tags=[{"key": "k", "value": "v"}])
    new_version(c, "old", tags=[{"key": "vk", "value": "vv"}])
    ok(c.post("/registered-models/alias", json={"name": "old", "alias": "prod", "version": "1"}))
    new_model(c, "taken")
    error(
        c.post("/registered-models/rename", json={"name": "old", "new_name": "taken"}), 400, "RESOURCE_ALREADY_EXISTS"
    )
    renamed = ok(c.post("/registered-models/rename", json={"name": "old", "new_name": "new"}))["registered_model"]
    assert renamed["name"] == "new" and [v["name"] for v in renamed["latest_versions"]] == ["new"]
    assert renamed["aliases"] == [{"alias": "prod", "version": "1"}] and renamed["tags"] == [{"key": "k", "value": "v"}]
    version = ok(c.get("/model-versions/get", params={"name": "new", "version": "1"}))["model_version"]
    assert version["tags"] == [{"key": "vk", "value": "vv"}]
    error(c.get("/registered-models/get", params={"name": "old"}), 404, "RESOURCE_DOES_NOT_EXIST")
    ok(c.request("DELETE", "/registered-models/delete", json={"name": "new"}))
    error(c.request("DELETE", "/registered-models/delete", json={"name": "new"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert ok(c.get("/model-versions/search", params={"filter": "name = 'new'"})) == {}
    new_model(c, "new")
    assert new_version(c, "new")["version"] == "1"  # a model made again starts over


def test_tags_and_descriptions(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "t")
    new_version(c, "t")
    ok(c.post("/registered-models/set-tag", json={"name": "t", "key": "a", "value": "1"}))
    ok(c.post("/registered-models/set-tag", json={"name": "t", "key": "a", "value": "2"}))
    ok(c.post("/model-versions/set-tag", json={"name": "t", "version": "1", "key": "b", "value": "3"}))
    assert get_model(c, "t")["tags"] == [{"key": "a", "value": "2"}]
    ok(c.request("DELETE", "/registered-models/delete-tag", json={"name": "t", "key": "a"}))
    ok(c.request("DELETE", "/registered-models/delete-tag", json={"name": "t", "key": "a"}))  # absent: 200
    assert "tags" not in get_model(c, "t")
    ok(c.request("DELETE", "/model-versions/delete-tag", json={"name": "t", "version": "1", "key": "b"}))
    # MLflow reads a DELETE's fields from its JSON body only: query parameters are not enough.
    error(c.delete("/registered-models/delete", params={"name": "t"}), 400, "INVALID_PARAMETER_VALUE")
    assert get_model(c, "t")["name"] == "t"
    error(
        c.post("/model-versions/set-tag", json={"name": "t", "version": "7", "key": "b", "value": "3"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    updated = ok(c.patch("/registered-models/update", json={"name": "t", "description": "d"}))["registered_model"]
    assert updated["description"] == "d"
    version = ok(c.patch("/model-versions/update", json={"name": "t", "version": "1", "description": "vd"}))
    assert version["model_version"]["description"] == "vd"
    cleared = ok(c.patch("/model-versions/update", json={"name": "t", "version": "1"}))["model_version"]
    assert "description" not in cleared  # as MLflow: an update without one clears it


def test_search_filters_order_and_pages(backend_client: httpx.Client) -> None:
    c = backend_client
    for name in ("alpha", "Alpine", "beta", "gamma"):
        new_model(c, name, tags=[{"key": "group", "value": "g1" if name != "gamma" else "g2"}])
        new_version(c, name, source=f"s3://bucket/{name}")

    def names(params: dict[str, Any]) -> list[str]:
        return [m["name"] for m in ok(c.get("/registered-models/search", params=params)).get("registered_models", [])]

    assert names({}) == ["Alpine", "alpha", "beta", "gamma"]
    assert names({"filter": "name LIKE 'al%'"}) == ["alpha"]  # LIKE is case-sensitive, as on MLflow's SQLite
    assert names({"filter": "name ILIKE 'al%'"}) == ["Alpine", "alpha"]
    assert names({"filter": "tags.group = 'g2'"}) == ["gamma"]
    assert names({"filter": "name != 'beta' AND tags.`group` = 'g1'"}) == ["Alpine", "alpha"]
    assert names({"filter": "name IN ('beta', 'gamma')"}) == ["beta", "gamma"]
    assert names({"order_by": "name DESC"}) == ["gamma", "beta", "alpha", "Alpine"]
    error(c.get("/registered-models/search", params={"order_by": "creation_timestamp"}), 400, "INVALID_PARAMETER_VALUE")
    error(c.get("/registered-models/search", params={"filter": "foo = 'x'"}), 400, "INVALID_PARAMETER_VALUE")
    error(c.get("/registered-models/search", params={"max_results": 1001}), 400, "INVALID_PARAMETER_VALUE")
    error(c.get("/registered-models/search", params={"page_token": "garbage"}), 400, "INVALID_PARAMETER_VALUE")
    seen, token = [], None
    while True:
        page = ok(
            c.get("/registered-models/search", params={"max_results": 3, **({"page_token": token} if token else {})})
        )
        seen += [m["name"] for m in page.get("registered_models", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ["Alpine", "alpha", "beta", "gamma"]
    exactly_full = ok(c.get("/registered-models/search", params={"max_results": 4}))
    assert "next_page_token" not in exactly_full

    def versions(params: dict[str, Any]) -> list[tuple[str, str]]:
        found = ok(c.get("/model-versions/search", params=params)).get("model_versions", [])
        return [(v["name"], v["version"]) for v in found]

    new_version(c, "beta", source="s3://bucket/beta2")
    assert versions({"filter": "name = 'beta'"}) == [("beta", "2"), ("beta", "1")]
    assert versions({"filter": "name = 'beta' AND version_number > 1"}) == [("beta", "2")]
    assert versions({"filter": "source_path = 's3://bucket/gamma'"}) == [("gamma", "1")]
    assert versions({"filter": "name LIKE 'a%'", "order_by": ["version_number ASC"]}) == [("alpha", "1")]
    assert len(versions({"max_results": 2})) == 2
    error(c.get("/model-versions/search", params={"max_results": 0}), 400, "INVALID_PARAMETER_VALUE")
    error(c.get("/model-versions/search", params={"filter": "bogus = 'x'"}), 400, "INVALID_PARAMETER_VALUE")


def test_sources_are_checked_and_download_uri(backend_client: httpx.Client) -> None:
    c = backend_client
    exp = ok(c.post("/experiments/create", json={"name": "e"}))["experiment_id"]
    run = ok(c.post("/runs/create", json={"experiment_id": exp}))["run"]["info"]
    new_model(c, "src")
    made = new_version(c, "src", source=f"runs:/{run['run_id']}/model", run_id=run["run_id"])
    assert made["run_id"] == run["run_id"]
    uri = ok(c.get("/model-versions/get-download-uri", params={"name": "src", "version": "1"}))["artifact_uri"]
    assert uri == f"runs:/{run['run_id']}/model"
    for source in (
        "/tmp/local/path",
        "s3://bucket/../escape",
        "s3://bucket",
        f"runs:/{run['run_id']}/model",  # no run_id to vouch for it
        "models:/m-0123",  # a logged model without model_id
    ):
        r = c.post("/model-versions/create", json={"name": "src", "source": source})
        assert error(r, 400, "INVALID_PARAMETER_VALUE").startswith(f"Invalid model version source: '{source}'")
    copy = new_version(c, "src", source="models:/src/1")
    assert copy["source"] == "models:/src/1" and copy["run_id"] == run["run_id"]
    uri = ok(c.get("/model-versions/get-download-uri", params={"name": "src", "version": "2"}))["artifact_uri"]
    assert uri == f"runs:/{run['run_id']}/model"


def test_prompts_are_left_out_of_model_searches(backend_client: httpx.Client) -> None:
    c = backend_client
    new_model(c, "model")
    new_model(c, "prompt", tags=[{"key": "mlflow.prompt.is_prompt", "value": "true"}])
    listed = ok(c.get("/registered-models/search"))["registered_models"]
    assert [m["name"] for m in listed] == ["model"]
    prompts = ok(c.get("/registered-models/search", params={"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}))
    assert [m["name"] for m in prompts["registered_models"]] == ["prompt"]


@pytest.mark.parametrize("rpc", ["registered-models/get", "model-versions/get", "registered-models/alias"])
def test_required_fields_are_refused_with_mlflow_text(backend_client: httpx.Client, rpc: str) -> None:
    msg = error(backend_client.get(f"/{rpc}"), 400, "INVALID_PARAMETER_VALUE")
    assert msg.startswith("Missing value for required parameter 'name'.")
