"""Parity scenarios for the Model Registry, MLflow 3's logged models and runs/outputs.

Replayed against a real ``mlflow server`` and the stub by ``test_parity_with_mlflow.py``, with the helpers
of ``parity_scenarios``. Registered model names start with ``{uniq}`` so that scenarios sharing a server
never meet; searches filter on that prefix. DELETE requests carry their fields as a JSON body, as MLflow's
client sends them (MLflow ignores a DELETE's query string).
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.server_stub.parity_scenarios import (
    API,
    ART,
    NO_RUN,
    JsonValue,
    Scenario,
    Step,
    get,
    new_run,
    post,
    scenario,
)

AJAX = "/ajax-api/2.0/mlflow"


def call(name: str, method: str, rpc: str, body: JsonValue = None, *, save: Mapping[str, str] | None = None) -> Step:
    return Step(name, method, f"{API}/{rpc}", json=body if body is not None else {}, save=save or {})


def new_model(name: str = "create model", model: str = "{uniq}", **fields: JsonValue) -> Step:
    return post(name, "registered-models/create", {"name": model, **fields})


def new_version(name: str, model: str = "{uniq}", source: str = "s3://bucket/path", **fields: JsonValue) -> Step:
    return post(name, "model-versions/create", {"name": model, "source": source, **fields})


def get_model(name: str = "get model", model: str = "{uniq}") -> Step:
    return get(name, "registered-models/get", ("name", model))


def get_version(name: str, version: str, model: str = "{uniq}") -> Step:
    return get(name, "model-versions/get", ("name", model), ("version", version))


def alias(name: str, alias_name: str, version: str, model: str = "{uniq}") -> Step:
    return post(name, "registered-models/alias", {"name": model, "alias": alias_name, "version": version})


def by_alias(name: str, alias_name: str, model: str = "{uniq}") -> Step:
    return get(name, "registered-models/alias", ("name", model), ("alias", alias_name))


def stage(name: str, version: str, to: str, archive: bool | None = None) -> Step:
    body: dict[str, JsonValue] = {"name": "{uniq}", "version": version, "stage": to}
    if archive is not None:
        body["archive_existing_versions"] = archive
    return post(name, "model-versions/transition-stage", body)


def new_logged(step: str = "create logged model", save_as: str = "model_id", **fields: JsonValue) -> Step:
    return post(step, "logged-models", {"experiment_id": "{exp_id}", **fields}, save={save_as: "model.info.model_id"})


def logged(name: str, model: str = "{model_id}") -> Step:
    return Step(name, "GET", f"{API}/logged-models/{model}")


def search_logged(name: str, **body: JsonValue) -> Step:
    return post(name, "logged-models/search", {"experiment_ids": ["{exp_id}"], **body})


REGISTRY: list[Scenario] = [
    scenario(
        "registry_create_get_and_errors",
        new_model(tags=[{"key": "team", "value": "core"}], description="first"),
        new_model("duplicate name"),
        post("missing name", "registered-models/create", {}),
        post("name with a slash", "registered-models/create", {"name": "{uniq}/x"}),
        get_model(),
        get_model("unknown model", "{uniq}-nope"),
        get("get without a name", "registered-models/get"),
        call("delete it", "DELETE", "registered-models/delete", {"name": "{uniq}"}),
        call("delete it again", "DELETE", "registered-models/delete", {"name": "{uniq}"}),
    ),
    scenario(
        "registry_versions_and_aliases",
        new_model(),
        new_run(),
        new_version("version from a run", source="runs:/{run_id}/model", run_id="{run_id}", description="d"),
        new_version("second version"),
        new_version("unknown model", model="{uniq}-nope"),
        new_version("runs source without run_id", source="runs:/{run_id}/model"),
        new_version("relative source", source="s3://bucket/../escape"),
        new_version("local source", source="/tmp/somewhere"),
        post("missing source", "model-versions/create", {"name": "{uniq}"}),
        get_version("get version 1", "1"),
        get_version("unknown version", "9"),
        get_version("version not a number", "x"),
        alias("set champion", "champion", "1"),
        by_alias("get by alias", "champion"),
        alias("move champion", "champion", "2"),
        get_version("version 1 lost the alias", "1"),
        get_model("model lists the alias"),
        by_alias("latest", "latest"),
        alias("reserved latest", "latest", "1"),
        alias("reserved version alias", "v2", "1"),
        alias("bad characters", "no spaces", "1"),
        alias("alias on a missing version", "x", "9"),
        call("delete version 2", "DELETE", "model-versions/delete", {"name": "{uniq}", "version": "2"}),
        call("delete version 2 again", "DELETE", "model-versions/delete", {"name": "{uniq}", "version": "2"}),
        get_model("alias went with its version"),
        by_alias("unknown alias", "champion"),
        new_version("numbers are not reused"),
        alias("alias to delete", "old", "1"),
        call("delete alias", "DELETE", "registered-models/alias", {"name": "{uniq}", "alias": "old"}),
        call("delete missing alias", "DELETE", "registered-models/alias", {"name": "{uniq}", "alias": "old"}),
        get("download uri", "model-versions/get-download-uri", ("name", "{uniq}"), ("version", "1")),
        new_version("from another version", source="models:/{uniq}/1"),
        get("download uri of the copy", "model-versions/get-download-uri", ("name", "{uniq}"), ("version", "4")),
    ),
    scenario(
        "registry_stages",
        new_model(),
        new_version("v1"),
        new_version("v2"),
        new_version("v3"),
        stage("1 to production", "1", "production", False),
        stage("2 to production, archiving 1", "2", "Production", True),
        get_version("1 is archived", "1"),
        stage("3 to staging without the flag", "3", "Staging"),
        post("latest of every stage", "registered-models/get-latest-versions", {"name": "{uniq}"}),
        post(
            "latest in production",
            "registered-models/get-latest-versions",
            {"name": "{uniq}", "stages": ["Production"]},
        ),
        get("latest by GET", "registered-models/get-latest-versions", ("name", "{uniq}"), ("stages", "staging")),
        post("unknown stage in latest", "registered-models/get-latest-versions", {"name": "{uniq}", "stages": ["x"]}),
        stage("unknown stage", "3", "bogus"),
        stage("archiving into Archived", "3", "Archived", True),
        get_model("model after the moves"),
    ),
    scenario(
        "registry_rename_and_delete",
        new_model(tags=[{"key": "k", "value": "v"}]),
        new_version("version", tags=[{"key": "vk", "value": "vv"}]),
        alias("alias", "prod", "1"),
        new_model("another model", "{uniq}-taken"),
        post("rename onto a taken name", "registered-models/rename", {"name": "{uniq}", "new_name": "{uniq}-taken"}),
        post("rename without new_name", "registered-models/rename", {"name": "{uniq}"}),
        post("rename", "registered-models/rename", {"name": "{uniq}", "new_name": "{uniq}-new"}),
        get_model("old name is gone"),
        get_version("version moved", "1", "{uniq}-new"),
        by_alias("alias moved", "prod", "{uniq}-new"),
        call("delete", "DELETE", "registered-models/delete", {"name": "{uniq}-new"}),
        get_version("versions went too", "1", "{uniq}-new"),
        get("search finds none", "model-versions/search", ("filter", "name = '{uniq}-new'")),
        new_model("made again", "{uniq}-new"),
        new_version("numbers start over", model="{uniq}-new"),
    ),
    scenario(
        "registry_tags_and_descriptions",
        new_model(),
        new_version("version"),
        post("set tag", "registered-models/set-tag", {"name": "{uniq}", "key": "a", "value": "1"}),
        post("overwrite tag", "registered-models/set-tag", {"name": "{uniq}", "key": "a", "value": "2"}),
        post("tag without value", "registered-models/set-tag", {"name": "{uniq}", "key": "b"}),
        post("version tag", "model-versions/set-tag", {"name": "{uniq}", "version": "1", "key": "c", "value": "3"}),
        post(
            "tag on a missing version",
            "model-versions/set-tag",
            {"name": "{uniq}", "version": "5", "key": "c", "value": "3"},
        ),
        get_model("tags"),
        Step(
            "a DELETE's query string is ignored",
            "DELETE",
            f"{API}/registered-models/delete-tag",
            params=(("name", "{uniq}"), ("key", "b")),
        ),
        call("delete tag", "DELETE", "registered-models/delete-tag", {"name": "{uniq}", "key": "a"}),
        call("delete missing tag", "DELETE", "registered-models/delete-tag", {"name": "{uniq}", "key": "a"}),
        call(
            "delete version tag", "DELETE", "model-versions/delete-tag", {"name": "{uniq}", "version": "1", "key": "c"}
        ),
        call("update model", "PATCH", "registered-models/update", {"name": "{uniq}", "description": "d"}),
        call(
            "update version", "PATCH", "model-versions/update", {"name": "{uniq}", "version": "1", "description": "vd"}
        ),
        call(
            "update version without description", "PATCH", "model-versions/update", {"name": "{uniq}", "version": "1"}
        ),
        call("update model without description", "PATCH", "registered-models/update", {"name": "{uniq}"}),
        get_model("after the updates"),
    ),
    scenario(
        "registry_search",
        *(
            new_model(f"model {s}", f"{{uniq}}-{s}", tags=[{"key": "g", "value": g}])
            for s, g in (("a", "x"), ("B", "x"), ("c", "y"))
        ),
        new_version("version of a", model="{uniq}-a"),
        new_version("second version of a", model="{uniq}-a", source="s3://bucket/other"),
        new_version("version of c", model="{uniq}-c"),
        get("prefix", "registered-models/search", ("filter", "name LIKE '{uniq}-%'")),
        get("LIKE is case-sensitive", "registered-models/search", ("filter", "name LIKE '{uniq}-b'")),
        get("ILIKE", "registered-models/search", ("filter", "name ILIKE '{uniq}-b'")),
        get("by tag", "registered-models/search", ("filter", "name LIKE '{uniq}-%' AND tags.g = 'x'")),
        get("IN", "registered-models/search", ("filter", "name IN ('{uniq}-a', '{uniq}-c')")),
        get(
            "first page",
            "registered-models/search",
            ("filter", "name LIKE '{uniq}-%'"),
            ("max_results", "2"),
            save={"token": "next_page_token"},
        ),
        get(
            "second page",
            "registered-models/search",
            ("filter", "name LIKE '{uniq}-%'"),
            ("max_results", "2"),
            ("page_token", "{token}"),
        ),
        get(
            "full page has no token",
            "registered-models/search",
            ("filter", "name LIKE '{uniq}-%'"),
            ("max_results", "3"),
        ),
        get("name DESC", "registered-models/search", ("filter", "name LIKE '{uniq}-%'"), ("order_by", "name DESC")),
        get("creation_timestamp is refused", "registered-models/search", ("order_by", "creation_timestamp")),
        get("unknown attribute", "registered-models/search", ("filter", "foo = 'x'")),
        get("max_results too big", "registered-models/search", ("max_results", "1001")),
        get("bad page token", "registered-models/search", ("page_token", "garbage")),
        get("versions of a", "model-versions/search", ("filter", "name = '{uniq}-a'")),
        get("version_number", "model-versions/search", ("filter", "name = '{uniq}-a' AND version_number > 1")),
        get(
            "source_path",
            "model-versions/search",
            ("filter", "name LIKE '{uniq}-%' AND source_path = 's3://bucket/other'"),
        ),
        get("version order", "model-versions/search", ("filter", "name LIKE '{uniq}-%'"), ("order_by", "name DESC")),
        # Ordered by name and number: the default order starts with last_updated_timestamp, which ties within a
        # millisecond on a fast server and not on a slow one.
        get(
            "versions paged",
            "model-versions/search",
            ("filter", "name LIKE '{uniq}-%'"),
            ("order_by", "name ASC"),
            ("order_by", "version_number DESC"),
            ("max_results", "2"),
        ),
        get("max_results 0", "model-versions/search", ("max_results", "0")),
        get("unknown version attribute", "model-versions/search", ("filter", "bogus = 'x'")),
    ),
]

LOGGED_MODELS: list[Scenario] = [
    scenario(
        "logged_model_lifecycle",
        new_run(),
        new_logged(
            name="clf",
            model_type="sk",
            source_run_id="{run_id}",
            params=[{"key": "p", "value": "1"}],
            tags=[{"key": "t", "value": "v"}],
        ),
        logged("get it"),
        logged("unknown model", "m-0123"),
        new_logged("bad name", "bad", name="a.b"),
        post("unknown experiment", "logged-models", {"experiment_id": "987654"}),
        post("missing experiment", "logged-models", {}),
        post(
            "log params",
            "logged-models/{model_id}/params",
            {"model_id": "{model_id}", "params": [{"key": "q", "value": "2"}]},
        ),
        post(
            "param again",
            "logged-models/{model_id}/params",
            {"model_id": "{model_id}", "params": [{"key": "q", "value": "3"}]},
        ),
        post(
            "params without model_id in the body",
            "logged-models/{model_id}/params",
            {"params": [{"key": "r", "value": "4"}]},
        ),
        call(
            "set tags",
            "PATCH",
            "logged-models/{model_id}/tags",
            {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]},
        ),
        Step("delete tag", "DELETE", f"{API}/logged-models/{{model_id}}/tags/b"),
        Step("delete missing tag", "DELETE", f"{API}/logged-models/{{model_id}}/tags/b"),
        post(
            "metric of the model",
            "runs/log-metric",
            {"run_id": "{run_id}", "key": "acc", "value": 0.5, "timestamp": 5, "step": 1, "model_id": "{model_id}"},
        ),
        post(
            "batch metric with a dataset",
            "runs/log-batch",
            {
                "run_id": "{run_id}",
                "metrics": [
                    {
                        "key": "acc",
                        "value": 0.75,
                        "timestamp": 6,
                        "step": 2,
                        "model_id": "{model_id}",
                        "dataset_name": "ds",
                        "dataset_digest": "d1",
                    }
                ],
            },
        ),
        call(
            "finalize without model_id in the body",
            "PATCH",
            "logged-models/{model_id}",
            {"status": "LOGGED_MODEL_READY"},
        ),
        call(
            "finalize", "PATCH", "logged-models/{model_id}", {"model_id": "{model_id}", "status": "LOGGED_MODEL_READY"}
        ),
        logged("with params, tags and metrics"),
        Step("delete", "DELETE", f"{API}/logged-models/{{model_id}}"),
        logged("deleted is not found"),
        Step("delete again", "DELETE", f"{API}/logged-models/{{model_id}}"),
        search_logged("search skips it"),
    ),
    scenario(
        "logged_model_search",
        new_run(),
        new_logged(
            "alpha", "a", name="alpha", params=[{"key": "lr", "value": "0"}], tags=[{"key": "kind", "value": "even"}]
        ),
        new_logged(
            "beta", "b", name="beta", params=[{"key": "lr", "value": "1"}], tags=[{"key": "kind", "value": "odd"}]
        ),
        new_logged("gamma", "c", name="gamma", source_run_id="{run_id}"),
        post(
            "metric of alpha",
            "runs/log-metric",
            {"run_id": "{run_id}", "key": "acc", "value": 0.1, "timestamp": 1, "model_id": "{a}"},
        ),
        post(
            "metric of beta",
            "runs/log-metric",
            {"run_id": "{run_id}", "key": "acc", "value": 0.2, "timestamp": 2, "model_id": "{b}"},
        ),
        post(
            "metric of gamma",
            "runs/log-metric",
            {
                "run_id": "{run_id}",
                "key": "acc",
                "value": 0.3,
                "timestamp": 3,
                "model_id": "{c}",
                "dataset_name": "ds",
                "dataset_digest": "d",
            },
        ),
        # Multi-model answers are ordered by name: the default order (newest first, then model id) ties within a
        # millisecond on a fast server, and model ids are random.
        search_logged("all", order_by=[{"field_name": "name"}]),
        search_logged("by name", filter="name = 'beta'"),
        search_logged("LIKE", filter="name LIKE '%a'", order_by=[{"field_name": "name"}]),
        search_logged("by metric", filter="metrics.acc > 0.15", order_by=[{"field_name": "name"}]),
        search_logged("by param", filter="params.lr = '0'"),
        search_logged("by tag and metric", filter="tags.kind = 'odd' AND metrics.acc < 0.25"),
        search_logged("by source run", filter="source_run_id = '{run_id}'"),
        search_logged("dataset", datasets=[{"dataset_name": "ds", "dataset_digest": "d"}]),
        search_logged("dataset without digest", datasets=[{"dataset_name": "ds"}], filter="metrics.acc > 0"),
        search_logged("order by name", order_by=[{"field_name": "name"}]),
        search_logged("order by metric", order_by=[{"field_name": "metrics.acc", "ascending": False}]),
        search_logged("page", max_results=2, save={"token": "next_page_token"}, order_by=[{"field_name": "name"}]),
        search_logged("unknown attribute", filter="bogus = 1"),
        search_logged("unknown order field", order_by=[{"field_name": "bogus"}]),
        post("no experiments", "logged-models/search", {}),
        post("bad experiment id", "logged-models/search", {"experiment_ids": ["x"]}),
    ),
    scenario(
        "logged_model_artifacts",
        new_logged(name="arts"),
        Step("empty listing", "GET", f"{API}/logged-models/{{model_id}}/artifacts/directories"),
        Step(
            "upload MLmodel",
            "PUT",
            f"{ART}/artifacts/{{exp_id}}/models/{{model_id}}/artifacts/MLmodel",
            content=b"flavors: {}\n",
        ),
        Step(
            "upload nested", "PUT", f"{ART}/artifacts/{{exp_id}}/models/{{model_id}}/artifacts/sub/x.txt", content=b"hi"
        ),
        Step("listing", "GET", f"{API}/logged-models/{{model_id}}/artifacts/directories"),
        Step(
            "sub directory",
            "GET",
            f"{API}/logged-models/{{model_id}}/artifacts/directories",
            params=(("artifact_directory_path", "sub"),),
        ),
        Step(
            "download a file",
            "GET",
            f"{AJAX}/logged-models/{{model_id}}/artifacts/files",
            params=(("artifact_file_path", "MLmodel"),),
        ),
        Step(
            "download nested",
            "GET",
            f"{AJAX}/logged-models/{{model_id}}/artifacts/files",
            params=(("artifact_file_path", "sub/x.txt"),),
        ),
        Step(
            "download missing",
            "GET",
            f"{AJAX}/logged-models/{{model_id}}/artifacts/files",
            params=(("artifact_file_path", "nope"),),
        ),
        Step(
            "unknown model",
            "GET",
            f"{AJAX}/logged-models/m-0123/artifacts/files",
            params=(("artifact_file_path", "MLmodel"),),
        ),
        Step("download without a path", "GET", f"{AJAX}/logged-models/{{model_id}}/artifacts/files"),
        Step(
            "download with traversal",
            "GET",
            f"{AJAX}/logged-models/{{model_id}}/artifacts/files",
            params=(("artifact_file_path", "../x"),),
        ),
        Step(
            "files route is ajax-only",
            "GET",
            f"{API}/logged-models/{{model_id}}/artifacts/files",
            params=(("artifact_file_path", "MLmodel"),),
        ),
    ),
    scenario(
        "run_outputs",
        new_run(),
        new_logged(name="out", source_run_id="{run_id}"),
        get("run without outputs", "runs/get", ("run_id", "{run_id}")),
        post("log outputs", "runs/outputs", {"run_id": "{run_id}", "models": [{"model_id": "{model_id}", "step": 3}]}),
        post(
            "unknown model ids are kept",
            "runs/outputs",
            {"run_id": "{run_id}", "models": [{"model_id": "m-0123", "step": 0}]},
        ),
        get("run shows them", "runs/get", ("run_id", "{run_id}")),
        post("search shows them", "runs/search", {"experiment_ids": ["{exp_id}"]}),
        post(
            "the same model twice",
            "runs/outputs",
            {"run_id": "{run_id}", "models": [{"model_id": "m-0123", "step": 1}]},
        ),
        post("no models", "runs/outputs", {"run_id": "{run_id}"}),
        post("unknown run", "runs/outputs", {"run_id": NO_RUN, "models": [{"model_id": "{model_id}"}]}),
    ),
    scenario(
        "registered_version_of_a_logged_model",
        new_run(),
        new_logged(name="reg", source_run_id="{run_id}"),
        new_model(),
        new_version("from models:/<id>", source="models:/{model_id}", model_id="{model_id}"),
        new_version("models:/<id> without model_id", source="models:/{model_id}"),
        new_version("other source with model_id", source="s3://bucket", model_id="{model_id}"),
        get_version("the version", "1"),
        get(
            "download uri is the model's location",
            "model-versions/get-download-uri",
            ("name", "{uniq}"),
            ("version", "1"),
        ),
        logged("the logged model lists the version"),
    ),
]

SCENARIOS: tuple[Scenario, ...] = (*REGISTRY, *LOGGED_MODELS)
