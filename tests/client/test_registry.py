"""The Model Registry through ``MlflowClient`` and ``AsyncMlflowClient``, against a real ``mlflow server`` and the
stub: a whole model lifecycle, results compared with what MLflow's own ``MlflowClient`` returns for the same
objects, typed argument errors, server errors with their codes, and ``registry_uri``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import mlflow
import msgspec
import pytest
from mlflow_client import AsyncMlflowClient, MlflowClient
from mlflow_client._generated import models as m
from mlflow_client._registry_ops import create_model_version
from mlflow_client._store_ops import Call
from mlflow_client.entities.model_registry import ModelVersion, RegisteredModel
from mlflow_client.exceptions import (
    FeatureNotImplemented,
    InvalidParameterValue,
    MlflowException,
    ResourceAlreadyExists,
    ResourceNotFound,
)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _plain(value: Any) -> Any:
    """An entity (ours or MLflow's) as plain data, without ``workspace`` (MLflow fills in its configured default,
    we keep what the server said, which is nothing) and ``model_id`` (MLflow's REST store drops it)."""
    if isinstance(value, list):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "_properties"):
        return {k: _plain(getattr(value, k)) for k in value._properties() if k not in ("workspace", "model_id")}
    return value


def _run_with_model(client: MlflowClient) -> tuple[str, str]:
    """An experiment and a run with a (tiny) model folder in its artifacts."""
    exp_id = client.create_experiment(_unique("registry"))
    run_id = client.create_run(exp_id).info.run_id
    client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
    client.log_text(run_id, "weights", "model/weights.bin")
    return exp_id, run_id


def test_model_lifecycle_matches_mlflows_client(server_url: str) -> None:
    client, theirs = MlflowClient(server_url), mlflow.MlflowClient(server_url)
    _, run_id = _run_with_model(client)
    name = _unique("fraud")

    created = client.create_registered_model(name, tags={"team": "risk", "n": 1}, description="first")
    assert isinstance(created, RegisteredModel)
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "risk", "n": "1"})
    assert created.latest_versions == [] and created.aliases == {}

    versions = [
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags={"i": i}, description=f"v{i}")
        for i in range(1, 4)
    ]
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert all(isinstance(v, ModelVersion) and v.status == "READY" for v in versions)
    assert versions[0].source == f"runs:/{run_id}/model" and versions[0].run_id == run_id
    assert versions[1].tags == {"i": "2"} and versions[1].current_stage == "None"

    # Aliases move between versions; get by alias follows.
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    client.set_registered_model_alias(name, "champion", 3)  # type: ignore[arg-type]  # MLflow takes ints too
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert (by_alias.version, by_alias.aliases) == ("3", ["champion"])
    client.set_registered_model_alias(name, "old", "1")
    client.delete_registered_model_alias(name, "old")
    with pytest.raises(MlflowException) as missing_alias:
        client.get_model_version_by_alias(name, "old")
    assert missing_alias.value.http_status is not None and missing_alias.value.http_status >= 400

    # Tags on the model and on a version.
    client.set_registered_model_tag(name, "owner", "ann")
    client.delete_registered_model_tag(name, "n")
    client.set_model_version_tag(name, "1", "validated", True)
    client.set_model_version_tag(name, "2", "gone", "x")
    client.delete_model_version_tag(name, "2", "gone")

    # Stages: archive_existing_versions moves the earlier Production version to Archived.
    client.transition_model_version_stage(name, "1", "production")
    moved = client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = client.get_latest_versions(name, ["Production", "Archived"])
    assert sorted((v.version, v.current_stage) for v in latest) == [("1", "Archived"), ("2", "Production")]
    with pytest.warns(FutureWarning):
        client.set_model_version_tag(name, key="prod", value="yes", stage="Production")
    assert client.get_model_version(name, "2").tags["prod"] == "yes"

    updated = client.update_model_version(name, "3", description="third")
    assert updated.description == "third"
    assert client.update_registered_model(name, description="the model").description == "the model"
    assert client.get_model_version_download_uri(name, "3") == theirs.get_model_version_download_uri(name, "3")

    # What we read is what MLflow's own client reads.
    assert _plain(client.get_registered_model(name)) == _plain(theirs.get_registered_model(name))
    for v in ("1", "2", "3"):
        assert _plain(client.get_model_version(name, v)) == _plain(theirs.get_model_version(name, v))
    assert _plain(client.get_model_version_by_alias(name, "champion")) == _plain(
        theirs.get_model_version_by_alias(name, "champion")
    )
    assert _plain(client.get_latest_versions(name)) == _plain(theirs.get_latest_versions(name))
    ours_found = client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    their_found = theirs.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [v.version for v in ours_found] == ["1", "2", "3"]
    assert _plain(list(ours_found)) == _plain(list(their_found))

    # Rename moves the versions along; the old name is gone.
    new_name = name + "-renamed"
    renamed = client.rename_registered_model(name, new_name)
    assert renamed.name == new_name
    assert client.get_model_version(new_name, "3").name == new_name
    with pytest.raises(ResourceNotFound) as gone:
        client.get_registered_model(name)
    assert (gone.value.error_code, gone.value.http_status) == ("RESOURCE_DOES_NOT_EXIST", 404)

    client.delete_model_version(new_name, "1")
    assert [v.version for v in client.search_model_versions(f"name = '{new_name}'")] != []
    assert "1" not in {v.version for v in client.search_model_versions(f"name = '{new_name}'")}
    client.delete_registered_model(new_name)
    with pytest.raises(ResourceNotFound):
        client.get_registered_model(new_name)
    assert list(client.search_model_versions(f"name = '{new_name}'")) == []


def test_search_filters_and_pages_like_mlflow(server_url: str) -> None:
    client, theirs = MlflowClient(server_url), mlflow.MlflowClient(server_url)
    prefix = _unique("search")
    for i in range(5):
        client.create_registered_model(f"{prefix}-{i}", tags={"parity": "even" if i % 2 == 0 else "odd"})

    pages, token = [], None
    while True:
        page = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2, page_token=token)
        assert len(page) <= 2
        pages.append([rm.name for rm in page])
        token = page.token
        if not token:
            break
    assert [n for p in pages for n in p] == [f"{prefix}-{i}" for i in range(5)]
    assert len(pages) == 3

    even = client.search_registered_models(f"name LIKE '{prefix}-%' AND tags.parity = 'even'")
    assert [rm.name for rm in even] == [f"{prefix}-0", f"{prefix}-2", f"{prefix}-4"]
    upper = client.search_registered_models(f"name ILIKE '{prefix.upper()}-%'", order_by=["name DESC"])
    assert [rm.name for rm in upper] == [f"{prefix}-{i}" for i in reversed(range(5))]
    assert _plain(list(upper)) == _plain(
        list(theirs.search_registered_models(f"name ILIKE '{prefix.upper()}-%'", order_by=["name DESC"]))
    )
    for i in range(5):
        client.delete_registered_model(f"{prefix}-{i}")
    assert list(client.search_registered_models(f"name LIKE '{prefix}-%'")) == []


def test_version_search_pages(server_url: str) -> None:
    client = MlflowClient(server_url)
    _, run_id = _run_with_model(client)
    name = _unique("paged")
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    first = client.search_model_versions(f"name = '{name}'", max_results=2, order_by=["version_number DESC"])
    assert [v.version for v in first] == ["3", "2"] and first.token
    rest = client.search_model_versions(
        f"name = '{name}'", max_results=2, order_by=["version_number DESC"], page_token=first.token
    )
    assert [v.version for v in rest] == ["1"] and not rest.token
    by_run = client.search_model_versions(f"run_id = '{run_id}'")
    assert {v.version for v in by_run} == {"1", "2", "3"}
    client.delete_registered_model(name)


def test_server_errors_carry_code_and_status(server_url: str) -> None:
    client = MlflowClient(server_url)
    name = _unique("dup")
    client.create_registered_model(name)
    with pytest.raises(ResourceAlreadyExists) as dup:
        client.create_registered_model(name)
    assert (dup.value.error_code, dup.value.http_status) == ("RESOURCE_ALREADY_EXISTS", 400)
    with pytest.raises(ResourceNotFound) as missing:
        client.get_model_version(name, "7")
    assert (missing.value.error_code, missing.value.http_status) == ("RESOURCE_DOES_NOT_EXIST", 404)
    with pytest.raises(ResourceNotFound):
        client.delete_registered_model(_unique("never"))
    client.delete_registered_model(name)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: c.create_registered_model(""), "name"),
        (lambda c: c.get_registered_model(None), "name"),
        (lambda c: c.get_model_version("m", "two"), "version"),
        (lambda c: c.delete_model_version("m", True), "version"),
        (lambda c: c.set_registered_model_alias("m", "bad alias!", "1"), "alias"),
        (lambda c: c.set_registered_model_alias("m/x", "a", "1"), "name"),
        (lambda c: c.delete_registered_model_alias("m", ""), "alias"),
        (lambda c: c.transition_model_version_stage("m", "1", "Canary"), "stage"),
        (lambda c: c.transition_model_version_stage("m", "1", "Staging", archive_existing_versions="yes"), "archive"),
        (lambda c: c.set_model_version_tag("m", "1", "k", "v", stage="Staging"), "stage"),
        (lambda c: c.set_model_version_tag("m", key="k", value="v"), "version"),
        (lambda c: c.set_model_version_tag("m", "1", "k", None), "value"),
        (lambda c: c.set_registered_model_tag("m", "bad key!", "v"), "key"),
        (lambda c: c.update_model_version("m", "1"), "field"),
        (lambda c: c.rename_registered_model("m", " "), "name"),
        (lambda c: c.search_registered_models(max_results=0), "max_results"),
        (lambda c: c.search_model_versions(order_by="version_number"), "order_by"),
        (lambda c: c.create_registered_model("m", tags={"mlflow.prompt.is_prompt": "true"}), "Prompt"),
        (lambda c: c.create_model_version("m", "", run_id="r"), "source"),
        (lambda c: c.create_model_version("m", "s3://b/m", await_creation_for="soon"), "await_creation_for"),
        (lambda c: c.get_latest_versions("m", ["Nowhere"]), "stage"),
    ],
)
def test_argument_errors_are_typed_and_name_the_argument(call: Any, named: str) -> None:
    # Port 9 (discard) on loopback: nothing listens, so any request would fail differently.
    with MlflowClient("http://127.0.0.1:9") as client, pytest.raises(InvalidParameterValue) as err:
        call(client)
    assert named.lower() in err.value.message.lower()
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and err.value.http_status is None


def test_async_client_runs_the_same_lifecycle(server_url: str) -> None:
    sync = MlflowClient(server_url)
    _, run_id = _run_with_model(sync)
    name = _unique("async")

    async def go() -> dict[str, Any]:
        async with AsyncMlflowClient(server_url) as client:
            await client.create_registered_model(name, tags={"a": "b"})
            v1 = await client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
            await client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
            await client.set_registered_model_alias(name, "champion", v1.version)
            await client.set_model_version_tag(name, "1", "k", "v")
            await client.transition_model_version_stage(name, "2", "Staging")
            got = {
                "model": await client.get_registered_model(name),
                "by_alias": await client.get_model_version_by_alias(name, "champion"),
                "latest": await client.get_latest_versions(name, ["Staging"]),
                "search": await client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"]),
                "models": await client.search_registered_models(f"name = '{name}'"),
                "uri": await client.get_model_version_download_uri(name, "1"),
            }
            with pytest.raises(InvalidParameterValue):
                await client.get_model_version(name, "one")
            renamed = await client.rename_registered_model(name, name + "-2")
            got["renamed"] = renamed.name
            await client.delete_registered_model_alias(name + "-2", "champion")
            await client.delete_model_version(name + "-2", "1")
            await client.delete_registered_model(name + "-2")
            with pytest.raises(ResourceNotFound):
                await client.get_registered_model(name + "-2")
            return got

    got = asyncio.run(go())
    assert got["by_alias"].version == "1" and got["by_alias"].tags == {"k": "v"}
    assert [v.version for v in got["latest"]] == ["2"]
    assert [v.version for v in got["search"]] == ["1", "2"]
    assert [rm.name for rm in got["models"]] == [name]
    assert got["model"].aliases == {"champion": "1"} and got["model"].tags == {"a": "b"}
    assert got["uri"] == f"runs:/{run_id}/model"
    assert got["renamed"] == name + "-2"


def test_registry_uri_sends_registry_calls_to_that_server(
    tmp_path: Any, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tracking in a local folder, the registry on the server.
    local = str(tmp_path / "mlruns")
    client = MlflowClient(local, registry_uri=mlflow_server_url)
    assert (client.tracking_uri, client.registry_uri) == (local, mlflow_server_url)
    name = _unique("elsewhere")
    client.create_registered_model(name)
    assert mlflow.MlflowClient(mlflow_server_url).get_registered_model(name).name == name
    # MLFLOW_REGISTRY_URI is the default; an explicit argument wins over it.
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mlflow_server_url)
    from_env = MlflowClient(local)
    assert from_env.registry_uri == mlflow_server_url
    assert from_env.get_registered_model(name).name == name
    assert MlflowClient(local, registry_uri=str(tmp_path / "other")).registry_uri == str(tmp_path / "other")
    from_env.delete_registered_model(name)


def test_registry_defaults_to_the_tracking_server(mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    client = MlflowClient(mlflow_server_url)
    assert client.registry_uri == mlflow_server_url
    assert client._registry() is client._store  # one server, one connection pool


@pytest.mark.parametrize("uri", ["LOCAL", "sqlite:///mlflow.db"])
def test_a_registry_without_a_server_is_a_clear_typed_error(uri: str, tmp_path: Any) -> None:
    registry = str(tmp_path / "mlruns") if uri == "LOCAL" else uri
    client = MlflowClient(str(tmp_path / "mlruns"), registry_uri=registry)
    with pytest.raises(FeatureNotImplemented) as err:
        client.get_registered_model("m")
    assert err.value.error_code == "FEATURE_DISABLED"
    assert "tracking server" in err.value.message and "mlflow server" in err.value.message

    async def go() -> None:
        async with AsyncMlflowClient(str(tmp_path / "mlruns"), registry_uri=registry) as client:
            await client.search_registered_models()

    with pytest.raises(FeatureNotImplemented):
        asyncio.run(go())


def test_create_model_version_waits_while_registration_is_pending() -> None:
    # The operation is sans-IO: feed it the server's answers and watch what it asks for next.
    def version(status: str) -> bytes:
        return msgspec.json.encode({"model_version": {"name": "m", "version": "1", "status": status}})

    now = [0.0]
    op = create_model_version("m", "s3://b/m", None, [], None, None, None, 300, clock=lambda: now[0])
    assert isinstance(next(op), Call)
    sleep = op.send(version("PENDING_REGISTRATION"))
    assert type(sleep).__name__ == "Sleep"
    get = op.send(None)
    assert isinstance(get, Call) and get.method == "GET" and get.path.endswith("/model-versions/get")
    now[0] = 1.0
    with pytest.raises(StopIteration) as done:
        op.send(version("READY"))
    assert done.value.value.status == "READY"

    failing = create_model_version("m", "s3://b/m", None, [], None, None, None, 300, clock=lambda: 0.0)
    next(failing)
    with pytest.raises(MlflowException, match="FAILED_REGISTRATION"):
        failing.send(version("FAILED_REGISTRATION"))

    late = [0.0]
    slow = create_model_version("m", "s3://b/m", None, [], None, None, None, 5, clock=lambda: late[0])
    next(slow)
    slow.send(version("PENDING_REGISTRATION"))
    late[0] = 10.0
    slow.send(None)
    with pytest.raises(MlflowException, match="Exceeded max wait time"):
        slow.send(version("PENDING_REGISTRATION"))


def test_wire_model_version_keeps_the_logged_model_id() -> None:
    wire = msgspec.json.decode(
        b'{"name": "m", "version": "2", "source": "models:/m-1", "model_id": "m-1", "status": "READY",'
        b' "model_params": [{"name": "lr", "value": "0.1"}]}',
        type=m.ModelVersion,
    )
    version = ModelVersion._from_wire(wire)
    assert (version.model_id, version.source, [(p.key, p.value) for p in version.params or []]) == (
        "m-1",
        "models:/m-1",
        [("lr", "0.1")],
    )


def test_set_registry_uri_is_the_default_of_new_clients(
    tmp_path: Any, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow_client

    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    local = str(tmp_path / "mlruns")
    mlflow_client.set_tracking_uri(local)
    try:
        assert mlflow_client.get_registry_uri() == local  # the tracking URI when nothing else is set
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://127.0.0.1:9")
        assert mlflow_client.get_registry_uri() == "http://127.0.0.1:9"
        mlflow_client.set_registry_uri(mlflow_server_url)
        assert mlflow_client.get_registry_uri() == mlflow_server_url
        client = MlflowClient()
        assert (client.tracking_uri, client.registry_uri) == (local, mlflow_server_url)
        assert isinstance(client.search_registered_models(max_results=1), list)
        assert MlflowClient(registry_uri="http://127.0.0.1:9").registry_uri == "http://127.0.0.1:9"
    finally:
        mlflow_client.set_registry_uri(None)
        mlflow_client.set_tracking_uri(None)
