"""MLflow 3 logged models: create, get, finalize, delete, tags, params, search, their own artifacts,
and runs/outputs. Bodies carry ``model_id`` as well as the path, as MLflow's own client sends them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance_tests._api import ARTIFACTS, Api, JsonObj
from conformance_tests._report import NOT_SUPPORTED

pytestmark = pytest.mark.capability("logged-models")
IPV = "INVALID_PARAMETER_VALUE"
RDNE = "RESOURCE_DOES_NOT_EXIST"
NO_SUCH_MODEL = "m-" + "0" * 32
ONE = "/api/2.0/mlflow/logged-models/{model_id}"


def create(api: Api, experiment_id: str, **fields: Any) -> JsonObj:
    data = api.ok("POST", "logged-models", {"experiment_id": experiment_id, **fields})
    model: JsonObj = data["model"]
    model_id = model.get("info", {}).get("model_id")
    assert isinstance(model_id, str) and model_id, f"model.info.model_id must be a non-empty string: {data}"
    return model


def get(api: Api, model_id: str) -> JsonObj:
    model: JsonObj = api.ok("GET", f"logged-models/{model_id}", schema_path=ONE)["model"]
    return model


def tags_of(model: JsonObj) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in model["info"].get("tags", [])}


def params_of(model: JsonObj) -> dict[str, str]:
    return {p["key"]: p.get("value", "") for p in model.get("data", {}).get("params", [])}


def search(api: Api, **body: Any) -> list[str]:
    data = api.ok("POST", "logged-models/search", body)
    return [m["info"]["model_id"] for m in data.get("models", [])]


def finalize(api: Api, model_id: str, status: str) -> JsonObj:
    body = {"model_id": model_id, "status": status}
    model: JsonObj = api.ok("PATCH", f"logged-models/{model_id}", body, schema_path=ONE)["model"]
    return model


def test_create_logged_model_returns_pending_model_with_its_own_artifact_location(
    api: Api, experiment_id: str, run_id: str
) -> None:
    body = {
        "name": "classifier",
        "model_type": "agent",
        "source_run_id": run_id,
        "params": [{"key": "alpha", "value": "0.5"}],
        "tags": [{"key": "team", "value": "a"}],
    }
    model = create(api, experiment_id, **body)
    info = model["info"]
    assert (info["experiment_id"], info["name"], info.get("model_type")) == (experiment_id, "classifier", "agent")
    assert info.get("source_run_id") == run_id
    assert info.get("status") == "LOGGED_MODEL_PENDING", info
    assert isinstance(info.get("creation_timestamp_ms"), int) and info["creation_timestamp_ms"] > 0, info
    assert info.get("artifact_uri"), info
    run_uri = api.get_run(run_id)["info"]["artifact_uri"]
    assert not info["artifact_uri"].startswith(run_uri), f"a logged model's files are its own, not the run's: {info}"
    assert (tags_of(model), params_of(model)) == ({"team": "a"}, {"alpha": "0.5"})


def test_create_logged_model_without_name_gets_one(api: Api, experiment_id: str) -> None:
    assert create(api, experiment_id)["info"].get("name"), "the server names a model created without a name"


def test_create_logged_model_requires_experiment_id(api: Api) -> None:
    api.error("POST", "logged-models", {"name": "x"}, status=400, code=IPV)


def test_create_logged_model_in_unknown_experiment_is_404(api: Api) -> None:
    api.error("POST", "logged-models", {"experiment_id": "987654321"}, status=404, code=RDNE)


def test_get_logged_model_returns_it(api: Api, experiment_id: str) -> None:
    created = create(api, experiment_id, name="m1", tags=[{"key": "k", "value": "v"}])
    got = get(api, created["info"]["model_id"])
    assert got["info"]["model_id"] == created["info"]["model_id"]
    assert (got["info"]["name"], got["info"]["artifact_uri"]) == ("m1", created["info"]["artifact_uri"])
    assert tags_of(got) == {"k": "v"}


def test_get_unknown_logged_model_is_404(api: Api) -> None:
    api.error("GET", f"logged-models/{NO_SUCH_MODEL}", status=404, code=RDNE)


@pytest.mark.parametrize("status", ["LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"])
def test_finalize_logged_model_sets_its_status(api: Api, experiment_id: str, status: str) -> None:
    model_id = create(api, experiment_id)["info"]["model_id"]
    assert finalize(api, model_id, status)["info"]["status"] == status
    assert get(api, model_id)["info"]["status"] == status


def test_finalize_unknown_logged_model_is_404(api: Api) -> None:
    body = {"model_id": NO_SUCH_MODEL, "status": "LOGGED_MODEL_READY"}
    api.error("PATCH", f"logged-models/{NO_SUCH_MODEL}", body, status=404, code=RDNE)


def test_delete_logged_model_hides_it(api: Api, experiment_id: str) -> None:
    keep, gone = (create(api, experiment_id)["info"]["model_id"] for _ in range(2))
    api.ok("DELETE", f"logged-models/{gone}", {"model_id": gone}, schema_path=ONE)
    api.error("GET", f"logged-models/{gone}", status=404, code=RDNE)
    assert search(api, experiment_ids=[experiment_id]) == [keep]


def test_set_logged_model_tags_adds_and_replaces(api: Api, experiment_id: str) -> None:
    model_id = create(api, experiment_id, tags=[{"key": "a", "value": "1"}])["info"]["model_id"]
    tags = [{"key": "a", "value": "2"}, {"key": "b", "value": "3"}]
    api.ok(
        "PATCH",
        f"logged-models/{model_id}/tags",
        {"model_id": model_id, "tags": tags},
        schema_path=f"{ONE}/tags",
    )
    assert tags_of(get(api, model_id)) == {"a": "2", "b": "3"}


def test_delete_logged_model_tag_removes_it(api: Api, experiment_id: str) -> None:
    tags = [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    model_id = create(api, experiment_id, tags=tags)["info"]["model_id"]
    api.ok(
        "DELETE",
        f"logged-models/{model_id}/tags/a",
        {"model_id": model_id, "tag_key": "a"},
        schema_path=f"{ONE}/tags/{{tag_key}}",
    )
    assert tags_of(get(api, model_id)) == {"b": "2"}


def test_delete_unknown_logged_model_tag_is_404(api: Api, experiment_id: str) -> None:
    model_id = create(api, experiment_id)["info"]["model_id"]
    body = {"model_id": model_id, "tag_key": "missing"}
    api.error("DELETE", f"logged-models/{model_id}/tags/missing", body, status=404, code=RDNE)


def test_log_logged_model_params_appear_in_its_data(api: Api, experiment_id: str) -> None:
    model_id = create(api, experiment_id, params=[{"key": "a", "value": "1"}])["info"]["model_id"]
    params = [{"key": "b", "value": "2"}, {"key": "c", "value": "x y"}]
    body = {"model_id": model_id, "params": params}
    api.ok("POST", f"logged-models/{model_id}/params", body, schema_path=f"{ONE}/params")
    assert params_of(get(api, model_id)) == {"a": "1", "b": "2", "c": "x y"}


# -- search ---------------------------------------------------------------------------------------------


def test_search_logged_models_finds_only_the_experiments_models(api: Api, experiment_id: str) -> None:
    mine = {create(api, experiment_id)["info"]["model_id"] for _ in range(2)}
    create(api, api.create_experiment())
    assert sorted(search(api, experiment_ids=[experiment_id])) == sorted(mine)


def test_search_logged_models_filters_by_name_tag_and_param(api: Api, experiment_id: str) -> None:
    a = create(api, experiment_id, name="alpha", tags=[{"key": "t", "value": "1"}], params=[{"key": "p", "value": "x"}])
    b = create(api, experiment_id, name="beta", tags=[{"key": "t", "value": "2"}], params=[{"key": "p", "value": "y"}])
    ids = {"a": a["info"]["model_id"], "b": b["info"]["model_id"]}
    assert search(api, experiment_ids=[experiment_id], filter="name = 'beta'") == [ids["b"]]
    assert search(api, experiment_ids=[experiment_id], filter="tags.t = '1'") == [ids["a"]]
    assert search(api, experiment_ids=[experiment_id], filter="params.p = 'y'") == [ids["b"]]


def test_search_logged_models_order_by_name(api: Api, experiment_id: str) -> None:
    by_name = {n: create(api, experiment_id, name=n)["info"]["model_id"] for n in ("b", "c", "a")}
    up = search(api, experiment_ids=[experiment_id], order_by=[{"field_name": "name", "ascending": True}])
    down = search(api, experiment_ids=[experiment_id], order_by=[{"field_name": "name", "ascending": False}])
    assert up == [by_name[n] for n in "abc"], up
    assert down == [by_name[n] for n in "cba"], down


def test_search_logged_models_respects_max_results(api: Api, experiment_id: str) -> None:
    for _ in range(3):
        create(api, experiment_id)
    data = api.ok("POST", "logged-models/search", {"experiment_ids": [experiment_id], "max_results": 2})
    assert len(data.get("models", [])) == 2, data
    assert data.get("next_page_token"), "a next_page_token is required when more models match"


def test_search_logged_models_pages_have_no_duplicates_or_gaps(api: Api, experiment_id: str) -> None:
    ids = {create(api, experiment_id)["info"]["model_id"] for _ in range(5)}
    seen: list[str] = []
    token: str | None = None
    for _ in range(20):
        body = {"experiment_ids": [experiment_id], "max_results": 2, **({"page_token": token} if token else {})}
        page = api.ok("POST", "logged-models/search", body)
        assert len(page.get("models", [])) <= 2, page
        seen += [m["info"]["model_id"] for m in page.get("models", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert sorted(seen) == sorted(ids), seen


def test_search_logged_models_rejects_malformed_filter(api: Api, experiment_id: str) -> None:
    body = {"experiment_ids": [experiment_id], "filter": "name ="}
    api.error("POST", "logged-models/search", body, status=400, code=IPV)


# -- artifacts and run outputs --------------------------------------------------------------------------


@pytest.mark.capability("artifact-proxy")
def test_list_logged_model_artifacts_shows_files_under_its_location(api: Api, experiment_id: str) -> None:
    model = create(api, experiment_id)
    model_id, uri = model["info"]["model_id"], model["info"]["artifact_uri"]
    if not uri.startswith("mlflow-artifacts:"):
        pytest.skip(f"{NOT_SUPPORTED} logged-model artifacts through the proxy (artifact_uri {uri!r})")
    root = urlsplit(uri).path.strip("/")
    for path, content in (("MLmodel", b"flavors: {}\n"), ("data/model.bin", b"\x00\x01\x02\x03")):
        r = api.http.put(f"{ARTIFACTS}/{root}/{path}", content=content)
        assert r.status_code == 200, f"PUT {path} -> {r.status_code} {r.text[:200]}"
    listing = f"{ONE}/artifacts/directories"
    top = api.ok("GET", f"logged-models/{model_id}/artifacts/directories", schema_path=listing)
    files = sorted((f["path"], bool(f.get("is_dir")), f.get("file_size")) for f in top.get("files", []))
    assert files == [("MLmodel", False, 12), ("data", True, None)], top
    sub = api.ok(
        "GET",
        f"logged-models/{model_id}/artifacts/directories",
        params={"artifact_directory_path": "data"},
        schema_path=listing,
    )
    assert [(f["path"], int(f.get("file_size", -1))) for f in sub.get("files", [])] == [("data/model.bin", 4)], sub
    # The file route MLflow's client downloads a logged model's files from (served under /ajax-api/ only).
    files_route = f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files"
    for path, content in (("MLmodel", b"flavors: {}\n"), ("data/model.bin", b"\x00\x01\x02\x03")):
        reply = api.call("GET", files_route, params={"artifact_file_path": path})
        assert reply.status == 200, f"expected 200: {reply.describe()}"
        assert reply.content == content, f"{path}: {reply.content[:100]!r}"


def test_list_artifacts_of_new_logged_model_is_empty(api: Api, experiment_id: str) -> None:
    model_id = create(api, experiment_id)["info"]["model_id"]
    data = api.ok("GET", f"logged-models/{model_id}/artifacts/directories", schema_path=f"{ONE}/artifacts/directories")
    assert not data.get("files"), data


def test_log_outputs_shows_models_in_the_run(api: Api, experiment_id: str, run_id: str) -> None:
    first, second = (create(api, experiment_id, source_run_id=run_id)["info"]["model_id"] for _ in range(2))
    models = [{"model_id": first, "step": 0}, {"model_id": second, "step": 7}]
    api.ok("POST", "runs/outputs", {"run_id": run_id, "models": models})
    outputs = api.get_run(run_id).get("outputs", {}).get("model_outputs", [])
    assert sorted((o["model_id"], int(o.get("step", 0))) for o in outputs) == sorted([(first, 0), (second, 7)])


def test_log_outputs_to_unknown_run_is_404(api: Api, experiment_id: str) -> None:
    model_id = create(api, experiment_id)["info"]["model_id"]
    body = {"run_id": "f" * 32, "models": [{"model_id": model_id, "step": 0}]}
    api.error("POST", "runs/outputs", body, status=404, code=RDNE)
