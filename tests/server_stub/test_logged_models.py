"""MLflow 3's logged models and runs/outputs in the stub, over HTTP, on every backend."""

from __future__ import annotations

from typing import Any

import httpx

from server_stub import StubServer

READY, PENDING, FAILED = "LOGGED_MODEL_READY", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_UPLOAD_FAILED"


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def error(r: httpx.Response, status: int, code: str) -> str:
    assert (r.status_code, r.json()["error_code"]) == (status, code), r.text
    message: str = r.json()["message"]
    return message


def setup(c: httpx.Client) -> tuple[str, str]:
    exp = ok(c.post("/experiments/create", json={"name": "e"}))["experiment_id"]
    run = ok(c.post("/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
    return exp, run


def create(c: httpx.Client, exp: str, **fields: Any) -> dict[str, Any]:
    model: dict[str, Any] = ok(c.post("/logged-models", json={"experiment_id": exp, **fields}))["model"]
    return model


def test_create_get_finalize_delete(backend_client: httpx.Client) -> None:
    c = backend_client
    exp, run = setup(c)
    made = create(
        c,
        exp,
        name="clf",
        model_type="sk",
        source_run_id=run,
        params=[{"key": "p", "value": "1"}],
        tags=[{"key": "t", "value": "v"}],
    )
    info = made["info"]
    model_id = info["model_id"]
    assert model_id.startswith("m-") and len(model_id) == 34
    location = ok(c.get("/experiments/get", params={"experiment_id": exp}))["experiment"]["artifact_location"]
    assert info["artifact_uri"] == f"{location}/models/{model_id}/artifacts"
    assert (info["name"], info["status"], info["model_type"], info["source_run_id"]) == ("clf", PENDING, "sk", run)
    assert info["tags"] == [{"key": "t", "value": "v"}] and made["data"] == {"params": [{"key": "p", "value": "1"}]}
    assert ok(c.get(f"/logged-models/{model_id}"))["model"] == made
    unnamed = create(c, exp)["info"]
    assert unnamed["name"] and (unnamed["model_type"], unnamed["source_run_id"]) == ("", "")

    done = ok(c.patch(f"/logged-models/{model_id}", json={"model_id": model_id, "status": READY}))["model"]
    assert (
        done["info"]["status"] == READY and done["info"]["last_updated_timestamp_ms"] >= info["creation_timestamp_ms"]
    )
    # MLflow reads the model id of finalize from the body: without it the request is refused.
    error(c.patch(f"/logged-models/{model_id}", json={"status": FAILED}), 400, "INVALID_PARAMETER_VALUE")

    ok(c.delete(f"/logged-models/{model_id}"))
    assert error(c.get(f"/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST") == (
        f"Logged model with ID '{model_id}' not found."
    )
    ok(c.delete(f"/logged-models/{model_id}"))  # deleting again succeeds, as in MLflow
    found = ok(c.post("/logged-models/search", json={"experiment_ids": [exp]}))["models"]
    assert [m["info"]["model_id"] for m in found] == [unnamed["model_id"]]


def test_create_checks(backend_client: httpx.Client) -> None:
    c = backend_client
    exp, _ = setup(c)
    error(c.post("/logged-models", json={"experiment_id": exp, "name": "a.b"}), 400, "INVALID_PARAMETER_VALUE")
    error(c.post("/logged-models", json={"experiment_id": "999"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert "experiment_id" in error(c.post("/logged-models", json={}), 400, "INVALID_PARAMETER_VALUE")
    ok(c.post("/experiments/delete", json={"experiment_id": exp}))
    error(c.post("/logged-models", json={"experiment_id": exp}), 400, "INVALID_PARAMETER_VALUE")


def test_params_tags_and_metrics(backend_client: httpx.Client) -> None:
    c = backend_client
    exp, run = setup(c)
    model_id = create(c, exp, name="m")["info"]["model_id"]
    ok(c.post(f"/logged-models/{model_id}/params", json={"model_id": model_id, "params": [{"key": "q", "value": "2"}]}))
    again = c.post(
        f"/logged-models/{model_id}/params", json={"model_id": model_id, "params": [{"key": "q", "value": "3"}]}
    )
    error(again, 400, "BAD_REQUEST")
    ok(
        c.patch(
            f"/logged-models/{model_id}/tags", json={"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}
        )
    )
    ok(c.patch(f"/logged-models/{model_id}/tags", json={"tags": [{"key": "a", "value": "3"}]}))
    ok(c.delete(f"/logged-models/{model_id}/tags/b"))
    error(c.delete(f"/logged-models/{model_id}/tags/b"), 404, "RESOURCE_DOES_NOT_EXIST")
    ok(
        c.post(
            "/runs/log-metric",
            json={"run_id": run, "key": "acc", "value": 0.5, "timestamp": 5, "step": 1, "model_id": model_id},
        )
    )
    batch = [
        {
            "key": "acc",
            "value": 0.75,
            "timestamp": 6,
            "step": 2,
            "model_id": model_id,
            "dataset_name": "ds",
            "dataset_digest": "d1",
        }
    ]
    ok(c.post("/runs/log-batch", json={"run_id": run, "metrics": batch}))
    ok(c.post("/runs/log-metric", json={"run_id": run, "key": "other", "value": 1, "timestamp": 7}))  # the run's only
    got = ok(c.get(f"/logged-models/{model_id}"))["model"]
    assert got["info"]["tags"] == [{"key": "a", "value": "3"}]
    assert got["data"]["params"] == [{"key": "q", "value": "2"}]
    assert got["data"]["metrics"] == [
        {"key": "acc", "value": 0.5, "timestamp": 5, "step": 1, "model_id": model_id, "run_id": run},
        {
            "key": "acc",
            "value": 0.75,
            "timestamp": 6,
            "step": 2,
            "dataset_name": "ds",
            "dataset_digest": "d1",
            "model_id": model_id,
            "run_id": run,
        },
    ]
    error(c.get("/logged-models/m-nope"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(
        c.patch("/logged-models/m-nope/tags", json={"tags": [{"key": "a", "value": "1"}]}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_search_filters_orders_and_pages(backend_client: httpx.Client) -> None:
    c = backend_client
    exp, run = setup(c)
    ids = {}
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        model = create(
            c,
            exp,
            name=name,
            params=[{"key": "lr", "value": str(i)}],
            tags=[{"key": "kind", "value": "odd" if i % 2 else "even"}],
        )
        ids[name] = model["info"]["model_id"]
        metric = {"run_id": run, "key": "acc", "value": 0.1 * (i + 1), "timestamp": 10 + i, "model_id": ids[name]}
        ok(
            c.post(
                "/runs/log-metric", json={**metric, "dataset_name": "ds", "dataset_digest": "d"} if i == 2 else metric
            )
        )

    def search(**body: Any) -> list[str]:
        found = ok(c.post("/logged-models/search", json={"experiment_ids": [exp], **body})).get("models", [])
        return [m["info"]["name"] for m in found]

    assert search() == ["gamma", "beta", "alpha"]  # newest first
    assert search(filter="name = 'beta'") == ["beta"]
    assert search(filter="name LIKE '%a'") == ["gamma", "beta", "alpha"]
    assert search(filter="metrics.acc > 0.15") == ["gamma", "beta"]
    assert search(filter="params.lr = '0'") == ["alpha"]
    assert search(filter="tags.kind = 'even' AND metrics.acc < 0.2") == ["alpha"]
    assert search(filter=f"source_run_id = '{run}'") == []
    assert search(datasets=[{"dataset_name": "ds", "dataset_digest": "d"}]) == ["gamma"]
    assert search(datasets=[{"dataset_name": "ds"}], filter="metrics.acc > 0") == []  # a missing digest matches none
    assert search(order_by=[{"field_name": "name"}]) == ["alpha", "beta", "gamma"]
    assert search(order_by=[{"field_name": "metrics.acc", "ascending": False}]) == ["gamma", "beta", "alpha"]
    error(c.post("/logged-models/search", json={"experiment_ids": [exp], "filter": "bogus = 1"}), 500, "INTERNAL_ERROR")
    error(
        c.post("/logged-models/search", json={"experiment_ids": [exp], "order_by": [{"field_name": "bogus"}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(c.post("/logged-models/search", json={}), 400, "INVALID_PARAMETER_VALUE")
    seen, token = [], None
    while True:
        page = ok(
            c.post(
                "/logged-models/search",
                json={"experiment_ids": [exp], "max_results": 2, **({"page_token": token} if token else {})},
            )
        )
        seen += [m["info"]["name"] for m in page["models"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ["gamma", "beta", "alpha"]
    first = ok(c.post("/logged-models/search", json={"experiment_ids": [exp], "max_results": 1}))
    other = {"experiment_ids": [exp], "filter": "name = 'alpha'", "page_token": first["next_page_token"]}
    error(c.post("/logged-models/search", json=other), 400, "INVALID_PARAMETER_VALUE")  # a token of another query


def test_run_outputs_show_in_get_and_search(backend_client: httpx.Client) -> None:
    c = backend_client
    exp, run = setup(c)
    model_id = create(c, exp, name="m", source_run_id=run)["info"]["model_id"]
    assert ok(c.get("/runs/get", params={"run_id": run}))["run"]["outputs"] == {}  # as MLflow answers
    ok(c.post("/runs/outputs", json={"run_id": run, "models": [{"model_id": model_id, "step": 3}]}))
    outputs = {"model_outputs": [{"model_id": model_id, "step": 3}]}
    assert ok(c.get("/runs/get", params={"run_id": run}))["run"]["outputs"] == outputs
    assert ok(c.post("/runs/search", json={"experiment_ids": [exp]}))["runs"][0]["outputs"] == outputs
    error(c.post("/runs/outputs", json={"run_id": run}), 400, "INVALID_PARAMETER_VALUE")
    no_run = {"run_id": "0123456789abcdef0123456789abcdef", "models": [{"model_id": model_id}]}
    error(c.post("/runs/outputs", json=no_run), 404, "RESOURCE_DOES_NOT_EXIST")
    ok(c.post("/runs/delete", json={"run_id": run}))
    error(
        c.post("/runs/outputs", json={"run_id": run, "models": [{"model_id": model_id}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_artifacts_live_under_the_model_and_go_through_the_proxy(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url, timeout=30) as c:
        exp = ok(c.post("/api/2.0/mlflow/experiments/create", json={"name": "arts"}))["experiment_id"]
        info = ok(c.post("/api/2.0/mlflow/logged-models", json={"experiment_id": exp}))["model"]["info"]
        model_id, root = info["model_id"], info["artifact_uri"]
        assert root == f"mlflow-artifacts:/{exp}/models/{model_id}/artifacts"
        listing = f"/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories"
        assert ok(c.get(listing)) == {"root_uri": root}
        proxy = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/models/{model_id}/artifacts"
        assert c.put(f"{proxy}/MLmodel", content=b"flavors: {}").status_code == 200
        assert c.put(f"{proxy}/sub/weights.bin", content=b"\x00" * 1000).status_code == 200
        assert ok(c.get(listing))["files"] == [
            {"path": "MLmodel", "is_dir": False, "file_size": 11},
            {"path": "sub", "is_dir": True},
        ]
        sub = ok(c.get(listing, params={"artifact_directory_path": "sub"}))["files"]
        assert sub == [{"path": "sub/weights.bin", "is_dir": False, "file_size": 1000}]
        files = f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files"
        got = c.get(files, params={"artifact_file_path": "sub/weights.bin"})
        assert got.status_code == 200 and got.content == b"\x00" * 1000
        error(c.get(files, params={"artifact_file_path": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
        assert '"artifact_file_path"' in error(c.get(files), 400, "BAD_REQUEST")
        error(c.get(files, params={"artifact_file_path": "../../escape"}), 400, "INVALID_PARAMETER_VALUE")
        missing = "/ajax-api/2.0/mlflow/logged-models/m-nope/artifacts/files"
        error(c.get(missing, params={"artifact_file_path": "MLmodel"}), 404, "RESOURCE_DOES_NOT_EXIST")
        error(c.get(listing, params={"artifact_directory_path": "../.."}), 400, "INVALID_PARAMETER_VALUE")


def test_reset_forgets_models_and_registry(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url, timeout=30) as c:
        exp = ok(c.post("/api/2.0/mlflow/experiments/create", json={"name": "r"}))["experiment_id"]
        model_id = ok(c.post("/api/2.0/mlflow/logged-models", json={"experiment_id": exp}))["model"]["info"]["model_id"]
        ok(c.post("/api/2.0/mlflow/registered-models/create", json={"name": "rm"}))
        ok(c.post("/_stub/reset"))
        error(c.get(f"/api/2.0/mlflow/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
        error(c.get("/api/2.0/mlflow/registered-models/get", params={"name": "rm"}), 404, "RESOURCE_DOES_NOT_EXIST")
